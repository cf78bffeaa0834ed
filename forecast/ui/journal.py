"""The app's History tab: record the current forecast, resolve outcomes, see the track record.

Record (now, or issued as of an earlier day: retrospective), resolve with a
source (an amendment needs a reason and a confirmation; every version is kept),
scores of live and retrospective forecasts apart with calibration, Murphy's
decomposition and out-of-sample recalibration, the pooled forecast of several
authors, and a backtest chart.  A thin Streamlit shell over forecast.journal
(the CLI and the API use the same functions).  The journal file is FORECAST_DB or the user's data folder, as for
the CLI; on a shared server every analyst records into the same file.  Only
people's words are on screen (labels, readable states); the file's path sits
in a "details" expander.  Streamlit forgets the widgets of a tab that is not
drawn, so the fields keep their last value in the session (as the workspace's
other tabs do).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from .. import journal
from ..errors import ForecastError
from ..evidence import Evidence, Scenario
from ..export import KIND_LABELS
from ..model import Model
from ..plaintext import md_inline
from ..present import percent
from .session import remember, restore


def render(
    model: Model,
    evidence: Evidence | Scenario | Mapping[str, Any] | None,
    db: str | os.PathLike[str] | None = None,
) -> None:
    """Draw the History tab for `model`, recording under `evidence` (the workspace's current evidence)."""
    import streamlit as st

    _record_panel(st, model, evidence, db)
    try:
        table = journal.history(model=model.id, db=db)
        versions = journal.resolutions(model=model.id, db=db)
    except ForecastError as exc:
        st.error(md_inline(exc))
        _details(st, db)
        return
    st.subheader("Recorded forecasts")
    if table.empty:
        st.info("No forecasts of this model have been recorded yet. Record one above.")
        _details(st, db)
        return
    st.altair_chart(history_chart(model, table), width="stretch")
    count = table["id"].nunique()
    with st.expander(f"All {count} recorded forecast{'s' if count != 1 else ''}"):
        st.dataframe(history_view(model, table), hide_index=True, width="stretch")
    versions = _resolve_panel(st, model, table, versions, db)
    _scores(st, model, db)
    _pool_panel(st, model, db)
    _backtest_panel(st, model, evidence, versions)
    _details(st, db)


def _remember(st: Any, key: str) -> None:
    remember(key, st.session_state.get(key))


def _record_panel(st: Any, model: Model, evidence: Any, db: Any) -> None:
    today = dt.datetime.now(dt.UTC).date()
    restore("journal_author", os.environ.get("FORECAST_AUTHOR", ""))
    restore("journal_note", "")
    restore("journal_as_of", today)
    with st.container(border=True):
        st.markdown(
            "**Record the current forecast** (the outcome probabilities under the evidence now set)"
        )
        st.text_input("Author", max_chars=journal.MAX_AUTHOR, key="journal_author")
        st.text_area("Note", max_chars=journal.MAX_NOTE, key="journal_note", height=80)
        st.date_input("Issued as of", key="journal_as_of", max_value=today)
        st.caption(
            "An earlier date issues the forecast as it would have been made then: only the "
            "evidence items dated on or before it count, and it is kept apart as retrospective."
        )
        st.button(
            "Record forecast",
            key="journal_record",
            on_click=_record,
            args=(st, model, evidence, db),
        )
        message = st.session_state.pop("journal_record_message", None)
        if message:
            (st.success if message[0] == "ok" else st.error)(md_inline(message[1]))
    for key in ("journal_author", "journal_note", "journal_as_of"):
        _remember(st, key)


def _record(st: Any, model: Model, evidence: Any, db: Any) -> None:
    """Button callback: record, then clear the note so the next forecast does not repeat it."""
    author = str(st.session_state.get("journal_author", ""))
    note = str(st.session_state.get("journal_note", ""))
    day = st.session_state.get("journal_as_of")
    today = dt.datetime.now(dt.UTC).date()
    as_of = day if isinstance(day, dt.date) and day < today else None
    if not author.strip():
        st.session_state["journal_record_message"] = (
            "error",
            "Enter your name as author before recording, so the forecast can be scored by author.",
        )
        return
    try:
        fid = journal.record(model, evidence, note=note, author=author, as_of=as_of, db=db)
    except ForecastError as exc:
        st.session_state["journal_record_message"] = ("error", str(exc))
        return
    st.session_state["journal_note"] = ""
    when = f", issued as of {as_of:%d %B %Y} (retrospective)" if as_of else ""
    issued = as_of or today
    late = []
    try:
        current = journal.resolutions(model=model.id, current=True, db=db)
        late = [
            model.names.node(str(r["node"]))
            for r in current.to_dict("records")
            if r["known_on"] < issued
        ]
    except ForecastError:
        pass
    after = (
        f" {', '.join(late)} was already known before that day: this forecast will not be "
        "scored on it."
        if late
        else ""
    )
    st.session_state["journal_record_message"] = ("ok", f"Recorded forecast {fid}{when}.{after}")


def history_chart(model: Model, table: pd.DataFrame) -> Any:
    """Each outcome state's recorded probability over time (one line per node and state)."""
    import altair as alt

    data = table.copy()
    data["series"] = [
        model.names.pair(n, s) for n, s in zip(data["node"], data["state"], strict=True)
    ]
    data["recorded_at"] = data["recorded_at"].dt.tz_convert(None)
    return _outcome_lines(
        data,
        alt.X(
            "recorded_at:T",
            title="Recorded (UTC)",
            axis=alt.Axis(format="%d %b %Y %H:%M", labelAngle=-30, tickCount=6),
        ),
        "Probability",
        [
            alt.Tooltip("id:Q", title="Forecast"),
            alt.Tooltip("recorded_at:T", title="Recorded", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("author:N", title="Author"),
            alt.Tooltip("series:N", title="Outcome"),
            alt.Tooltip("probability:Q", format=".1%", title="Probability"),
            alt.Tooltip("note:N", title="Note"),
        ],
    )


def _outcome_lines(data: pd.DataFrame, x: Any, y_title: str, tooltip: list[Any]) -> Any:
    """One line with points per ``series`` over `x` on a 0-100 % probability axis.

    The history chart and the forecast-path chart draw their outcomes alike.
    """
    import altair as alt

    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "probability:Q",
                title=y_title,
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("series:N", title="Outcome", legend=alt.Legend(labelLimit=360)),
            tooltip=tooltip,
        )
    )


def evidence_summary(model: Model, rows: Any) -> str:
    """A forecast's evidence in a few words: settings on nodes by name, items counted."""
    if not isinstance(rows, list):
        return ""
    parts, items = [], 0
    for row in rows:
        kind, node = str(row.get("kind", "")), str(row.get("node", ""))
        if kind == "item":
            items += 1
        elif kind == "hard":
            parts.append(model.names.pair(node, str(row.get("detail", ""))))
        else:
            parts.append(f"{model.names.node(node)} ({KIND_LABELS.get(kind, kind).lower()})")
    if items:
        parts.append(f"{items} evidence item{'s' if items != 1 else ''}")
    return " · ".join(parts) or "none (the model's own belief)"


def history_view(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """One row per recorded forecast, for people: when, for which day, who, probabilities, evidence, note."""
    evidence = table.attrs.get("forecast_evidence", {})
    rows = []
    for fid, group in table.groupby("id", sort=True):
        first = group.iloc[0]
        fid = int(str(fid))  # the forecast id (pandas types group keys loosely)
        row: dict[str, Any] = {
            "Forecast": fid,
            "Recorded (UTC)": first["recorded_at"].strftime("%Y-%m-%d %H:%M"),
            "Issued as of": str(first["as_of"]),
            "Kind": KIND_NAMES.get(str(first["kind"]), str(first["kind"])),
            "Author": first["author"],
        }
        for n, s, p in zip(group["node"], group["state"], group["probability"], strict=True):
            row[model.names.pair(n, s)] = percent(p)
        found = evidence.get(fid)
        row["Evidence"] = evidence_summary(
            model, found.get("describe") if isinstance(found, dict) else None
        )
        row["Note"] = first["note"]
        row["Model version"] = str(first["model_hash"])[:12]
        rows.append(row)
    return pd.DataFrame(rows)


KIND_NAMES = {journal.LIVE: "Live", journal.RETROSPECTIVE: "Retrospective"}


def default_known_on(model: Model, today: dt.date) -> dt.date:
    """The question's horizon if it has passed (the usual day an outcome is known), else today."""
    horizon = journal.records.horizon_of(model)
    day = dt.date.fromisoformat(horizon) if horizon else today
    return day if day <= today else today


def _resolve_panel(
    st: Any, model: Model, table: pd.DataFrame, versions: pd.DataFrame, db: Any
) -> pd.DataFrame:
    """The resolve form; returns the resolution versions as they are after it."""
    st.subheader("Resolve")
    st.caption(
        "When an outcome is known, record what happened: every forecast issued on or before "
        "that day is scored. Resolving again with another answer is an amendment with a reason; "
        "every version is kept."
    )
    nodes = list(dict.fromkeys(table["node"]))
    node_key, state_key, day_key = (
        "journal_resolve_node",
        "journal_resolve_state",
        "journal_resolve_date",
    )
    restore(node_key, nodes[0])
    if st.session_state.get(node_key) not in nodes:
        st.session_state[node_key] = nodes[0]
    c1, c2, c3 = st.columns(3)
    node = c1.selectbox("Outcome", nodes, format_func=model.names.node, key=node_key)
    states = list(dict.fromkeys(table.loc[table["node"] == node, "state"]))
    restore(state_key, states[0])
    if st.session_state.get(state_key) not in states:
        st.session_state[state_key] = states[0]
    state = c2.selectbox(
        "What happened",
        states,
        format_func=lambda s: model.names.state(node, s),
        key=state_key,
    )
    today = dt.datetime.now(dt.UTC).date()
    restore(day_key, default_known_on(model, today))
    day = c3.date_input("Known on", key=day_key, max_value=today)
    horizon = journal.records.horizon_of(model)
    c3.caption(f"Question horizon: {md_inline(horizon) or 'not given'}")
    restore("journal_resolve_source", "")
    st.text_input("Source", key="journal_resolve_source", max_chars=journal.MAX_SOURCE)
    for key in (node_key, state_key, day_key, "journal_resolve_source"):
        _remember(st, key)
    early = bool(horizon) and day.isoformat() < horizon
    if early:
        st.checkbox(
            f"The outcome was settled before the horizon ({horizon})", key="journal_resolve_early"
        )
    current = versions[(versions["node"] == node) & versions["current"]]
    amend = False
    reason = ""
    if len(current):
        cur = current.iloc[0]
        if (str(cur["state"]), cur["known_on"]) != (state, day):
            st.warning(
                f"{md_inline(model.names.node(node))} is already resolved as "
                f"{md_inline(model.names.state(node, str(cur['state'])))}, known on "
                f"{cur['known_on']:%d %B %Y}"
                f" (version {int(cur['version'])}). Amending keeps that version in the history."
            )
            reason = st.text_input("Reason for the amendment", key="journal_resolve_reason")
            amend = st.checkbox("Amend the resolution", key="journal_resolve_amend")
    label = "Amend resolution" if amend else "Resolve"
    if st.button(label, key="journal_resolve"):
        try:
            done = journal.resolve_version(
                model,
                node,
                state,
                day,
                author=str(st.session_state.get("journal_author", "")),
                source=str(st.session_state.get("journal_resolve_source", "")),
                amend=amend,
                reason=reason,
                before_horizon=bool(st.session_state.get("journal_resolve_early")),
                db=db,
            )
        except ForecastError as exc:
            st.error(md_inline(exc))
            return versions
        what = "Amended" if done.amended and not done.unchanged else "Resolved"
        st.success(
            f"{what}: {md_inline(model.names.node(node))} — "
            f"{md_inline(model.names.state(node, state))}, known on "
            f"{day:%d %B %Y}; it scores {done.scores} recorded forecast(s)."
        )
        versions = journal.resolutions(model=model.id, db=db)
    if len(versions):
        with st.expander("Every resolution, with its earlier versions"):
            st.dataframe(resolutions_view(model, versions), hide_index=True, width="stretch")
    return versions


def resolutions_view(model: Model, versions: pd.DataFrame) -> pd.DataFrame:
    """The audit trail for people: one row per version, the current one marked."""
    return pd.DataFrame(
        {
            "Outcome": [model.names.node(n) for n in versions["node"]],
            "Version": versions["version"].astype(int),
            "What happened": [
                model.names.state(n, s)
                for n, s in zip(versions["node"], versions["state"], strict=True)
            ],
            "Known on": versions["known_on"].astype(str),
            "Current": ["yes" if c else "" for c in versions["current"]],
            "Recorded (UTC)": versions["recorded_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "By": versions["author"],
            "Source": versions["source"],
            "Reason": versions["reason"],
        }
    )


def calibration_chart(calibration: pd.DataFrame) -> Any:
    """Observed frequency against mean forecast per bin, with the diagonal of perfect calibration."""
    import altair as alt

    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(
        strokeDash=[4, 4], color="gray"
    )
    points = (
        alt.Chart(calibration)
        .mark_circle()
        .encode(
            x=alt.X(
                "mean_probability:Q",
                title="Forecast probability",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y(
                "observed_frequency:Q",
                title="Observed frequency",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            size=alt.Size("forecasts:Q", legend=None),  # the counts are in the table beside it
            tooltip=[
                alt.Tooltip("bin:N", title="Forecasts between"),
                alt.Tooltip("forecasts:Q", title="Forecasts"),
                alt.Tooltip("mean_probability:Q", format=".1%", title="Mean forecast"),
                alt.Tooltip("observed_frequency:Q", format=".1%", title="Observed frequency"),
            ],
        )
    )
    counts = (
        alt.Chart(calibration)
        .mark_text(dy=-12, fontSize=11)
        .encode(x="mean_probability:Q", y="observed_frequency:Q", text="forecasts:Q")
    )
    return diagonal.encode(x="x:Q", y="y:Q") + points + counts


def means_view(means: pd.DataFrame) -> pd.DataFrame:
    """Mean scores per author and over everyone, for people."""
    return pd.DataFrame(
        {
            "Author": ["Everyone" if a == "(all)" else a for a in means["author"]],
            "Model version": [str(h)[:12] for h in means["model_hash"]],
            "Forecasts scored": means["scored"].astype(int),
            "Mean Brier score": means["brier"].round(3),
            "Mean log score": means["log_score"].round(3),
        }
    )


def calibration_view(calibration: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Forecast probability": calibration["bin"],
            "Forecasts": calibration["forecasts"].astype(int),
            "Mean forecast": [percent(p) for p in calibration["mean_probability"]],
            "Observed frequency": [percent(p) for p in calibration["observed_frequency"]],
        }
    )


def decomposition_view(decomposition: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Author": ["Everyone" if a == "(all)" else a for a in decomposition["author"]],
            "Probabilities": decomposition["probabilities"].astype(int),
            "Brier (per probability)": decomposition["brier"].round(4),
            "Reliability (lower is better)": decomposition["reliability"].round(4),
            "Resolution (higher is better)": decomposition["resolution"].round(4),
            "Uncertainty": decomposition["uncertainty"].round(4),
        }
    )


def scores_view(model: Model, scores: pd.DataFrame) -> pd.DataFrame:
    """Every scored forecast, for people."""
    return pd.DataFrame(
        {
            "Forecast": scores["id"].astype(int),
            "Recorded (UTC)": scores["recorded_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Issued as of": scores["as_of"].astype(str),
            "Kind": [KIND_NAMES.get(k, k) for k in scores["kind"]],
            "Author": scores["author"],
            "Outcome": [model.names.node(n) for n in scores["node"]],
            "What happened": [
                model.names.state(n, s)
                for n, s in zip(scores["node"], scores["outcome"], strict=True)
            ],
            "Known on": scores["known_on"].astype(str),
            "Amended": ["yes" if a else "" for a in scores["amended"]],
            "Probability given to it": [percent(p) for p in scores["probability"]],
            "Brier score": scores["brier"].round(3),
            "Log score": scores["log_score"].round(3),
            "Note": scores["note"],
        }
    )


KIND_TITLES = {
    journal.LIVE: "Scores of live forecasts",
    journal.RETROSPECTIVE: "Scores of retrospective forecasts (issued as of an earlier day)",
}


def _scores(st: Any, model: Model, db: Any) -> None:
    st.subheader("Scores")
    try:
        result = journal.score(model=model.id, db=db)
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    if result.scores.empty:
        st.info(
            "No resolved forecasts yet: resolve an outcome above to score the forecasts issued "
            "before it."
        )
        return
    st.caption(
        "Brier score: sum over states of (forecast − outcome)², 0 best, 2 worst. "
        "Log score: ln of the probability given to what happened, 0 best. Live and "
        "retrospective forecasts, and different versions of the model file, are scored apart."
    )
    for question in result.scores.attrs.get("amended", []):
        node = question.split("/", 1)[1]
        st.warning(
            f"The resolution of {md_inline(model.names.node(node))} was amended; "
            "the scores use the current one."
        )
    for kind in (journal.LIVE, journal.RETROSPECTIVE):
        mine = result.means[result.means["kind"] == kind]
        if mine.empty:
            continue
        st.markdown(f"**{KIND_TITLES[kind]}**")
        st.dataframe(means_view(mine), hide_index=True, width="stretch")
        cal = result.calibration[result.calibration["kind"] == kind]
        authors = list(dict.fromkeys(cal["author"]))
        who = st.selectbox(
            "Calibration of",
            authors,
            index=authors.index("(all)"),
            format_func=lambda a: "everyone" if a == "(all)" else a,
            key=f"journal_calibration_{kind}",
        )
        shown = cal[cal["author"] == who]
        left, right = st.columns(2)
        left.dataframe(calibration_view(shown), hide_index=True, width="stretch")
        right.altair_chart(calibration_chart(shown), width="stretch")
        dec = result.decomposition[result.decomposition["kind"] == kind]
        with st.expander("Brier decomposition (Murphy: reliability, resolution, uncertainty)"):
            st.dataframe(decomposition_view(dec), hide_index=True, width="stretch")
        _recalibration(st, model, kind, db)
    with st.expander("Every scored forecast"):
        st.dataframe(scores_view(model, result.scores), hide_index=True, width="stretch")


def _recalibration(st: Any, model: Model, kind: str, db: Any) -> None:
    table = journal.recalibrate(model=model.id, kind=kind, db=db)
    with st.expander("Recalibrated forecasts (out of sample)"):
        if table.empty:
            st.caption(
                "Recalibration needs questions resolved earlier than the one it is applied to; "
                "there are none yet."
            )
            return
        st.caption(
            "Each forecast's log-odds are scaled by an exponent fitted only on questions whose "
            "outcome was known earlier: out of sample, never on its own outcome."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "Forecast": table["id"].astype(int),
                    "Outcome": [model.names.node(n) for n in table["node"]],
                    "Fitted on (earlier questions)": table["fitted_on"].astype(int),
                    "Exponent": table["exponent"].round(3),
                    "Given": [percent(p) for p in table["probability"]],
                    "Recalibrated": [percent(p) for p in table["recalibrated"]],
                    "Brier": table["brier"].round(3),
                    "Brier, recalibrated": table["recalibrated_brier"].round(3),
                    "Sample": table["sample"],
                }
            ),
            hide_index=True,
            width="stretch",
        )


def _pool_panel(st: Any, model: Model, db: Any) -> None:
    try:
        pooled = journal.pool(model=model.id, db=db)
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    if pooled.forecasts.empty or int(pooled.forecasts["authors"].max()) < 2:
        return
    with st.expander("Pooled forecast of every author (live forecasts)"):
        st.caption(
            "Each author's latest forecast, pooled two ways: the mean of the probabilities "
            "(linear pool) and the mean of the log-odds. An extremising exponent is used only if "
            "it was fixed in the journal before the outcome was known (forecast journal-setting)."
        )
        table = pooled.scores if len(pooled.scores) else pooled.forecasts
        view = table.drop(columns=["model", "model_hash"]).copy()
        view["node"] = [model.names.node(n) for n in view["node"]]
        st.dataframe(view, hide_index=True, width="stretch")


def backtest_chart(model: Model, table: pd.DataFrame) -> Any:
    """The model's probability of what happened over the as-of dates, beside the uniform forecast."""
    import altair as alt

    data = journal.forecast_path(table)
    data["series"] = [model.names.node(n) for n in data["node"]]
    line = _outcome_lines(
        data,
        alt.X("as_of:T", title="Issued as of", axis=alt.Axis(format="%b %Y")),
        "Probability given to what happened",
        [
            alt.Tooltip("as_of:T", title="As of", format="%Y-%m-%d"),
            alt.Tooltip("series:N", title="Outcome"),
            alt.Tooltip("probability:Q", format=".1%", title="Model"),
            alt.Tooltip("uniform:Q", format=".1%", title="Uniform"),
        ],
    )
    uniform = (
        alt.Chart(data)
        .mark_line(strokeDash=[4, 4])
        .encode(x="as_of:T", y="uniform:Q", color=alt.Color("series:N", legend=None))
    )
    return line + uniform


def _backtest_panel(st: Any, model: Model, evidence: Any, versions: pd.DataFrame) -> None:
    current = versions[versions["current"]] if len(versions) else versions
    if current.empty:
        return
    with st.expander("Backtest: the model's forecast as of past dates"):
        st.caption(
            "The forecast issued at the model's as-of date and at each evidence item's date, with "
            "only the items (among those now applied) dated on or before it, scored against the "
            "current resolutions next to the uniform forecast."
        )
        if not st.button("Run the backtest", key="journal_backtest"):
            return
        outcomes = [
            journal.Outcome(str(r["node"]), str(r["state"]), r["known_on"], str(r["source"]))
            for r in current.to_dict("records")
            if r["node"] in model.nodes
        ]
        try:
            ev = model.evidence(evidence)
            settings = replace(ev, items=())
            table = journal.backtest(model, outcomes, items=ev.items, scenario=settings)
        except ForecastError as exc:
            st.error(md_inline(exc))
            return
        st.altair_chart(backtest_chart(model, table), width="stretch")
        shown = table.copy()
        shown["node"] = [model.names.node(n) for n in shown["node"]]
        st.dataframe(shown.round(3), hide_index=True, width="stretch")


def _details(st: Any, db: Any) -> None:
    with st.expander("Details"):
        st.caption(
            f"Forecasts are kept in {md_inline(journal.describe(db))} (set FORECAST_DB to a file or a "
            "postgresql:// URL to use another journal)."
        )

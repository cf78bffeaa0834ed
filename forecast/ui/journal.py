"""The app's History tab: record the current forecast, resolve outcomes, see the track record.

A thin Streamlit shell over forecast.journal (the CLI and the API use the same
functions).  The journal file is FORECAST_DB or the user's data folder, as for
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
from typing import Any

import pandas as pd

from .. import journal
from ..errors import ForecastError
from ..evidence import Evidence, Scenario
from ..export import KIND_LABELS
from ..model import Model
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
        table = journal.history(db, model=model.id)
    except ForecastError as exc:
        st.error(str(exc))
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
    _resolve_panel(st, model, table, db)
    _scores(st, model, db)
    _details(st, db)


def _remember(st: Any, key: str) -> None:
    remember(key, st.session_state.get(key))


def _details(st: Any, db: Any) -> None:
    with st.expander("Details"):
        st.caption(
            f"Forecasts are kept in `{journal.journal_path(db)}` (set FORECAST_DB to use another file)."
        )


def _record_panel(st: Any, model: Model, evidence: Any, db: Any) -> None:
    restore("journal_author", os.environ.get("FORECAST_AUTHOR", ""))
    restore("journal_note", "")
    with st.container(border=True):
        st.markdown(
            "**Record the current forecast** (the outcome probabilities under the evidence now set)"
        )
        st.text_input("Author", max_chars=journal.MAX_AUTHOR, key="journal_author")
        st.text_area("Note", max_chars=journal.MAX_NOTE, key="journal_note", height=80)
        st.button(
            "Record forecast",
            key="journal_record",
            on_click=_record,
            args=(st, model, evidence, db),
        )
        message = st.session_state.pop("journal_record_message", None)
        if message:
            (st.success if message[0] == "ok" else st.error)(message[1])
    _remember(st, "journal_author")
    _remember(st, "journal_note")


def _record(st: Any, model: Model, evidence: Any, db: Any) -> None:
    """Button callback: record, then clear the note so the next forecast does not repeat it."""
    author = str(st.session_state.get("journal_author", ""))
    note = str(st.session_state.get("journal_note", ""))
    if not author.strip():
        st.session_state["journal_record_message"] = (
            "error",
            "Enter your name as author before recording, so the forecast can be scored by author.",
        )
        return
    try:
        fid = journal.record(model, evidence, note=note, author=author, db=db)
    except ForecastError as exc:
        st.session_state["journal_record_message"] = ("error", str(exc))
        return
    st.session_state["journal_note"] = ""
    st.session_state["journal_record_message"] = ("ok", f"Recorded forecast {fid}.")


def history_chart(model: Model, table: pd.DataFrame) -> Any:
    """Each outcome state's recorded probability over time (one line per node and state)."""
    import altair as alt

    data = table.copy()
    data["series"] = [
        model.names.pair(n, s) for n, s in zip(data["node"], data["state"], strict=True)
    ]
    data["recorded_at"] = data["recorded_at"].dt.tz_convert(None)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "recorded_at:T",
                title="Recorded (UTC)",
                axis=alt.Axis(format="%d %b %Y %H:%M", labelAngle=-30, tickCount=6),
            ),
            y=alt.Y(
                "probability:Q",
                title="Probability",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("series:N", title="Outcome", legend=alt.Legend(labelLimit=360)),
            tooltip=[
                alt.Tooltip("id:Q", title="Forecast"),
                alt.Tooltip("recorded_at:T", title="Recorded", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("author:N", title="Author"),
                alt.Tooltip("series:N", title="Outcome"),
                alt.Tooltip("probability:Q", format=".1%", title="Probability"),
                alt.Tooltip("note:N", title="Note"),
            ],
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
    """One row per recorded forecast, for people: when, who, each outcome state's probability, evidence, note."""
    evidence = table.attrs.get("forecast_evidence", {})
    rows = []
    for fid, group in table.groupby("id", sort=True):
        first = group.iloc[0]
        row: dict[str, Any] = {
            "Forecast": int(fid),
            "Recorded (UTC)": first["recorded_at"].strftime("%Y-%m-%d %H:%M"),
            "Author": first["author"],
        }
        for n, s, p in zip(group["node"], group["state"], group["probability"], strict=True):
            row[model.names.pair(n, s)] = percent(p)
        found = evidence.get(int(fid))
        row["Evidence"] = evidence_summary(
            model, found.get("describe") if isinstance(found, dict) else None
        )
        row["Note"] = first["note"]
        rows.append(row)
    return pd.DataFrame(rows)


def _resolve_panel(st: Any, model: Model, table: pd.DataFrame, db: Any) -> None:
    st.subheader("Resolve")
    st.caption(
        "When an outcome is known, record what happened: every forecast made before is scored."
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
    restore(day_key, dt.datetime.now(dt.UTC).date())
    day = c3.date_input("Known on", key=day_key)
    for key in (node_key, state_key, day_key):
        _remember(st, key)
    if st.button("Resolve", key="journal_resolve"):
        try:
            count = journal.resolve(model.id, node, state, day, db=db)
        except ForecastError as exc:
            st.error(str(exc))
            return
        st.success(
            f"Resolved: {model.names.node(node)} — {model.names.state(node, state)}, known on "
            f"{day:%d %B %Y}; it scores {count} recorded forecast(s)."
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
    return diagonal.encode(x="x:Q", y="y:Q") + points


def means_view(means: pd.DataFrame) -> pd.DataFrame:
    """Mean scores per author and over everyone, for people."""
    return pd.DataFrame(
        {
            "Author": ["Everyone" if a == "(all)" else a for a in means["author"]],
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


def scores_view(model: Model, scores: pd.DataFrame) -> pd.DataFrame:
    """Every scored forecast, for people."""
    return pd.DataFrame(
        {
            "Forecast": scores["id"].astype(int),
            "Recorded (UTC)": scores["recorded_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Author": scores["author"],
            "Outcome": [model.names.node(n) for n in scores["node"]],
            "What happened": [
                model.names.state(n, s)
                for n, s in zip(scores["node"], scores["outcome"], strict=True)
            ],
            "Known on": scores["resolved_on"].astype(str),
            "Probability given to it": [percent(p) for p in scores["probability"]],
            "Brier score": scores["brier"].round(3),
            "Log score": scores["log_score"].round(3),
            "Note": scores["note"],
        }
    )


def _scores(st: Any, model: Model, db: Any) -> None:
    st.subheader("Scores")
    try:
        result = journal.score(db, model=model.id)
    except ForecastError as exc:
        st.error(str(exc))
        return
    if result.scores.empty:
        st.info(
            "No resolved forecasts yet: resolve an outcome above to score the forecasts recorded before it."
        )
        return
    st.caption(
        "Brier score: sum over states of (forecast − outcome)², 0 best, 2 worst. "
        "Log score: ln of the probability given to what happened, 0 best."
    )
    st.dataframe(means_view(result.means), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.markdown("**Calibration**")
    left.dataframe(calibration_view(result.calibration), hide_index=True, width="stretch")
    right.altair_chart(calibration_chart(result.calibration), width="stretch")
    with st.expander("Every scored forecast"):
        st.dataframe(scores_view(model, result.scores), hide_index=True, width="stretch")

"""The app's History tab: record the current forecast, resolve outcomes, see the track record.

A thin Streamlit shell over forecast.journal (the CLI and the API use the same
functions).  The journal file is FORECAST_DB or the user's data folder, as for
the CLI; on a shared server every analyst records into the same file.
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
from ..model import Model


def render(
    model: Model,
    evidence: Evidence | Scenario | Mapping[str, Any] | None,
    db: str | os.PathLike[str] | None = None,
) -> None:
    """Draw the History tab for `model`, recording under `evidence` (the workspace's current evidence)."""
    import streamlit as st

    st.caption(f"Journal file: `{journal.journal_path(db)}`")
    _record_form(st, model, evidence, db)
    try:
        table = journal.history(db, model=model.id)
    except ForecastError as exc:
        st.error(str(exc))
        return
    st.subheader("Recorded forecasts")
    if table.empty:
        st.info(f"No forecasts of '{model.id}' recorded yet. Record one above.")
        return
    st.altair_chart(history_chart(model, table), width="stretch")
    with st.expander(f"All {table['id'].nunique()} recorded forecasts"):
        st.dataframe(_history_view(table), hide_index=True, width="stretch")
    _resolve_form(st, model, table, db)
    _scores(st, model, db)


def _record_form(st: Any, model: Model, evidence: Any, db: Any) -> None:
    with st.form("journal_record", clear_on_submit=False):
        st.markdown(
            "**Record the current forecast** (the outcome probabilities under the evidence now set)"
        )
        author = st.text_input(
            "Author",
            value=os.environ.get("FORECAST_AUTHOR", ""),
            max_chars=journal.MAX_AUTHOR,
            key="journal_author",
        )
        note = st.text_area("Note", max_chars=journal.MAX_NOTE, key="journal_note")
        submitted = st.form_submit_button("Record forecast")
    if not submitted:
        return
    if not author.strip():
        st.error(
            "Enter your name as author before recording, so the forecast can be scored by author."
        )
        return
    try:
        fid = journal.record(model, evidence, note=note, author=author, db=db)
    except ForecastError as exc:
        st.error(str(exc))
        return
    st.success(f"Recorded forecast {fid}.")


def history_chart(model: Model, table: pd.DataFrame) -> Any:
    """Each outcome state's recorded probability over time (one line per node and state)."""
    import altair as alt

    data = table.copy()
    data["series"] = [
        f"{model.label(n) if n in model.nodes else n}: {s}"
        for n, s in zip(data["node"], data["state"], strict=True)
    ]
    data["recorded_at"] = data["recorded_at"].dt.tz_convert(None)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("recorded_at:T", title="Recorded (UTC)"),
            y=alt.Y(
                "probability:Q",
                title="Probability",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("series:N", title="Outcome"),
            tooltip=[
                alt.Tooltip("id:Q", title="Forecast"),
                alt.Tooltip("recorded_at:T", title="Recorded", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("author:N"),
                alt.Tooltip("series:N", title="Outcome"),
                alt.Tooltip("probability:Q", format=".1%"),
                alt.Tooltip("note:N"),
            ],
        )
    )


def _history_view(table: pd.DataFrame) -> pd.DataFrame:
    out = table.drop(columns=["model_hash"]).copy()
    out["recorded_at"] = out["recorded_at"].dt.strftime("%Y-%m-%d %H:%M")
    out["probability"] = out["probability"].map("{:.1%}".format)
    return out


def _resolve_form(st: Any, model: Model, table: pd.DataFrame, db: Any) -> None:
    st.subheader("Resolve")
    nodes = list(dict.fromkeys(table["node"]))
    c1, c2, c3 = st.columns(3)
    node = c1.selectbox(
        "Outcome node",
        nodes,
        format_func=lambda n: model.label(n) if n in model.nodes else n,
        key="journal_resolve_node",
    )
    states = list(dict.fromkeys(table.loc[table["node"] == node, "state"]))
    state = c2.selectbox("What happened", states, key="journal_resolve_state")
    day = c3.date_input(
        "Known on", value=dt.datetime.now(dt.UTC).date(), key="journal_resolve_date"
    )
    if st.button("Resolve", key="journal_resolve"):
        try:
            count = journal.resolve(model.id, node, state, day, db=db)
        except ForecastError as exc:
            st.error(str(exc))
            return
        st.success(
            f"Resolved {node} = {state} on {day.isoformat()}; it scores {count} recorded forecast(s)."
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
            size=alt.Size("forecasts:Q", title="Forecasts"),
            tooltip=[
                "bin:N",
                "forecasts:Q",
                alt.Tooltip("mean_probability:Q", format=".1%"),
                alt.Tooltip("observed_frequency:Q", format=".1%"),
            ],
        )
    )
    return diagonal.encode(x="x:Q", y="y:Q") + points


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
    st.dataframe(result.means, hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.markdown("**Calibration**")
    left.dataframe(
        result.calibration.drop(columns=["low", "high"]), hide_index=True, width="stretch"
    )
    right.altair_chart(calibration_chart(result.calibration), width="stretch")
    with st.expander("Every scored forecast"):
        st.dataframe(result.scores, hide_index=True, width="stretch")

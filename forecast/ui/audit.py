"""The app's Audit tab: the claims audit, the model checks, evidence weights, and what-if interventions.

A thin shell over forecast.claims, forecast.checks and Model.posteriors(do=...):
the same table `forecast audit` prints, the warnings `forecast validate` prints,
each applied item's effective weight on the forecast date, and an intervention
mode that sets a node (graph surgery) on top of the current evidence and shows
the outcomes next to plain conditioning.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..checks import model_warnings
from ..claims import audit, claims_path
from ..errors import ForecastError
from ..evidence import Evidence
from ..model import Model


def intervention_table(model: Model, evidence: Evidence, node: str, state: str) -> pd.DataFrame:
    """Outcome probabilities now, if `node` is observed in `state`, and if it is set to it (do)."""
    targets = model.outcomes or model.nodes
    now = model.posteriors(scenario=evidence, targets=targets)
    seen = model.posteriors(scenario=evidence, hard={node: state}, targets=targets)
    done = model.posteriors(scenario=evidence, do={node: state}, targets=targets)
    out = pd.DataFrame(
        {
            "node": [model.label(n) for n in now["node"]],
            "state": [
                model.state_label(n, s) for n, s in zip(now["node"], now["state"], strict=True)
            ],
            "current": now["probability"].to_numpy(),
            "if observed": seen["probability"].to_numpy(),
            "if set (do)": done["probability"].to_numpy(),
        }
    )
    return out


def weights_view(model: Model, evidence: Evidence) -> pd.DataFrame:
    """The applied items with their age and effective weight on the forecast date."""
    day = model.forecast_date(evidence)
    table = model.item_weights(evidence.items, day)
    return table.rename(columns={"age_days": "age (days)", "half_life_days": "half-life (days)"})


def render(model: Model, evidence: Evidence) -> None:
    """Draw the Audit tab for `model` under the workspace's current evidence."""
    import streamlit as st

    st.subheader("Claims audit")
    if claims_path(model) is None:
        st.info("This model has no claims file (<model>.claims.yaml beside it).")
    else:
        try:
            table = audit(model)
        except ForecastError as exc:
            st.error(str(exc))
        else:
            failed = int((table["verdict"] == "fail").sum())
            msg = f"{len(table)} claims, {len(table) - failed} pass, {failed} fail."
            (st.error if failed else st.success)(msg)
            st.dataframe(table, hide_index=True, width="stretch")
    warnings = model_warnings(model, evidence.items)
    st.subheader("Model checks")
    if warnings:
        for w in warnings:
            st.warning(w)
    else:
        st.success("No evidence item on an outcome node; no likely double counting.")
    if evidence.items:
        day = model.forecast_date(evidence)
        st.subheader(f"Evidence weights on {day.isoformat() if day else 'the forecast date'}")
        st.dataframe(weights_view(model, evidence), hide_index=True, width="stretch")
    _interventions(st, model, evidence)


def _interventions(st: Any, model: Model, evidence: Evidence) -> None:
    st.subheader("What if: set a node (intervention)")
    st.caption(
        "Setting a node cuts it from its causes (graph surgery); observing it also informs "
        "about its causes. Both are shown on top of the current evidence."
    )
    candidates = [n for n in model.nodes if n not in model.outcomes]
    node = st.selectbox(
        "Node", candidates, format_func=model.label, key=f"audit_do_node_{model.content_hash[:12]}"
    )
    state = st.selectbox(
        "State",
        model.states(node),
        format_func=lambda s: model.state_label(node, s),
        key=f"audit_do_state_{model.content_hash[:12]}_{node}",
    )
    try:
        table = intervention_table(model, evidence, node, state)
    except ForecastError as exc:
        st.error(str(exc))
        return
    st.dataframe(
        table.style.format({c: "{:.1%}" for c in ("current", "if observed", "if set (do)")}),
        hide_index=True,
        width="stretch",
    )

"""The workspace's Analysis tab: tornado, what to collect next, evidence waterfall, intervals.

A thin shell over `forecast.analysis`: the chart data helpers below are pure
(unit-tested), `render` only lays out widgets.  The quick analyses (one batch
each) rerun with the page; the Monte Carlo ones run with a progress bar and
keep their result in the session until the model, evidence or settings change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ..analysis import (
    explain,
    explain_sequence,
    indicators,
    parameter_sensitivity,
    sensitivity,
    uncertainty,
)
from ..errors import ForecastError
from ..evidence import Evidence
from ..export import analysis_sections, display_table, to_html
from ..export import render as render_text
from ..model import Model

BLUE, UP, DOWN, GREY, DARK = "#3567b5", "#2e8b57", "#c0392b", "#9aa5b1", "#1d2430"
TOP = 15  # rows shown in charts


# ------------------------------------------------------------------ chart data (pure)


def _state_label(model: Model, node: str, state: str) -> str:
    try:
        from .controls import state_label

        return state_label(model, node, state)
    except ImportError:  # pragma: no cover - the workspace ships controls
        return state


def tornado_data(model: Model, table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Rows for the tornado: label, low, high, swing, low_state, high_state (largest swing first)."""
    data = table.head(top).copy()
    data["label"] = [model.label(n) for n in data["node"]]
    data["low_state"] = [
        _state_label(model, n, s) for n, s in zip(data["node"], data["low_state"], strict=True)
    ]
    data["high_state"] = [
        _state_label(model, n, s) for n, s in zip(data["node"], data["high_state"], strict=True)
    ]
    return data[["label", "low", "high", "swing", "low_state", "high_state"]]


def tornado_chart(data: pd.DataFrame, baseline: float) -> alt.LayerChart:
    """Bars from the lowest to the highest target probability, with the current value as a rule."""
    order = list(data["label"])
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    bars = (
        alt.Chart(data)
        .mark_bar(color=BLUE, height=16)
        .encode(
            x=alt.X("low:Q", title="Target probability", axis=alt.Axis(format="%")),
            x2="high:Q",
            y=y,
            tooltip=[
                alt.Tooltip("label:N", title="Node"),
                alt.Tooltip("low:Q", format=".1%", title="Lowest"),
                alt.Tooltip("low_state:N", title="when"),
                alt.Tooltip("high:Q", format=".1%", title="Highest"),
                alt.Tooltip("high_state:N", title="when"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"baseline": [baseline]}))
        .mark_rule(color=DARK, strokeDash=[4, 3])
        .encode(x="baseline:Q")
    )
    return alt.layer(bars, rule).properties(height=max(80, 26 * len(data)))


def parameter_data(table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Rows for the parameter tornado: entry (node [row] state), low, high, value."""
    data = table.head(top).copy()
    data["entry"] = [
        f"{n} [{r}] {s}" if r else f"{n} {s}"
        for n, r, s in zip(data["node"], data["parent_states"], data["state"], strict=True)
    ]
    data["low"] = data[["minus", "plus"]].min(axis=1)
    data["high"] = data[["minus", "plus"]].max(axis=1)
    return data[["entry", "low", "high", "value", "minus", "plus"]]


def parameter_chart(data: pd.DataFrame, baseline: float) -> alt.LayerChart:
    order = list(data["entry"])
    bars = (
        alt.Chart(data)
        .mark_bar(color=BLUE, height=14)
        .encode(
            x=alt.X("low:Q", title="Target probability", axis=alt.Axis(format="%")),
            x2="high:Q",
            y=alt.Y("entry:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            tooltip=[
                alt.Tooltip("entry:N", title="CPT entry"),
                alt.Tooltip("value:Q", format=".1%", title="Entry now"),
                alt.Tooltip("minus:Q", format=".1%", title="Target, entry lowered"),
                alt.Tooltip("plus:Q", format=".1%", title="Target, entry raised"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"baseline": [baseline]}))
        .mark_rule(color=DARK, strokeDash=[4, 3])
        .encode(x="baseline:Q")
    )
    return alt.layer(bars, rule).properties(height=max(80, 24 * len(data)))


def indicator_ranking(model: Model, table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """One row per node, best first: rank, label, bits, share, and what each observation would do."""
    target = str(table.attrs.get("target", ""))
    t_cols = [c for c in table.columns if c.startswith(f"{target}=")]
    rows = []
    for rank, (node, group) in enumerate(table.groupby("node", sort=False), start=1):
        if rank > top:
            break
        effects = []
        for _, rec in group.iterrows():
            probs = ", ".join(
                f"{_state_label(model, target, c.split('=', 1)[1])} {100 * float(rec[c]):.0f}%"
                for c in t_cols
            )
            observed = _state_label(model, node, rec["state"])
            effects.append(
                f"if {observed} ({100 * float(rec['state_probability']):.0f}% likely): {probs}"
            )
        rows.append(
            {
                "rank": rank,
                "label": model.label(node),
                "node": node,
                "bits": float(group["mutual_information_bits"].iloc[0]),
                "share": float(group["entropy_share"].iloc[0]),
                "if_observed": "; ".join(effects),
            }
        )
    return pd.DataFrame(rows, columns=["rank", "label", "node", "bits", "share", "if_observed"])


def indicator_chart(ranking: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(ranking)
        .mark_bar(color=BLUE, height=16)
        .encode(
            x=alt.X("bits:Q", title="Expected information (bits)"),
            y=alt.Y(
                "label:N", sort=list(ranking["label"]), title=None, axis=alt.Axis(labelLimit=260)
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Node"),
                alt.Tooltip("bits:Q", format=".4f", title="Bits"),
                alt.Tooltip("share:Q", format=".1%", title="Share of the uncertainty"),
            ],
        )
        .properties(height=max(80, 26 * len(ranking)))
    )


def waterfall_data(seq: pd.DataFrame) -> pd.DataFrame:
    """Waterfall bars: the prior, one floating bar per piece of evidence, the total.

    Columns: order, label, start, end, change ('prior', 'up', 'down', 'total').
    """
    cum = [float(c) for c in seq["cumulative_probability"]]
    rows = [
        {"order": 0, "label": "Without evidence", "start": 0.0, "end": cum[0], "change": "prior"}
    ]
    for i in range(1, len(cum)):
        title = str(seq["title"].iloc[i])
        date = seq["date"].iloc[i]
        label = f"{date} {title}" if date is not None and not pd.isna(date) else title
        rows.append(
            {
                "order": i,
                "label": f"{i}. {label}"[:80],
                "start": cum[i - 1],
                "end": cum[i],
                "change": "up" if cum[i] >= cum[i - 1] else "down",
            }
        )
    rows.append(
        {
            "order": len(cum),
            "label": "With all the evidence",
            "start": 0.0,
            "end": cum[-1],
            "change": "total",
        }
    )
    data = pd.DataFrame(rows)
    data["delta"] = data["end"] - data["start"]
    return data


def waterfall_chart(data: pd.DataFrame) -> alt.Chart:
    colour = alt.Color(
        "change:N",
        scale=alt.Scale(domain=["prior", "up", "down", "total"], range=[GREY, UP, DOWN, DARK]),
        legend=None,
    )
    return (
        alt.Chart(data)
        .mark_bar(height=16)
        .encode(
            x=alt.X("start:Q", title="Target probability", axis=alt.Axis(format="%")),
            x2="end:Q",
            y=alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=320)),
            color=colour,
            tooltip=[
                alt.Tooltip("label:N", title="Step"),
                alt.Tooltip("start:Q", format=".1%", title="Before"),
                alt.Tooltip("end:Q", format=".1%", title="After"),
            ],
        )
        .properties(height=max(80, 26 * len(data)))
    )


def interval_data(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """Rows for the interval bars: label (node: state), probability, p05, p50, p95."""
    data = table.copy()
    data["label"] = [
        f"{model.label(n)}: {_state_label(model, n, s)}"
        for n, s in zip(data["node"], data["state"], strict=True)
    ]
    return data[["label", "node", "state", "probability", "p05", "p50", "p95"]]


def interval_chart(data: pd.DataFrame) -> alt.LayerChart:
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=320))
    scale = alt.Scale(domain=[0, 1])
    base = alt.Chart(data)
    bar = base.mark_bar(color="#b8c9e8", height=14).encode(
        x=alt.X(
            "p05:Q",
            scale=scale,
            title="Probability (bar: 90% interval, tick: median, dot: point value)",
            axis=alt.Axis(format="%"),
        ),
        x2="p95:Q",
        y=y,
        tooltip=[
            alt.Tooltip("label:N", title="State"),
            alt.Tooltip("probability:Q", format=".1%", title="Point value"),
            alt.Tooltip("p05:Q", format=".1%", title="5%"),
            alt.Tooltip("p50:Q", format=".1%", title="Median"),
            alt.Tooltip("p95:Q", format=".1%", title="95%"),
        ],
    )
    tick = base.mark_tick(color=DARK, thickness=2, size=18).encode(
        x=alt.X("p50:Q", scale=scale), y=y
    )
    dot = base.mark_point(color=BLUE, filled=True, size=50).encode(
        x=alt.X("probability:Q", scale=scale), y=y
    )
    return alt.layer(bar, tick, dot).properties(height=max(80, 26 * len(data)))


def report_html(posteriors: pd.DataFrame, analyses: list[pd.DataFrame]) -> str:
    """One self-contained HTML report: the posteriors, then every analysis with its chart and settings."""
    sections: list[tuple[str, str]] = []
    for table in analyses:
        sections += analysis_sections(table)
    return to_html(posteriors, extra_sections=sections)


def evidence_key(evidence: Evidence) -> str:
    """A stable key for caching results per evidence."""
    return json.dumps(
        {"name": evidence.name, "rows": evidence.describe()}, sort_keys=True, default=str
    )


# ------------------------------------------------------------------ Streamlit


def _cached(
    key: tuple[Any, ...], compute: Callable[[Callable[[int, int], None]], pd.DataFrame], label: str
) -> pd.DataFrame:
    """Run a long analysis once per key, with a progress bar; an interrupted run stores nothing."""
    store = st.session_state.setdefault("analysis_cache", {})
    if key in store:
        return store[key]
    bar = st.progress(0.0, text=label)

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{label}: {done:,} of {total:,}")

    table = compute(progress)
    bar.empty()
    if len(store) > 20:
        store.clear()
    store[key] = table
    return table


def _download(table: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        f"Download {name} (CSV)",
        render_text(table, "csv").encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
    )


def render(model: Model, evidence: Evidence) -> None:
    """Draw the Analysis tab for `model` under `evidence` (the workspace's current settings)."""
    evidence = evidence if evidence is not None else Evidence()
    mk = model.content_hash[:12]
    ek = evidence_key(evidence)
    outcomes = model.outcomes or list(model.nodes)
    nodes = outcomes + [n for n in model.nodes if n not in outcomes]
    c1, c2 = st.columns(2)
    node = c1.selectbox("Target", nodes, format_func=model.label, key=f"analysis_target_{mk}")
    states = model.states(node)
    state = c2.selectbox(
        "Target state",
        states,
        format_func=lambda s: _state_label(model, node, s),
        key=f"analysis_state_{mk}_{node}",
    )
    target = f"{node}={state}"
    sens = sensitivity(model, target, scenario=evidence)
    ind = indicators(model, node, scenario=evidence)
    st.caption(sens.attrs.get("summary", ""))
    tabs = st.tabs(
        [
            "What drives it",
            "What to collect next",
            "What the evidence did",
            "How sure are the numbers",
        ]
    )
    analyses: list[pd.DataFrame] = [sens, ind]

    with tabs[0]:
        st.markdown(
            "Each bar spans the lowest and highest probability of the target when that node is set to each "
            "of its states on top of the current evidence; the dashed line is the current value."
        )
        if sens.empty:
            st.info("Every other node is already set: nothing left to vary.")
        else:
            st.altair_chart(
                tornado_chart(tornado_data(model, sens), sens.attrs["baseline"]), width="stretch"
            )
            with st.expander("Table"):
                st.dataframe(display_table(sens), hide_index=True, width="stretch")
                _download(sens, f"{model.id}_sensitivity", f"analysis_dl_sens_{mk}")
        with st.expander("Sensitivity to the numbers in the tables (each CPT entry)"):
            delta = st.slider(
                "Move each entry by", 0.01, 0.5, 0.1, 0.01, key=f"analysis_delta_{mk}"
            )
            if st.toggle("Compute", key=f"analysis_param_on_{mk}"):
                params = _cached(
                    ("parameters", mk, ek, target, delta),
                    lambda p: parameter_sensitivity(
                        model, target, delta, scenario=evidence, progress=p
                    ),
                    "Moving CPT entries",
                )
                analyses.append(params)
                if params.empty:
                    st.info("No entry moves the target.")
                else:
                    st.altair_chart(
                        parameter_chart(parameter_data(params), params.attrs["baseline"]),
                        width="stretch",
                    )
                    st.dataframe(display_table(params), hide_index=True, width="stretch")
                    _download(params, f"{model.id}_parameter_sensitivity", f"analysis_dl_par_{mk}")

    with tabs[1]:
        st.markdown(
            f"Unobserved nodes ranked by how much observing them would, on average, reduce the uncertainty "
            f"about **{model.label(node)}** (mutual information, in bits)."
        )
        if ind.empty:
            st.info("Every other node is already set: nothing left to observe.")
        else:
            ranking = indicator_ranking(model, ind)
            st.altair_chart(indicator_chart(ranking), width="stretch")
            for r in ranking.head(5).itertuples(index=False):
                st.markdown(
                    f"**{r.rank}. {r.label}** — {r.bits:.3f} bits ({100 * r.share:.0f}% of the uncertainty)"
                )
                st.caption(r.if_observed)
            with st.expander("Full ranking"):
                st.dataframe(display_table(ind), hide_index=True, width="stretch")
                _download(ind, f"{model.id}_indicators", f"analysis_dl_ind_{mk}")

    with tabs[2]:
        if evidence.empty:
            st.info(
                "No evidence is in force: set nodes or apply evidence items on the Forecast tab."
            )
        else:
            seq = explain_sequence(model, target, scenario=evidence)
            exp = explain(model, target, scenario=evidence)
            analyses += [seq, exp]
            st.markdown(
                "How the target's probability moved as the evidence was added (undated settings first, then items by date)."
            )
            st.altair_chart(waterfall_chart(waterfall_data(seq)), width="stretch")
            st.markdown("Each piece's contribution when it alone is left out:")
            st.dataframe(display_table(exp), hide_index=True, width="stretch")
            _download(exp, f"{model.id}_evidence_impact", f"analysis_dl_exp_{mk}")

    with tabs[3]:
        st.markdown(
            "Every CPT row is redrawn from a Dirichlet distribution whose weight is the node's confidence "
            f"(an equivalent sample size; the model's default is {model.spec.default_confidence:g}); the bars "
            "show where 90% of the recomputed probabilities fall."
        )
        c1, c2 = st.columns(2)
        samples = int(
            c1.number_input("Draws", 100, 50_000, 2000, 100, key=f"analysis_samples_{mk}")
        )
        seed = int(c2.number_input("Seed", 0, 2**31 - 1, 0, 1, key=f"analysis_seed_{mk}"))
        try:
            unc = _cached(
                ("uncertainty", mk, ek, samples, seed),
                lambda p: uncertainty(model, samples, seed, scenario=evidence, progress=p),
                "Drawing parameters",
            )
        except ForecastError as exc:
            st.error(str(exc))
        else:
            analyses.append(unc)
            st.altair_chart(interval_chart(interval_data(model, unc)), width="stretch")
            st.dataframe(display_table(unc), hide_index=True, width="stretch")
            _download(unc, f"{model.id}_uncertainty", f"analysis_dl_unc_{mk}")

    posteriors = model.posteriors(scenario=evidence, targets=outcomes)
    st.download_button(
        "Download the analysis report (HTML)",
        report_html(posteriors, analyses).encode("utf-8"),
        file_name=f"{model.id}_analysis.html",
        mime="text/html",
        key=f"analysis_report_{mk}",
    )

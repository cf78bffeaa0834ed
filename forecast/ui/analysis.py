"""The workspace's Analysis tab: tornado, what to collect next, evidence waterfall, intervals.

A thin shell over `forecast.analysis`: the chart data helpers below are pure
(unit-tested); `render` lays out the target choice and calls one function per
sub-tab.  The quick analyses (one batch
each) rerun with the page; the Monte Carlo ones run with a progress bar and
keep their result in the session until the model, evidence or settings change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from .. import analysis as forecast_analysis
from ..errors import ForecastError
from ..evidence import Evidence
from ..export import HEADERS, analysis_sections, parent_pairs, readable_table, to_html
from ..export import render as render_text
from ..model import Model
from ..plaintext import md_inline
from ..present import BLUE, DARK, DOWN, GREY, INTERVAL, UP, clip, percent, whole_percent
from ..present import zoom as zoom_range
from ..words import words
from .report import name_attrs

TOP = 15  # rows shown in charts
AXIS_ROOM = 70  # pixels under the rows for the axis and its title


def chart_height(rows: int, step: int = 26) -> int:
    """Total height for a chart of `rows` bars: Streamlit sizes the whole chart, axis included."""
    return step * max(rows, 1) + AXIS_ROOM


def zoom(values: list[float], pad: float = 0.02) -> alt.Scale:
    """An x scale over the range the bars span (a little wider), so small differences show."""
    return alt.Scale(domain=list(zoom_range(values, pad)), zero=False)


# ------------------------------------------------------------------ chart data (pure)


def named(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """The table with the page's state and source names in its attrs, so every view of it shows no ids."""
    table.attrs.update(name_attrs(model))
    return table


def target_sentence(model: Model, node: str, state: str, probability: float) -> str:
    """'Iran marginalised in Syria: **No** is 63.3% likely (likely) under the current evidence.'"""
    return (
        f"**{md_inline(model.label(node))}: {md_inline(model.state_label(node, state))}** has a probability of "
        f"**{percent(probability)}** ({words(probability)}) under the current evidence."
    )


def tornado_data(model: Model, table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Rows for the tornado: label, low, high, swing, low_state, high_state (largest swing first)."""
    data = table.head(top).copy()
    data["label"] = [model.label(n) for n in data["node"]]
    data["low_state"] = [
        model.state_label(n, s) for n, s in zip(data["node"], data["low_state"], strict=True)
    ]
    data["high_state"] = [
        model.state_label(n, s) for n, s in zip(data["node"], data["high_state"], strict=True)
    ]
    return data[["label", "low", "high", "swing", "low_state", "high_state"]]


def range_chart(
    data: pd.DataFrame,
    baseline: float,
    label: str,
    tooltip: list[alt.Tooltip],
    *,
    bar_height: int = 16,
    row_height: int | None = None,
    label_limit: int = 260,
) -> alt.LayerChart | alt.FacetChart:
    """Bars from `low` to `high` per row of `label`, with the current value as a dashed rule."""
    bars = (
        alt.Chart(data)
        .mark_bar(color=BLUE, height=bar_height)
        .encode(
            x=alt.X(
                "low:Q",
                title="Target probability",
                axis=alt.Axis(format="%"),
                scale=zoom([*data["low"], *data["high"], baseline]),
            ),
            x2="high:Q",
            y=alt.Y(
                f"{label}:N",
                sort=list(data[label]),
                title=None,
                axis=alt.Axis(labelLimit=label_limit),
            ),
            tooltip=tooltip,
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"baseline": [baseline]}))
        .mark_rule(color=DARK, strokeDash=[4, 3])
        .encode(x="baseline:Q")
    )
    height = chart_height(len(data)) if row_height is None else chart_height(len(data), row_height)
    return alt.layer(bars, rule).properties(height=height)


# What hovering a bar of the node tornado shows.
_TORNADO_TOOLTIP = [
    alt.Tooltip("label:N", title="Node"),
    alt.Tooltip("low:Q", format=".1%", title="Lowest"),
    alt.Tooltip("low_state:N", title="when"),
    alt.Tooltip("high:Q", format=".1%", title="Highest"),
    alt.Tooltip("high_state:N", title="when"),
]


def tornado_chart(data: pd.DataFrame, baseline: float) -> alt.LayerChart | alt.FacetChart:
    """Bars from the lowest to the highest target probability, with the current value as a rule."""
    return range_chart(data, baseline, "label", _TORNADO_TOOLTIP)


def parameter_data(model: Model, table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Rows for the parameter tornado: entry ('Node: State [when parents]'), low, high, value."""
    data = table.head(top).copy()

    def entry(node: str, row: str, state: str) -> str:
        text = f"{model.label(node)}: {model.state_label(node, state)}"
        if not row:
            return text
        when = ", ".join(model.state_label(p, s) for p, s in parent_pairs(row))
        return f"{text} [when {when}]"

    data["entry"] = [
        entry(n, r, s)
        for n, r, s in zip(data["node"], data["parent_states"], data["state"], strict=True)
    ]
    data["low"] = data[["minus", "plus"]].min(axis=1)
    data["high"] = data[["minus", "plus"]].max(axis=1)
    return data[["entry", "low", "high", "value", "minus", "plus"]]


# What hovering a bar of the parameter tornado shows.
_PARAMETER_TOOLTIP = [
    alt.Tooltip("entry:N", title="Number in the model"),
    alt.Tooltip("value:Q", format=".1%", title="Its value now"),
    alt.Tooltip("minus:Q", format=".1%", title="Target, number lowered"),
    alt.Tooltip("plus:Q", format=".1%", title="Target, number raised"),
]


def parameter_chart(data: pd.DataFrame, baseline: float) -> alt.LayerChart | alt.FacetChart:
    """The parameter tornado: the target's range when each CPT entry is moved down and up."""
    return range_chart(
        data, baseline, "entry", _PARAMETER_TOOLTIP, bar_height=14, row_height=24, label_limit=320
    )


def indicator_ranking(model: Model, table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """One row per node, best first: rank, label, bits, share, and what each observation would do."""
    target = str(table.attrs.get("target", ""))
    t_cols = [c for c in table.columns if c.startswith(f"{target}=")]
    rows = []
    for rank, (key, group) in enumerate(table.groupby("node", sort=False), start=1):
        if rank > top:
            break
        node = str(key)
        effects = []
        for _, rec in group.iterrows():
            probs = ", ".join(
                f"{model.state_label(target, c.split('=', 1)[1])} {100 * float(rec[c]):.0f}%"
                for c in t_cols
            )
            observed = model.state_label(node, str(rec["state"]))
            effects.append(
                f"If {observed} ({100 * float(rec['state_probability']):.0f}% likely): {probs}"
            )
        rows.append(
            {
                "rank": rank,
                "label": model.label(node),
                "node": node,
                "bits": float(group["mutual_information_bits"].iloc[0]),
                "share": float(group["entropy_share"].iloc[0]),
                "if_observed": " · ".join(effects),
            }
        )
    return pd.DataFrame(rows, columns=["rank", "label", "node", "bits", "share", "if_observed"])


def indicator_chart(ranking: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(ranking)
        .mark_bar(color=BLUE, height=16)
        .encode(
            x=alt.X("bits:Q", title="Information it would give (bits; one bit = one coin toss)"),
            y=alt.Y(
                "label:N", sort=list(ranking["label"]), title=None, axis=alt.Axis(labelLimit=260)
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Node"),
                alt.Tooltip("bits:Q", format=".4f", title="Bits"),
                alt.Tooltip("share:Q", format=".1%", title="Share of the uncertainty"),
            ],
        )
        .properties(height=chart_height(len(ranking)))
    )


def waterfall_data(seq: pd.DataFrame) -> pd.DataFrame:
    """Waterfall bars: the prior, one floating bar per piece of evidence, the total.

    Columns: order, label, start, end, change ('prior', 'up', 'down', 'total');
    each piece is named for people (settings on nodes carry ids in `seq`).
    """
    cum = [float(c) for c in seq["cumulative_probability"]]
    titles = list(readable_table(seq)[HEADERS["title"]])
    rows = [
        {"order": 0, "label": "Without evidence", "start": 0.0, "end": cum[0], "change": "prior"}
    ]
    for i in range(1, len(cum)):
        title = titles[i]
        date = seq["date"].iloc[i]
        label = f"{date} {title}" if date is not None and not pd.isna(date) else title
        rows.append(
            {
                "order": i,
                "label": clip(f"{i}. {label}", 80),
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
        .mark_bar(height=16, clip=True)
        .encode(
            x=alt.X(
                "start:Q",
                title="Target probability (axis zoomed to where the evidence moved it)",
                axis=alt.Axis(format="%"),
                scale=zoom([*data["end"], *data.loc[data["change"].isin(["up", "down"]), "start"]]),
            ),
            x2="end:Q",
            y=alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=440)),
            color=colour,
            tooltip=[
                alt.Tooltip("label:N", title="Step"),
                alt.Tooltip("start:Q", format=".1%", title="Before"),
                alt.Tooltip("end:Q", format=".1%", title="After"),
            ],
        )
        .properties(height=chart_height(len(data)))
    )


def interval_data(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """Rows for the interval bars: label (node: state), probability, p05, p50, p95."""
    data = table.copy()
    data["label"] = [
        f"{model.label(n)}: {model.state_label(n, s)}"
        for n, s in zip(data["node"], data["state"], strict=True)
    ]
    return data[["label", "node", "state", "probability", "p05", "p50", "p95"]]


def interval_chart(data: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=320))
    scale = alt.Scale(domain=[0, 1])
    base = alt.Chart(data)
    bar = base.mark_bar(color=INTERVAL, height=14).encode(
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
    return alt.layer(bar, tick, dot).properties(height=chart_height(len(data)))


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


def _download(table: pd.DataFrame, what: str, stem: str, key: str) -> None:
    """The table for machines (ids kept), named for the person who clicks."""
    st.download_button(
        f"Download {what} (CSV)",
        render_text(table, "csv").encode("utf-8"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=key,
    )


def _table(table: pd.DataFrame, first: tuple[str, ...] = ()) -> None:
    """The table for people; `first` puts the columns that matter most on the left."""
    shown = readable_table(table)
    lead = [c for c in first if c in shown.columns]
    shown = shown[lead + [c for c in shown.columns if c not in lead]]
    st.dataframe(shown, hide_index=True, width="stretch")


def impact_order(exp: pd.DataFrame) -> pd.DataFrame:
    """The evidence-impact table, largest contribution (either way) first."""
    order = exp["delta_probability"].abs().sort_values(ascending=False, kind="stable").index
    out = exp.loc[order].reset_index(drop=True)
    out.attrs = dict(exp.attrs)
    return out


# Plain-language help for the analytic terms the tab uses.
GLOSSARY = {
    "bits": "A bit is the information in one fair coin toss. Observing a node that is worth "
    "0.5 bits about the target removes, on average, as much doubt as half a coin toss.",
    "uncertainty": "How unsure the forecast is about the target (its entropy): zero when one "
    "state is certain, largest when every state is equally likely.",
    "draws": "How many times the model's tables are redrawn. More draws give steadier "
    "intervals and take longer.",
    "seed": "The starting point of the random draws. The same seed gives the same intervals, "
    "so a report can be reproduced.",
    "dirichlet": "Each row of a table is redrawn from a Dirichlet distribution centred on the "
    "judged numbers: the higher the node's confidence, the closer the draws stay to them.",
}


@dataclass
class Context:
    """What every sub-tab needs: the model, the evidence, the chosen target and the results so far."""

    model: Model
    evidence: Evidence
    node: str
    state: str
    mk: str
    ek: str
    analyses: list[pd.DataFrame] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"{self.node}={self.state}"

    @property
    def stem(self) -> str:
        return self.model.id


def render(model: Model, evidence: Evidence) -> None:
    """Draw the Analysis tab for `model` under `evidence` (the workspace's current settings)."""
    evidence = evidence if evidence is not None else Evidence()
    mk = model.content_hash[:12]
    outcomes = model.default_targets
    nodes = outcomes + [n for n in model.nodes if n not in outcomes]
    c1, c2 = st.columns(2)
    node = c1.selectbox("Target", nodes, format_func=model.label, key=f"analysis_target_{mk}")
    state = c2.selectbox(
        "State",
        model.states(node),
        format_func=lambda s: model.state_label(node, s),
        key=f"analysis_state_{mk}_{node}",
    )
    ctx = Context(model, evidence, node, state, mk, evidence_key(evidence))
    sens = named(model, forecast_analysis.sensitivity(model, ctx.target, scenario=evidence))
    ind = named(model, forecast_analysis.indicators(model, node, scenario=evidence))
    ctx.analyses += [sens, ind]
    st.markdown(target_sentence(model, node, state, float(sens.attrs["baseline"])))
    tabs = st.tabs(
        [
            "What drives it",
            "What to collect next",
            "What the evidence did",
            "How sure are the numbers",
        ]
    )
    with tabs[0]:
        _drivers_tab(ctx, sens)
        _parameters_panel(ctx)
    with tabs[1]:
        _indicators_tab(ctx, ind)
    with tabs[2]:
        _evidence_tab(ctx)
    with tabs[3]:
        _uncertainty_tab(ctx)
    posteriors = named(model, model.posteriors(scenario=evidence, targets=outcomes))
    st.download_button(
        "Download the analysis report (HTML)",
        report_html(posteriors, ctx.analyses).encode("utf-8"),
        file_name=f"{ctx.stem}_analysis.html",
        mime="text/html",
        key=f"analysis_report_{mk}",
    )


def _drivers_tab(ctx: Context, sens: pd.DataFrame) -> None:
    """The tornado: how far each other node, set to each of its states, moves the target."""
    st.markdown(
        "Each bar spans the lowest and highest probability of the target when that node is set to each "
        "of its states on top of the current evidence; the dashed line is the current value."
    )
    if sens.empty:
        st.info("Every other node is already set: nothing left to vary.")
        return
    st.altair_chart(
        tornado_chart(tornado_data(ctx.model, sens), sens.attrs["baseline"]), width="stretch"
    )
    with st.expander("The numbers behind the chart"):
        _table(sens)
        _download(sens, "this table", f"{ctx.stem}_sensitivity", f"analysis_dl_sens_{ctx.mk}")


def _parameters_panel(ctx: Context) -> None:
    """The parameter tornado: which of the model's own numbers move the target most."""
    model, mk = ctx.model, ctx.mk
    with st.expander("Which of the model's own numbers matter most"):
        st.caption(
            "Each probability in the model's tables is moved down and up by the amount below (the "
            "others in its row rescaled to keep the sum), and the target is worked out again."
        )
        moved = st.slider(
            "Move each number by", 1, 50, 10, 1, format="%d pts", key=f"analysis_delta_{mk}"
        )
        delta = moved / 100
        if not st.toggle("Work it out", key=f"analysis_param_on_{mk}"):
            return
        params = _cached(
            ("parameters", mk, ctx.ek, ctx.target, delta),
            lambda p: forecast_analysis.parameter_sensitivity(
                model, ctx.target, delta, scenario=ctx.evidence, progress=p
            ),
            "Moving the model's numbers",
        )
        params = named(model, params)
        ctx.analyses.append(params)
        if params.empty:
            st.info("No number in the model moves the target.")
            return
        st.altair_chart(
            parameter_chart(parameter_data(model, params), params.attrs["baseline"]),
            width="stretch",
        )
        _table(
            params,
            first=(
                "Node",
                "State",
                "Target, entry lowered",
                "Target, entry raised",
                "Swing",
                "Entry now",
            ),
        )
        _download(
            params, "this table", f"{ctx.stem}_parameter_sensitivity", f"analysis_dl_par_{mk}"
        )


def _indicators_tab(ctx: Context, ind: pd.DataFrame) -> None:
    """What to observe next: nodes ranked by the information they would give about the target."""
    st.markdown(
        f"Nodes not yet observed, ranked by how much observing them would, on average, reduce the "
        f"uncertainty about **{md_inline(ctx.model.label(ctx.node))}** (measured in bits)."
    )
    st.caption(f"{GLOSSARY['bits']} {GLOSSARY['uncertainty']}")
    if ind.empty:
        st.info("Every other node is already set: nothing left to observe.")
        return
    ranking = indicator_ranking(ctx.model, ind)
    st.altair_chart(indicator_chart(ranking), width="stretch")
    for r in ranking.head(5).to_dict(orient="records"):
        share = whole_percent(float(r["share"]))
        st.markdown(
            f"**{r['rank']}. {md_inline(r['label'])}** — would remove about {share} of the uncertainty "
            f"({r['bits']:.3f} bits)"
        )
        st.caption(md_inline(r["if_observed"]))
    with st.expander("The full ranking"):
        _table(ind)
        _download(ind, "this table", f"{ctx.stem}_indicators", f"analysis_dl_ind_{ctx.mk}")


def _evidence_tab(ctx: Context) -> None:
    """What the evidence did: a waterfall in the order it was added, and each piece left out."""
    model, evidence = ctx.model, ctx.evidence
    if evidence.empty:
        st.info("No evidence is in force: set nodes or apply evidence items on the Forecast tab.")
        return
    seq = named(model, forecast_analysis.explain_sequence(model, ctx.target, scenario=evidence))
    exp = named(model, forecast_analysis.explain(model, ctx.target, scenario=evidence))
    ctx.analyses += [seq, exp]
    st.markdown(
        "How the target's probability moved as the evidence was added "
        "(settings on nodes first, then the items by date)."
    )
    st.altair_chart(waterfall_chart(waterfall_data(seq)), width="stretch")
    st.markdown(
        "What each piece contributes, largest first: the change in the target when it alone "
        "is left out."
    )
    _table(impact_order(exp), first=("Evidence", "Contribution", "Target without it", "Date"))
    _download(exp, "this table", f"{ctx.stem}_evidence_impact", f"analysis_dl_exp_{ctx.mk}")


def _uncertainty_tab(ctx: Context) -> None:
    """How sure the numbers are: intervals from redrawing the model's tables many times."""
    model, mk = ctx.model, ctx.mk
    st.markdown(
        "The model's probabilities were judged, not measured. Here each of its tables is redrawn "
        "many times around its values, as far as the node's confidence allows (confidence counts as "
        f"that many observations; the model's default is {model.spec.default_confidence:g}), and the "
        "outcomes are worked out again each time. The bars show where 90% of the results fall."
    )
    st.caption(GLOSSARY["dirichlet"])
    c1, c2 = st.columns(2)
    samples = int(
        c1.number_input(
            "Draws", 100, 50_000, 2000, 100, key=f"analysis_samples_{mk}", help=GLOSSARY["draws"]
        )
    )
    seed = int(
        c2.number_input(
            "Seed (for reproducible results)",
            0,
            2**31 - 1,
            0,
            1,
            key=f"analysis_seed_{mk}",
            help=GLOSSARY["seed"],
        )
    )
    try:
        unc = _cached(
            ("uncertainty", mk, ctx.ek, samples, seed),
            lambda p: forecast_analysis.uncertainty(
                model, samples, seed, scenario=ctx.evidence, progress=p
            ),
            "Drawing the model's numbers",
        )
    except ForecastError as exc:
        st.error(md_inline(exc))
        return
    unc = named(model, unc)
    ctx.analyses.append(unc)
    st.altair_chart(interval_chart(interval_data(model, unc)), width="stretch")
    _table(unc)
    _download(unc, "this table", f"{ctx.stem}_uncertainty", f"analysis_dl_unc_{mk}")

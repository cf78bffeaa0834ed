"""Altair charts for the workspace: outcome bars and the timeline of outcome posteriors."""

from __future__ import annotations

import functools
import json
from typing import Any

import altair as alt
import pandas as pd

from ..present import BLUE, DARK, ORANGE, PALETTE, percent, zoom

BAR, BASELINE, PINNED = BLUE, DARK, ORANGE
DATA_NAME = "outcome"


def outcome_data(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows an outcome chart draws: adds the bar label and where to put it."""
    data = rows.copy()
    data["text"] = [
        f"{percent(p)}  {w}" for p, w in zip(data["probability"], data["words"], strict=True)
    ]
    marks = [c for c in ("probability", "baseline", "pinned") if c in data.columns]
    data["text_at"] = data[marks].max(axis=1)
    return data


def outcome_chart(
    rows: pd.DataFrame, data: alt.Data | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Horizontal bars of one outcome's states with percentage and estimative words.

    `rows` has columns state (label), probability, words, and optionally
    baseline and pinned (probabilities drawn as tick marks).  With `data` (a
    named data source) the chart only takes its shape from `rows` and draws
    whatever values are later supplied under that name (see outcome_spec).
    """
    table = outcome_data(rows)
    order = list(table["state"])
    y = alt.Y("state:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelFontSize=13))
    x_scale = alt.Scale(domain=[0, 1])
    base = alt.Chart(data if data is not None else table)
    bars = base.mark_bar(color=BAR, cornerRadiusEnd=3, height=20).encode(
        x=alt.X("probability:Q", scale=x_scale, axis=alt.Axis(format="%", title=None, tickCount=5)),
        y=y,
        tooltip=[
            alt.Tooltip("state:N", title="State"),
            alt.Tooltip("probability:Q", title="Probability", format=".1%"),
            alt.Tooltip("words:N", title="In words"),
        ],
    )
    text = base.mark_text(align="left", dx=4, fontSize=12, color=BASELINE).encode(
        x=alt.X("text_at:Q", scale=x_scale), y=y, text="text:N"
    )
    layers: list[alt.Chart] = [bars, text]
    for column, colour in (("baseline", BASELINE), ("pinned", PINNED)):
        if column in table.columns:
            layers.append(
                base.mark_tick(color=colour, thickness=2, size=30).encode(
                    x=alt.X(f"{column}:Q", scale=x_scale), y=y
                )
            )
    return alt.layer(*layers).properties(height=alt.Step(34))


@functools.lru_cache(maxsize=64)
def _outcome_template(states: tuple[str, ...], columns: tuple[str, ...]) -> str:
    shape = pd.DataFrame({c: [0.0] * len(states) for c in columns}).assign(
        state=list(states), words=""
    )
    chart = outcome_chart(shape, data=alt.NamedData(name=DATA_NAME))
    return json.dumps(chart.to_dict(validate=True))


def outcome_spec(rows: pd.DataFrame) -> dict[str, Any]:
    """The outcome chart as a Vega-Lite spec, fast enough to rebuild on every slider move.

    Building and validating an Altair chart takes tens of milliseconds; the
    chart's shape depends only on the states and which reference ticks are
    shown, so it is built once per shape and the values are filled in here.
    """
    columns = tuple(c for c in ("probability", "baseline", "pinned") if c in rows.columns)
    spec = json.loads(_outcome_template(tuple(rows["state"]), columns))
    records = outcome_data(rows).to_dict(orient="records")
    spec["datasets"] = {DATA_NAME: [{k: _plain(v) for k, v in r.items()} for r in records]}
    return spec


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def timeline_chart(steps: pd.DataFrame) -> alt.Chart:
    """One outcome's posteriors after each dated item, on a time axis: one line per state.

    `steps` has columns step, date, when, item (its title), state, probability
    (report.timeline_steps).  Hovering a point names the item; the probability
    axis is zoomed to where the lines run, so moves of a few points show.
    """
    states = list(dict.fromkeys(steps["state"]))
    lo, hi = zoom([float(p) for p in steps["probability"]])
    return (
        alt.Chart(steps)
        .mark_line(point=True, strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
            y=alt.Y(
                "probability:Q",
                scale=alt.Scale(domain=[lo, hi], zero=False),
                axis=alt.Axis(format="%", title=None),
            ),
            color=alt.Color(
                "state:N",
                sort=states,
                title=None,
                scale=alt.Scale(domain=states, range=PALETTE[: len(states)]),
                legend=alt.Legend(orient="top", labelLimit=260, labelFontSize=13),
            ),
            order=alt.Order("step:Q"),
            tooltip=[
                alt.Tooltip("when:N", title="Date"),
                alt.Tooltip("item:N", title="After"),
                alt.Tooltip("state:N", title="State"),
                alt.Tooltip("probability:Q", title="Probability", format=".1%"),
            ],
        )
        .properties(height=260)
    )

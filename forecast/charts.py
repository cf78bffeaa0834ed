"""Altair charts drawn by the app and by reports: outcome bars and the timeline of outcome posteriors.

They live below the UI layer so a report (forecast.reporting) renders the very
charts the app shows, as PNG or SVG through vl-convert (`to_svg`, `to_png`).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import altair as alt
import pandas as pd

from .present import BLUE, DARK, ORANGE, PALETTE, percent, zoom

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


def outcome_chart(rows: pd.DataFrame, data: alt.Data | None = None) -> alt.LayerChart:
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
    chart: alt.LayerChart = alt.layer(*layers).properties(height=alt.Step(34))  # type: ignore[assignment]
    return chart


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
    (forecast.reporting.timeline_steps).  The starting point (no date) sits a month
    before the first item.  Hovering a point names the item; the probability axis
    is zoomed to where the lines run, so moves of a few points show.
    """
    dates = pd.to_datetime(steps["date"])
    start = pd.Timestamp(dates.min()) - pd.Timedelta(days=30) if dates.notna().any() else None
    at = dates.where(dates.notna(), start).dt.strftime(
        "%Y-%m-%d"
    )  # plain text: any writer takes it
    data = steps.drop(columns=["date"]).assign(at=at)
    states = list(dict.fromkeys(data["state"]))
    lo, hi = zoom([float(p) for p in data["probability"]])
    return (
        alt.Chart(data)
        .mark_line(point=True, strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("at:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
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


def to_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """The chart as standalone SVG text (vl-convert; no scripts, no remote resources)."""
    import vl_convert as vlc

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return str(vlc.vegalite_to_svg(spec))


def to_png(chart: alt.TopLevelMixin | dict[str, Any], scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (vl-convert), `scale` times its size for print."""
    import vl_convert as vlc

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return bytes(vlc.vegalite_to_png(spec, scale=scale))

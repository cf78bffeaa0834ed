"""Altair charts for the workspace: outcome bars and the timeline of outcome posteriors."""

from __future__ import annotations

import altair as alt
import pandas as pd

BAR = "#3567b5"
BASELINE = "#1d2430"
PINNED = "#e8590c"
PALETTE = ["#3567b5", "#e8590c", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5c940d", "#a61e4d"]


def outcome_chart(rows: pd.DataFrame) -> alt.LayerChart:
    """Horizontal bars of one outcome's states with percentage and estimative words.

    `rows` has columns state (label), probability, words, and optionally
    baseline and pinned (probabilities drawn as tick marks).
    """
    data = rows.copy()
    data["text"] = [
        f"{100 * p:.1f}%  {w}" for p, w in zip(data["probability"], data["words"], strict=True)
    ]
    order = list(data["state"])
    marks = [c for c in ("probability", "baseline", "pinned") if c in data.columns]
    data["text_at"] = data[marks].max(axis=1)
    y = alt.Y("state:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelFontSize=13))
    x_scale = alt.Scale(domain=[0, 1])
    base = alt.Chart(data)
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
        if column in data.columns and data[column].notna().any():
            layers.append(
                base.mark_tick(color=colour, thickness=2, size=30).encode(
                    x=alt.X(f"{column}:Q", scale=x_scale), y=y
                )
            )
    return alt.layer(*layers).properties(height=alt.Step(34))


def timeline_chart(steps: pd.DataFrame) -> alt.Chart:
    """One outcome's posteriors after each dated item: one line per state.

    `steps` has columns step (int), when (axis label), state, probability, title.
    """
    order = list(dict.fromkeys(steps.sort_values("step")["when"]))
    states = list(dict.fromkeys(steps["state"]))
    return (
        alt.Chart(steps)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X(
                "when:N", sort=order, title=None, axis=alt.Axis(labelAngle=-35, labelLimit=180)
            ),
            y=alt.Y(
                "probability:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", title=None),
            ),
            color=alt.Color(
                "state:N",
                sort=states,
                title=None,
                scale=alt.Scale(domain=states, range=PALETTE[: len(states)]),
                legend=alt.Legend(orient="top", labelLimit=260, labelFontSize=13),
            ),
            tooltip=[
                alt.Tooltip("when:N", title="After"),
                alt.Tooltip("title:N", title="Item"),
                alt.Tooltip("state:N", title="State"),
                alt.Tooltip("probability:Q", title="Probability", format=".1%"),
            ],
        )
        .properties(height=260)
    )

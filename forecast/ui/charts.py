"""The app's Altair charts: built in forecast.charts (reports draw the same ones)."""

from ..charts import (
    BAR,
    BASELINE,
    DATA_NAME,
    PALETTE,
    PINNED,
    outcome_chart,
    outcome_data,
    outcome_spec,
    timeline_chart,
)

__all__ = [
    "BAR",
    "BASELINE",
    "DATA_NAME",
    "PALETTE",
    "PINNED",
    "outcome_chart",
    "outcome_data",
    "outcome_spec",
    "timeline_chart",
]

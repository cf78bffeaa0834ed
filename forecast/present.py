"""How things look to people: names, numbers, colours and chart scales, in one place.

Every surface (the terminal, the reports, the app, the network drawing) shows
the same state name, the same percentage and the same "no change" for the same
value because they all call this module.  It imports nothing from the rest of
the package, so any layer may use it; CSV, JSON and data sheets keep the ids
and the raw numbers and do not come here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .spec import Source

# ---------------------------------------------------------------- colours

BLUE = "#3567b5"  # bars, the main series
UP = "#2e8b57"  # evidence that raised the target
DOWN = "#c0392b"  # evidence that lowered it
GREY = "#9aa5b1"  # the prior, axes
DARK = "#1d2430"  # text, baselines, totals
ORANGE = "#e8590c"  # a pinned scenario; the strongest change in the network drawing
INTERVAL = "#b8c9e8"  # uncertainty bars
TRACK = "#e8edf5"  # the empty part of a bar
PALETTE = [BLUE, ORANGE, "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5c940d", "#a61e4d"]

# ---------------------------------------------------------------- names


def humanise(name: str) -> str:
    """'marriage_of_convenience' -> 'Marriage of convenience'; names with capitals keep them."""
    text = str(name).replace("_", " ").replace("-", " ").strip()
    if not text:
        return str(name)
    return text[0].upper() + text[1:] if text == text.lower() else text


def cite(source: Source) -> str:
    """A source as 'author (year)', falling back to its title."""
    who = source.author.split("(")[0].strip() or source.title
    year = str(source.date)[:4]
    return f"{who} ({year})" if year.isdigit() else who


@dataclass(frozen=True)
class Names:
    """Node, state and source names for people; an id without a name is made readable.

    Built from a model (`Model.names`) or from a result table's attrs
    (`Names.from_attrs`, which reads the ``labels``, ``state_labels`` and
    ``source_labels`` the model puts there), so a writer needs only the table.
    """

    nodes: Mapping[str, str] = field(default_factory=dict)
    states: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_attrs(cls, attrs: Mapping[Any, Any]) -> Names:
        return cls(
            attrs.get("labels") or {},
            attrs.get("state_labels") or {},
            attrs.get("source_labels") or {},
        )

    def node(self, node: str) -> str:
        return str(self.nodes.get(node) or humanise(node))

    def state(self, node: str, state: str) -> str:
        own = (self.states.get(node) or {}).get(state)
        return str(own) if own else humanise(state)

    def source(self, source: str) -> str:
        """'author (year)' for a known source id; other ids come back unchanged."""
        return str(self.sources.get(source, source))

    def pair(self, node: str, state: str) -> str:
        """'Node label: State name'."""
        return f"{self.node(node)}: {self.state(node, state)}"

    def attrs(self) -> dict[str, Any]:
        """The names as table attrs (what `from_attrs` reads back)."""
        return {
            "labels": dict(self.nodes),
            "state_labels": {n: dict(s) for n, s in self.states.items()},
            "source_labels": dict(self.sources),
        }


# ---------------------------------------------------------------- numbers


def _finite(x: float | None) -> float | None:
    """The value as a float, or None when it is missing, NaN or infinite (shown blank)."""
    if x is None:
        return None
    value = float(x)
    return value if np.isfinite(value) else None


def percent(p: float | None) -> str:
    """A probability as a percentage with one decimal ('12.3%'); tiny non-zero ones keep two."""
    value = _finite(p)
    if value is None:
        return ""
    pct = 100 * value
    if 0 < abs(pct) < 0.1:
        return f"{pct:.2f}%"
    return f"{pct:.1f}%"


def whole_percent(p: float) -> str:
    """A compact percentage for small spaces (the network drawing): '63%', '<1%', '>99%'."""
    pct = round(100 * p, 7)  # float noise: a certain state shows 100%, not ">99%"
    if 0 < pct < 0.5:
        return "<1%"
    if 99.5 < pct < 100:
        return ">99%"
    return f"{pct:.0f}%"


def points(delta: float | None) -> str:
    """A change in percentage points: '+4.2 pts', '−0.3 pts' (a true minus), or 'no change'."""
    value = _finite(delta)
    if value is None:
        return ""
    pts = 100 * value
    if abs(pts) < 0.05:
        return "no change"
    return f"{pts:+.1f} pts".replace("-", "−")


def span(width: float | None) -> str:
    """The width of a range of probabilities in points ('12.5 pts')."""
    value = _finite(width)
    return "" if value is None else f"{100 * value:.1f} pts"


def clip(text: str, n: int) -> str:
    """At most `n` characters, an ellipsis marking the cut."""
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------- chart scales


def zoom(values: list[float], pad: float = 0.02) -> tuple[float, float]:
    """The probability range a chart shows: what the values span, widened a little, within [0, 1].

    The margin is 15% of the span (at least `pad`), so small moves show and the
    axis says where; the app and the HTML report both zoom this way.
    """
    lo, hi = min(values), max(values)
    margin = max(pad, 0.15 * (hi - lo))
    lo, hi = max(0.0, lo - margin), min(1.0, hi + margin)
    return (lo, hi) if hi > lo else (0.0, 1.0)

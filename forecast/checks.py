"""Model checks that make modelling errors visible: warnings, never errors.

- an evidence item placed on an outcome node bypasses the network's mechanisms
  (the outcome should follow from its causes; a report on it is usually evidence
  about one of them);
- two items from the same source on the same node within a short window may
  report one fact twice (double counting).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from .evidence import EvidenceItem
from .model import Model

DOUBLE_COUNT_DAYS = 31


def model_warnings(
    model: Model, items: Iterable[EvidenceItem] = (), window_days: int = DOUBLE_COUNT_DAYS
) -> list[str]:
    """One readable line per suspicious evidence item or pair (empty when all is well)."""
    items = [it for it in items if it.node in model.nodes]
    out: list[str] = []
    outcomes = set(model.outcomes)
    for it in items:
        if it.node in outcomes:
            out.append(
                f"evidence item '{it.id}' bears directly on outcome node '{it.node}': "
                "put it on the mechanism it reports on, so the outcome follows from its causes"
            )
    for a, b in combinations(sorted(items, key=lambda it: (it.date, it.id)), 2):
        if a.source == b.source and a.node == b.node and abs((b.date - a.date).days) <= window_days:
            out.append(
                f"evidence items '{a.id}' and '{b.id}' come from the same source ({a.source}) "
                f"and bear on '{a.node}' within {abs((b.date - a.date).days)} days: "
                "possible double counting of one fact"
            )
    return out

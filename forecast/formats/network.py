"""What every reader produces before it becomes a ModelSpec: names, states, parents and tables as found.

Readers only parse; `build.to_spec` checks and converts.  Tables are held as
arrays of shape (parent combinations, child states), first parent slowest, the
layout of the engine's compiled CPTs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError


@dataclass
class Variable:
    name: str
    states: list[str]
    parents: list[str] = field(default_factory=list)
    table: np.ndarray | None = None
    cpt: dict[str, Any] | None = None  # a CPT form of our own (noisy-MAX), instead of a table
    label: str = ""
    description: str = ""
    role: str = ""


@dataclass
class Network:
    fmt: str
    name: str = ""
    title: str = ""
    description: str = ""
    variables: list[Variable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the import changed or could not carry


class FormatWarning(UserWarning):
    """Something a format cannot carry, or another reader may not read back (the export still happens)."""


def table_of(values: list[float], k: int, combos: int, what: str, where: str) -> np.ndarray:
    """A file's flat numbers as a (parent combinations, k states) table; a wrong count is refused.

    Every reader whose tables list the child's states innermost shares this, so
    a short or long table is reported in the same words whatever the format.
    """
    if len(values) != k * combos:
        raise ModelError(
            f"{where}: {what} has {len(values)} numbers; expected {k * combos} "
            f"({k} states x {combos} parent combinations)"
        )
    return np.asarray(values, dtype=float).reshape(combos, k)

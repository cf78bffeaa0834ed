"""The memory budget: how much a model may use, and sizes in bytes for people.

Kept apart from the engine and the file schema so both can use it without
importing each other: the file checks refuse a probability table that would
not fit before allocating it, and the engine plans its clique tables within the
same budget.  `load_model(path, memory_budget=...)` resolves the budget once
(`resolve_budget`) and hands that number to both.
"""

from __future__ import annotations

import math
import os

from .errors import MemoryBudgetError

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB
ENV_VAR = "FORECAST_MEMORY_BUDGET"
WORK_FACTOR = 4  # copies of a table held at once (potential, belief, temporaries)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}


def memory_budget_from_env() -> int:
    """`FORECAST_MEMORY_BUDGET` in bytes (suffixes K, M, G, KiB, MiB, GiB allowed)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MEMORY_BUDGET
    return parse_bytes(raw)


def resolve_budget(memory_budget: int | None) -> int:
    """The budget a caller gave, else the environment's (else 1 GiB)."""
    return memory_budget_from_env() if memory_budget is None else int(memory_budget)


def parse_bytes(text: str) -> int:
    """'512MiB' -> 536870912; a clear error for anything else."""
    t = text.strip().lower()
    number = t.rstrip("kmgib")
    unit = t[len(number) :]
    try:
        value = float(number)
    except ValueError:
        raise MemoryBudgetError(f"memory budget '{text}' is not a size such as 512MiB") from None
    if unit not in _UNITS or not math.isfinite(value) or value <= 0:
        raise MemoryBudgetError(f"memory budget '{text}' is not a size such as 512MiB")
    return int(value * _UNITS[unit])


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def cpt_bytes(parent_cards: list[int], states: int, ranked: bool) -> int:
    """Bytes compiling and holding one node's probability table takes (before it is built).

    The engine holds about WORK_FACTOR copies of a table; a ranked node also
    builds a grid of its parents' scores while compiling.
    """
    combos = math.prod(parent_cards)
    entries = combos * states
    work = combos * (len(parent_cards) + 3 * (states + 1)) if ranked else 0
    return 8 * max(WORK_FACTOR * entries, work)

"""The memory budget: how much a model may use, and sizes in bytes for people.

Kept apart from the engine and the file schema so both can use it without
importing each other: the file checks refuse a probability table that would
not fit before allocating it, and the engine plans its clique tables within the
same budget.  `load_model(path, memory_budget=...)` resolves the budget once
(`resolve_budget`) and hands that number to both.
"""

from __future__ import annotations

import functools
import heapq
import math
import os
from collections.abc import Sequence

from .errors import MemoryBudgetError

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB
ENV_VAR = "FORECAST_MEMORY_BUDGET"
WORK_FACTOR = 4  # copies of a table held at once (potential, belief, temporaries)
_WORK_LIMIT = 1_000_000  # fill-in checks the completing triangulation may make before it gives up

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
    # ranked: three arrays of one number per combination, then the interval masses (k + 1 each, twice)
    work = combos * (3 + 2 * (states + 1) + states) if ranked else 0
    return 8 * max(WORK_FACTOR * entries, work)


# ---------------------------------------------------------------- the symbolic plan
# The engine's junction tree is planned here, from the graph alone, so the guard can
# refuse a model (from any file format) before a single table is built.


class _TooBig(Exception):
    """Raised inside the triangulation as soon as the tables pass the limit."""

    def __init__(self, largest: int, total: int, complete: bool = True) -> None:
        super().__init__()
        self.largest = largest
        self.total = total
        self.complete = complete


@functools.lru_cache(maxsize=32)
def _triangulate(
    cards: tuple[int, ...],
    parents: tuple[tuple[int, ...], ...],
    limit: int | None = None,
    work_limit: int | None = None,
) -> tuple[tuple[int, ...], ...]:
    """Greedy min-fill elimination with lazily updated scores (a heap).

    Stops with _TooBig once the clique tables reach `limit` entries in total, so a
    hopeless model is refused without finishing the elimination.
    """
    n = len(cards)
    adj: list[set[int]] = [set() for _ in range(n)]
    for child, ps in enumerate(parents):
        fam = list(ps) + [child]
        for i in fam:
            for j in fam:
                if i != j:
                    adj[i].add(j)
    log_card = [math.log(c) for c in cards]
    work = 0

    def score(v: int) -> tuple[int, float]:
        # fill-in: pairs of neighbours not yet adjacent (set intersections run in C)
        nonlocal work
        nb = adj[v]
        k = len(nb)
        work += k * k
        inside = sum(len(adj[a] & nb) for a in nb)  # every edge among the neighbours, twice
        return (k * (k - 1) - inside) // 2, log_card[v] + sum(log_card[u] for u in nb)

    current = [score(v) for v in range(n)]
    heap = [(*current[v], v) for v in range(n)]
    heapq.heapify(heap)
    done = [False] * n
    cliques: list[frozenset[int]] = []
    containing: list[list[int]] = [[] for _ in range(n)]  # cliques (by index) holding each vertex
    total = largest = 0
    while heap:
        fill, weight, v = heapq.heappop(heap)
        if done[v] or (fill, weight) != current[v]:
            continue
        nb = adj[v]
        if work_limit is not None and work > work_limit:  # too slow to finish: give up
            raise _TooBig(largest, total, complete=False)
        clique = frozenset(nb | {v})
        size = math.prod(cards[u] for u in clique)
        if not any(clique <= cliques[i] for i in containing[v]):
            for u in clique:
                containing[u].append(len(cliques))
            cliques.append(clique)
            total += size
            largest = max(largest, size)
            if limit is not None and total > limit:
                raise _TooBig(largest, total)
        affected = set(nb)
        for a in nb:
            adj[a].update(nb - {a})
            adj[a].discard(v)
        for a in nb:
            affected |= adj[a]
        done[v] = True
        adj[v] = set()
        for u in affected:
            if not done[u]:
                current[u] = score(u)
                heapq.heappush(heap, (*current[u], u))
    # keep only maximal cliques (an earlier clique may be contained in a later one)
    maximal = []
    for i, c in enumerate(cliques):
        pivot = min(c, key=lambda u: len(containing[u]))
        if not any(j != i and c < cliques[j] for j in containing[pivot]):
            maximal.append(c)
    return tuple(tuple(sorted(c)) for c in maximal)


def triangulate(cards: Sequence[int], parents: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Maximal cliques of a greedy min-fill (ties: min weight) triangulation of the moral graph.

    Purely symbolic: no tables are touched, so the memory guard can run first.
    """
    key_cards = tuple(int(c) for c in cards)
    key_parents = tuple(tuple(int(u) for u in ps) for ps in parents)
    return list(_triangulate(key_cards, key_parents))


def table_entries(cliques: Sequence[tuple[int, ...]], cards: Sequence[int]) -> list[int]:
    return [math.prod(cards[v] for v in c) for c in cliques]


def _plan(
    cards: Sequence[int], parents: Sequence[Sequence[int]], budget: int
) -> list[tuple[int, ...]]:
    """The cliques, or MemoryBudgetError (naming budget and estimate) once they pass the budget."""
    key_cards = tuple(int(c) for c in cards)
    key_parents = tuple(tuple(int(u) for u in ps) for ps in parents)
    try:
        cliques = _triangulate(key_cards, key_parents, budget // (8 * WORK_FACTOR))
    except _TooBig as big:
        # finish the (symbolic) triangulation, so the figure given is what the model needs,
        # whatever the budget; a graph whose elimination would not end in reasonable time keeps
        # the lower bound reached so far
        try:
            full = _triangulate(key_cards, key_parents, None, _WORK_LIMIT)
            sizes = table_entries(full, key_cards)
            total, largest, bound = sum(sizes), max(sizes), ""
        except _TooBig as partial:  # the first pass got further: its figures are the better bound
            total, largest, bound = (
                max(big.total, partial.total),
                max(big.largest, partial.largest),
                "at least ",
            )
        needed = total * 8 * WORK_FACTOR
        need_text, budget_text = format_bytes(needed), format_bytes(budget)
        if need_text == budget_text:  # too close to tell apart when rounded
            need_text, budget_text = f"{needed:,} bytes", f"{budget:,} bytes"
        more = " or more" if bound else ""
        raise MemoryBudgetError(
            f"the model needs {bound}{need_text} for one scenario "
            f"({total:,} clique-table entries{more}, the largest {largest:,}), over the memory "
            f"budget of {budget_text}; raise FORECAST_MEMORY_BUDGET or simplify the model"
        ) from None
    return list(cliques)


def check_memory(
    cards: Sequence[int], parents: Sequence[Sequence[int]], memory_budget: int | None = None
) -> int:
    """Bytes one scenario needs; MemoryBudgetError (naming budget and estimate) if over the budget.

    Symbolic only (a triangulation of the graph, stopped as soon as it passes the
    budget), so it is safe and quick to call before any table exists.
    """
    budget = resolve_budget(memory_budget)
    cliques = _plan(cards, parents, budget)
    return sum(table_entries(cliques, cards)) * 8 * WORK_FACTOR

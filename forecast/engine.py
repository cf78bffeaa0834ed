"""Exact inference: a junction tree compiled once, queried for whole batches of scenarios.

Why a junction tree (see docs/engine.md): one collect/distribute pass gives every
node's posterior, and clique tables simply carry a leading batch axis, so a batch
of scenarios costs a few numpy operations per clique rather than a Python loop
per scenario.  Clique axes are kept in global variable order, so separators are
sub-sequences of both cliques and every message is a plain sum or a reshape:
no transposes, no einsum path search at query time.

The memory guard works on the symbolic triangulation alone: the clique sizes
are known before any table is allocated, models over the budget are refused,
and batches are cut into chunks that fit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .errors import EvidenceError, MemoryBudgetError

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB
FIXED_TOLERANCE = 1e-9
FIXED_MAX_ITERATIONS = 2000
_WORK_FACTOR = 4  # clique tables held at once per scenario (psi, belief, temporaries)


def memory_budget_from_env() -> int:
    """`FORECAST_MEMORY_BUDGET` in bytes (suffixes K, M, G, KiB, MiB, GiB allowed)."""
    raw = os.environ.get("FORECAST_MEMORY_BUDGET", "").strip()
    if not raw:
        return DEFAULT_MEMORY_BUDGET
    return parse_bytes(raw)


def parse_bytes(text: str) -> int:
    """'512MiB' -> 536870912; a clear error for anything else."""
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
             "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
    t = text.strip().lower()
    number = t.rstrip("kmgib")
    unit = t[len(number):]
    try:
        value = float(number)
    except ValueError:
        raise MemoryBudgetError(f"memory budget '{text}' is not a size such as 512MiB") from None
    if unit not in units or not math.isfinite(value) or value <= 0:
        raise MemoryBudgetError(f"memory budget '{text}' is not a size such as 512MiB")
    return int(value * units[unit])


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def triangulate(cards: Sequence[int], parents: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Maximal cliques of a greedy min-fill (ties: min weight) triangulation of the moral graph.

    Purely symbolic: no tables are touched, so the memory guard can run first.
    """
    n = len(cards)
    adj: list[set[int]] = [set() for _ in range(n)]
    for child, ps in enumerate(parents):
        fam = list(ps) + [child]
        for i in fam:
            for j in fam:
                if i != j:
                    adj[i].add(j)
    remaining = set(range(n))
    log_card = [math.log(c) for c in cards]
    cliques: list[frozenset[int]] = []

    def cost(v: int) -> tuple[int, float]:
        nb = list(adj[v])
        fill = 0
        for a in range(len(nb)):
            na = adj[nb[a]]
            for b in range(a + 1, len(nb)):
                if nb[b] not in na:
                    fill += 1
        return fill, log_card[v] + sum(log_card[u] for u in nb)

    while remaining:
        v = min(remaining, key=lambda u: (*cost(u), u))
        nb = adj[v]
        clique = frozenset(nb | {v})
        if not any(clique <= c for c in cliques):
            cliques.append(clique)
        for a in nb:
            adj[a].update(nb - {a})
            adj[a].discard(v)
        remaining.discard(v)
        adj[v] = set()
    # keep only maximal cliques (an earlier clique may be contained in a later one)
    maximal = [c for c in cliques if not any(c < d for d in cliques)]
    return [tuple(sorted(c)) for c in maximal]


def table_entries(cliques: Sequence[tuple[int, ...]], cards: Sequence[int]) -> list[int]:
    return [math.prod(cards[v] for v in c) for c in cliques]


@dataclass(frozen=True)
class _Edge:
    child: int  # clique index (further from the root)
    parent: int
    sep_axes_child: tuple[int, ...]  # axes of the child's table (after batch) summed out to reach the separator
    sep_axes_parent: tuple[int, ...]
    sep_shape_child: tuple[int, ...]  # separator reshaped to broadcast into the child's table
    sep_shape_parent: tuple[int, ...]


class JunctionTree:
    """A compiled network. Variables are integers 0..n-1; CPT axes are (parents..., child)."""

    def __init__(
        self,
        cards: Sequence[int],
        parents: Sequence[Sequence[int]],
        cpts: Sequence[np.ndarray],
        memory_budget: int | None = None,
    ) -> None:
        self.cards = tuple(int(c) for c in cards)
        self.memory_budget = memory_budget_from_env() if memory_budget is None else int(memory_budget)
        self.cliques = triangulate(self.cards, parents)
        sizes = table_entries(self.cliques, self.cards)
        self.largest_table = max(sizes)
        self.bytes_per_scenario = sum(sizes) * 8 * _WORK_FACTOR
        if self.bytes_per_scenario > self.memory_budget:
            raise MemoryBudgetError(
                f"the model needs about {format_bytes(self.bytes_per_scenario)} for one scenario "
                f"(largest table {self.largest_table:,} entries), over the memory budget of "
                f"{format_bytes(self.memory_budget)}; raise FORECAST_MEMORY_BUDGET or simplify the model"
            )
        self.max_batch = max(1, self.memory_budget // self.bytes_per_scenario)
        self._build_tree()
        self._build_potentials(parents, cpts)
        self._home = [self._home_clique(v) for v in range(len(self.cards))]
        self._marg_axes = [
            tuple(1 + i for i, u in enumerate(self.cliques[c]) if u != v) for v, c in enumerate(self._home)
        ]
        self._lik_shape = [
            tuple(self.cards[u] if u == v else 1 for u in self.cliques[c]) for v, c in enumerate(self._home)
        ]

    # ------------------------------------------------------------ compilation

    def _build_tree(self) -> None:
        g = nx.Graph()
        g.add_nodes_from(range(len(self.cliques)))
        sets = [set(c) for c in self.cliques]
        for i in range(len(self.cliques)):
            for j in range(i + 1, len(self.cliques)):
                g.add_edge(i, j, weight=len(sets[i] & sets[j]))
        tree = nx.maximum_spanning_tree(g) if len(self.cliques) > 1 else g
        root = max(range(len(self.cliques)), key=lambda i: len(self.cliques[i]))
        self.root = root
        order = list(nx.dfs_preorder_nodes(tree, root))
        parent_of = dict(nx.dfs_predecessors(tree, root))
        self._edges: list[_Edge] = []  # in pre-order (root first); collect runs it reversed
        for c in order:
            if c == root:
                continue
            p = parent_of[c]
            sep = sorted(sets[c] & sets[p])
            self._edges.append(
                _Edge(
                    child=c,
                    parent=p,
                    sep_axes_child=tuple(1 + i for i, v in enumerate(self.cliques[c]) if v not in sep),
                    sep_axes_parent=tuple(1 + i for i, v in enumerate(self.cliques[p]) if v not in sep),
                    sep_shape_child=tuple(self.cards[v] if v in sep else 1 for v in self.cliques[c]),
                    sep_shape_parent=tuple(self.cards[v] if v in sep else 1 for v in self.cliques[p]),
                )
            )

    def _build_potentials(self, parents: Sequence[Sequence[int]], cpts: Sequence[np.ndarray]) -> None:
        self._psi = [np.ones(tuple(self.cards[v] for v in c)) for c in self.cliques]
        for child, (ps, cpt) in enumerate(zip(parents, cpts, strict=True)):
            family = list(ps) + [child]
            fam_set = set(family)
            c = min(
                (i for i, cl in enumerate(self.cliques) if fam_set <= set(cl)),
                key=lambda i: len(self.cliques[i]),
            )
            order = sorted(range(len(family)), key=lambda i: family[i])
            table = np.transpose(np.asarray(cpt, dtype=float), order)
            shape = tuple(self.cards[v] if v in fam_set else 1 for v in self.cliques[c])
            self._psi[c] = self._psi[c] * table.reshape(shape)

    def _home_clique(self, v: int) -> int:
        return min((i for i, c in enumerate(self.cliques) if v in c), key=lambda i: len(self.cliques[i]))

    # ------------------------------------------------------------ inference

    def marginals(self, likelihoods: dict[int, np.ndarray], batch: int = 1) -> tuple[list[np.ndarray], np.ndarray]:
        """Posterior of every variable for each scenario in the batch.

        `likelihoods` maps a variable to an array (batch, card) of non-negative weights
        (a hard finding is a 0/1 row).  Returns (marginals, possible) where marginals[v]
        has shape (batch, card) and `possible` is False where the evidence has
        probability zero (those rows are uniform placeholders, never NaN).
        """
        if batch <= self.max_batch:
            return self._propagate(likelihoods, batch)
        out: list[list[np.ndarray]] = [[] for _ in self.cards]
        ok_parts = []
        for start in range(0, batch, self.max_batch):
            stop = min(batch, start + self.max_batch)
            part = {v: lk[start:stop] if lk.shape[0] > 1 else lk for v, lk in likelihoods.items()}
            margs, ok = self._propagate(part, stop - start)
            for v, m in enumerate(margs):
                out[v].append(m)
            ok_parts.append(ok)
        return [np.concatenate(parts) for parts in out], np.concatenate(ok_parts)

    def _propagate(self, likelihoods: dict[int, np.ndarray], batch: int) -> tuple[list[np.ndarray], np.ndarray]:
        psi: list[np.ndarray] = [p[None] for p in self._psi]
        for v, lk in likelihoods.items():
            c = self._home[v]
            psi[c] = psi[c] * np.asarray(lk, dtype=float).reshape((lk.shape[0], *self._lik_shape[v]))
        ok = np.ones(batch, dtype=bool)
        # collect: leaves towards the root
        belief = list(psi)
        up: dict[int, np.ndarray] = {}
        for e in reversed(self._edges):
            msg = belief[e.child].sum(axis=e.sep_axes_child) if e.sep_axes_child else belief[e.child]
            msg = self._normalise(msg, ok)
            up[e.child] = msg
            belief[e.parent] = belief[e.parent] * msg.reshape((msg.shape[0], *e.sep_shape_parent))
        belief[self.root] = self._normalise(belief[self.root], ok)
        # distribute: root towards the leaves (Hugin update on separators)
        for e in self._edges:
            down = belief[e.parent].sum(axis=e.sep_axes_parent) if e.sep_axes_parent else belief[e.parent]
            old = up[e.child]
            ratio = np.divide(down, old, out=np.zeros(np.broadcast_shapes(down.shape, old.shape)), where=old > 0)
            b = belief[e.child] * ratio.reshape((ratio.shape[0], *e.sep_shape_child))
            belief[e.child] = self._normalise(b, ok)
        margs = []
        for v in range(len(self.cards)):
            b = belief[self._home[v]]
            m = b.sum(axis=self._marg_axes[v]) if self._marg_axes[v] else b
            m = m.reshape(m.shape[0], -1)
            if m.shape[0] != batch:
                m = np.broadcast_to(m, (batch, m.shape[1]))
            margs.append(m)
        return margs, ok

    @staticmethod
    def _normalise(t: np.ndarray, ok: np.ndarray) -> np.ndarray:
        axes = tuple(range(1, t.ndim))
        z = t.sum(axis=axes, keepdims=True) if axes else t
        flat = z.reshape(z.shape[0])
        bad = ~(flat > 0)
        if bad.any():
            if flat.shape[0] == ok.shape[0]:
                ok &= ~bad
            else:
                ok[:] = False
            z = np.where(z > 0, z, 1.0)
            t = np.where(bad.reshape((-1,) + (1,) * (t.ndim - 1)), 1.0, t)
            z = t.sum(axis=axes, keepdims=True) if axes else t
        return t / z


def solve_fixed(
    tree: JunctionTree,
    likelihoods: dict[int, np.ndarray],
    fixed: dict[int, np.ndarray],
    batch: int,
    names: Sequence[str] = (),
) -> tuple[list[np.ndarray], np.ndarray]:
    """Marginals with fixed (Jeffrey) evidence: each fixed node's posterior equals its target.

    `fixed[v]` is an array (batch, card) of targets; a row of NaN means "not fixed in
    this scenario".  Several fixed nodes are met jointly by iterative proportional
    fitting: each target becomes a virtual likelihood, rescaled in turn until every
    posterior is within FIXED_TOLERANCE of its target.  Scenarios whose evidence is
    impossible come back with possible=False, as from `JunctionTree.marginals`.
    """
    if not fixed:
        return tree.marginals(likelihoods, batch)
    active = {v: ~np.isnan(q[:, 0]) for v, q in fixed.items()}
    targets = {v: np.where(active[v][:, None], q, 0.0) for v, q in fixed.items()}
    lam = {v: np.ones((batch, tree.cards[v])) for v in fixed}

    def combined() -> dict[int, np.ndarray]:
        out = dict(likelihoods)
        for v, lk in lam.items():
            out[v] = out[v] * lk if v in out else lk
        return out

    worst = math.inf
    for _ in range(FIXED_MAX_ITERATIONS):
        for v in fixed:
            margs, ok = tree.marginals(combined(), batch)
            p, q, act = margs[v], targets[v], active[v] & ok
            if ((q > 0) & (p <= 0) & act[:, None]).any():
                name = names[v] if names else str(v)
                raise EvidenceError(
                    f"fixed evidence on '{name}' gives probability to a state the other evidence rules out"
                )
            update = np.divide(q, p, out=np.zeros_like(p), where=p > 0)
            new = lam[v] * update
            top = new.max(axis=1, keepdims=True)
            new /= np.where(top > 0, top, 1.0)
            lam[v] = np.where(act[:, None], new, lam[v])
        margs, ok = tree.marginals(combined(), batch)
        worst = max(float(np.abs(margs[v] - targets[v])[active[v] & ok].max(initial=0.0)) for v in fixed)
        if worst <= FIXED_TOLERANCE:
            return margs, ok
    fixed_names = ", ".join(names[v] if names else str(v) for v in fixed)
    raise EvidenceError(
        f"the fixed distributions on {fixed_names} cannot all be met together "
        f"(still {worst:.2g} away after {FIXED_MAX_ITERATIONS} rounds)"
    )

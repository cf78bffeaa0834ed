"""Exact inference: a junction tree compiled once, queried for whole batches of scenarios.

Why a junction tree (see docs/engine.md): one collect/distribute pass gives every
node's posterior, and clique tables simply carry a batch axis (the last one, so
numpy's inner loops run along it), so a batch of scenarios costs a few numpy
operations per clique rather than a Python loop per scenario.  Clique axes are kept in global variable order, so separators are
sub-sequences of both cliques and every message is a plain sum or a reshape:
no transposes, no einsum path search at query time.

Two things make repeated queries cheap:
- the evidence-free pass is done once at compile time; a query recomputes the
  collect messages only on the paths from its evidence to the root, and a query
  without evidence is a lookup;
- a batch whose scenarios put varying evidence on the same few nodes S is
  answered from an *evidence table* T[e, x] = P(x, S=e) (one batched pass over
  the joint states e of S, cached): each scenario is then one row of a matrix
  product, weights(e) @ T, exact like the pass itself.  Fixed (Jeffrey) evidence
  is met by iterative proportional fitting on the same table.

The memory guard works on the symbolic triangulation alone: the clique sizes
are known before any table is allocated, models over the budget are refused,
and batches are cut into chunks that fit.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .errors import EvidenceError, ModelError
from .memory import (  # the symbolic plan lives with the memory guard, below the engine
    WORK_FACTOR,
    _plan,
    check_memory,
    resolve_budget,
    table_entries,
    triangulate,
)

__all__ = [
    "JunctionTree",
    "check_memory",
    "relevant",
    "requisite",
    "solve_fixed",
    "table_entries",
    "triangulate",
    "witness",
]

FIXED_TOLERANCE = 1e-9
FIXED_MAX_ITERATIONS = 2000
_CHUNK_ENTRIES = 1 << 20  # clique entries per batch chunk: keeps a chunk's tables in cache
# cost model (in clique-entry operations) for choosing between a direct pass and an evidence table
_MIN_CHUNK = 64  # rows per chunk at least (memory allowing): amortises a pass's per-clique overhead
_GROUP_ROWS = 8  # a mixed batch is split by evidence pattern when groups average this many rows
_PASS_COST = 12.0  # per clique entry and scenario in a direct pass
_TABLE_MAX_STATES = 1 << 16  # joint states of the evidence nodes an evidence table may have
_TABLE_CACHE = 16  # evidence tables kept per compiled tree


@dataclass(frozen=True)
class _Edge:
    child: int  # clique index (further from the root)
    parent: int
    sum_child: tuple[int, ...]  # axes of the child's table summed out to reach the separator
    sum_parent: tuple[int, ...]
    shape_child: tuple[
        int, ...
    ]  # separator reshaped to broadcast into the child's table (batch axis last)
    shape_parent: tuple[int, ...]
    sep_axes: tuple[int, ...]  # all axes of the separator but the batch axis


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
        self.parents = tuple(tuple(int(u) for u in ps) for ps in parents)
        self.memory_budget = resolve_budget(memory_budget)
        self.cliques = _plan(self.cards, self.parents, self.memory_budget)
        sizes = table_entries(self.cliques, self.cards)
        self.bytes_per_scenario = sum(sizes) * 8 * WORK_FACTOR
        self.largest_table = max(sizes)
        self.total_entries = sum(sizes)
        self.max_batch = max(1, self.memory_budget // self.bytes_per_scenario)
        # rows per chunk: cache-sized for small networks; at least _MIN_CHUNK rows (memory
        # allowing) on large ones, where a pass of a few rows is mostly Python overhead
        self.chunk = max(
            1, min(self.max_batch, max(_MIN_CHUNK, _CHUNK_ENTRIES // self.total_entries))
        )
        self._offsets = np.concatenate([[0], np.cumsum(self.cards)])
        self._build_tree()
        self._build_potentials(self.parents, cpts)
        self._home = [self._home_clique(v) for v in range(len(self.cards))]
        self._marg_axes = [
            tuple(i for i, u in enumerate(self.cliques[c]) if u != v)
            for v, c in enumerate(self._home)
        ]
        self._lik_shape = [
            (*(self.cards[u] if u == v else 1 for u in self.cliques[c]), -1)
            for v, c in enumerate(self._home)
        ]
        self._tables: OrderedDict[tuple, _EvidenceTable] = OrderedDict()
        self._lock = threading.Lock()
        self._compile_prior()

    def __getstate__(self) -> dict[str, object]:
        """Picklable (an upload is compiled in a worker process): without the lock and the cache."""
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_tables"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ compilation

    def _build_tree(self) -> None:
        g = nx.Graph()
        g.add_nodes_from(range(len(self.cliques)))
        sets = [set(c) for c in self.cliques]
        # cliques of variable v, in index order: only cliques that share a variable can be
        # joined, so the candidate pairs come from these lists (a chain of 20,000 nodes has
        # 20,000 pairs, not 200 million)
        self._containing: list[list[int]] = [[] for _ in self.cards]
        for i, clique in enumerate(self.cliques):
            for v in clique:
                self._containing[v].append(i)
        pairs = {
            (a, b)
            for members in self._containing
            for k, a in enumerate(members)
            for b in members[k + 1 :]
        }
        for i, j in sorted(pairs):  # the order the all-pairs loop used: same tree on ties
            g.add_edge(i, j, weight=len(sets[i] & sets[j]))
        # a forest when the network falls apart into independent pieces: join the pieces
        # through empty separators (a message is then a scalar per scenario)
        forest = nx.maximum_spanning_tree(g) if len(self.cliques) > 1 else g
        root = max(range(len(self.cliques)), key=lambda i: self.total_size(i))
        comps = list(nx.connected_components(forest))
        for comp in comps:
            if root not in comp:
                forest.add_edge(root, next(iter(comp)))
        self.root = root
        order = list(nx.dfs_preorder_nodes(forest, root))
        parent_of = dict(nx.dfs_predecessors(forest, root))
        self._parent_of = [-1] * len(self.cliques)
        self._edges: list[_Edge] = []  # in pre-order (root first); collect runs it reversed
        self._edge_of: dict[int, int] = {}
        for c in order:
            if c == root:
                continue
            p = parent_of[c]
            self._parent_of[c] = p
            sep = sets[c] & sets[p]
            self._edge_of[c] = len(self._edges)
            self._edges.append(
                _Edge(
                    child=c,
                    parent=p,
                    sum_child=tuple(i for i, v in enumerate(self.cliques[c]) if v not in sep),
                    sum_parent=tuple(i for i, v in enumerate(self.cliques[p]) if v not in sep),
                    shape_child=(*(self.cards[v] if v in sep else 1 for v in self.cliques[c]), -1),
                    shape_parent=(*(self.cards[v] if v in sep else 1 for v in self.cliques[p]), -1),
                    sep_axes=tuple(range(len(sep))),
                )
            )
        self._collect_order = list(reversed(self._edges))

    def total_size(self, i: int) -> int:
        """Entries of clique i's table (one scenario)."""
        return math.prod(self.cards[v] for v in self.cliques[i])

    def _family_clique(self, family: list[int]) -> int:
        fam_set = set(family)
        fewest = min((self._containing[v] for v in family), key=len)  # in index order
        return min(
            (i for i in fewest if fam_set <= set(self.cliques[i])),
            key=lambda i: len(self.cliques[i]),
        )

    def _build_potentials(
        self, parents: Sequence[Sequence[int]], cpts: Sequence[np.ndarray]
    ) -> None:
        # tables carry the batch axis last: numpy's inner loops then run along the batch
        psi = [np.ones((*(self.cards[v] for v in c), 1)) for c in self.cliques]
        for child, (ps, cpt) in enumerate(zip(parents, cpts, strict=True)):
            family = list(ps) + [child]
            fam_set = set(family)
            c = self._family_clique(family)
            order = sorted(range(len(family)), key=lambda i: family[i])
            table = np.transpose(np.asarray(cpt, dtype=float), order)
            shape = (*(self.cards[v] if v in fam_set else 1 for v in self.cliques[c]), 1)
            psi[c] = psi[c] * table.reshape(shape)
        self._psi = psi

    def batched_potentials(self, cpts: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Clique potentials with a leading batch axis, from CPTs that carry one.

        Why: analyses that vary the parameters (Monte Carlo draws of every CPT,
        one perturbed entry per scenario) reuse this compiled tree instead of
        compiling one per parameter set.  `cpts[v]` has shape (b, *parents, card),
        parents in construction order, with b the batch size or 1 (shared by the
        whole batch).  Pass the result to `marginals(..., potentials=...)`.
        """
        pots = [np.ones((1, *(self.cards[v] for v in c))) for c in self.cliques]
        for child, (ps, cpt) in enumerate(zip(self.parents, cpts, strict=True)):
            family = list(ps) + [child]
            fam_set = set(family)
            table = np.asarray(cpt, dtype=float)
            if table.shape[1:] != tuple(self.cards[v] for v in family):
                raise ValueError(
                    f"batched CPT of variable {child} has shape {table.shape}, expected (batch, "
                    f"{', '.join(str(self.cards[v]) for v in family)})"
                )
            c = self._family_clique(family)
            order = sorted(range(len(family)), key=lambda i: family[i])
            table = np.transpose(table, (0, *(1 + i for i in order)))
            shape = (
                table.shape[0],
                *(self.cards[v] if v in fam_set else 1 for v in self.cliques[c]),
            )
            pots[c] = pots[c] * table.reshape(shape)
        return pots

    def _home_clique(self, v: int) -> int:
        return min(self._containing[v], key=lambda i: len(self.cliques[i]))

    def _compile_prior(self) -> None:
        """The evidence-free pass, kept: queries reuse its messages away from their evidence."""
        with np.errstate(divide="ignore", invalid="ignore"):
            collect, msg, den, logs, _ = self._collect(self._psi, {}, None, True)
        self._prior_collect, self._prior_msg, self._prior_den = collect, msg, den
        self._prior_logz = {
            c: float(z[0]) for c, z in logs.items()
        }  # constant factors of clean subtrees
        self._prior_logz_total = sum(self._prior_logz.values())
        margs, ok, _ = self._propagate({}, 1)
        if not ok.all():
            raise ModelError("the model gives probability zero to everything (a CPT row of zeros?)")
        self._prior_margs = [m.copy() for m in margs]
        for m in self._prior_margs:
            m.setflags(write=False)

    # ------------------------------------------------------------ inference

    def marginals(
        self,
        likelihoods: dict[int, np.ndarray],
        batch: int = 1,
        potentials: Sequence[np.ndarray] | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Posterior of every variable for each scenario in the batch.

        `likelihoods` maps a variable to an array (batch, card) or (1, card) of
        non-negative weights (a hard finding is a 0/1 row).  Returns (marginals,
        possible) where marginals[v] has shape (batch, card) and `possible` is False
        where the evidence has probability zero (those rows are uniform placeholders,
        never NaN).  `potentials` (from `batched_potentials`) replaces the compiled
        CPTs per scenario.
        """
        lik = {v: _as_rows(lk) for v, lk in likelihoods.items()}
        if potentials is None:
            shared = {v: lk for v, lk in lik.items() if lk.shape[0] == 1 or _rows_equal(lk)}
            varying = {v: lk for v, lk in lik.items() if v not in shared}
            if not varying:
                margs, ok, _ = self._propagate({v: lk[:1] for v, lk in shared.items()}, 1)
                if batch == 1:
                    return margs, ok
                return [np.broadcast_to(m, (batch, m.shape[1])) for m in margs], np.broadcast_to(
                    ok, (batch,)
                )
            grouped = self._by_pattern(lik, varying, batch)
            if grouped is not None:
                return grouped
            dims = tuple(sorted(varying))
            table = self._cached_table(dims, shared)
            if table is None and self._table_pays(dims, batch):
                table = self.evidence_table(dims, {v: lk[:1] for v, lk in shared.items()})
            if table is not None:
                margs, ok = table.marginals(varying, batch)
                if not ok.all():
                    # a table row scaled below the smallest double reads as impossible: ask the tree
                    bad = np.flatnonzero(~ok)
                    part = {v: lk[bad] if lk.shape[0] > 1 else lk for v, lk in lik.items()}
                    again, ok_again = self._chunked(part, len(bad))
                    margs = [np.array(m) for m in margs]
                    for m, a in zip(margs, again, strict=True):
                        m[bad] = a
                    ok = np.array(ok)
                    ok[bad] = ok_again
                return margs, ok
        return self._chunked(lik, batch, potentials)

    def _by_pattern(
        self, lik: dict[int, np.ndarray], varying: dict[int, np.ndarray], batch: int
    ) -> tuple[list[np.ndarray], np.ndarray] | None:
        """A mixed batch answered one evidence pattern at a time, or None when that would not pay.

        Why: stacked into one pass, a batch whose scenarios observe different nodes
        carries a weight row on every node any scenario observes, so every clique is
        recomputed for every scenario and no evidence table fits.  Scenarios that
        observe the same nodes (a pattern) share their work: each group is one query on
        its own few nodes (an evidence table when it pays, else a pass that recomputes
        only the cliques between those nodes and the root).  A pattern is the set of
        nodes whose row is informative (not all equal); results are exactly those of
        the stacked pass.  Grouping pays when the groups hold several scenarios each.
        """
        nodes = list(varying)
        informative = np.empty((batch, len(nodes)), dtype=bool)
        for j, v in enumerate(nodes):
            lk = varying[v]
            top = lk.max(axis=1, keepdims=True)
            informative[:, j] = ~((lk == top).all(axis=1) & (top[:, 0] > 0))
        keys, inverse = np.unique(informative, axis=0, return_inverse=True)
        if len(keys) == 1 or len(keys) * _GROUP_ROWS > batch:
            return None
        inverse = inverse.reshape(-1)
        margs = [np.empty((batch, c)) for c in self.cards]
        ok = np.empty(batch, dtype=bool)
        for g, key in enumerate(keys):
            rows = np.flatnonzero(inverse == g)
            part = {v: lk for v, lk in lik.items() if v not in varying}
            part.update({nodes[j]: varying[nodes[j]][rows] for j in np.flatnonzero(key)})
            sub, sub_ok = self.marginals(part, len(rows))
            for m, s in zip(margs, sub, strict=True):
                m[rows] = s
            ok[rows] = sub_ok
        return margs, ok

    def _chunked(
        self, lik: dict[int, np.ndarray], batch: int, potentials: Sequence[np.ndarray] | None = None
    ) -> tuple[list[np.ndarray], np.ndarray]:
        if batch <= self.chunk:
            margs, ok, _ = self._propagate(lik, batch, potentials)
            return margs, ok
        out = [np.empty((batch, c)) for c in self.cards]
        ok_all = np.empty(batch, dtype=bool)
        for start in range(0, batch, self.chunk):
            stop = min(batch, start + self.chunk)
            part = {v: lk[start:stop] if lk.shape[0] > 1 else lk for v, lk in lik.items()}
            pots = (
                None
                if potentials is None
                else [p[start:stop] if p.shape[0] > 1 else p for p in potentials]
            )
            margs, ok, _ = self._propagate(part, stop - start, pots)
            for o, m in zip(out, margs, strict=True):
                o[start:stop] = m
            ok_all[start:stop] = ok
        return out, ok_all

    def log_evidence(self, likelihoods: dict[int, np.ndarray], batch: int = 1) -> np.ndarray:
        """log P(evidence) per scenario (-inf where impossible); likelihoods as in `marginals`."""
        lik = {v: _as_rows(lk) for v, lk in likelihoods.items()}
        out = np.empty(batch)
        for start in range(0, batch, self.chunk):
            stop = min(batch, start + self.chunk)
            part = {v: lk[start:stop] if lk.shape[0] > 1 else lk for v, lk in lik.items()}
            _, ok, logz = self._propagate(part, stop - start, want_logz=True)
            out[start:stop] = np.where(ok, np.broadcast_to(logz, ok.shape), -np.inf)
        return out

    # ------------------------------------------------------------ one pass

    def _collect(
        self,
        psi: Sequence[np.ndarray],
        lik: dict[int, np.ndarray],
        dirty: set[int] | None,
        want_logz: bool,
    ) -> tuple[
        list[np.ndarray],
        list[np.ndarray | None],
        list[np.ndarray | None],
        dict[int, np.ndarray],
        list[bool],
    ]:
        """Leaves to root.  Cliques outside `dirty` keep the prior pass's results.

        Returns the collect-time beliefs, the messages (normalised), their divisors for
        the distribute pass, log normalisers if asked, and which beliefs this pass owns
        (allocated here, so they may be updated in place).
        """
        n = len(self.cliques)
        own = [False] * n
        if dirty is None:
            belief = list(psi)
            msg: list[np.ndarray | None] = [None] * n
            den: list[np.ndarray | None] = [None] * n
        else:
            belief = [psi[c] if c in dirty else self._prior_collect[c] for c in range(n)]
            msg = list(self._prior_msg)
            den = list(self._prior_den)
        for v, lk in lik.items():
            c = self._home[v]
            _times(belief, own, c, lk.T.reshape(self._lik_shape[v]))
        logs: dict[int, np.ndarray] = {}
        for e in self._collect_order:
            c = e.child
            if dirty is not None and e.parent not in dirty:
                continue
            if dirty is None or c in dirty:
                m = _sum(belief[c], e.sum_child) if e.sum_child else belief[c]
                z = _sum(m, e.sep_axes, keepdims=True) if e.sep_axes else m
                mn = m / z
                msg[c] = mn
                den[c] = np.where(m > 0, m, np.inf)  # distribute divides by it; 0/0 must come out 0
                if want_logz:
                    logs[c] = np.log(z.reshape(-1))
            message = msg[c]
            assert message is not None  # computed above, or kept from the prior pass
            _times(belief, own, e.parent, message.reshape(e.shape_parent))
        return belief, msg, den, logs, own

    def _propagate(
        self,
        lik: dict[int, np.ndarray],
        batch: int,
        potentials: Sequence[np.ndarray] | None = None,
        want_logz: bool = False,
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """One collect/distribute pass: (marginals, possible, log P(evidence) if asked)."""
        if not lik and potentials is None and not want_logz and hasattr(self, "_prior_margs"):
            return (
                [np.broadcast_to(m, (batch, m.shape[1])) for m in self._prior_margs],
                np.ones(batch, dtype=bool),
                np.zeros(1),
            )
        belief, ok, logz = self._pass(lik, batch, potentials, want_logz)
        with np.errstate(invalid="ignore"):
            margs = []
            for v, c in enumerate(self._home):
                b = belief[c]
                m = _sum(b, self._marg_axes[v]) if self._marg_axes[v] else b
                margs.append(m.T)
        if ok.shape[0] != batch:
            ok = np.broadcast_to(ok, (batch,))
            margs = [
                m if m.shape[0] == batch else np.broadcast_to(m, (batch, m.shape[1])) for m in margs
            ]
        if not ok.all():
            keep = ok[:, None]
            margs = [np.where(keep, m, 1.0 / m.shape[1]) for m in margs]
        return margs, ok, logz

    def family_marginals(self, likelihoods: dict[int, np.ndarray]) -> tuple[list[np.ndarray], bool]:
        """P(parents, child | evidence) of every variable, for one scenario.

        Why: a CPT entry's effect on any posterior is a ratio of two linear functions
        of the entry (Castillo et al.; Chan & Darwiche), whose coefficients are these
        family joints: one pass gives every entry's one-way sensitivity at once.
        Each array has the variable's CPT axes (parents in construction order, child);
        the flag is False when the evidence is impossible (the arrays are then zeros).
        """
        lik = {v: _as_rows(lk)[:1] for v, lk in likelihoods.items()}
        belief, ok, _ = self._pass(lik, 1, None, False)
        out = []
        for child, ps in enumerate(self.parents):
            family = [*ps, child]
            c = self._family_clique(family)
            clique = self.cliques[c]
            with np.errstate(invalid="ignore"):
                b = belief[c][..., 0]
                drop = tuple(i for i, u in enumerate(clique) if u not in family)
                m = _sum(b, drop) if drop else b
            kept = [u for u in clique if u in family]
            m = np.transpose(m, [kept.index(u) for u in family])
            out.append(m if bool(ok[0]) else np.zeros_like(m))
        return out, bool(ok[0])

    def _pass(
        self,
        lik: dict[int, np.ndarray],
        batch: int,
        potentials: Sequence[np.ndarray] | None,
        want_logz: bool,
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Collect and distribute: (clique beliefs, batch axis last; possible; log P(e))."""
        log_scale = 0.0
        if want_logz:  # the rows are rescaled below: put their scale back into P(evidence)
            with np.errstate(divide="ignore"):
                log_scale = sum(np.log(lk.max(axis=1)) for lk in lik.values())
        lik = {v: _scaled(lk) for v, lk in lik.items()}
        if potentials is None and hasattr(self, "_prior_collect"):
            touched: set[int] = set()  # cliques on the paths from the evidence to the root
            for v in lik:
                c = self._home[v]
                while c >= 0 and c not in touched:
                    touched.add(c)
                    c = self._parent_of[c]
            dirty: set[int] | None = touched
            psi: Sequence[np.ndarray] = self._psi
        else:
            dirty = None
            psi = self._psi if potentials is None else [np.moveaxis(p, 0, -1) for p in potentials]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            belief, msg, den, logs, own = self._collect(psi, lik, dirty, want_logz)
            root = belief[self.root]
            z = _sum(root, tuple(range(root.ndim - 1)), keepdims=True)
            _times(belief, own, self.root, 1.0 / z)
            zr = z.reshape(-1)
            ok = np.isfinite(zr) & (zr > 0)
            logz = np.zeros(1)
            if want_logz:
                logz = np.log(zr)
                for part in logs.values():
                    logz = logz + part
                if dirty is not None:
                    logz = logz + (self._prior_logz_total - sum(self._prior_logz[c] for c in logs))
                logz = logz + log_scale
            # distribute: root towards the leaves (Hugin update; beliefs come out normalised)
            for e in self._edges:
                down = _sum(belief[e.parent], e.sum_parent) if e.sum_parent else belief[e.parent]
                ratio = down / den[e.child]
                _times(belief, own, e.child, ratio.reshape(e.shape_child))
        return belief, ok, logz

    # ------------------------------------------------------------ evidence tables

    def _table_pays(self, dims: tuple[int, ...], batch: int) -> bool:
        states = math.prod(self.cards[v] for v in dims)
        if states > _TABLE_MAX_STATES or not self._table_fits(states):
            return False
        width = sum(self.cards) + 1
        build = _PASS_COST * self.total_entries * states
        use = batch * states * (len(dims) + 0.25 * width)
        return build + use < _PASS_COST * self.total_entries * batch

    def _table_fits(self, states: int) -> bool:
        return states * (sum(self.cards) + 1) * 8 * 4 <= self.memory_budget

    def _cached_table(
        self, dims: tuple[int, ...], shared: dict[int, np.ndarray]
    ) -> _EvidenceTable | None:
        key = _table_key(dims, shared)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
            return table

    def evidence_table(
        self, dims: Sequence[int], shared: dict[int, np.ndarray] | None = None
    ) -> _EvidenceTable | None:
        """The table P(x, dims=e | shared evidence) for every joint state e of `dims` (cached).

        None when it would not fit the memory budget or has too many joint states.
        """
        dims = tuple(sorted(dims))
        shared = {v: _as_rows(lk)[:1] for v, lk in (shared or {}).items() if v not in dims}
        key = _table_key(dims, shared)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key]
        states = math.prod(self.cards[v] for v in dims)
        if states > _TABLE_MAX_STATES or not self._table_fits(states):
            return None
        lik = dict(shared)
        index = np.arange(states)
        stride = states
        for v in dims:
            stride //= self.cards[v]
            lik[v] = np.eye(self.cards[v])[(index // stride) % self.cards[v]]
        table = np.empty((states, sum(self.cards) + 1))
        for start in range(0, states, self.chunk):
            stop = min(states, start + self.chunk)
            part = {v: lk[start:stop] if lk.shape[0] > 1 else lk for v, lk in lik.items()}
            margs, ok, logz = self._propagate(part, stop - start, want_logz=True)
            table[start:stop, :-1] = np.concatenate(margs, axis=1)
            table[start:stop, -1] = np.where(ok, np.broadcast_to(logz, ok.shape), -np.inf)
        logp = table[:, -1].copy()
        top = logp.max()
        weight = np.exp(logp - top) if np.isfinite(top) else np.zeros(states)
        table[:, :-1] *= weight[:, None]
        table[:, -1] = weight
        result = _EvidenceTable(self, dims, table)
        with self._lock:
            self._tables[key] = result
            while len(self._tables) > _TABLE_CACHE:
                self._tables.popitem(last=False)
        return result


class _EvidenceTable:
    """Rows: joint states e of the evidence nodes; columns: P(x, e) for every state x, then P(e) (scaled)."""

    def __init__(self, tree: JunctionTree, dims: tuple[int, ...], table: np.ndarray) -> None:
        self.tree = tree
        self.dims = dims
        self.table = table
        self.table.setflags(write=False)
        self.states = table.shape[0]
        width = table.shape[1]
        budget_rows = tree.memory_budget // (8 * 4 * (self.states + width))
        self.chunk = int(max(1, min(budget_rows, (1 << 22) // (self.states + width))))

    def marginals(
        self, lik: dict[int, np.ndarray], batch: int
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Posteriors for likelihoods on `dims` only (others must have been in the table's shared evidence)."""
        lik = {v: _scaled(_as_rows(lk)) for v, lk in lik.items()}
        out = np.empty((batch, self.table.shape[1] - 1))
        ok = np.empty(batch, dtype=bool)
        cards = self.tree.cards
        for start in range(0, batch, self.chunk):
            stop = min(batch, start + self.chunk)
            w: np.ndarray = np.ones((1, 1))
            for v in self.dims:
                lk = lik.get(v)
                if lk is None:
                    lk = np.ones((1, cards[v]))
                elif lk.shape[0] > 1:
                    lk = lk[start:stop]
                w = (w[:, :, None] * lk[:, None, :]).reshape(max(w.shape[0], lk.shape[0]), -1)
            r = w @ self.table
            z = r[:, -1]
            good = z > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                part = r[:, :-1] / z[:, None]
            if not good.all():
                part[~good] = 0.0
            out[start:stop] = part
            ok[start:stop] = good
        margs = np.split(out, self.tree._offsets[1:-1], axis=1)
        if not ok.all():
            keep = ok[:, None]
            margs = [np.where(keep, m, 1.0 / m.shape[1]) for m in margs]
        return margs, ok


_sum = (
    np.add.reduce
)  # ndarray.sum without its Python wrapper: this is called hundreds of times a pass


def _times(belief: list[np.ndarray], own: list[bool], c: int, factor: np.ndarray) -> None:
    """belief[c] *= factor, in place when this pass allocated belief[c] and the shapes allow."""
    b = belief[c]
    if own[c] and b.shape[-1] >= factor.shape[-1]:
        np.multiply(b, factor, out=b)
    else:
        belief[c] = b * factor
        own[c] = True


def _as_rows(lk: np.ndarray) -> np.ndarray:
    a = np.asarray(lk, dtype=float)
    return a.reshape(1, -1) if a.ndim == 1 else a


def _rows_equal(a: np.ndarray) -> bool:
    return bool((a == a[:1]).all())


def _scaled(lk: np.ndarray) -> np.ndarray:
    """Rows divided by their maximum: the posterior is unchanged and products cannot overflow."""
    top = lk.max(axis=1, keepdims=True)
    if (top == 1.0).all():
        return lk
    with np.errstate(divide="ignore", invalid="ignore"):
        return lk / top


def _table_key(dims: tuple[int, ...], shared: dict[int, np.ndarray]) -> tuple:
    return (dims, tuple((v, _scaled(_as_rows(shared[v])[:1]).tobytes()) for v in sorted(shared)))


def relevant(parents: Sequence[Sequence[int]], nodes: Sequence[int]) -> list[int]:
    """The variables a query on `nodes` (its targets and evidence) depends on: their ancestors.

    Every other variable is barren (no evidence on it or below it, no target): summing it
    out of its CPT gives 1, so leaving it out changes no posterior of the query.
    """
    keep = set()
    stack = list(nodes)
    while stack:
        v = stack.pop()
        if v not in keep:
            keep.add(v)
            stack.extend(parents[v])
    return sorted(keep)


def requisite(
    parents: Sequence[Sequence[int]],
    targets: Sequence[int],
    hard: Sequence[int],
    soft: Sequence[int] = (),
) -> tuple[list[int], set[int]]:
    """The nodes a query needs (Bayes-ball, Shachter 1998), and those of them whose CPT it does not.

    Why: besides barren nodes, the hard evidence d-separates parts of the network
    from the targets; their CPTs change no posterior of a target.  `hard` nodes are
    observed in every scenario, `soft` ones carry likelihood (or fixed) evidence,
    which acts as an observed child of its own.  Returns (nodes, cut): the targets'
    requisite CPT nodes plus the hard-evidence nodes the ball reaches, sorted; `cut`
    holds the hard-evidence nodes among them whose own CPT is not needed (they only
    condition their children's CPTs): give them no parents and any positive prior.
    """
    children: list[list[int]] = [[] for _ in parents]
    for v, ps in enumerate(parents):
        for p in ps:
            children[p].append(v)
    observed, weighted = set(hard), set(soft)
    top: set[int] = set()
    bottom: set[int] = set()
    visited: set[int] = set()
    stack = [(t, True) for t in targets]  # (node, reached from a child)
    while stack:
        j, from_child = stack.pop()
        visited.add(j)
        if j in observed:
            if not from_child and j not in top:  # an observed child passes the ball to its parents
                top.add(j)
                stack.extend((p, True) for p in parents[j])
            continue
        if from_child and j not in top:
            top.add(j)
            stack.extend((p, True) for p in parents[j])
        if j not in bottom:
            bottom.add(j)
            stack.extend((c, False) for c in children[j])
            if j in weighted:  # its evidence is an observed child: it sends the ball back up
                stack.append((j, True))
    cut = (visited & observed) - top
    return sorted(top | cut), cut


def witness(
    order: Sequence[int],
    parents: Sequence[Sequence[int]],
    cpts: Sequence[np.ndarray],
    lik: dict[int, np.ndarray],
    tries: int = 64,
) -> bool:
    """True when a configuration of the nodes `order` (topological) is found that the evidence allows.

    Why: a query pruned by d-separation no longer computes P(evidence), so it cannot
    tell impossible evidence in the parts it left out; a configuration with positive
    probability and positive weight on every finding proves the evidence possible.
    `cpts[v]` has axes (parents..., child), `lik` one weight row per node.  States are
    first filtered from the leaves up (a state survives when each child keeps a state
    it can take under it), then `tries` configurations are drawn from the roots down
    among the surviving states (CPT times weight; fixed seed, so the answer repeats).
    False means "not found" (the caller then asks the full network), not "impossible".
    """
    inside = set(order)
    allowed = {v: np.ones(cpts[v].shape[-1], dtype=bool) for v in order}
    for v, w in lik.items():
        if v in allowed:
            allowed[v] &= w > 0
    for c in reversed(order):
        ps = parents[c]
        below = ((cpts[c] > 0) & allowed[c]).any(axis=-1)  # parent states letting c be allowed
        for i, p in enumerate(ps):
            if p in inside:
                other = tuple(k for k in range(len(ps)) if k != i)
                allowed[p] &= np.any(below, axis=other) if other else below
    rng = np.random.default_rng(0)
    alive = np.ones(tries, dtype=bool)
    chosen: dict[int, np.ndarray] = {}
    for v in order:
        cpt = cpts[v]
        index = tuple(chosen[p] for p in parents[v])
        rows = cpt[index] if index else np.broadcast_to(cpt, (tries, cpt.shape[-1]))
        rows = rows * allowed[v]
        weights = lik.get(v)
        if weights is not None:
            rows = rows * weights
        total = rows.sum(axis=1)
        alive &= total > 0
        if not alive.any():
            return False
        cum = np.cumsum(rows, axis=1) / np.where(total > 0, total, 1.0)[:, None]
        pick = np.minimum((cum < rng.random(tries)[:, None]).sum(axis=1), cpt.shape[-1] - 1)
        alive &= rows[np.arange(tries), pick] > 0  # rounding at the ends can pick a zero: drop it
        chosen[v] = pick
    return bool(alive.any())


_Query = Callable[[dict[int, np.ndarray], int], tuple[list[np.ndarray], np.ndarray]]


def _fitting_query(
    tree: JunctionTree, likelihoods: dict[int, np.ndarray], fixed: dict[int, np.ndarray]
) -> tuple[_Query, dict[int, np.ndarray]]:
    """How the fitting rounds get marginals, and the likelihoods they pass each time.

    When the fixed and varying evidence nodes have few joint states, an evidence
    table answers each round with a matrix product; the likelihoods every scenario
    shares are then built into the table and drop out.  Otherwise each round is a
    pass through the tree (or whatever `tree` is: analysis passes stand-ins).
    """
    if not isinstance(tree, JunctionTree):
        return tree.marginals, likelihoods
    shared = {
        v: lk
        for v, lk in likelihoods.items()
        if v not in fixed and (lk.shape[0] == 1 or _rows_equal(lk))
    }
    dims = tuple(sorted(set(fixed) | (set(likelihoods) - set(shared))))
    table = tree.evidence_table(dims, {v: lk[:1] for v, lk in shared.items()})
    if table is None:
        return tree.marginals, likelihoods
    return table.marginals, {v: lk for v, lk in likelihoods.items() if v not in shared}


def _rescaled(lam: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """One proportional-fitting step of a virtual likelihood: times target / posterior, max 1."""
    new = lam * np.divide(q, p, out=np.zeros_like(p), where=p > 0)
    top = new.max(axis=1, keepdims=True)
    return new / np.where(top > 0, top, 1.0)


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
    posterior is within FIXED_TOLERANCE of its target.  When the evidence nodes have
    few joint states the rounds run on an evidence table (a matrix product each)
    rather than a pass through the tree.  Scenarios whose evidence is impossible come
    back with possible=False, as from `JunctionTree.marginals`.
    """
    if not fixed:
        return tree.marginals(likelihoods, batch)
    likelihoods = {v: _as_rows(lk) for v, lk in likelihoods.items()}
    active = {v: ~np.isnan(q[:, 0]) for v, q in fixed.items()}
    targets = {v: np.where(active[v][:, None], q, 0.0) for v, q in fixed.items()}
    lam = {v: np.ones((batch, tree.cards[v])) for v in fixed}
    query, likelihoods = _fitting_query(tree, likelihoods, fixed)

    def combined() -> dict[int, np.ndarray]:
        out = dict(likelihoods)
        for v, lk in lam.items():
            out[v] = out[v] * lk if v in out else lk
        return out

    worst = math.inf
    for _ in range(FIXED_MAX_ITERATIONS):
        for v in fixed:
            margs, ok = query(combined(), batch)
            p, q, act = margs[v], targets[v], active[v] & ok
            if ((q > 0) & (p <= 0) & act[:, None]).any():
                name = names[v] if names else str(v)
                raise EvidenceError(
                    f"fixed evidence on '{name}' gives probability to a state the other evidence rules out"
                )
            lam[v] = np.where(act[:, None], _rescaled(lam[v], p, q), lam[v])
        margs, ok = query(combined(), batch)
        worst = max(
            float(np.abs(margs[v] - targets[v])[active[v] & ok].max(initial=0.0)) for v in fixed
        )
        if worst <= FIXED_TOLERANCE:
            return margs, ok
    fixed_names = ", ".join(names[v] if names else str(v) for v in fixed)
    raise EvidenceError(
        f"the fixed distributions on {fixed_names} cannot all be met together "
        f"(still {worst:.2g} away after {FIXED_MAX_ITERATIONS} rounds)"
    )

"""The Model: a validated spec compiled once into a junction tree, queried with evidence.

Every query returns a tidy pandas table (node, state, probability, words); the
table's ``attrs`` carry the model's metadata and the evidence used, so exports
can cite them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np
import pandas as pd

from .engine import JunctionTree, relevant, requisite, solve_fixed, witness
from .errors import EvidenceError, ForecastError, MemoryBudgetError, ModelError
from .evidence import (
    Evidence,
    EvidenceItem,
    EvidenceKeywords,
    EvidenceLike,
    Scenario,
    age_weight,
    check_weights,
    combine,
)
from .memory import check_memory, resolve_budget, table_entries, triangulate
from .present import Names, cite, humanise
from .results import evidence_records
from .safeio import MAX_FILE_BYTES, read_bytes_bounded
from .spec import (
    ModelSpec,
    NodeSpec,
    TableCPT,
    TableRow,
    compiled_cpt,
    spec_from_text,
    topological_order,
)
from .words import BANDS, band_index

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

PRUNE_GAIN = 0.7  # a query whose pruned tree has at most this share of the entries gets that tree
PRUNED_TREES = 8  # pruned junction trees kept per model (least recently used dropped)
DSEP_MAX_BATCH = 16  # batches up to this size are also pruned by d-separation (checked possible)
ABSORB_GAIN = 1 / 3  # hard evidence is sliced out when the smaller tree has at most this share
DSEP_GAIN = 0.7  # a d-separation cut is used when its tree has at most this share of the entries
REQUISITE_SETS = 64  # Bayes-ball results kept per model, by targets and evidence nodes


class Model:
    """A compiled Bayesian network with its metadata."""

    def __init__(
        self,
        spec: ModelSpec,
        path: str | os.PathLike[str] | None = None,
        memory_budget: int | None = None,
        source_text: str | None = None,
        *,
        order: Sequence[str] | None = None,
    ) -> None:
        self.spec = spec
        self.path = Path(path) if path is not None else None
        self.memory_budget = resolve_budget(memory_budget)
        self._source_text = source_text
        self._by_id: dict[str, NodeSpec] = {n.id: n for n in spec.nodes}
        # `order`: a topological order to keep (a mutilated copy keeps its original's)
        self.nodes: list[str] = list(order) if order is not None else topological_order(spec)
        self._do_cache: dict[tuple[tuple[str, str], ...], Model] = {}
        self._index = {n: i for i, n in enumerate(self.nodes)}
        self._cpts = {n.id: compiled_cpt(spec, n, self._by_id) for n in spec.nodes}
        # the memory guard refuses an oversized model now, from the graph alone (no table is built);
        # the junction tree itself is compiled on the first query
        self._pruned: dict[tuple[tuple[int, ...], tuple[int, ...]], JunctionTree] = {}
        self._support_masks: list[np.ndarray] | None = None
        self._requisites: dict[tuple[tuple[int, ...], ...], tuple[list[int], set[int]]] = {}
        self._witnessed: dict[tuple[object, ...], bool] = {}  # evidence shown possible, or not
        self._prune_gain: dict[tuple[tuple[int, ...], tuple[int, ...]], bool] = {}
        self._absorb_plans: dict[tuple[int, ...], tuple[JunctionTree, list[int]] | None] = {}
        self._lock = threading.Lock()
        cards, parents = self._structure()
        try:
            check_memory(cards, parents, self.memory_budget)
        except MemoryBudgetError as exc:
            where = str(self.path) if self.path is not None else f"model '{spec.id}'"
            raise MemoryBudgetError(f"{where}: {exc}") from None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the validated spec (recompiled on arrival): how a sweep ships a model to workers."""
        return (Model, (self.spec, self.path, self.memory_budget, self._source_text))

    # ------------------------------------------------------------ metadata

    @property
    def id(self) -> str:
        """The model's id (journal records and file names use it)."""
        return self.spec.id

    @property
    def title(self) -> str:
        """The model's title, else its id."""
        return self.spec.title or self.spec.id

    def states(self, node: str) -> list[str]:
        """The node's state ids, in file order."""
        return list(self.node(node).states)

    def parents(self, node: str) -> list[str]:
        """The node's parents, in the order its probability table's axes follow."""
        return list(self.node(node).parents)

    def children(self, node: str) -> list[str]:
        """The nodes that have `node` as a parent, in topological order."""
        self.node(node)
        return [n for n in self.nodes if node in self._by_id[n].parents]

    def node(self, node: str) -> NodeSpec:
        """The node's spec; an unknown id is an error naming it."""
        try:
            return self._by_id[node]
        except (KeyError, TypeError):
            raise ModelError(f"model '{self.id}' has no node '{node}'") from None

    def label(self, node: str) -> str:
        """The node's label for people, else its id."""
        return self.node(node).display

    @functools.cached_property
    def names(self) -> Names:
        """Node, state and source names for people (what every report and screen shows)."""
        return Names(
            {n: self._by_id[n].display for n in self.nodes},
            {n: {st: humanise(st) for st in self._by_id[n].states} for n in self.nodes},
            {s.id: cite(s) for s in self.spec.sources},
        )

    def state_label(self, node: str, state: str) -> str:
        """A state's name for people (the id made readable); an unknown node is an error."""
        self.node(node)
        return self.names.state(node, state)

    def source_label(self, source_id: str) -> str:
        """A source id as 'author (year)'; unknown ids come back unchanged."""
        return self.names.source(source_id)

    def nodes_with_role(self, role: str) -> list[str]:
        """The nodes the file gives `role` (driver, intermediate or outcome)."""
        return [n for n in self.nodes if self._by_id[n].role == role]

    @property
    def drivers(self) -> list[str]:
        """The nodes the file marks as drivers (possibly none; see driver_nodes)."""
        return self.nodes_with_role("driver")

    @property
    def outcomes(self) -> list[str]:
        """The nodes the file marks as outcomes (possibly none; see default_targets)."""
        return self.nodes_with_role("outcome")

    @property
    def default_targets(self) -> list[str]:
        """What a forecast reports when no targets are given: the outcomes, else the leaves.

        A model that marks no outcome (a network read from BIF, say) is asked about
        the nodes nothing depends on; the app, the CLI, runs and the journal all use this.
        """
        return self.outcomes or [n for n in self.nodes if not self.children(n)]

    @property
    def driver_nodes(self) -> list[str]:
        """The nodes an analyst sets first: the drivers, else the roots (nodes without parents)."""
        return self.drivers or [n for n in self.nodes if not self._by_id[n].parents]

    def cpt(self, node: str) -> np.ndarray:
        """The compiled CPT: one axis per parent (in `parents(node)` order), the node's states last."""
        return self._cpts[self.node(node).id].copy()

    @functools.cached_property
    def content_hash(self) -> str:
        """SHA-256 of the model file's text (or of the validated spec when there is no file)."""
        if self._source_text is not None:
            data = self._source_text.encode("utf-8")
        elif self.path is not None and self.path.exists():
            data = read_bytes_bounded(self.path, MAX_FILE_BYTES, "model", ModelError)
        else:
            data = self.spec.model_dump_json().encode("utf-8")
        return hashlib.sha256(data).hexdigest()

    def metadata(self) -> dict[str, Any]:
        """What a report needs to cite the model."""
        q = self.spec.question
        return {
            "model_id": self.id,
            "model_title": self.title,
            "as_of": self.spec.as_of.isoformat() if self.spec.as_of else "",
            "question": q.text if q else "",
            "horizon": q.horizon if q else "",
            "resolution": {k: dict(v) for k, v in q.resolution.items()} if q else {},
            "model_hash": self.content_hash,
            **self.names.attrs(),
        }

    def __repr__(self) -> str:
        return f"<Model {self.id!r}: {len(self.nodes)} nodes>"

    # ------------------------------------------------------------ compilation

    def _structure(self) -> tuple[list[int], list[list[int]]]:
        """(cards, parents) in engine indices, built once (every query asks; read-only)."""
        memo: tuple[list[int], list[list[int]]] | None = self.__dict__.get("_structure_memo")
        if memo is None:
            cards = [len(self._by_id[n].states) for n in self.nodes]
            parents = [[self._index[p] for p in self._by_id[n].parents] for n in self.nodes]
            memo = self._structure_memo = (cards, parents)
        return memo

    @functools.cached_property
    def tree(self) -> JunctionTree:
        """The compiled junction tree (built on first use, within the memory budget)."""
        cards, parents = self._structure()
        cpts = [self._cpts[n] for n in self.nodes]
        return JunctionTree(cards, parents, cpts, memory_budget=self.memory_budget)

    def intervened(self, do: Mapping[str, str]) -> Model:
        """The mutilated network for the intervention `do` (Pearl's graph surgery).

        Each node in `do` loses its incoming edges and is fixed in the given state;
        the rest of the network is unchanged.  The compiled copy is cached per do-set,
        so repeated interventions cost one compilation.
        """
        key = tuple(sorted(self._check_do(do).items()))
        if not key:
            return self
        if key not in self._do_cache:
            fixed = dict(key)
            nodes = [
                n
                if n.id not in fixed
                else n.model_copy(
                    update={
                        "parents": [],
                        "cpt": TableCPT(
                            rows=[
                                TableRow(
                                    probabilities={
                                        st: 1.0 if st == fixed[n.id] else 0.0 for st in n.states
                                    }
                                )
                            ]
                        ),
                    }
                )
                for n in self.spec.nodes
            ]
            mutilated = self.spec.model_copy(update={"nodes": nodes})
            # the copy shares the compiled-table cache: drop the intervened nodes' old tables
            mutilated._tables = {k: v for k, v in self.spec._tables.items() if k not in fixed}
            self._do_cache[key] = Model(
                mutilated,
                self.path,
                self.memory_budget,
                self._source_text,
                order=self.nodes,
            )
        return self._do_cache[key]

    def _check_do(self, do: Mapping[str, str] | None) -> dict[str, str]:
        if do is None:
            return {}
        if not isinstance(do, Mapping):
            raise EvidenceError("do must be a mapping of node to state")
        for node, state in do.items():
            states = self._evidence_states(node, "do")
            if not isinstance(state, str) or state not in states:
                raise EvidenceError(
                    f"do: node '{node}' has no state '{state}'; states are {states}"
                )
        return dict(do)

    # ------------------------------------------------------------ aging

    def forecast_date(self, ev: Evidence | None = None) -> dt.date | None:
        """The date evidence items are aged to (docs/evidence.md).

        The evidence's explicit `as_of` when given (items dated later are then not
        applied); otherwise the model's as-of date, or the latest applied item's date
        when that is later (applying a report says it is known).
        """
        if ev is not None and ev.as_of is not None:
            return ev.as_of
        dates = [it.date for it in ev.items] if ev is not None else []
        if self.spec.as_of is not None:
            dates.append(self.spec.as_of)
        return max(dates) if dates else None

    def item_weight(self, item: EvidenceItem, as_of: dt.date | None = None) -> float:
        """The exponent applied to `item`'s likelihood on the forecast date (docs/evidence.md).

        `as_of` defaults to the model's as-of date; items dated after it weigh 0.
        """
        half_life = self._by_id[item.node].half_life_days if item.node in self._by_id else None
        return age_weight(item, as_of if as_of is not None else self.spec.as_of, half_life)

    def item_weights(
        self, items: Iterable[EvidenceItem], as_of: dt.date | None = None
    ) -> pd.DataFrame:
        """One row per item: id, date, node, age in days, half-life, weight, applied."""
        day = as_of if as_of is not None else self.spec.as_of
        rows = []
        for it in items:
            node = self._by_id.get(it.node)
            half = (
                it.half_life_days
                if it.half_life_days is not None
                else (node.half_life_days if node is not None else None)
            )
            w = self.item_weight(it, day)
            rows.append(
                {
                    "item": it.id,
                    "date": it.date,
                    "node": it.node,
                    "age_days": (day - it.date).days if day is not None else None,
                    "half_life_days": half,
                    "weight": w,
                    "applied": w > 0,
                }
            )
        table = pd.DataFrame(
            rows,
            columns=["item", "date", "node", "age_days", "half_life_days", "weight", "applied"],
        )
        table.attrs.update(self.metadata())
        table.attrs["forecast_date"] = day.isoformat() if day else ""
        return table

    # ------------------------------------------------------------ evidence

    def evidence(
        self,
        scenario: EvidenceLike = None,
        *,
        items: Iterable[EvidenceItem] = (),
        **keywords: Unpack[EvidenceKeywords],
    ) -> Evidence:
        """Combine and validate evidence against this model.

        Keyword evidence replaces the scenario's on the same node.  Every query takes
        the same `scenario=` and `hard=`/`likelihood=`/`fixed=`/`do=`/`as_of=` keywords
        and builds its evidence here.  `do` adds interventions (see `intervened`);
        `as_of` sets the forecast date the evidence items are aged to (default: the
        model's as-of date; see `forecast_date`).
        """
        if isinstance(scenario, Mapping):
            scenario = evidence_from_mapping(scenario)
        ev = combine(scenario, items=items, **keywords)
        self.check_evidence(ev)
        return ev

    def check_evidence(self, ev: Evidence) -> None:
        """Unknown nodes or states, bad weights and contradictions, named precisely."""
        self._check_do(ev.do)
        for node, state in ev.hard.items():
            if node in ev.do and ev.do[node] != state:
                raise EvidenceError(
                    f"node '{node}' is set to '{ev.do[node]}' by do but observed in '{state}'"
                )
            states = self._evidence_states(node, "hard")
            if not isinstance(state, str) or state not in states:
                raise EvidenceError(
                    f"hard evidence: node '{node}' has no state '{state}'; states are {states}"
                )
        for node, weights in ev.likelihood.items():
            check_weights(node, self._evidence_states(node, "likelihood"), weights, "likelihood")
        for node, dist in ev.fixed.items():
            check_weights(node, self._evidence_states(node, "fixed"), dist, "fixed")
            if node in ev.hard:
                raise EvidenceError(
                    f"node '{node}' has both hard and fixed evidence; give one or the other"
                )
        for it in ev.items:
            states = self._evidence_states(it.node, f"evidence item '{it.id}':")
            check_weights(it.node, states, it.likelihood, f"evidence item '{it.id}': likelihood")

    def applicable_items(
        self, items: Iterable[EvidenceItem]
    ) -> tuple[list[EvidenceItem], list[EvidenceItem]]:
        """Split items into those that bear on this model's nodes (with its states) and the rest."""
        applicable: list[EvidenceItem] = []
        other: list[EvidenceItem] = []
        for it in items:
            try:
                self.check_evidence(Evidence(items=(it,)))
            except EvidenceError:
                other.append(it)
            else:
                applicable.append(it)
        return applicable, other

    def fitting_scenarios(self, scenarios: Iterable[Scenario]) -> list[Scenario]:
        """The scenarios whose evidence this model accepts (saved for another model, say, do not)."""
        fitting = []
        for s in scenarios:
            try:
                self.evidence(s)
            except ForecastError:
                continue
            fitting.append(s)
        return fitting

    def _evidence_states(self, node: str, kind: str) -> list[str]:
        if not isinstance(node, str) or node not in self._by_id:
            raise EvidenceError(f"{kind} evidence names unknown node '{node}'")
        return self._by_id[node].states

    def _arrays(self, ev: Evidence) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Per-variable likelihood vectors and fixed targets, in engine indices."""
        lik: dict[int, np.ndarray] = {}

        def multiply(node: str, vec: np.ndarray) -> None:
            # Likelihoods count only as ratios: rescaled so the largest is 1 after each
            # product, strong items that cancel out (1e-200 one way, then the other, ...)
            # never underflow to an all-zero vector that would read as "impossible".
            i = self._index[node]
            product = lik[i] * vec if i in lik else vec
            top = product.max()
            lik[i] = product / top if top > 0 else product

        for node, state in ev.hard.items():
            vec = np.zeros(len(self._by_id[node].states))
            vec[self._by_id[node].states.index(state)] = 1.0
            multiply(node, vec)
        for node, w in ev.likelihood.items():
            multiply(node, np.asarray([float(w[s]) for s in self._by_id[node].states]))
        as_of = self.forecast_date(ev)
        for it in ev.items:
            power = self.item_weight(it, as_of)
            if power == 0.0:
                continue  # dated after the forecast date: not applied
            vec = np.asarray([float(it.likelihood[s]) for s in self._by_id[it.node].states])
            multiply(it.node, vec if power == 1.0 else vec**power)
        fixed = {}
        for n, q in ev.fixed.items():
            target = np.asarray([float(q[s]) for s in self._by_id[n].states])
            # targets are accepted within 1e-6 of summing to 1; a posterior sums to 1 exactly
            fixed[self._index[n]] = target / target.sum()
        return lik, fixed

    # ------------------------------------------------------------ queries

    def marginals(
        self, evidence: Sequence[Evidence], targets: Iterable[str] | None = None
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Raw posteriors for a batch of validated evidence: (per-node arrays (batch, card), possible).

        Scenarios with interventions are solved on their mutilated networks (`intervened`).
        With `targets`, only their arrays are filled (the others are empty): the query
        runs on the part of the network they need (barren and d-separated nodes pruned).
        """
        if targets is not None and not any(ev.do for ev in evidence):
            lik, fixed = self._batch_arrays(evidence)
            return self._solve(self._targets(list(targets)), lik, fixed, len(evidence))
        if any(ev.do for ev in evidence):
            groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
            for b, ev in enumerate(evidence):
                groups.setdefault(tuple(sorted(ev.do.items())), []).append(b)
            margs = [np.zeros((len(evidence), self.tree.cards[i])) for i in range(len(self.nodes))]
            ok = np.zeros(len(evidence), dtype=bool)
            for key, idx in groups.items():
                sub_m, sub_ok = self.intervened(dict(key)).marginals(
                    [replace(evidence[i], do={}) for i in idx]
                )
                for v in range(len(self.nodes)):
                    margs[v][idx] = sub_m[v]
                ok[idx] = sub_ok
            return margs, ok
        lik, fixed = self._batch_arrays(evidence)
        return self._full(lik, fixed, len(evidence))

    def _full(
        self, lik: dict[int, np.ndarray], fixed: dict[int, np.ndarray], batch: int
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Every node's posterior: the full tree, or one with the hard evidence sliced out when that pays."""
        if batch == 1 and not fixed:
            absorbed = self._absorbed(lik)
            if absorbed is not None:
                return absorbed
        return solve_fixed(self.tree, lik, fixed, batch, self.nodes)

    def _absorbed(self, lik: dict[int, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray] | None:
        """One scenario with its hard findings sliced out of the tables (evidence absorption).

        Why: lazy propagation's other saving.  An observed node leaves every clique:
        each child's CPT is sliced at the observed state, and the node's own CPT,
        P(state seen | parents), becomes a two-state stand-in child of those parents
        observed in its first state, so P(evidence) and every posterior are unchanged.
        The smaller tree is compiled once per set of observed nodes (a few kept) and fed
        each scenario's sliced tables as potentials; it is used only when its tables
        hold at most ABSORB_GAIN of the full tree's entries (planned symbolically).
        None: not worth it, or no hard finding.
        """
        hard = {v: int(np.argmax(a[0])) for v, a in lik.items() if _one_hot(a)}
        if not hard:
            return None
        key = tuple(sorted(hard))
        with self._lock:
            known = key in self._absorb_plans
            plan = self._absorb_plans.pop(key, None)
        if not known:
            plan = self._absorb_plan(key)
        with self._lock:
            self._absorb_plans[key] = plan
            while len(self._absorb_plans) > PRUNED_TREES:
                self._absorb_plans.pop(next(iter(self._absorb_plans)))
        if plan is None:
            return None
        tree, rest = plan
        _, parents = self._structure()
        cpts = []
        for v in rest:  # the children's tables at the observed states of their parents
            cpt = self._cpts[self.nodes[v]]
            index = tuple(hard[p] if p in hard else slice(None) for p in parents[v])
            cpts.append(cpt[index][None])
        for h in key:  # the observed node's own table becomes a stand-in child
            cpt = self._cpts[self.nodes[h]]
            index = tuple(hard[p] if p in hard else slice(None) for p in parents[h])
            seen = cpt[index][..., hard[h]]
            cpts.append(np.stack([seen, 1.0 - seen], axis=-1)[None])
        pos = {v: i for i, v in enumerate(rest)}
        sub = {pos[v]: a for v, a in lik.items() if v in pos}
        for k in range(len(key)):
            sub[len(rest) + k] = np.array([[1.0, 0.0]])
        margs, ok = tree.marginals(sub, 1, potentials=tree.batched_potentials(cpts))
        cards, _ = self._structure()
        out = []
        for v in range(len(self.nodes)):
            if v in hard:
                row = np.eye(cards[v])[hard[v]] if ok[0] else np.full(cards[v], 1.0 / cards[v])
                out.append(row[None])
            else:
                out.append(margs[pos[v]])
        return out, ok

    def _absorb_plan(self, observed: tuple[int, ...]) -> tuple[JunctionTree, list[int]] | None:
        """The tree over the unobserved nodes plus one stand-in per observed node, if it pays."""
        cards, parents = self._structure()
        hard = set(observed)
        rest = [v for v in range(len(self.nodes)) if v not in hard]
        pos = {v: i for i, v in enumerate(rest)}
        sub_cards = [cards[v] for v in rest] + [2] * len(observed)
        sub_parents = [[pos[p] for p in parents[v] if p not in hard] for v in rest] + [
            [pos[p] for p in parents[h] if p not in hard] for h in observed
        ]
        entries = sum(table_entries(triangulate(sub_cards, sub_parents), sub_cards))
        if entries > ABSORB_GAIN * self.tree.total_entries:
            return None
        uniform = [
            np.full([sub_cards[p] for p in ps] + [c], 1.0 / c)
            for c, ps in zip(sub_cards, sub_parents, strict=True)
        ]
        return JunctionTree(sub_cards, sub_parents, uniform, self.memory_budget), rest

    def conflicts(self, scenario: EvidenceLike = None) -> list[Evidence]:
        """The findings that cannot hold together: a smallest set whose joint probability is zero.

        Each finding (a node's hard, likelihood or fixed evidence, or one dated
        item) comes back as a one-piece Evidence, so callers can name it.  Empty
        when the evidence is possible.  Found by deletion: drop each finding in
        turn and keep it out while what is left is still impossible (one batch
        per finding, so a few milliseconds on the default model).
        """
        ev = self.evidence(scenario)
        pieces: list[Evidence] = (
            [Evidence(hard={n: s}) for n, s in ev.hard.items()]
            + [Evidence(likelihood={n: dict(w)}) for n, w in ev.likelihood.items()]
            + [Evidence(fixed={n: dict(q)}) for n, q in ev.fixed.items()]
            + [Evidence(items=(it,)) for it in ev.items]
        )

        def joined(parts: Sequence[Evidence]) -> Evidence:
            return combine(
                None,
                {n: s for p in parts for n, s in p.hard.items()},
                {n: w for p in parts for n, w in p.likelihood.items()},
                {n: q for p in parts for n, q in p.fixed.items()},
                tuple(it for p in parts for it in p.items),
            )

        def possible(parts: Sequence[Evidence]) -> bool:
            try:
                return bool(self.marginals([joined(parts)])[1].all())
            except EvidenceError:  # fixed evidence the rest rules out
                return False

        if possible(pieces):
            return []
        keep = list(pieces)
        for piece in list(pieces):
            rest = [p for p in keep if p is not piece]
            if not possible(rest):
                keep = rest
        return keep

    def _batch_arrays(
        self, evidence: Sequence[Evidence]
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Stack per-scenario evidence into (batch, card) likelihood and fixed-target arrays."""
        batch = len(evidence)
        lik: dict[int, np.ndarray] = {}
        fixed: dict[int, np.ndarray] = {}
        for b, ev in enumerate(evidence):
            l_b, f_b = self._arrays(ev)
            for i, vec in l_b.items():
                if i not in lik:
                    lik[i] = np.ones((batch, len(vec)))
                lik[i][b] = vec
            for i, vec in f_b.items():
                if i not in fixed:
                    fixed[i] = np.full((batch, len(vec)), np.nan)
                fixed[i][b] = vec
        return lik, fixed

    def posteriors(
        self,
        *,
        scenario: EvidenceLike = None,
        targets: Iterable[str] | str | None = None,
        **evidence: Unpack[EvidenceKeywords],
    ) -> pd.DataFrame:
        """Posterior of every target node (all nodes by default) under the evidence.

        `do={"node": "state"}` intervenes (graph surgery, see `intervened`) on top of
        the other evidence; `as_of` is the forecast date evidence items are aged to
        (default: the model's as-of date; later items are then not applied).
        Columns: node, state, probability, words; one row per node and state.
        """
        ev = self.evidence(scenario, **evidence)
        table = self.posteriors_batch([ev], targets=targets, names=[ev.name or "current evidence"])
        attrs, table.attrs = table.attrs, {}  # pandas deep-copies attrs on every step below
        table = table.drop(columns="scenario").reset_index(drop=True)
        table.attrs = {**attrs, "evidence": evidence_records(ev), "scenario": ev.name}
        if ev.do:
            table.attrs["do"] = dict(ev.do)
        day = self.forecast_date(ev)
        table.attrs["forecast_date"] = day.isoformat() if day else ""
        return table

    def posteriors_batch(
        self,
        evidence: Sequence[EvidenceLike] | pd.DataFrame,
        targets: Iterable[str] | str | None = None,
        names: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Posteriors for many scenarios in one vectorised pass.

        `evidence` is either a list (each item a Scenario, Evidence, a mapping with keys
        hard/likelihood/fixed, or None for no evidence) or a scenario grid: a DataFrame
        with one row per scenario and one column per node holding a state name (hard
        evidence; empty cells leave the node unset), plus an optional `scenario` column
        of names.  Columns of the result: scenario, node, state, probability, words; the
        scenario column holds `names`, else each scenario's name, else its index.
        """
        if isinstance(evidence, pd.DataFrame):
            lik, grid_names = self._grid_arrays(evidence)
            names = grid_names if names is None else names
            batch = len(evidence)
            fixed: dict[int, np.ndarray] = {}
        else:
            evs = [self._as_evidence(e) for e in evidence]
            if names is None:
                names = [ev.name or str(i) for i, ev in enumerate(evs)]
            if any(ev.do for ev in evs):
                return self._batch_by_do(evs, targets, list(names))
            batch = len(evs)
            lik, fixed = self._batch_arrays(evs)
        if batch == 0:
            raise EvidenceError("no scenarios given")
        if len(names) != batch:
            raise EvidenceError(f"{len(names)} names given for {batch} scenarios")
        target_nodes = self._targets(targets)
        margs, ok = self._solve(target_nodes, lik, fixed, batch)
        if not ok.all():
            bad = [names[i] for i in np.flatnonzero(~ok)[:5]]
            raise EvidenceError(
                "the evidence is impossible under the model (probability zero) in scenario(s) "
                + ", ".join(f"'{b}'" for b in bad)
            )
        table = self._table(margs, target_nodes, list(names))
        table.attrs.update(self.metadata())
        table.attrs["scenarios"] = list(names)
        return table

    def _batch_by_do(
        self, evs: list[Evidence], targets: Iterable[str] | str | None, names: list[str]
    ) -> pd.DataFrame:
        """A batch with interventions: each do-set is solved on its own mutilated network."""
        if len(names) != len(evs):
            raise EvidenceError(f"{len(names)} names given for {len(evs)} scenarios")
        groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for b, ev in enumerate(evs):
            groups.setdefault(tuple(sorted(ev.do.items())), []).append(b)
        parts = []
        for key, idx in groups.items():
            sub = self.intervened(dict(key))
            part = sub.posteriors_batch(
                [replace(evs[i], do={}) for i in idx], targets, [names[i] for i in idx]
            )
            per = len(part) // len(idx)
            part.insert(0, "_position", np.repeat(np.asarray(idx), per))
            parts.append(part)
        table = pd.concat(parts, ignore_index=True).sort_values("_position", kind="stable")
        table = table.drop(columns="_position").reset_index(drop=True)
        table.attrs.update(self.metadata())
        table.attrs["scenarios"] = list(names)
        return table

    def _solve(
        self,
        targets: list[str],
        lik: dict[int, np.ndarray],
        fixed: dict[int, np.ndarray],
        batch: int,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Marginals for a query, on the part of the network it depends on (barren nodes pruned).

        A query on a few targets with evidence near them is answered by a junction tree
        over their ancestors only (compiled once per such set, a few kept); asking for
        every node uses the full tree.  Exact either way (docs/engine.md, "Pruning").
        """
        wanted = [self._index[t] for t in targets]
        _, parents = self._structure()
        keep = relevant(parents, wanted + list(lik) + list(fixed))
        cut: set[int] = set()
        if len(keep) < len(self.nodes) or len(wanted) < len(self.nodes):
            keep, cut = self._requisite(wanted, keep, lik, fixed, batch)
        key = (tuple(keep), tuple(sorted(cut)))
        if len(keep) == len(self.nodes) or not self._prune_pays(key):
            return self._full(lik, fixed, batch)
        pos = {v: i for i, v in enumerate(keep)}
        with self._lock:
            tree = self._pruned.pop(key, None)
            if tree is None:
                cards, _ = self._structure()
                tree = JunctionTree(
                    [cards[v] for v in keep],
                    [[] if v in cut else [pos[p] for p in parents[v]] for v in keep],
                    [
                        np.full(cards[v], 1.0 / cards[v]) if v in cut else self._cpts[self.nodes[v]]
                        for v in keep
                    ],
                    memory_budget=self.memory_budget,
                )
            self._pruned[key] = tree  # most recently used last
            while len(self._pruned) > PRUNED_TREES:
                self._pruned.pop(next(iter(self._pruned)))
        margs, ok = solve_fixed(
            tree,
            {pos[v]: a for v, a in lik.items() if v in pos},
            {pos[v]: a for v, a in fixed.items()},
            batch,
            [self.nodes[v] for v in keep],
        )
        full: list[np.ndarray] = [np.empty((0, 0))] * len(self.nodes)  # only targets are read
        for i, v in enumerate(keep):
            full[v] = margs[i]
        return full, ok

    def _requisite(
        self,
        wanted: list[int],
        ancestral: list[int],
        lik: dict[int, np.ndarray],
        fixed: dict[int, np.ndarray],
        batch: int,
    ) -> tuple[list[int], set[int]]:
        """The nodes a query needs once the hard evidence's d-separations are used, and the cut ones.

        Falls back to the ancestral set (`relevant`) for batches over DSEP_MAX_BATCH and
        when the pruned-away part's evidence cannot be shown possible (`engine.witness`):
        the pruned tree no longer sees evidence that contradicts itself out there.
        """
        if batch > DSEP_MAX_BATCH:
            return ancestral, set()
        _, parents = self._structure()
        hard = [v for v, a in lik.items() if v not in fixed and _one_hot(a)]
        soft = [v for v in lik if v not in hard] + list(fixed)
        key = (tuple(wanted), tuple(sorted(fixed)), tuple(sorted(hard)), tuple(sorted(soft)))
        with self._lock:
            found = self._requisites.pop(key, None)
        if found is None:  # the ball depends on the graph and the evidence nodes only: kept by them
            found = requisite(parents, wanted + list(fixed), hard, soft)
            if self._entries(*found) > DSEP_GAIN * self._entries(ancestral, set()):
                found = (ancestral, set())  # the cut does not shrink the tables enough to pay
        with self._lock:
            self._requisites[key] = found
            while len(self._requisites) > REQUISITE_SETS:
                self._requisites.pop(next(iter(self._requisites)))
        keep, cut = found
        if len(keep) == len(ancestral) and not cut:
            return ancestral, set()
        support = self._support()
        needed = set(keep) - cut
        dropped = [v for v in ancestral if v not in needed]
        if all(support[v].all() for v in dropped) and all(
            (lik[v] > 0).any(axis=1).all() for v in dropped if v in lik
        ):
            # every CPT left out is positive: the evidence is possible iff the pruned tree says so
            return keep, cut
        for b in range(batch):
            rows = {v: a[b] if a.shape[0] > 1 else a[0] for v, a in lik.items()}
            seen = (tuple(ancestral), tuple((v, rows[v].tobytes()) for v in sorted(rows)))
            with self._lock:
                shown = self._witnessed.pop(seen, None)
            if shown is None:
                shown = witness(ancestral, parents, [self._cpts[n] for n in self.nodes], rows)
            with self._lock:
                self._witnessed[seen] = shown
                while len(self._witnessed) > REQUISITE_SETS:
                    self._witnessed.pop(next(iter(self._witnessed)))
            if not shown:
                return ancestral, set()
        return keep, cut

    def _prune_pays(self, key: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
        """A pruned tree is used when its tables hold at most PRUNE_GAIN of the full tree's entries.

        Decided on the symbolic plan (no table built), once per node set: a pruned set
        that keeps 81 % of barley's nodes holds 6 % of its entries.
        """
        with self._lock:
            if key in self._prune_gain:
                return self._prune_gain[key]
        pays = self._entries(list(key[0]), set(key[1])) <= PRUNE_GAIN * self.tree.total_entries
        with self._lock:
            self._prune_gain[key] = pays
            while len(self._prune_gain) > REQUISITE_SETS:
                self._prune_gain.pop(next(iter(self._prune_gain)))
        return pays

    def _entries(self, nodes: list[int], cut: set[int]) -> int:
        """Clique entries of the junction tree a query on `nodes` would run on (symbolic only)."""
        cards, parents = self._structure()
        pos = {v: i for i, v in enumerate(nodes)}
        sub_parents = [[] if v in cut else [pos[p] for p in parents[v]] for v in nodes]
        sub_cards = [cards[v] for v in nodes]
        return sum(table_entries(triangulate(sub_cards, sub_parents), sub_cards))

    def _support(self) -> list[np.ndarray]:
        """Each CPT's non-zero pattern (for `engine.witness`), built once."""
        with self._lock:
            if self._support_masks is None:
                self._support_masks = [self._cpts[n] > 0 for n in self.nodes]
            return self._support_masks

    def _grid_arrays(self, frame: pd.DataFrame) -> tuple[dict[int, np.ndarray], list[str]]:
        """Hard-evidence indicator arrays from a scenario grid, validated column by column."""
        batch = len(frame)
        names = (
            [str(x) for x in frame["scenario"]]
            if "scenario" in frame.columns
            else [str(i) for i in range(batch)]
        )
        lik: dict[int, np.ndarray] = {}
        for col in frame.columns:
            if col == "scenario":
                continue
            if not isinstance(col, str) or col not in self._by_id:
                raise EvidenceError(
                    f"scenario grid: column '{col}' is not a node of model '{self.id}'"
                )
            states = self._by_id[col].states
            values = frame[col]
            present = values.notna().to_numpy()
            codes = pd.Index(states, dtype=object).get_indexer(pd.Index(values.astype(object)))
            wrong = present & (codes < 0)
            if wrong.any():
                row = int(np.flatnonzero(wrong)[0])
                raise EvidenceError(
                    f"scenario grid: node '{col}' has no state '{values.iloc[row]}' (row {row + 1}); states are {states}"
                )
            if not present.any():
                continue
            arr = np.ones((batch, len(states)))
            arr[present] = np.eye(len(states))[codes[present]]
            lik[self._index[col]] = arr
        return lik, names

    def _as_evidence(self, e: EvidenceLike) -> Evidence:
        if isinstance(e, Evidence):
            self.check_evidence(e)
            return e
        if isinstance(e, Scenario):
            return self.evidence(e)
        if e is None:
            return Evidence()
        if isinstance(e, Mapping):
            ev = evidence_from_mapping(e)
            self.check_evidence(ev)
            return ev
        raise EvidenceError(f"cannot use a {type(e).__name__} as evidence")

    def _targets(self, targets: Iterable[str] | str | None) -> list[str]:
        if targets is None:
            return list(self.nodes)
        if isinstance(targets, str):
            targets = [targets]
        chosen = set()
        for t in targets:
            if not isinstance(t, str) or t not in self._by_id:
                raise EvidenceError(f"target: model '{self.id}' has no node '{t}'")
            chosen.add(t)
        if not chosen:
            raise EvidenceError("no target nodes given; pass None for every node")
        return [n for n in self.nodes if n in chosen]  # topological order, each node once

    def _table(self, margs: list[np.ndarray], targets: list[str], names: list[Any]) -> pd.DataFrame:
        """Scenario-major tidy table: scenario, node (topological order), state (file order)."""
        cols_node = [n for n in targets for _ in self._by_id[n].states]
        cols_state = [s for n in targets for s in self._by_id[n].states]
        probs = np.concatenate([margs[self._index[n]] for n in targets], axis=1)
        batch, width = probs.shape
        flat = probs.reshape(-1)
        # string columns are built once per distinct value and repeated with `take`
        # (pandas' arrow strings): far cheaper than converting 10^5-10^6 Python strings
        column = np.tile(np.arange(width), batch)
        table = pd.DataFrame(
            {
                "scenario": _strings(names).take(np.repeat(np.arange(batch), width)),
                "node": _strings(cols_node).take(column),
                "state": _strings(cols_state).take(column),
                "probability": flat,
                "words": _strings([b[0] for b in BANDS]).take(band_index(flat)),
            }
        )
        return table

    # ------------------------------------------------------------ interop

    def to_pgmpy(self) -> DiscreteBayesianNetwork:
        """The compiled model as a pgmpy DiscreteBayesianNetwork (the reference implementation)."""
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.models import DiscreteBayesianNetwork

        net = DiscreteBayesianNetwork()
        net.add_nodes_from(self.nodes)
        net.add_edges_from((p, n) for n in self.nodes for p in self._by_id[n].parents)
        for n in self.nodes:
            spec = self._by_id[n]
            table = self._cpts[n]
            values = table.reshape(-1, len(spec.states)).T if spec.parents else table.reshape(-1, 1)
            net.add_cpds(
                TabularCPD(
                    variable=n,
                    variable_card=len(spec.states),
                    values=values,
                    evidence=list(spec.parents) or None,
                    evidence_card=[len(self._by_id[p].states) for p in spec.parents] or None,
                    state_names={
                        n: list(spec.states),
                        **{p: list(self._by_id[p].states) for p in spec.parents},
                    },
                )
            )
        return net


def _one_hot(rows: np.ndarray) -> bool:
    """Hard evidence in every scenario: each row has exactly one positive entry."""
    return bool(((rows > 0).sum(axis=1) == 1).all())


def _strings(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    return pd.array([str(v) for v in values], dtype="str")


def evidence_from_mapping(data: Mapping[str, Any]) -> Evidence:
    """{'hard': ..., 'likelihood': ..., 'fixed': ..., 'name': ...} -> Evidence."""
    unknown = set(data) - {"hard", "likelihood", "fixed", "name", "items", "do", "as_of"}
    if unknown:
        raise EvidenceError(
            f"evidence mapping has unknown key(s) {sorted(unknown)}; use hard, likelihood, fixed"
        )
    items = data.get("items", ())
    if any(not isinstance(it, EvidenceItem) for it in items):
        raise EvidenceError(
            "evidence 'items' must be loaded EvidenceItem objects (forecast.load_evidence)"
        )
    ev = combine(
        None,
        data.get("hard"),
        data.get("likelihood"),
        data.get("fixed"),
        items,
        data.get("do"),
        data.get("as_of"),
    )
    return replace(ev, name=str(data.get("name", "")))


def load_model(path: str | os.PathLike[str], memory_budget: int | None = None) -> Model:
    """Load a model file in any supported format (by suffix: forecast.formats.FORMATS).

    `memory_budget` (bytes; None: FORECAST_MEMORY_BUDGET, else 1 GiB) bounds both the
    file's probability tables and the compiled model.
    """
    from .formats import read_model_file

    budget = resolve_budget(memory_budget)
    return Model(read_model_file(path, budget), Path(path), budget)


def model_from_text(text: str, name: str = "<upload>", memory_budget: int | None = None) -> Model:
    """A model from the text of an uploaded file: `name`'s suffix gives the format; YAML without one."""
    from .formats import read_model_text

    budget = resolve_budget(memory_budget)
    if not Path(name).suffix or name.startswith("<"):
        return Model(spec_from_text(text, name, budget), None, budget, source_text=text)
    return Model(read_model_text(text, name, budget), None, budget, source_text=text)


def model_from_bytes(data: bytes, name: str, memory_budget: int | None = None) -> Model:
    """A model from an uploaded file's bytes (any supported format, by `name`'s suffix; gzip allowed)."""
    from .formats import read_model_bytes

    budget = resolve_budget(memory_budget)
    spec = read_model_bytes(data, name, budget)
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    model = Model(spec, None, budget, source_text=text)
    if text is None:
        model.__dict__["content_hash"] = hashlib.sha256(data).hexdigest()
    return model

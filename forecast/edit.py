"""Editing a model, its evidence items and scenarios, one validated step at a time.

`Editor` holds an immutable `Draft` (a validated `ModelSpec`, the evidence
items and the scenarios) and a history of drafts for undo and redo.  Every edit
builds the changed content as plain data and validates it exactly as
`load_model` validates a file (`spec_from_dict`, whole-model checks), and
checks the evidence items and scenarios as their loaders do.  An edit that
would make anything invalid raises `EditError` naming the node, state or row,
and leaves the draft as it was.

Structural edits keep the tables meaningful, the way GeNIe and Netica do:

- a new parent leaves the child's distribution as it was (each old row is
  repeated for every state of the new parent; a ranked child gives it weight 1);
- a removed parent is averaged out, weighted by its probabilities with no
  evidence;
- a new state starts with probability 0 in its own table and as a copy of its
  neighbour (the state before it, or after it when first) in the children's
  tables, in evidence weights and in scenarios;
- a deleted state's probability is shared out over the others in proportion.

New ids (nodes and states) must be identifiers: a letter or '_' and then
letters, digits or '_' (`suggest_id` makes one from a label).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .diff import ModelDiff, semantic_diff
from .errors import EvidenceError, ForecastError, ModelError
from .evidence import EvidenceItem, Scenario, check_weights, resolve_items
from .model import Model
from .spec import ModelSpec, NodeSpec, RankedCPT, TableCPT, compile_cpt, find_cycle, spec_from_dict
from .words import BANDS
from .writer import YamlFile

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_KEEP: Any = object()  # "leave the claims as they are" in Editor._commit
HISTORY = 100
ROLES = ("driver", "intermediate", "outcome")
RANKED_FUNCTIONS = ("wmean", "wmin", "wmax")
DIGITS = 6  # decimals kept when a generated table is written out as rows


class EditError(ModelError):
    """An edit was refused; nothing changed."""


@dataclass(frozen=True)
class Draft:
    """One version of everything being edited."""

    spec: ModelSpec
    items: tuple[EvidenceItem, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    claims: Any = None  # the model's claims file as plain data (<model>.claims.yaml), if any

    def item(self, item_id: str) -> EvidenceItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise EditError(f"there is no evidence item '{item_id}'")

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise EditError(f"there is no scenario '{name}'")


@dataclass(frozen=True)
class NodeView:
    """Everything the inspector shows about one node."""

    id: str
    label: str
    description: str
    role: str
    states: list[str]
    parents: list[str]
    children: list[str]
    kind: str  # "table" or "ranked"
    grid: pd.DataFrame  # one row per combination of parent states; the node's states as columns
    function: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    variance: float = 0.0
    parent_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)
    rationale: str = ""
    confidence: float | None = None


# ------------------------------------------------------------------ small helpers


def suggest_id(label: str) -> str:
    """An identifier made from a label: 'US–Russia détente' -> 'us_russia_detente'."""
    import unicodedata

    text = "".join(
        c for c in unicodedata.normalize("NFKD", str(label)) if not unicodedata.combining(c)
    )
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text:
        return "node"
    return text if re.match(r"[A-Za-z_]", text) else f"n_{text}"


def check_id(name: Any, what: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(IDENT, name):
        hint = f" (for example '{suggest_id(str(name))}')" if str(name).strip() else ""
        raise EditError(
            f"{what} {name!r} is not a valid id: use a letter or '_' followed by letters, "
            f"digits or '_'{hint}"
        )
    return name


def normalise(values: Sequence[float] | np.ndarray) -> list[float]:
    """Scale non-negative numbers to sum to 1 (all zero: equal shares)."""
    v = np.asarray([max(float(x), 0.0) if math.isfinite(float(x)) else 0.0 for x in values])
    total = v.sum()
    if total <= 0:
        return [1.0 / len(v)] * len(v)
    return [float(x) for x in v / total]


def _tidy(values: Sequence[float] | np.ndarray) -> list[float]:
    """Round a distribution to DIGITS decimals, the rounding error given to its largest entry."""
    v = [round(float(x), DIGITS) for x in values]
    big = int(np.argmax(v))
    v[big] = round(1.0 - (sum(v) - v[big]), DIGITS)
    return [0.0 if x == 0 else x for x in v]


def phrase_value(phrase: str) -> float:
    """The middle of an estimative phrase's band (forecast.words), a starting number for a row."""
    for name, lo, hi in BANDS:
        if name == phrase:
            return {"almost no chance": 0.02, "almost certain": 0.98}.get(name, (lo + hi) / 2)
    raise EditError(f"unknown estimative phrase {phrase!r}; choose one of {[b[0] for b in BANDS]}")


def with_cell(values: Sequence[float], index: int, p: float) -> list[float]:
    """A row with one cell set to `p` and the others rescaled to share the rest in proportion."""
    if not 0.0 <= p <= 1.0:
        raise EditError(f"a probability must lie in [0, 1], got {p}")
    others = [float(v) for i, v in enumerate(values) if i != index]
    shares = normalise(others) if others else []
    rest = iter(x * (1.0 - p) for x in shares)
    return _tidy([p if i == index else next(rest) for i in range(len(values))])


def _node_data(data: dict[str, Any], node_id: str) -> dict[str, Any]:
    for n in data["nodes"]:
        if n["id"] == node_id:
            return n
    raise EditError(f"the model has no node '{node_id}'")


def _combos(spec: ModelSpec, parents: Sequence[str]) -> list[tuple[str, ...]]:
    return list(itertools.product(*(spec.node(p).states for p in parents)))


def _rows(
    spec: ModelSpec, node: dict[str, Any], parents: list[str], array: np.ndarray, tidy: bool
) -> list[dict[str, Any]]:
    """Table rows for a full CPT array, each written as the node's row for it was (list or map)."""
    listed = _listed_rows(node)
    states = node["states"]
    flat = array.reshape(-1, len(states))
    rows = []
    for combo, vec in zip(_combos(spec, parents), flat, strict=True):
        when = dict(zip(parents, combo, strict=True))
        rows.append(
            {"when": when, "probabilities": _probs(states, vec, _row_key(when) in listed, tidy)}
        )
    return rows


def _row_key(when: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(when.items()))


def _listed_rows(node: dict[str, Any]) -> set[tuple[tuple[str, str], ...]]:
    """The rows (by parent states) that the file gives as a list of numbers rather than a map."""
    cpt = node.get("cpt")
    if not isinstance(cpt, dict) or cpt.get("type") != "table":
        return set()
    return {_row_key(r["when"]) for r in cpt["rows"] if isinstance(r["probabilities"], list)}


def _probs(states: list[str], vec: Any, as_list: bool, tidy: bool) -> Any:
    values = _tidy(vec) if tidy else [float(x) for x in vec]
    return values if as_list else dict(zip(states, values, strict=True))


def _table_cpt(
    spec: ModelSpec, node: dict[str, Any], parents: list[str], array: np.ndarray, tidy: bool
) -> dict[str, Any]:
    """An explicit table CPT for a full array (a noisy-MAX node edited structurally becomes one)."""
    return {"type": "table", "rows": _rows(spec, node, parents, array, tidy)}


def _claim_list(claims: Any) -> list[dict[str, Any]]:
    if isinstance(claims, dict) and isinstance(claims.get("claims"), list):
        return [c for c in claims["claims"] if isinstance(c, dict)]
    return []


def _claims_using(claims: Any, node: str, state: str | None = None) -> list[str]:
    """Ids of the claims (in a claims file's data) that name `node` (or its `state`)."""
    used = []
    for c in _claim_list(claims):
        cause = c.get("cause") or {}
        effect = c.get("effect") or {}
        hard = (c.get("given") or {}).get("hard") or {}
        do = cause.get("do") or {}
        if state is None:
            hit = node in (cause.get("node"), effect.get("node")) or node in do or node in hard
        else:
            hit = (
                (cause.get("node") == node and state in (cause.get("from"), cause.get("to")))
                or (effect.get("node") == node and effect.get("state") == state)
                or do.get(node) == state
                or hard.get(node) == state
            )
        if hit:
            used.append(str(c.get("id", "?")))
    return used


def _claims_renamed(
    claims: Any, node: str, new_node: str, state: str = "", new_state: str = ""
) -> Any:
    """The claims data with a node (or, given `state`, one of its states) renamed."""
    if not _claim_list(claims):
        return claims
    out = copy.deepcopy(claims)

    def st_(n: Any, s: Any) -> Any:
        return new_state if state and n == node and s == state else s

    for c in _claim_list(out):
        cause, effect = c.get("cause"), c.get("effect")
        given = c.get("given") if isinstance(c.get("given"), dict) else None
        if isinstance(cause, dict):
            for k in ("from", "to"):
                if k in cause:
                    cause[k] = st_(cause.get("node"), cause[k])
            if isinstance(cause.get("do"), dict):
                cause["do"] = {k: st_(k, v) for k, v in cause["do"].items()}
                if not state:
                    cause["do"] = {
                        (new_node if k == node else k): v for k, v in cause["do"].items()
                    }
            if not state and cause.get("node") == node:
                cause["node"] = new_node
        if isinstance(effect, dict):
            if "state" in effect:
                effect["state"] = st_(effect.get("node"), effect["state"])
            if not state and effect.get("node") == node:
                effect["node"] = new_node
        if given is not None and isinstance(given.get("hard"), dict):
            given["hard"] = {k: st_(k, v) for k, v in given["hard"].items()}
            if not state:
                given["hard"] = {
                    (new_node if k == node else k): v for k, v in given["hard"].items()
                }
    return out


# ------------------------------------------------------------------ the editor


class Editor:
    """A model under edit: validated drafts with undo and redo."""

    def __init__(
        self,
        spec: ModelSpec,
        items: Iterable[EvidenceItem] = (),
        scenarios: Iterable[Scenario] = (),
        history: int = HISTORY,
        claims: Any = None,
    ) -> None:
        items = tuple(items)
        draft = Draft(spec, items, tuple(self._resolved(list(scenarios), items)), claims)
        self._history: list[Draft] = [draft]
        self._labels: list[str] = ["opened"]
        self._pos = 0
        self._limit = max(history, 50)
        self._models: list[tuple[ModelSpec, Model]] = []
        self.base: Draft = draft  # what the change summary compares with (as opened or saved)

    @classmethod
    def new(
        cls,
        model_id: str,
        question: str,
        outcome: str,
        states: Sequence[str],
        title: str = "",
        outcome_label: str = "",
    ) -> Editor:
        """An empty model: a question and its outcome node (equal chances to start)."""
        check_id(model_id, "model id")
        check_id(outcome, "node id")
        for s in states:
            check_id(s, "state")
        p = normalise([1.0] * len(states))
        data = {
            "id": model_id,
            "title": title,
            "question": {"text": question},
            "nodes": [
                {
                    "id": outcome,
                    "label": outcome_label,
                    "role": "outcome",
                    "states": list(states),
                    "cpt": {
                        "type": "table",
                        "rows": [{"probabilities": dict(zip(states, _tidy(p), strict=True))}],
                    },
                }
            ],
        }
        try:
            spec = spec_from_dict(data, f"model '{model_id}'")
        except ModelError as exc:
            raise EditError(f"cannot start the model: {exc}", exc.problems) from None
        return cls(spec)

    # ------------------------------------------------------------ state

    @property
    def draft(self) -> Draft:
        return self._history[self._pos]

    @property
    def spec(self) -> ModelSpec:
        return self.draft.spec

    @property
    def items(self) -> tuple[EvidenceItem, ...]:
        return self.draft.items

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        return self.draft.scenarios

    def model(self) -> Model:
        """The current draft compiled (cached per draft)."""
        spec = self.draft.spec
        for cached, model in self._models:
            if cached is spec:
                return model
        model = Model(spec)
        self._models = [*self._models[-7:], (spec, model)]
        return model

    @property
    def can_undo(self) -> bool:
        return self._pos > 0

    @property
    def can_redo(self) -> bool:
        return self._pos < len(self._history) - 1

    @property
    def undo_label(self) -> str:
        return self._labels[self._pos] if self.can_undo else ""

    @property
    def redo_label(self) -> str:
        return self._labels[self._pos + 1] if self.can_redo else ""

    def history(self) -> list[str]:
        """Descriptions of the edits made, oldest first (up to the current one)."""
        return self._labels[1 : self._pos + 1]

    def undo(self) -> str:
        if not self.can_undo:
            raise EditError("nothing to undo")
        label = self._labels[self._pos]
        self._pos -= 1
        return label

    def redo(self) -> str:
        if not self.can_redo:
            raise EditError("nothing to redo")
        self._pos += 1
        return self._labels[self._pos]

    def mark_saved(self) -> None:
        """After a save: the saved draft becomes the base of the change summary."""
        self.base = self.draft

    # ------------------------------------------------------------ validation and commit

    @staticmethod
    def _resolved(scenarios: Sequence[Scenario], items: Sequence[EvidenceItem]) -> list[Scenario]:
        out = []
        for s in scenarios:
            try:
                out.append(resolve_items(s, items, f"scenario '{s.name}'"))
            except EvidenceError as exc:
                raise EditError(str(exc)) from None
        return out

    def _commit(
        self,
        label: str,
        data: dict[str, Any] | None = None,
        items: Sequence[EvidenceItem | dict[str, Any]] | None = None,
        scenarios: Sequence[Scenario | dict[str, Any]] | None = None,
        claims: Any = _KEEP,
    ) -> Draft:
        old = self.draft
        try:
            spec = old.spec if data is None else spec_from_dict(data, f"model '{old.spec.id}'")
        except ModelError as exc:
            raise EditError(
                f"cannot {label}: " + "; ".join(exc.problems[:5]), exc.problems
            ) from None
        new_items = old.items if items is None else tuple(self._item(it, label) for it in items)
        new_scen = (
            old.scenarios if scenarios is None else [self._scenario(s, label) for s in scenarios]
        )
        self._check_evidence(spec, new_items, new_scen, label)
        try:
            resolved = self._resolved(list(new_scen), new_items)
        except EditError as exc:
            raise EditError(f"cannot {label}: {exc}") from None
        draft = Draft(spec, new_items, tuple(resolved), old.claims if claims is _KEEP else claims)
        if draft == old:
            return old  # nothing changed: no undo step
        del self._history[self._pos + 1 :]
        del self._labels[self._pos + 1 :]
        self._history.append(draft)
        self._labels.append(label)
        if len(self._history) > self._limit + 1:  # forget the oldest edit
            del self._history[0]
            del self._labels[0]
        self._pos = len(self._history) - 1
        return draft

    @staticmethod
    def _item(it: EvidenceItem | dict[str, Any], label: str) -> EvidenceItem:
        return _validated(EvidenceItem, it, label, "evidence item", "id")

    @staticmethod
    def _scenario(s: Scenario | dict[str, Any], label: str) -> Scenario:
        return _validated(Scenario, s, label, "scenario", "name")

    @staticmethod
    def _check_evidence(
        spec: ModelSpec,
        items: Sequence[EvidenceItem],
        scenarios: Sequence[Scenario],
        label: str,
    ) -> None:
        by_id = {n.id: n for n in spec.nodes}
        seen: set[str] = set()
        for it in items:
            if it.id in seen:
                raise EditError(f"cannot {label}: two evidence items have the id '{it.id}'")
            seen.add(it.id)
            if it.node not in by_id:
                raise EditError(
                    f"cannot {label}: evidence item '{it.id}' bears on node '{it.node}', "
                    "which the model does not have"
                )
            try:
                check_weights(it.node, by_id[it.node].states, it.likelihood, f"item '{it.id}':")
            except EvidenceError as exc:
                raise EditError(f"cannot {label}: evidence {exc}") from None
        names: set[str] = set()
        for s in scenarios:
            if s.name in names:
                raise EditError(f"cannot {label}: two scenarios are named '{s.name}'")
            names.add(s.name)
            where = f"scenario '{s.name}'"
            for node, state in s.hard.items():
                if node not in by_id:
                    raise EditError(f"cannot {label}: {where} sets unknown node '{node}'")
                if state not in by_id[node].states:
                    raise EditError(
                        f"cannot {label}: {where} sets node '{node}' to '{state}', which it does "
                        f"not have (states: {by_id[node].states})"
                    )
            for kind, table in (("likelihood", s.likelihood), ("fixed", s.fixed)):
                for node, weights in table.items():
                    if node not in by_id:
                        raise EditError(f"cannot {label}: {where} names unknown node '{node}'")
                    try:
                        check_weights(node, by_id[node].states, weights, kind)
                    except EvidenceError as exc:
                        raise EditError(f"cannot {label}: {where}: {exc}") from None
                    if kind == "fixed" and node in s.hard:
                        raise EditError(
                            f"cannot {label}: {where} gives node '{node}' both hard and fixed evidence"
                        )
            unknown = [i for i in s.items if i not in seen]
            if unknown:
                raise EditError(f"cannot {label}: {where} applies unknown item(s) {unknown}")

    def _data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.spec.model_dump(mode="python")
        return data

    def _node(self, node_id: str) -> NodeSpec:
        try:
            return self.spec.node(node_id)
        except KeyError:
            raise EditError(f"the model has no node '{node_id}'") from None

    def _array(self, node_id: str) -> np.ndarray:
        by_id = {n.id: n for n in self.spec.nodes}
        return compile_cpt(self._node(node_id), by_id)

    def _children(self, node_id: str) -> list[str]:
        return [n.id for n in self.spec.nodes if node_id in n.parents]

    # ------------------------------------------------------------ inspecting

    def inspect(self, node_id: str) -> NodeView:
        n = self._node(node_id)
        sources = {s.id: s for s in self.spec.sources}
        view_sources = [
            {
                "id": s,
                "title": sources[s].title if s in sources else "",
                "author": sources[s].author if s in sources else "",
                "date": sources[s].date if s in sources else "",
            }
            for s in n.sources
        ]
        extra: dict[str, Any] = {}
        if isinstance(n.cpt, RankedCPT):
            extra = {
                "function": n.cpt.function,
                "weights": dict(n.cpt.weights),
                "variance": n.cpt.variance,
                "parent_scores": {k: dict(v) for k, v in n.cpt.parent_scores.items()},
            }
        return NodeView(
            id=n.id,
            label=n.display,
            description=n.description,
            role=n.role,
            states=list(n.states),
            parents=list(n.parents),
            children=self._children(n.id),
            kind=n.cpt.type,
            grid=self.cpt_grid(n.id),
            sources=view_sources,
            rationale=n.rationale,
            confidence=n.confidence,
            **extra,
        )

    def cpt_grid(self, node_id: str, percent: bool = False) -> pd.DataFrame:
        """The node's table: parent columns (their states), then one column per state."""
        n = self._node(node_id)
        flat = self._array(node_id).reshape(-1, len(n.states)) * (100.0 if percent else 1.0)
        combos = _combos(self.spec, n.parents)
        frame = pd.DataFrame(
            {p: [c[i] for c in combos] for i, p in enumerate(n.parents)}
            | {s: flat[:, j] for j, s in enumerate(n.states)}
        )
        return frame

    def children(self, node_id: str) -> list[str]:
        self._node(node_id)
        return self._children(node_id)

    # ------------------------------------------------------------ nodes

    def add_node(
        self,
        node_id: str,
        states: Sequence[str],
        label: str = "",
        role: str = "intermediate",
        parents: Sequence[str] = (),
        description: str = "",
    ) -> Draft:
        """A new node with equal chances in every row of its table."""
        check_id(node_id, "node id")
        for s in states:
            check_id(s, f"state of '{node_id}'")
        if any(n.id == node_id for n in self.spec.nodes):
            raise EditError(
                f"cannot add node '{node_id}': the model already has a node with that id"
            )
        for p in parents:
            self._node(p)
        data = self._data()
        combos = _combos(self.spec, list(parents))
        even = dict(zip(states, _tidy(normalise([1.0] * len(states))), strict=True))
        data["nodes"].append(
            {
                "id": node_id,
                "label": label,
                "description": description,
                "role": role,
                "states": list(states),
                "parents": list(parents),
                "cpt": {
                    "type": "table",
                    "rows": [
                        {"when": dict(zip(parents, c, strict=True)), "probabilities": dict(even)}
                        for c in combos
                    ],
                },
            }
        )
        return self._commit(f"add node '{node_id}'", data)

    def delete_node(self, node_id: str, drop_evidence: bool = False) -> Draft:
        """Remove a node; its children average it out.  Evidence on it is refused unless dropped."""
        self._node(node_id)
        label = f"delete node '{node_id}'"
        on_items = [it.id for it in self.items if it.node == node_id]
        on_scen = [
            s.name
            for s in self.scenarios
            if node_id in s.hard or node_id in s.likelihood or node_id in s.fixed
        ]
        on_claims = _claims_using(self.draft.claims, node_id)
        if (on_items or on_scen or on_claims) and not drop_evidence:
            what = []
            if on_items:
                what.append(f"evidence item(s) {on_items}")
            if on_scen:
                what.append(f"scenario(s) {on_scen}")
            if on_claims:
                what.append(f"claim(s) {on_claims}")
            raise EditError(
                f"cannot {label}: it is used by "
                + " and ".join(what)
                + "; delete those first or choose to drop them with the node"
            )
        data = self._data()
        for child in self._children(node_id):
            self._drop_parent(data, node_id, child)
        data["nodes"] = [n for n in data["nodes"] if n["id"] != node_id]
        if data.get("question"):
            data["question"]["resolution"].pop(node_id, None)
        items = [it for it in self.items if it.node != node_id]
        dropped = {it.id for it in self.items} - {it.id for it in items}
        scenarios = []
        for s in self.scenarios:
            d = s.model_dump(exclude={"resolved_items"})
            for k in ("hard", "likelihood", "fixed"):
                d[k].pop(node_id, None)
            d["items"] = [i for i in d["items"] if i not in dropped]
            scenarios.append(d)
        claims = self.draft.claims
        if on_claims:
            claims = copy.deepcopy(claims)
            claims["claims"] = [
                c
                for c in claims["claims"]
                if not (isinstance(c, dict) and str(c.get("id")) in on_claims)
            ]
        return self._commit(label, data, items, scenarios, claims)

    def rename_node(self, old: str, new: str) -> Draft:
        """Change a node's id everywhere: parents, tables, evidence items, scenarios, claims."""
        self._node(old)
        check_id(new, "node id")
        label = f"rename node '{old}' to '{new}'"
        if new == old:
            raise EditError(f"cannot {label}: it already has that id")
        if any(n.id == new for n in self.spec.nodes):
            raise EditError(f"cannot {label}: the model already has a node '{new}'")
        data = self._data()
        for n in data["nodes"]:
            if n["id"] == old:
                n["id"] = new
            n["parents"] = [new if p == old else p for p in n["parents"]]
            cpt = n["cpt"]
            if cpt["type"] == "table":
                for r in cpt["rows"]:
                    r["when"] = {(new if k == old else k): v for k, v in r["when"].items()}
            elif cpt["type"] == "ranked":
                cpt["weights"] = {(new if k == old else k): v for k, v in cpt["weights"].items()}
                cpt["parent_scores"] = {
                    (new if k == old else k): v for k, v in cpt["parent_scores"].items()
                }
            elif isinstance(cpt.get("parameters"), dict):  # noisy-MAX: per parent
                cpt["parameters"] = {
                    (new if k == old else k): v for k, v in cpt["parameters"].items()
                }
        if data.get("question"):
            res = data["question"]["resolution"]
            data["question"]["resolution"] = {(new if k == old else k): v for k, v in res.items()}
        items = [it.model_copy(update={"node": new}) if it.node == old else it for it in self.items]
        scenarios = []
        for s in self.scenarios:
            d = s.model_dump(exclude={"resolved_items"})
            for k in ("hard", "likelihood", "fixed"):
                d[k] = {(new if n == old else n): v for n, v in d[k].items()}
            scenarios.append(d)
        claims = _claims_renamed(self.draft.claims, old, new)
        return self._commit(label, data, items, scenarios, claims)

    def set_role(self, node_id: str, role: str) -> Draft:
        if role not in ROLES:
            raise EditError(f"role {role!r} is not one of {list(ROLES)}")
        data = self._data()
        _node_data(data, node_id)["role"] = role
        return self._commit(f"make '{node_id}' a {role}", data)

    # ------------------------------------------------------------ states

    def add_state(self, node_id: str, state: str, position: int | None = None) -> Draft:
        n = self._node(node_id)
        check_id(state, f"state of '{node_id}'")
        label = f"add state '{state}' to '{node_id}'"
        if state in n.states:
            raise EditError(f"cannot {label}: '{node_id}' already has a state '{state}'")
        pos = len(n.states) if position is None else max(0, min(int(position), len(n.states)))
        like = n.states[pos - 1] if pos > 0 else n.states[0]  # the neighbour the new state copies
        data = self._data()
        nd = _node_data(data, node_id)
        if not isinstance(n.cpt, RankedCPT):  # tables and other forms, as tables
            arr = np.insert(self._array(node_id), pos, 0.0, axis=-1)
            nd["states"] = n.states[:pos] + [state] + n.states[pos:]
            nd["cpt"] = _table_cpt(self.spec, nd, list(n.parents), arr, tidy=False)
        else:
            nd["states"] = n.states[:pos] + [state] + n.states[pos:]
        new_spec_states = nd["states"]
        for child in self._children(node_id):
            cd = _node_data(data, child)
            c = self._node(child)
            if not isinstance(c.cpt, RankedCPT):
                axis = c.parents.index(node_id)
                arr = self._array(child)
                copy = np.take(arr, [n.states.index(like)], axis=axis)
                arr = np.concatenate(
                    [
                        np.take(arr, range(pos), axis=axis),
                        copy,
                        np.take(arr, range(pos, arr.shape[axis]), axis=axis),
                    ],
                    axis=axis,
                )
                cd["cpt"] = _table_cpt(
                    _with_states(self.spec, node_id, new_spec_states),
                    cd,
                    list(c.parents),
                    arr,
                    False,
                )
            elif node_id in c.cpt.parent_scores:
                scores = cd["cpt"]["parent_scores"][node_id]
                cd["cpt"]["parent_scores"][node_id] = {
                    s: scores[s] if s != state else scores[like] for s in new_spec_states
                }
        items, scenarios = self._remap_evidence(
            node_id,
            lambda w: _insert(w, new_spec_states, state, w[like]),
            lambda f: _insert(f, new_spec_states, state, 0.0),
        )
        return self._commit(label, data, items, scenarios)

    def _remap_evidence(
        self,
        node_id: str,
        likelihood: Callable[[dict[str, float]], dict[str, float]],
        fixed: Callable[[dict[str, float]], dict[str, float]],
        hard: Mapping[str, str] | None = None,
    ) -> tuple[list[EvidenceItem], list[dict[str, Any]]]:
        """The draft's items and scenarios after a change to `node_id`'s states.

        Item and scenario likelihoods go through `likelihood`, fixed distributions through
        `fixed`, and a hard observation in a state named in `hard` moves to its new name;
        the state edits share this so evidence on the node never points at a stale state.
        """
        items = [
            it.model_copy(update={"likelihood": likelihood(it.likelihood)})
            if it.node == node_id
            else it
            for it in self.items
        ]
        scenarios = []
        for s in self.scenarios:
            d = s.model_dump(exclude={"resolved_items"})
            if hard and d["hard"].get(node_id) in hard:
                d["hard"][node_id] = hard[d["hard"][node_id]]
            if node_id in d["likelihood"]:
                d["likelihood"][node_id] = likelihood(d["likelihood"][node_id])
            if node_id in d["fixed"]:
                d["fixed"][node_id] = fixed(d["fixed"][node_id])
            scenarios.append(d)
        return items, scenarios

    def rename_state(self, node_id: str, old: str, new: str) -> Draft:
        n = self._node(node_id)
        check_id(new, f"state of '{node_id}'")
        label = f"rename state '{old}' of '{node_id}' to '{new}'"
        if old not in n.states:
            raise EditError(f"cannot {label}: '{node_id}' has no state '{old}'")
        if new in n.states:
            raise EditError(f"cannot {label}: '{node_id}' already has a state '{new}'")

        def ren(m: dict[str, Any]) -> dict[str, Any]:
            return {(new if k == old else k): v for k, v in m.items()}

        data = self._data()
        nd = _node_data(data, node_id)
        nd["states"] = [new if s == old else s for s in nd["states"]]
        if nd["cpt"]["type"] == "table":
            for r in nd["cpt"]["rows"]:
                if isinstance(r["probabilities"], dict):
                    r["probabilities"] = ren(r["probabilities"])
        for child in self._children(node_id):
            cd = _node_data(data, child)
            if cd["cpt"]["type"] == "table":
                for r in cd["cpt"]["rows"]:
                    if r["when"].get(node_id) == old:
                        r["when"][node_id] = new
            elif node_id in cd["cpt"].get("parent_scores", {}):
                cd["cpt"]["parent_scores"][node_id] = ren(cd["cpt"]["parent_scores"][node_id])
            elif node_id in cd["cpt"].get("parameters", {}):
                cd["cpt"]["parameters"][node_id] = ren(cd["cpt"]["parameters"][node_id])
        if data.get("question") and node_id in data["question"]["resolution"]:
            data["question"]["resolution"][node_id] = ren(data["question"]["resolution"][node_id])
        items, scenarios = self._remap_evidence(node_id, ren, ren, {old: new})
        claims = _claims_renamed(self.draft.claims, node_id, node_id, old, new)
        return self._commit(label, data, items, scenarios, claims)

    def delete_state(self, node_id: str, state: str) -> Draft:
        n = self._node(node_id)
        label = f"delete state '{state}' of '{node_id}'"
        if state not in n.states:
            raise EditError(f"cannot {label}: '{node_id}' has no state '{state}'")
        users = [s.name for s in self.scenarios if s.hard.get(node_id) == state]
        if users:
            raise EditError(
                f"cannot {label}: scenario(s) {users} set '{node_id}' to it; change them first"
            )
        claims = _claims_using(self.draft.claims, node_id, state)
        if claims:
            raise EditError(f"cannot {label}: claim(s) {claims} name it; change them first")
        k = n.states.index(state)
        keep = [s for s in n.states if s != state]
        data = self._data()
        nd = _node_data(data, node_id)
        nd["states"] = keep
        if not isinstance(n.cpt, RankedCPT):  # tables and other forms, as tables
            arr = np.delete(self._array(node_id), k, axis=-1)
            flat = arr.reshape(-1, len(keep))
            arr = np.asarray([normalise(r) for r in flat]).reshape(arr.shape)
            nd["cpt"] = _table_cpt(self.spec, nd, list(n.parents), arr, tidy=False)
        reduced = _with_states(self.spec, node_id, keep)
        for child in self._children(node_id):
            cd = _node_data(data, child)
            c = self._node(child)
            if not isinstance(c.cpt, RankedCPT):
                arr = np.delete(self._array(child), k, axis=c.parents.index(node_id))
                cd["cpt"] = _table_cpt(reduced, cd, list(c.parents), arr, False)
            elif node_id in c.cpt.parent_scores:
                cd["cpt"]["parent_scores"][node_id].pop(state, None)
        if data.get("question") and node_id in data["question"]["resolution"]:
            data["question"]["resolution"][node_id].pop(state, None)

        def drop(m: dict[str, float]) -> dict[str, float]:
            return {x: v for x, v in m.items() if x != state}

        def renormalised(f: dict[str, float]) -> dict[str, float]:
            q = drop(f)
            return dict(zip(q, normalise(list(q.values())), strict=True))

        items, scenarios = self._remap_evidence(node_id, drop, renormalised)
        return self._commit(label, data, items, scenarios)

    # ------------------------------------------------------------ edges

    def add_edge(self, parent: str, child: str) -> Draft:
        """`parent` -> `child`; the child's distribution stays as it was until its table is edited."""
        self._node(parent)
        c = self._node(child)
        label = f"add the arrow '{parent}' -> '{child}'"
        if parent == child:
            raise EditError(f"cannot {label}: a node cannot be its own parent")
        if parent in c.parents:
            raise EditError(f"cannot {label}: '{parent}' is already a parent of '{child}'")
        graph = {n.id: list(n.parents) for n in self.spec.nodes}
        graph[child] = graph[child] + [parent]
        cycle = find_cycle(graph)
        if (
            cycle and parent in cycle
        ):  # show it from the new arrow on: parent -> child -> ... -> parent
            at = cycle.index(parent)
            cycle = cycle[at:-1] + cycle[:at] + [parent]
        if cycle:
            raise EditError(f"cannot {label}: it would make a cycle {' -> '.join(cycle)}")
        data = self._data()
        cd = _node_data(data, child)
        cd["parents"] = list(c.parents) + [parent]
        if not isinstance(c.cpt, RankedCPT):
            arr = self._array(child)
            k = len(self._node(parent).states)
            arr = np.repeat(arr[..., None, :], k, axis=-2)
            cd["cpt"] = _table_cpt(self.spec, cd, cd["parents"], arr, False)
        else:
            cd["cpt"]["weights"][parent] = 1.0
        return self._commit(label, data)

    def remove_edge(self, parent: str, child: str) -> Draft:
        """Remove `parent` -> `child`; the child's table averages the parent out."""
        c = self._node(child)
        label = f"remove the arrow '{parent}' -> '{child}'"
        if parent not in c.parents:
            raise EditError(f"cannot {label}: '{parent}' is not a parent of '{child}'")
        data = self._data()
        self._drop_parent(data, parent, child)
        return self._commit(label, data)

    def _drop_parent(self, data: dict[str, Any], parent: str, child: str) -> None:
        c = self._node(child)
        cd = _node_data(data, child)
        remaining = [p for p in c.parents if p != parent]
        cd["parents"] = remaining
        if isinstance(c.cpt, RankedCPT) and remaining:
            cd["cpt"]["weights"].pop(parent, None)
            cd["cpt"]["parent_scores"].pop(parent, None)
            if all(w == 0 for w in cd["cpt"]["weights"].values()):
                cd["cpt"]["weights"] = dict.fromkeys(remaining, 1.0)
            return
        weights = self._marginal(parent)
        arr = np.tensordot(self._array(child), weights, axes=([c.parents.index(parent)], [0]))
        cd["cpt"] = _table_cpt(self.spec, cd, remaining, arr, tidy=True)

    def _marginal(self, node_id: str) -> np.ndarray:
        post = self.model().posteriors(targets=[node_id])
        return np.asarray(post["probability"], dtype=float)

    # ------------------------------------------------------------ numbers

    def set_row(
        self,
        node_id: str,
        when: Mapping[str, str],
        probabilities: Mapping[str, float] | Sequence[float],
        percent: bool = False,
    ) -> Draft:
        """One row of a table node (the combination `when` of parent states)."""
        n = self._node(node_id)
        if not isinstance(n.cpt, TableCPT):
            raise EditError(
                f"'{node_id}' has a {n.cpt.type} table; give it an explicit table to edit rows"
            )
        values = _values(n, probabilities, percent)
        combo = {str(k): str(v) for k, v in when.items()}
        where = ", ".join(f"{k}={v}" for k, v in combo.items()) or "its only row"
        grid = self.cpt_grid(node_id)
        mask = np.ones(len(grid), dtype=bool)
        if set(combo) != set(n.parents):
            raise EditError(
                f"cannot set a row of '{node_id}': give a state for each parent {n.parents}, got {sorted(combo)}"
            )
        for p, s in combo.items():
            mask &= (grid[p] == s).to_numpy()
        if not mask.any():
            raise EditError(f"cannot set a row of '{node_id}': no row {where}")
        grid.loc[mask, n.states] = values
        return self._set_grid(node_id, grid, f"edit the row {where} of '{node_id}'")

    def set_table(self, node_id: str, grid: pd.DataFrame, percent: bool = False) -> Draft:
        """The whole table from a grid like `cpt_grid` (one row per parent combination)."""
        n = self._node(node_id)
        missing = [c for c in [*n.parents, *n.states] if c not in grid.columns]
        if missing:
            raise EditError(
                f"cannot edit the table of '{node_id}': the grid lacks column(s) {missing}"
            )
        g = grid.copy()
        if percent:
            g[n.states] = g[n.states].astype(float) / 100.0
        return self._set_grid(node_id, g, f"edit the table of '{node_id}'")

    def _set_grid(self, node_id: str, grid: pd.DataFrame, label: str) -> Draft:
        n = self._node(node_id)
        data = self._data()
        nd = _node_data(data, node_id)
        listed = _listed_rows(nd)
        rows = []
        for _, r in grid.iterrows():
            values = []
            for s in n.states:
                v = r[s]
                try:
                    values.append(float(v))
                except (TypeError, ValueError):
                    where = ", ".join(f"{p}={r[p]}" for p in n.parents) or "the only row"
                    raise EditError(
                        f"cannot {label}: row {where}: {v!r} for '{s}' is not a number"
                    ) from None
            when = {p: str(r[p]) for p in n.parents}
            probs = _probs(list(n.states), values, _row_key(when) in listed, tidy=False)
            rows.append({"when": when, "probabilities": probs})
        nd["cpt"] = {"type": "table", "rows": _keep_order(n, rows)}
        return self._commit(label, data)

    def normalise_row(self, node_id: str, when: Mapping[str, str]) -> Draft:
        grid = self.cpt_grid(node_id)
        n = self._node(node_id)
        mask = np.ones(len(grid), dtype=bool)
        for p, s in when.items():
            mask &= (grid[p] == s).to_numpy()
        row = grid.loc[mask, n.states].to_numpy()[0]
        return self.set_row(node_id, when, normalise(row))

    def normalise_table(self, node_id: str) -> Draft:
        n = self._node(node_id)
        grid = self.cpt_grid(node_id)
        cols = list(n.states)
        grid.loc[:, cols] = np.asarray([normalise(r) for r in grid[cols].to_numpy()])
        return self._set_grid(node_id, grid, f"normalise the table of '{node_id}'")

    def to_ranked(
        self,
        node_id: str,
        function: str = "wmean",
        weights: Mapping[str, float] | None = None,
        variance: float = 0.05,
    ) -> Draft:
        """Describe the node as a weighted ranked node (needs parents)."""
        n = self._node(node_id)
        if not n.parents:
            raise EditError(f"cannot make '{node_id}' ranked: a ranked node needs parents")
        data = self._data()
        nd = _node_data(data, node_id)
        nd["cpt"] = {
            "type": "ranked",
            "function": function,
            "weights": dict(weights) if weights is not None else dict.fromkeys(n.parents, 1.0),
            "variance": float(variance),
        }
        return self._commit(f"make '{node_id}' a ranked node", data)

    def set_ranked(
        self,
        node_id: str,
        function: str | None = None,
        weights: Mapping[str, float] | None = None,
        variance: float | None = None,
    ) -> Draft:
        n = self._node(node_id)
        if not isinstance(n.cpt, RankedCPT):
            raise EditError(f"'{node_id}' has a table; make it ranked first")
        if function is not None and function not in RANKED_FUNCTIONS:
            raise EditError(f"ranked function {function!r} is not one of {list(RANKED_FUNCTIONS)}")
        data = self._data()
        cpt = _node_data(data, node_id)["cpt"]
        if function is not None:
            cpt["function"] = function
        if weights is not None:
            cpt["weights"] = {k: float(v) for k, v in weights.items()}
        if variance is not None:
            cpt["variance"] = float(variance)
        return self._commit(f"edit the ranked table of '{node_id}'", data)

    def to_table(self, node_id: str) -> Draft:
        """Write a ranked node's generated table out as explicit rows (to edit cell by cell)."""
        n = self._node(node_id)
        if isinstance(n.cpt, TableCPT):
            raise EditError(f"'{node_id}' already has a table")
        data = self._data()
        nd = _node_data(data, node_id)
        arr = self._array(node_id)
        nd["cpt"] = _table_cpt(self.spec, nd, list(n.parents), arr, tidy=True)
        return self._commit(f"give '{node_id}' an explicit table", data)

    # ------------------------------------------------------------ text

    def set_model_text(self, **fields: Any) -> Draft:
        """title, description, as_of (date or ISO text), default_confidence; id is renamed too."""
        allowed = {"id", "title", "description", "as_of", "default_confidence"}
        bad = set(fields) - allowed
        if bad:
            raise EditError(f"unknown model field(s) {sorted(bad)}; use {sorted(allowed)}")
        data = self._data()
        if "id" in fields:
            check_id(fields["id"], "model id")
        if fields.get("as_of") in ("", None) and "as_of" in fields:
            fields["as_of"] = None
        data.update(fields)
        return self._commit("edit the model's " + ", ".join(sorted(fields)), data)

    def set_question(self, text: str | None = None, horizon: str | dt.date | None = None) -> Draft:
        data = self._data()
        q = data.get("question") or {"text": "", "horizon": "", "resolution": {}}
        if text is not None:
            q["text"] = text
        if horizon is not None:
            q["horizon"] = horizon.isoformat() if isinstance(horizon, dt.date) else str(horizon)
        data["question"] = q
        return self._commit("edit the question", data)

    def set_resolution(self, node_id: str, state: str, text: str) -> Draft:
        data = self._data()
        if not data.get("question"):
            raise EditError("write the question first; resolution criteria belong to it")
        res = data["question"]["resolution"]
        if text:
            res.setdefault(node_id, {})[state] = text
        elif node_id in res:
            res[node_id].pop(state, None)
            if not res[node_id]:
                del res[node_id]
        return self._commit(f"edit the resolution criteria of '{node_id}' = '{state}'", data)

    def set_node_text(self, node_id: str, **fields: Any) -> Draft:
        """label, description, rationale, sources (ids), confidence."""
        allowed = {"label", "description", "rationale", "sources", "confidence"}
        bad = set(fields) - allowed
        if bad:
            raise EditError(f"unknown node field(s) {sorted(bad)}; use {sorted(allowed)}")
        data = self._data()
        nd = _node_data(data, node_id)
        if "sources" in fields:
            fields["sources"] = list(fields["sources"])
        nd.update(fields)
        return self._commit(f"edit the {', '.join(sorted(fields))} of '{node_id}'", data)

    def set_source(
        self, source_id: str, title: str, author: str = "", date: str = "", url: str = ""
    ) -> Draft:
        """Add a source, or change the one with this id."""
        data = self._data()
        entry = {"id": source_id, "title": title, "author": author, "date": str(date), "url": url}
        for i, s in enumerate(data["sources"]):
            if s["id"] == source_id:
                data["sources"][i] = entry
                return self._commit(f"edit source '{source_id}'", data)
        check_id(source_id, "source id")
        data["sources"].append(entry)
        return self._commit(f"add source '{source_id}'", data)

    def delete_source(self, source_id: str) -> Draft:
        users = [n.id for n in self.spec.nodes if source_id in n.sources]
        if users:
            raise EditError(
                f"cannot delete source '{source_id}': node(s) {users} cite it; remove it from them first"
            )
        data = self._data()
        before = len(data["sources"])
        data["sources"] = [s for s in data["sources"] if s["id"] != source_id]
        if len(data["sources"]) == before:
            raise EditError(f"there is no source '{source_id}'")
        return self._commit(f"delete source '{source_id}'", data)

    # ------------------------------------------------------------ evidence items and scenarios

    def add_item(self, item: EvidenceItem | Mapping[str, Any]) -> Draft:
        it = self._item(dict(item) if isinstance(item, Mapping) else item, "add the evidence item")
        if any(x.id == it.id for x in self.items):
            raise EditError(f"cannot add evidence item '{it.id}': an item with that id exists")
        return self._commit(f"add evidence item '{it.id}'", items=[*self.items, it])

    def edit_item(self, item_id: str, /, **fields: Any) -> Draft:
        """Change an item's fields (``id=`` renames it, and in the scenarios that apply it)."""
        old = self.draft.item(item_id)
        d = old.model_dump() | fields
        label = f"edit evidence item '{item_id}'"
        items = [self._item(d, label) if x.id == item_id else x for x in self.items]
        scenarios = None
        if d["id"] != item_id:
            if any(x.id == d["id"] for x in self.items):
                raise EditError(f"cannot {label}: an item '{d['id']}' exists")
            scenarios = []
            for s in self.scenarios:
                sd = s.model_dump(exclude={"resolved_items"})
                sd["items"] = [d["id"] if i == item_id else i for i in sd["items"]]
                scenarios.append(sd)
        return self._commit(label, items=items, scenarios=scenarios)

    def delete_item(self, item_id: str) -> Draft:
        """Remove an item (and from the scenarios that apply it)."""
        self.draft.item(item_id)
        items = [x for x in self.items if x.id != item_id]
        scenarios = []
        for s in self.scenarios:
            sd = s.model_dump(exclude={"resolved_items"})
            sd["items"] = [i for i in sd["items"] if i != item_id]
            scenarios.append(sd)
        return self._commit(f"delete evidence item '{item_id}'", items=items, scenarios=scenarios)

    def add_scenario(self, scenario: Scenario | Mapping[str, Any]) -> Draft:
        s = self._scenario(
            dict(scenario) if isinstance(scenario, Mapping) else scenario, "add the scenario"
        )
        if any(x.name == s.name for x in self.scenarios):
            raise EditError(f"cannot add scenario '{s.name}': one with that name exists")
        return self._commit(f"add scenario '{s.name}'", scenarios=[*self.scenarios, s])

    def edit_scenario(self, name: str, /, **fields: Any) -> Draft:
        """Change a scenario's fields (``name=`` renames it)."""
        old = self.draft.scenario(name)
        d = old.model_dump(exclude={"resolved_items"}) | fields
        label = f"edit scenario '{name}'"
        if d["name"] != name and any(x.name == d["name"] for x in self.scenarios):
            raise EditError(f"cannot {label}: a scenario '{d['name']}' exists")
        scenarios = [d if x.name == name else x for x in self.scenarios]
        return self._commit(label, scenarios=scenarios)

    def delete_scenario(self, name: str) -> Draft:
        self.draft.scenario(name)
        return self._commit(
            f"delete scenario '{name}'", scenarios=[x for x in self.scenarios if x.name != name]
        )


# ------------------------------------------------------------------ helpers for the edits


_Record = TypeVar("_Record", EvidenceItem, Scenario)


def _validated(
    cls: type[_Record], value: _Record | dict[str, Any], label: str, kind: str, key: str
) -> _Record:
    """`value` as a `cls`, or an EditError naming the edit, the record (by `key`) and the field."""
    if isinstance(value, cls):
        return value
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        where = f"{kind} '{value.get(key, '?')}'" if isinstance(value, dict) else kind
        raise EditError(f"cannot {label}: {where}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = "missing required field" if err["type"] == "missing" else err["msg"]
    return f"{loc}: {msg}" if loc else msg


def _insert(m: Mapping[str, float], order: list[str], state: str, value: float) -> dict[str, float]:
    return {s: (value if s == state else m[s]) for s in order}


def _with_states(spec: ModelSpec, node_id: str, states: list[str]) -> ModelSpec:
    """The spec with one node's state list replaced (unvalidated: only used to enumerate rows)."""
    nodes = [n.model_copy(update={"states": states}) if n.id == node_id else n for n in spec.nodes]
    return spec.model_copy(update={"nodes": nodes})


def _values(
    node: NodeSpec, probabilities: Mapping[str, float] | Sequence[float], percent: bool
) -> list[float]:
    if isinstance(probabilities, Mapping):
        unknown = [s for s in probabilities if s not in node.states]
        missing = [s for s in node.states if s not in probabilities]
        if unknown or missing:
            raise EditError(
                f"a row of '{node.id}' must give every state {node.states}"
                + (f"; unknown {unknown}" if unknown else "")
                + (f"; missing {missing}" if missing else "")
            )
        values = [probabilities[s] for s in node.states]
    else:
        values = list(probabilities)
        if len(values) != len(node.states):
            raise EditError(
                f"a row of '{node.id}' needs {len(node.states)} numbers, got {len(values)}"
            )
    try:
        out = [float(v) / (100.0 if percent else 1.0) for v in values]
    except (TypeError, ValueError):
        raise EditError(f"a row of '{node.id}' has a value that is not a number") from None
    return out


def _keep_order(node: NodeSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New rows in the order the file had them, so a save rewrites only the edited rows."""
    if not isinstance(node.cpt, TableCPT):
        return rows
    key = {tuple(sorted(r.when.items())): i for i, r in enumerate(node.cpt.rows)}
    return sorted(rows, key=lambda r: key.get(tuple(sorted(r["when"].items())), len(key)))


# ------------------------------------------------------------------ opening and saving files


@dataclass
class Workbench:
    """An Editor tied to the files it came from, so that saving can check and patch them.

    `model_path` is None for a model that has no YAML file yet (a new model, an
    uploaded BIF file): `save(path=...)` then needs a path.  Evidence items and
    scenarios that do not fit the model (written for another model) are left
    alone: they are neither edited nor saved.
    """

    editor: Editor
    model_path: Path | None = None
    evidence_dir: Path | None = None
    scenario_dir: Path | None = None
    model_file: YamlFile | None = None
    item_files: dict[str, YamlFile] = field(default_factory=dict)
    scenario_files: dict[str, YamlFile] = field(default_factory=dict)
    claims_file: YamlFile | None = None  # the model's <stem>.claims.yaml, kept in step on renames

    @property
    def dirty(self) -> bool:
        return self.editor.draft != self.editor.base

    def changes(self) -> ModelDiff:
        """The change summary: the draft against the version opened (or last saved)."""
        base, now = self.editor.base, self.editor.draft
        return semantic_diff(
            base.spec,
            now.spec,
            list(base.items),
            list(now.items),
            list(base.scenarios),
            list(now.scenarios),
        )

    def evidence_changes(self) -> list[str]:
        """Evidence items and scenarios added, changed or deleted since opening (or saving)."""
        base, now = self.editor.base, self.editor.draft
        out = []
        for kind, old, new, key in (
            ("evidence item", base.items, now.items, "id"),
            ("scenario", base.scenarios, now.scenarios, "name"),
        ):
            a = {getattr(x, key): x for x in old}
            b = {getattr(x, key): x for x in new}
            out += [f"added {kind} '{k}'" for k in b if k not in a]
            out += [f"deleted {kind} '{k}'" for k in a if k not in b]
            out += [
                f"changed {kind} '{k}'" for k in b if k in a and _content(a[k]) != _content(b[k])
            ]
        if base.claims != now.claims and self.claims_file is not None:
            out.append(f"changed the claims file {self.claims_file.path.name}")
        return out

    def save(self, path: str | Path | None = None, overwrite: bool = False) -> list[Path]:
        """Write the model, then the changed evidence items and scenarios; returns what was written.

        Every file is checked for changes on disk before any is written, so a
        conflict leaves all of them as they were (FileChangedError).
        """
        from .writer import (
            Edit,
            delete_item,
            delete_scenario_file,
            open_yaml,
            save_item,
            save_model,
            save_scenario_file,
        )

        target = Path(path) if path is not None else self.model_path
        if target is None:
            raise EditError(
                "choose a file name to save this model as (.yaml, in the models folder)"
            )
        base, now = self.editor.base, self.editor.draft
        same_file = self.model_path is not None and target.resolve() == self.model_path.resolve()
        opened = self.model_file if same_file else None
        items_a = {x.id: x for x in base.items}
        items_b = {x.id: x for x in now.items}
        scen_a = {x.name: x for x in base.scenarios}
        scen_b = {x.name: x for x in now.scenarios}
        touched_items = [
            k for k in {*items_a, *items_b} if _content(items_a.get(k)) != _content(items_b.get(k))
        ]
        touched_scen = [
            k for k in {*scen_a, *scen_b} if _content(scen_a.get(k)) != _content(scen_b.get(k))
        ]
        if (touched_items and self.evidence_dir is None) or (
            touched_scen and self.scenario_dir is None
        ):
            raise EditError(
                "there is no evidence folder to save the evidence items and scenarios to"
            )
        if not overwrite:
            if opened is not None:
                opened.check_unchanged()
            for k in touched_items:
                if k in self.item_files:
                    self.item_files[k].check_unchanged()
            for k in touched_scen:
                if k in self.scenario_files:
                    self.scenario_files[k].check_unchanged()
            if now.claims != base.claims and self.claims_file is not None:
                self.claims_file.check_unchanged()
        written: list[Path] = []
        if now.spec != base.spec or not same_file or opened is None:
            self.model_file = save_model(
                now.spec, target, Edit(opened, base.spec if opened else None, overwrite)
            )
            self.model_path = target
            written.append(target)
        for k in sorted(touched_items):
            assert self.evidence_dir is not None
            if k not in items_b:
                written.append(delete_item(k, self.evidence_dir, self.item_files.get(k)))
                self.item_files.pop(k, None)
                continue
            saved = save_item(
                items_b[k],
                self.evidence_dir,
                Edit(self.item_files.get(k), items_a.get(k), overwrite),
            )
            written.append(saved.path)
            # other items in the same file now have a new hash too
            for other, f in list(self.item_files.items()):
                if f.path == saved.path:
                    self.item_files[other] = saved
            self.item_files[k] = saved
        for k in sorted(touched_scen):
            assert self.scenario_dir is not None
            if k not in scen_b:
                written.append(
                    delete_scenario_file(k, self.scenario_dir, self.scenario_files.get(k))
                )
                self.scenario_files.pop(k, None)
                continue
            saved = save_scenario_file(
                scen_b[k],
                self.scenario_dir,
                Edit(
                    self.scenario_files.get(k), scen_a.get(k), overwrite or k in self.scenario_files
                ),
            )
            self.scenario_files[k] = saved
            written.append(saved.path)
        if now.claims != base.claims and self.claims_file is not None and same_file:
            self.claims_file = self.claims_file.save(base.claims, now.claims, overwrite)
            written.append(self.claims_file.path)
        if self.model_path is not None and self.model_file is None:
            self.model_file = open_yaml(self.model_path)
        self.editor.mark_saved()
        return written


def _content(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, Scenario):
        return x.model_dump(exclude={"resolved_items"})
    return x.model_dump() if hasattr(x, "model_dump") else x


def open_workbench(
    model_path: str | Path | None,
    evidence_dir: str | Path | None = None,
    scenario_dir: str | Path | None = None,
    model: Model | None = None,
) -> Workbench:
    """Open a model file (or an already loaded model, e.g. an upload) with its evidence for editing."""
    from .evidence import load_evidence, load_scenario
    from .writer import item_files, open_yaml

    path = Path(model_path) if model_path is not None else None
    yaml_path = path if path is not None and path.suffix.lower() in (".yaml", ".yml") else None
    model_file = open_yaml(yaml_path) if yaml_path is not None else None
    if model is None:
        if path is None:
            raise EditError("give a model file or a loaded model")
        from .model import load_model

        model = load_model(path)
    if model_file is not None and model_file.text is not None:
        from .spec import spec_from_text

        spec = spec_from_text(model_file.text, str(yaml_path))
    else:
        spec = model.spec
    items: list[EvidenceItem] = []
    files: dict[str, YamlFile] = {}
    ev = Path(evidence_dir) if evidence_dir is not None else None
    if ev is not None and ev.is_dir():
        where = item_files(ev)
        fitting, _ = Model(spec).applicable_items(load_evidence(ev))
        items = fitting
        opened: dict[Path, YamlFile] = {}
        for it in items:
            p = where[it.id]
            files[it.id] = opened.setdefault(p, open_yaml(p))
    scenarios: list[Scenario] = []
    sfiles: dict[str, YamlFile] = {}
    sd = Path(scenario_dir) if scenario_dir is not None else None
    if sd is not None and sd.is_dir():
        for f in sorted(sd.glob("*.y*ml")):
            try:
                s = load_scenario(f, evidence=items)
            except ForecastError:
                continue
            try:
                Editor._check_evidence(spec, items, [s], "open")
            except EditError:
                continue
            if f.stem != s.name:
                continue  # saved under another name: leave it alone
            scenarios.append(s)
            sfiles[s.name] = open_yaml(f)
    claims_file, claims = _open_claims(yaml_path, spec.id)
    editor = Editor(spec, items, scenarios, claims=claims)
    return Workbench(editor, yaml_path, ev, sd, model_file, files, sfiles, claims_file)


def _open_claims(model_path: Path | None, model_id: str) -> tuple[YamlFile | None, Any]:
    """The model's sibling claims file (<stem>.claims.yaml or <id>.claims.yaml), opened, and its data."""
    from .writer import WriteError, open_yaml
    from .yamlio import parse_yaml

    if model_path is None:
        return None, None
    stem = model_path.name.split(".")[0]
    for name in (f"{stem}.claims.yaml", f"{model_id}.claims.yaml"):
        p = model_path.parent / name
        if p.is_file():
            opened = open_yaml(p)
            return opened, parse_yaml(opened.text or "", str(p), "claims", WriteError)
    return None, None

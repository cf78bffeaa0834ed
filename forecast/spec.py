"""The model file: a pydantic schema an analyst can read and edit, and its whole-model checks.

A model file is YAML with metadata (id, title, as-of date, the forecasting
question), the sources, and the nodes.  Each node's conditional probability
table (CPT) is given in one of two forms (see docs/model-format.md):

- ``table``: one row per combination of parent states, keyed by those states;
- ``ranked``: a weighted ranked node (Fenton, Neil & Caballero 2007), which
  compiles a few elicited weights into the full table.

`load_spec` turns a file into a validated `ModelSpec`, raising `ModelError`
with a message naming the file, the node and the problem.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections import Counter
from typing import Annotated, Any, Literal

import networkx as nx
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
)

from .canonical import NoisyMaxCPT, compile_noisy_max
from .errors import ModelError
from .memory import cpt_bytes, format_bytes, resolve_budget
from .yamlio import load_yaml, parse_yaml, paused_gc

TOL = 1e-6
NAME_PATTERN = r"^[^\s=:,]+$"

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Prob = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Role = Literal["driver", "intermediate", "outcome"]


def as_name(value: Any) -> Any:
    """States and ids written as bare numbers in YAML are still names (booleans are not)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: Name
    title: str
    author: str = ""
    date: str = ""
    url: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _date_to_str(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, dt.date) else v


class Question(_Strict):
    text: str
    horizon: str = ""
    resolution: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizon_to_str(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, dt.date) else v


def _row_form(value: Any) -> str | None:
    """Which form a row's probabilities take, so pydantic checks only that one."""
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    return None


Probabilities = Annotated[
    Annotated[dict[str, Prob], Tag("dict")] | Annotated[list[Prob], Tag("list")],
    Discriminator(
        _row_form,
        custom_error_type="row_form",
        custom_error_message="must be a list of probabilities or a mapping of state to probability",
    ),
]


class TableRow(_Strict):
    when: dict[str, str] = Field(default_factory=dict)
    probabilities: Probabilities

    @field_validator("when", mode="before")
    @classmethod
    def _when_names(cls, v: Any) -> Any:
        return {str(k): as_name(s) for k, s in v.items()} if isinstance(v, dict) else v

    @field_validator("probabilities", mode="before")
    @classmethod
    def _prob_keys(cls, v: Any) -> Any:
        return {str(as_name(k)): p for k, p in v.items()} if isinstance(v, dict) else v


class TableCPT(_Strict):
    """Explicit table: one row per combination of parent states."""

    type: Literal["table"] = "table"
    rows: list[TableRow] = Field(min_length=1)


class RankedCPT(_Strict):
    """Weighted ranked node: parents and child on a 0–1 scale, child ~ TNormal(f(parents), variance)."""

    type: Literal["ranked"]
    function: Literal["wmean", "wmin", "wmax"] = "wmean"
    weights: dict[str, Annotated[float, Field(strict=True, allow_inf_nan=False)]]
    variance: Annotated[float, Field(strict=True, gt=0, le=10, allow_inf_nan=False)] = 0.05
    parent_scores: dict[str, dict[str, Prob]] = Field(default_factory=dict)

    @field_validator("parent_scores", mode="before")
    @classmethod
    def _score_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                str(k): ({str(as_name(s)): x for s, x in m.items()} if isinstance(m, dict) else m)
                for k, m in v.items()
            }
        return v


CPT = Annotated[TableCPT | RankedCPT | NoisyMaxCPT, Field(discriminator="type")]


class NodeSpec(_Strict):
    id: Name
    label: str = ""
    description: str = ""
    role: Role = "intermediate"
    states: list[Name] = Field(min_length=2)  # no fixed limit: the memory guard bounds the tables
    parents: list[Name] = Field(default_factory=list)
    cpt: CPT
    sources: list[str] = Field(default_factory=list)
    rationale: str = ""
    confidence: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    # evidence items on this node age with this half-life (docs/evidence.md); None: no aging
    half_life_days: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @field_validator("states", "parents", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return [as_name(x) for x in v] if isinstance(v, list) else v

    @field_validator("cpt", mode="before")
    @classmethod
    def _default_table(cls, v: Any) -> Any:
        if isinstance(v, dict) and "type" not in v:
            return {"type": "table", **v}
        return v

    @property
    def display(self) -> str:
        return self.label or self.id


class ModelSpec(_Strict):
    id: Name
    title: str = ""
    description: str = ""
    as_of: dt.date | None = None
    question: Question | None = None
    default_confidence: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 20.0
    sources: list[Source] = Field(default_factory=list)
    nodes: list[NodeSpec] = Field(min_length=1)
    notes: str = ""  # Markdown: calibration record and modelling notes (forecast describe)
    # the tables compiled while checking (check_spec): a Model reuses them instead of compiling twice
    _tables: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal content, whatever is cached (pydantic would compare the cached arrays and fail)."""
        if not isinstance(other, ModelSpec):
            return NotImplemented
        return self is other or self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # lists inside: never hashable

    def node(self, node_id: str) -> NodeSpec:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


# ---------------------------------------------------------------- loading


def load_spec(path: str | os.PathLike[str], memory_budget: int | None = None) -> ModelSpec:
    """Read, validate and check a YAML model file (tables must fit `memory_budget`)."""
    data = load_yaml(path, "model", ModelError)
    return spec_from_dict(data, str(path), memory_budget)


def spec_from_text(text: str, name: str = "<model>", memory_budget: int | None = None) -> ModelSpec:
    """Validate a model given as YAML text (an upload, say)."""
    return spec_from_dict(parse_yaml(text, name, "model", ModelError), name, memory_budget)


def spec_from_dict(data: Any, name: str = "<model>", memory_budget: int | None = None) -> ModelSpec:
    """Validate raw data; every problem is reported with the file and node it concerns.

    `memory_budget` (bytes; None: FORECAST_MEMORY_BUDGET, else 1 GiB) bounds each
    probability table, checked before the table is built.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ModelError(
            f"{name}: a model file must be a mapping with id, nodes, ...; this one is {kind}"
        )
    try:
        with paused_gc():
            spec = ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems = list(dict.fromkeys(_describe_pydantic_error(e, data) for e in exc.errors()))
        raise ModelError(_join(name, problems), problems) from None
    except RecursionError:
        raise ModelError(f"{name}: the model is nested too deeply") from None
    with paused_gc():
        problems = check_spec(spec, resolve_budget(memory_budget))
    if problems:
        raise ModelError(_join(name, problems), problems)
    return spec


def _join(name: str, problems: list[str]) -> str:
    shown = problems[:5]
    more = f"; and {len(problems) - 5} more problems" if len(problems) > 5 else ""
    return f"{name}: " + "; ".join(shown) + more


UNION_TAGS = {
    "cpt": ("table", "ranked", "noisy_max"),
    "probabilities": ("dict", "list"),
}  # field: its tags


def _describe_pydantic_error(err: Any, data: dict[str, Any]) -> str:
    """One readable problem, naming the node and field it concerns."""
    loc = list(err["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        nodes = data.get("nodes")
        node_id = None
        if isinstance(nodes, list) and loc[1] < len(nodes) and isinstance(nodes[loc[1]], dict):
            node_id = nodes[loc[1]].get("id")
        where = f"node '{node_id}'" if node_id is not None else f"node #{loc[1] + 1}"
        loc = loc[2:]
    elif len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        where = f"source #{loc[1] + 1}"
        loc = loc[2:]
    # drop the tags pydantic inserts for discriminated unions ("table"/"ranked",
    # "dict"/"list"); list positions are shown counting from 1, as "row 2" or "#2"
    field_parts: list[str] = []
    for i, part in enumerate(loc):
        if i and isinstance(loc[i - 1], str) and part in UNION_TAGS.get(loc[i - 1], ()):
            continue
        if isinstance(part, int):
            if field_parts and field_parts[-1] == "rows":
                field_parts[-1] = f"row {part + 1}"
            else:
                field_parts.append(f"#{part + 1}")
        else:
            field_parts.append(str(part))
    field = " ".join(field_parts)
    msg = err["msg"]
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown field"
    elif kind == "missing":
        msg = "missing required field"
    elif kind == "string_pattern_mismatch":
        msg = "names may not contain spaces, '=', ':' or ','"
    elif kind == "finite_number":
        msg = "not a finite number (NaN or infinity)"
    elif kind in ("float_type", "float_parsing"):
        msg = f"not a number ({err.get('input')!r})"
    parts = [p for p in (where, field) if p]
    return (": ".join(parts) + ": " if parts else "") + msg


# ---------------------------------------------------------------- whole-model checks


def check_spec(spec: ModelSpec, memory_budget: int) -> list[str]:
    """Cross-references, acyclicity and every CPT; returns a list of problems (empty if valid).

    A table whose size would pass `memory_budget` (bytes) is a problem, found before it is built.
    """
    problems: list[str] = []
    ids = [n.id for n in spec.nodes]
    for dup in sorted(i for i, k in Counter(ids).items() if k > 1):  # linear: 20,000 nodes
        problems.append(f"duplicate node id '{dup}'")
    source_ids = [s.id for s in spec.sources]
    for dup in sorted(i for i, k in Counter(source_ids).items() if k > 1):
        problems.append(f"duplicate source id '{dup}'")
    known_sources = set(source_ids)
    known = set(ids)
    for n in spec.nodes:
        if len(set(n.states)) != len(n.states):
            problems.append(f"node '{n.id}': duplicate states")
        if len(set(n.parents)) != len(n.parents):
            problems.append(f"node '{n.id}': duplicate parents")
        if n.id in n.parents:
            problems.append(f"node '{n.id}': a node cannot be its own parent")
        for p in n.parents:
            if p not in known:
                problems.append(f"node '{n.id}': unknown parent '{p}'")
        for s in n.sources:
            if s not in known_sources:
                problems.append(f"node '{n.id}': unknown source id '{s}'")
    if problems:
        return problems
    cycle = find_cycle({n.id: n.parents for n in spec.nodes})
    if cycle:
        problems.append("cycle: " + " -> ".join(cycle))
        return problems
    by_id = {n.id: n for n in spec.nodes}
    for n in spec.nodes:
        too_big = _cpt_too_big(n, by_id, memory_budget)
        if too_big:
            problems.append(too_big)
            continue
        try:
            spec._tables[n.id] = compile_cpt(n, by_id)
        except ModelError as exc:
            problems.append(str(exc))
    if spec.question is not None:
        for node_id, criteria in spec.question.resolution.items():
            if node_id not in by_id:
                problems.append(f"question: resolution criteria for unknown node '{node_id}'")
                continue
            for state in criteria:
                if state not in by_id[node_id].states:
                    problems.append(f"question: node '{node_id}' has no state '{state}'")
    return problems


def _cpt_too_big(node: NodeSpec, nodes: dict[str, NodeSpec], budget: int) -> str | None:
    """A problem if compiling the node's table would exceed the memory budget (checked before allocating)."""
    cards = [len(nodes[p].states) for p in node.parents]
    need = cpt_bytes(cards, len(node.states), isinstance(node.cpt, RankedCPT))
    if need <= budget:
        return None
    entries = math.prod(cards) * len(node.states)
    return (
        f"node '{node.id}': its probability table would have {entries:,} entries "
        f"({len(node.parents)} parents), over the memory budget of {format_bytes(budget)}; "
        "use fewer parents or states (or raise FORECAST_MEMORY_BUDGET)"
    )


def _graph(parents: dict[str, list[str]]) -> nx.DiGraph:
    """Arrows from parent to child, nodes in file order."""
    graph = nx.DiGraph()
    graph.add_nodes_from(parents)
    graph.add_edges_from((p, child) for child, ps in parents.items() for p in ps)
    return graph


def find_cycle(parents: dict[str, list[str]]) -> list[str] | None:
    """A directed cycle as a path ``a -> b -> ... -> a`` (following the arrows), or None."""
    graph = _graph(parents)
    if nx.is_directed_acyclic_graph(graph):  # a sort: ten times faster than the search
        return None
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    return [edges[0][0]] + [v for _, v in edges]


def topological_order(spec: ModelSpec) -> list[str]:
    """Node ids with parents before children, ties kept in file order."""
    position = {n.id: i for i, n in enumerate(spec.nodes)}
    generations = nx.topological_generations(_graph({n.id: n.parents for n in spec.nodes}))
    return [n for generation in generations for n in sorted(generation, key=position.__getitem__)]


# ---------------------------------------------------------------- CPT compilation


def compiled_cpt(spec: ModelSpec, node: NodeSpec, nodes: dict[str, NodeSpec]) -> np.ndarray:
    """The node's table as check_spec compiled it (or compiled now, for a spec built another way)."""
    table = spec._tables.get(node.id)
    return compile_cpt(node, nodes) if table is None else table


def compile_cpt(node: NodeSpec, nodes: dict[str, NodeSpec]) -> np.ndarray:
    """The full CPT as an array with one axis per parent (in `node.parents` order), child last."""
    parents = [nodes[p] for p in node.parents]
    if isinstance(node.cpt, TableCPT):
        return _compile_table(node, parents)
    if isinstance(node.cpt, NoisyMaxCPT):
        return compile_noisy_max(
            node.id, list(node.states), [(p.id, list(p.states)) for p in parents], node.cpt
        )
    return _compile_ranked(node, parents)


def _row_vector(
    node: NodeSpec, probabilities: dict[str, float] | list[float], where: str
) -> np.ndarray:
    if isinstance(probabilities, list):
        if len(probabilities) != len(node.states):
            raise ModelError(
                f"node '{node.id}': {where} has {len(probabilities)} probabilities "
                f"but the node has {len(node.states)} states"
            )
        vec = np.asarray(probabilities, dtype=float)
    else:
        unknown = [s for s in probabilities if s not in node.states]
        missing = [s for s in node.states if s not in probabilities]
        if unknown:
            raise ModelError(f"node '{node.id}': {where} names unknown state(s) {unknown}")
        if missing:
            raise ModelError(
                f"node '{node.id}': {where} gives no probability for state(s) {missing}"
            )
        vec = np.asarray([probabilities[s] for s in node.states], dtype=float)
    if not np.all(np.isfinite(vec)):
        raise ModelError(f"node '{node.id}': {where} has a probability that is not a finite number")
    for state, v in zip(node.states, vec, strict=True):
        if v < 0:
            raise ModelError(
                f"node '{node.id}': {where} gives state '{state}' a negative probability ({v:g})"
            )
    for state, v in zip(node.states, vec, strict=True):
        if v > 1:
            raise ModelError(
                f"node '{node.id}': {where} gives state '{state}' a probability above 1 ({v:g})"
            )
    total = float(vec.sum())
    if abs(total - 1.0) > TOL:
        raise ModelError(
            f"node '{node.id}': {where} sums to {total:.15g}, not 1"
        )  # all digits: never "1, not 1"
    return vec


def _compile_table(node: NodeSpec, parents: list[NodeSpec]) -> np.ndarray:
    assert isinstance(node.cpt, TableCPT)
    shape = [len(p.states) for p in parents] + [len(node.states)]
    k = len(node.states)
    combos = math.prod(shape[:-1])
    parent_ids = [p.id for p in parents]
    wanted = set(parent_ids)
    index = [{s: i for i, s in enumerate(p.states)} for p in parents]
    strides = [math.prod(shape[j + 1 : -1]) for j in range(len(parents))]
    flat = np.full((combos, k), np.nan)
    seen: dict[int, int] = {}
    keys: list[int] = []
    values: list[list[float]] = []
    for r, row in enumerate(node.cpt.rows, start=1):
        when = row.when
        if when.keys() != wanted:
            extra = sorted(set(when) - wanted)
            lacking = [p for p in parent_ids if p not in when]
            detail = []
            if extra:
                detail.append(f"names {extra}, which are not parents")
            if lacking:
                detail.append(f"does not give a state for parent(s) {lacking}")
            raise ModelError(f"node '{node.id}': row {r} " + " and ".join(detail))
        j = 0
        for p, ix, stride in zip(parents, index, strides, strict=True):
            i = ix.get(when[p.id])
            if i is None:
                raise ModelError(
                    f"node '{node.id}': row {r}: parent '{p.id}' has no state '{when[p.id]}'"
                )
            j += i * stride
        if j in seen:
            raise ModelError(
                f"node '{node.id}': row {r} repeats the combination of row {seen[j]} ({_combo(when)})"
            )
        seen[j] = r
        probs = row.probabilities
        if isinstance(probs, list) and len(probs) == k:
            keys.append(j)
            values.append(probs)
        else:  # a mapping, or the wrong length: the row-by-row check names the problem
            flat[j] = _row_vector(node, probs, f"row {r}" + (f" ({_combo(when)})" if when else ""))
    if values:
        block = np.asarray(values, dtype=float)
        bad = ~np.isfinite(block).all(axis=1) | (block < 0).any(axis=1) | (block > 1).any(axis=1)
        bad |= np.abs(block.sum(axis=1) - 1.0) > TOL
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            r = seen[keys[first]]
            row = node.cpt.rows[r - 1]
            _row_vector(
                node, row.probabilities, f"row {r}" + (f" ({_combo(row.when)})" if row.when else "")
            )
        flat[keys] = block
    n_missing = combos - len(seen)
    if n_missing:
        # find the first few lazily: never enumerate every combination of a wide table
        missing = (j for j in range(combos) if j not in seen)
        names = [
            _combo(
                {
                    p.id: p.states[(j // stride) % len(p.states)]
                    for p, stride in zip(parents, strides, strict=True)
                }
            )
            for j in itertools.islice(missing, 3)
        ]
        more = f" and {n_missing - 3} more" if n_missing > 3 else ""
        raise ModelError(f"node '{node.id}': missing row(s) for {'; '.join(names)}{more}")
    return flat.reshape(shape)


def _combo(when: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in when.items())


def _compile_ranked(node: NodeSpec, parents: list[NodeSpec]) -> np.ndarray:
    cpt = node.cpt
    assert isinstance(cpt, RankedCPT)
    parent_ids = [p.id for p in parents]
    if not parents:
        raise ModelError(
            f"node '{node.id}': a ranked CPT needs parents; use a table for a root node"
        )
    if set(cpt.weights) != set(parent_ids):
        raise ModelError(
            f"node '{node.id}': ranked weights must name exactly the parents {parent_ids}, got {sorted(cpt.weights)}"
        )
    if all(w == 0 for w in cpt.weights.values()):
        raise ModelError(f"node '{node.id}': ranked weights are all zero")
    for pid in cpt.parent_scores:
        if pid not in parent_ids:
            raise ModelError(
                f"node '{node.id}': parent_scores names '{pid}', which is not a parent"
            )
    scores = []
    for p in parents:
        given = cpt.parent_scores.get(p.id)
        if given is None:
            vals = np.linspace(0.0, 1.0, len(p.states))
        else:
            if set(given) != set(p.states):
                raise ModelError(
                    f"node '{node.id}': parent_scores for '{p.id}' must give a score for each of {p.states}"
                )
            vals = np.asarray([given[s] for s in p.states], dtype=float)
            if np.any(vals < 0) or np.any(vals > 1):
                raise ModelError(f"node '{node.id}': parent_scores for '{p.id}' must lie in [0, 1]")
        w = cpt.weights[p.id]
        scores.append(vals if w >= 0 else 1.0 - vals)
    weights = [abs(cpt.weights[p]) for p in parent_ids]
    mu = _ranked_mean(cpt.function, scores, weights)
    k = len(node.states)
    edges = np.linspace(0.0, 1.0, k + 1)
    sigma = math.sqrt(cpt.variance)
    # Normal(mu, sigma) mass in each child interval, renormalised to [0, 1]: the truncated normal
    from scipy.special import ndtr  # imported here: only ranked nodes need scipy

    cdf = ndtr((edges[None, :] - mu.reshape(-1, 1)) / sigma)
    probs = np.clip(np.diff(cdf, axis=1), 0.0, None)
    del cdf
    probs /= probs.sum(axis=1, keepdims=True)
    return probs.reshape(*mu.shape, k)


def _ranked_mean(function: str, scores: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """`ranked_function` over every parent combination, built by broadcasting one parent at a time.

    Why not a grid of all parents' scores: for n parents that grid holds n numbers per
    combination (22 binary parents: 4 M combinations x 22, plus copies, 2.3 GiB); here
    at most three arrays of one number per combination exist at once (`memory.cpt_bytes`).
    """
    n = len(scores)
    shape = tuple(len(v) for v in scores)

    def along(i: int, v: np.ndarray) -> np.ndarray:
        return v.reshape([-1 if j == i else 1 for j in range(n)])

    acc = np.zeros(shape)
    if function == "wmean":
        for i, (v, w) in enumerate(zip(scores, weights, strict=True)):
            acc += along(i, w * v)
        acc /= sum(weights)
        return acc
    for i, v in enumerate(scores):
        acc += along(i, v)  # the sum of all parents' scores
    out: np.ndarray | None = None
    for i, (v, w) in enumerate(zip(scores, weights, strict=True)):
        # (w_i x_i + sum_{j != i} x_j) / (w_i + n - 1)
        term = acc / (w + n - 1)
        term += along(i, (w - 1) * v / (w + n - 1))
        if out is None:
            out = term
        else:
            (np.minimum if function == "wmin" else np.maximum)(out, term, out=out)
    assert out is not None
    return out


def ranked_function(name: str, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fenton's weighted functions over the last axis of `x` (parent scores in [0, 1])."""
    if name == "wmean":
        return (x * w).sum(axis=-1) / w.sum()
    n = x.shape[-1]
    total = x.sum(axis=-1, keepdims=True)
    # (w_i x_i + sum_{j != i} x_j) / (w_i + n - 1)
    terms = (w * x + (total - x)) / (w + n - 1)
    return terms.min(axis=-1) if name == "wmin" else terms.max(axis=-1)

"""A parsed `Network` -> a validated `ModelSpec`: check what the file said, then build the spec.

Choices (docs/formats.md):
- rows that miss summing to 1 by at most ROUNDING_TOLERANCE (rounding in the
  file; the bnlearn files are off by up to 3e-7) are divided by their sum, and
  the model's description says how many; a larger miss is an error;
- names the project's schema forbids (spaces, '=', ':' or ',': they clash with
  the NODE=STATE:WEIGHT syntax) have those characters replaced by '_'; the node
  keeps the name as written as its label, and the description lists every
  renamed node and state;
- the model id is the network's name, or the file's name when the network is
  unnamed ("unknown" in the bnlearn files); roles follow the graph (no parents
  -> driver, no children -> outcome, otherwise intermediate) unless the file
  carries a role, as the files we write do.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..canonical import NoisyMaxCPT
from ..errors import MemoryBudgetError, ModelError
from ..memory import check_memory, resolve_budget
from ..spec import ModelSpec, NodeSpec, TableCPT, TableRow, check_spec, spec_from_dict
from ..spec import _join as join_problems
from .network import Network, Variable

ROUNDING_TOLERANCE = 1e-3
_FORBIDDEN = re.compile(r"[\s=:,]")
_NAME = re.compile(r"[^\s=:,]{1,200}")  # the schema's Name: NAME_PATTERN, at most 200 characters
_UNNAMED = {"", "unknown", "untitled", "none", "unnamed"}


def safe_name(name: str) -> str:
    return _FORBIDDEN.sub("_", name.strip())


def to_spec(
    net: Network, path: Path, memory_budget: int | None = None, junction_tree: bool = True
) -> ModelSpec:
    """Check the network (naming the file in every message), then build and validate the spec."""
    where = str(path)
    check(net, where)
    if junction_tree:
        _fits(net, where, memory_budget)
    node_ids, state_ids, renamed = _names(net, where)
    nodes, fixed_rows, worst = _nodes(net, node_ids, state_ids, where)
    data = _model_dict(net, path, nodes, fixed_rows, worst, renamed)
    return _trusted(data, where, memory_budget) or spec_from_dict(data, where, memory_budget)


def _trusted(data: dict[str, Any], where: str, memory_budget: int | None) -> ModelSpec | None:
    """The spec built without pydantic's per-row validation (the reader checked every number and
    name already: a large network loads several times faster); the whole-model checks still run.
    None when a name would fail the schema: the caller then validates fully, for the message."""
    ok = _NAME.fullmatch
    for d in data["nodes"]:
        if not ok(d["id"]) or not all(ok(s) for s in d["states"]):
            return None
    if not ok(data["id"]):
        return None
    nodes = []
    for d in data["nodes"]:
        cpt = d["cpt"]
        if cpt["type"] == "table":
            form: Any = TableCPT.model_construct(
                type="table",
                rows=[
                    TableRow.model_construct(
                        when=r.get("when", {}), probabilities=r["probabilities"]
                    )
                    for r in cpt["rows"]
                ],
            )
        else:
            form = NoisyMaxCPT.model_validate(cpt)
        # every field given: pydantic inspects a default_factory's signature on each use (slow)
        fields: dict[str, Any] = {
            "label": "",
            "description": "",
            "sources": [],
            "rationale": "",
            "confidence": None,
        }
        fields.update((k, v) for k, v in d.items() if k != "cpt")
        nodes.append(NodeSpec.model_construct(cpt=form, **fields))
    spec = ModelSpec.model_construct(
        id=data["id"],
        title=data["title"],
        description=data["description"],
        as_of=None,
        question=None,
        default_confidence=20.0,
        sources=[],
        nodes=nodes,
    )
    problems = check_spec(spec, resolve_budget(memory_budget))
    if problems:
        raise ModelError(join_problems(where, problems), problems)
    return spec


# ---------------------------------------------------------------- check


def check(net: Network, where: str) -> None:
    """Structure: declared once, at least two distinct states, known parents, tables of the right size."""
    if not net.variables:
        raise ModelError(f"{where}: the network has no variables")
    seen: set[str] = set()
    dup: set[str] = set()
    for v in net.variables:
        (dup if v.name in seen else seen).add(v.name)
    if dup:
        raise ModelError(f"{where}: variable(s) declared twice: {', '.join(sorted(dup))}")
    cards = {v.name: len(v.states) for v in net.variables}
    missing = [v.name for v in net.variables if v.table is None and v.cpt is None]
    if missing:
        raise ModelError(f"{where}: no probability table for variable(s) {', '.join(missing[:5])}")
    for v in net.variables:
        if len(v.states) < 2:
            raise ModelError(
                f"{where}: variable '{v.name}' has {len(v.states)} state(s); at least 2 are needed"
            )
        unknown = [q for q in v.parents if q not in cards]
        if unknown:
            raise ModelError(
                f"{where}: variable '{v.name}' has undeclared parent(s) {', '.join(unknown)}"
            )
        if len(set(v.parents)) != len(v.parents):
            raise ModelError(f"{where}: variable '{v.name}' lists a parent twice")
        if v.table is None:
            continue
        k = len(v.states)
        combos = math.prod(cards[q] for q in v.parents)
        if v.table.shape != (combos, k):
            raise ModelError(
                f"{where}: the table of '{v.name}' has {v.table.size} numbers; "
                f"expected {k * combos} ({k} states x {combos} parent combinations)"
            )
        if not np.all(np.isfinite(v.table)) or np.any(v.table < 0):
            raise ModelError(
                f"{where}: the table of '{v.name}' has a negative or non-numeric probability"
            )


def _fits(net: Network, where: str, memory_budget: int | None) -> None:
    """The memory guard on the graph alone, before any table is built (an intractable network is
    refused in the time its structure takes to triangulate)."""
    index = {v.name: i for i, v in enumerate(net.variables)}
    cards = [len(v.states) for v in net.variables]
    parents = [[index[q] for q in v.parents] for v in net.variables]
    try:
        check_memory(cards, parents, resolve_budget(memory_budget))
    except MemoryBudgetError as exc:
        raise MemoryBudgetError(f"{where}: {exc}") from None


# ---------------------------------------------------------------- names


def _names(net: Network, where: str) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    renamed: list[str] = []
    node_ids: dict[str, str] = {}
    for v in net.variables:
        node_ids[v.name] = safe_name(v.name)
        if not node_ids[v.name]:
            raise ModelError(f"{where}: a variable has an empty name")
        if node_ids[v.name] != v.name:
            renamed.append(f"node '{v.name}' -> '{node_ids[v.name]}'")
    if len(set(node_ids.values())) != len(node_ids):
        raise ModelError(
            f"{where}: variable names clash once spaces, '=', ':' and ',' are replaced by '_'"
        )
    state_ids: dict[str, list[str]] = {}
    for v in net.variables:
        safe = [safe_name(s or "") for s in v.states]
        if any(not s for s in safe):
            raise ModelError(f"{where}: variable '{v.name}' has an empty state name")
        if len(set(safe)) != len(safe):
            raise ModelError(f"{where}: variable '{v.name}' has duplicate state names {v.states}")
        renamed.extend(
            f"state '{v.name}={s}' -> '{t}'" for s, t in zip(v.states, safe, strict=True) if s != t
        )
        state_ids[v.name] = safe
    return node_ids, state_ids, renamed


# ---------------------------------------------------------------- build


def _nodes(
    net: Network, node_ids: dict[str, str], state_ids: dict[str, list[str]], where: str
) -> tuple[list[dict[str, Any]], int, float]:
    by_name = {v.name: v for v in net.variables}
    has_children = {q for v in net.variables for q in v.parents}
    fixed_rows = 0
    worst = 0.0
    nodes = []
    for v in net.variables:
        node: dict[str, Any] = {
            "id": node_ids[v.name],
            "states": state_ids[v.name],
            "parents": [node_ids[q] for q in v.parents],
        }
        if v.table is not None:
            table, fixed, dev = _normalised(v, by_name, where)
            fixed_rows += fixed
            worst = max(worst, dev)
            node["cpt"] = {"type": "table", "rows": _rows(v, table, node_ids, state_ids)}
        else:
            assert v.cpt is not None
            node["cpt"] = _renamed_cpt(v.cpt, by_name, node_ids, state_ids)
        label = v.label or (v.name if node_ids[v.name] != v.name else "")
        if label:
            node["label"] = label
        if v.description:
            node["description"] = v.description
        if v.role in ("driver", "intermediate", "outcome"):
            node["role"] = v.role
        elif not v.parents:
            node["role"] = "driver"
        elif v.name not in has_children:
            node["role"] = "outcome"
        else:
            node["role"] = "intermediate"
        nodes.append(node)
    return nodes, fixed_rows, worst


def _normalised(
    v: Variable, by_name: dict[str, Variable], where: str
) -> tuple[np.ndarray, int, float]:
    assert v.table is not None
    table = v.table
    sums = table.sum(axis=1)
    dev = np.abs(sums - 1.0)
    bad = np.flatnonzero(dev > ROUNDING_TOLERANCE)
    if bad.size:
        j = int(bad[0])
        combo = next(
            itertools.islice(itertools.product(*(by_name[q].states for q in v.parents)), j, None)
        )
        given = ", ".join(f"{q}={s}" for q, s in zip(v.parents, combo, strict=True)) or "no parents"
        raise ModelError(
            f"{where}: the row of '{v.name}' for ({given}) sums to {sums[j]:.6g}, not 1"
            + (" (missing from the file?)" if sums[j] == 0 else "")
        )
    changed = (
        dev > 1e-12
    )  # float noise in the sum is not worth a note (such rows are divided all the same)
    return (
        table / sums[:, None],
        int(np.count_nonzero(changed)),
        float(dev[changed].max(initial=0.0)),
    )


def _rows(
    v: Variable,
    table: np.ndarray,
    node_ids: dict[str, str],
    state_ids: dict[str, list[str]],
) -> list[dict[str, Any]]:
    values = table.tolist()
    if not v.parents:
        return [{"probabilities": values[0]}]
    pids = [node_ids[q] for q in v.parents]
    combos = itertools.product(*(state_ids[q] for q in v.parents))
    return [
        {"when": dict(zip(pids, combo, strict=True)), "probabilities": row}
        for combo, row in zip(combos, values, strict=True)
    ]


def _renamed_cpt(
    cpt: dict[str, Any],
    by_name: dict[str, Variable],
    node_ids: dict[str, str],
    state_ids: dict[str, list[str]],
) -> dict[str, Any]:
    """A CPT form's parent and state references in the project's ids (readers give names as found)."""
    out = dict(cpt)
    if "parameters" in out:
        params = {}
        for p, block in out["parameters"].items():
            safe = dict(zip(by_name[p].states, state_ids[p], strict=True))
            params[node_ids[p]] = {safe.get(s, s): vec for s, vec in block.items()}
        out["parameters"] = params
    return out


def _model_dict(
    net: Network,
    path: Path,
    nodes: list[dict[str, Any]],
    fixed_rows: int,
    worst: float,
    renamed: list[str],
) -> dict[str, Any]:
    base = path.name[: -len(".gz")] if path.name.lower().endswith(".gz") else path.name
    stem = base.rsplit(".", 1)[0] or "model"
    name = (net.name or "").strip()
    named = name.lower() not in _UNNAMED
    model_id = safe_name(name) if named else safe_name(stem)
    notes = [f"Imported from {path.name} ({net.fmt})."]
    if net.description:
        notes.insert(0, net.description.strip())
    notes.extend(net.notes)
    if fixed_rows:
        notes.append(
            f"{fixed_rows} CPT row(s) did not sum to 1 exactly (largest difference {worst:.2g}) and were renormalised."
        )
    if renamed:
        notes.append("Renamed to fit the project's naming rules: " + "; ".join(renamed) + ".")
    return {
        "id": model_id or "model",
        "title": net.title or (name if named else stem),
        "description": " ".join(notes),
        "nodes": nodes,
    }

"""The semantic diff of two versions of a model: what changed, and what it does to the forecast.

A text diff of two model files shows edited lines; a reviewer needs to know
which nodes, arrows, states, table cells and texts changed, and how far each
outcome's probability moved.  `semantic_diff` answers both:

- `changes`: one row per change (kind, node, detail, before, after);
- `forecast`: each outcome state's probability before and after, with no
  evidence, under the issued evidence (every dated item up to the as-of date)
  and under each given scenario, with the change in points.

The app's change summary and `forecast diff OLD NEW` show the same tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ForecastError
from .evidence import Evidence, EvidenceItem, Scenario, resolve_items
from .model import Model
from .spec import ModelSpec, NodeSpec, RankedCPT, compile_cpt

CELL_TOL = 1e-9
NO_EVIDENCE = "no evidence"
ISSUED = "issued evidence"
CHANGE_COLUMNS = ["kind", "node", "detail", "before", "after"]
FORECAST_COLUMNS = ["evidence", "node", "state", "before", "after", "change"]


@dataclass(frozen=True)
class ModelDiff:
    changes: pd.DataFrame
    forecast: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.changes.empty

    def to_text(self) -> str:
        """A plain-text summary for the terminal and code review."""
        lines: list[str] = []
        if self.changes.empty:
            lines.append("No changes.")
        else:
            lines.append(f"{len(self.changes)} change(s):")
            for c in self.changes.to_dict("records"):
                where = f"{c['node']}: " if c["node"] else ""
                arrow = ""
                if c["before"] != "" or c["after"] != "":
                    arrow = f": {_short(c['before'])} -> {_short(c['after'])}"
                lines.append(f"  {c['kind']:<9} {where}{c['detail']}{arrow}")
        if not self.forecast.empty:
            lines.append("")
            lines.append("Effect on the forecast (percent; change in points):")
            shown = ""
            for r in self.forecast.to_dict("records"):
                if r["evidence"] != shown:
                    shown = r["evidence"]
                    lines.append(f"  {shown}:")
                before, after, change = _pct(r["before"]), _pct(r["after"]), r["change"]
                moved = "" if change != change else f"{100 * change:+.1f} pts"
                lines.append(f"    {r['node']} = {r['state']}: {before} -> {after}  {moved}")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _pct(p: float) -> str:
    return "—" if p != p else f"{100 * p:5.1f}%"


def _short(value: Any, width: int = 60) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------ structure and text


def diff_specs(old: ModelSpec, new: ModelSpec) -> pd.DataFrame:
    """One row per change between two specs: model text, sources, nodes, arrows, states, cells."""
    rows: list[dict[str, Any]] = []

    def add(kind: str, node: str, detail: str, before: Any = "", after: Any = "") -> None:
        rows.append(
            {"kind": kind, "node": node, "detail": detail, "before": before, "after": after}
        )

    for f in ("id", "title", "description", "as_of", "default_confidence"):
        a, b = getattr(old, f), getattr(new, f)
        if a != b:
            add("text", "", f, _s(a), _s(b))
    qa, qb = old.question, new.question
    for f in ("text", "horizon"):
        a = getattr(qa, f) if qa else ""
        b = getattr(qb, f) if qb else ""
        if a != b:
            add("text", "", f"question {f}", a, b)
    ra = qa.resolution if qa else {}
    rb = qb.resolution if qb else {}
    for node in dict.fromkeys([*ra, *rb]):
        for state in dict.fromkeys([*ra.get(node, {}), *rb.get(node, {})]):
            a = ra.get(node, {}).get(state, "")
            b = rb.get(node, {}).get(state, "")
            if a != b:
                add("text", node, f"resolution criteria for {state}", a, b)
    sa = {s.id: s for s in old.sources}
    sb = {s.id: s for s in new.sources}
    for sid in dict.fromkeys([*sa, *sb]):
        if sid not in sb:
            add("source", "", f"removed source {sid}", sa[sid].title, "")
        elif sid not in sa:
            add("source", "", f"added source {sid}", "", sb[sid].title)
        elif sa[sid] != sb[sid]:
            for f in ("title", "author", "date", "url"):
                if getattr(sa[sid], f) != getattr(sb[sid], f):
                    add("source", "", f"source {sid} {f}", getattr(sa[sid], f), getattr(sb[sid], f))
    na = {n.id: n for n in old.nodes}
    nb = {n.id: n for n in new.nodes}
    for nid in dict.fromkeys([*na, *nb]):
        if nid not in nb:
            add("node", nid, "removed node", ", ".join(na[nid].states), "")
        elif nid not in na:
            n = nb[nid]
            add("node", nid, f"added node ({n.role})", "", ", ".join(n.states))
    for nid in nb:
        if nid not in na:
            for p in nb[nid].parents:
                add("arrow", nid, f"added arrow {p} -> {nid}")
            continue
        a, b = na[nid], nb[nid]
        for p in a.parents:
            if p not in b.parents:
                add("arrow", nid, f"removed arrow {p} -> {nid}")
        for p in b.parents:
            if p not in a.parents:
                add("arrow", nid, f"added arrow {p} -> {nid}")
        for s in a.states:
            if s not in b.states:
                add("state", nid, f"removed state {s}")
        for s in b.states:
            if s not in a.states:
                add("state", nid, f"added state {s}")
        if [s for s in a.states if s in b.states] != [s for s in b.states if s in a.states]:
            add("state", nid, "states reordered", ", ".join(a.states), ", ".join(b.states))
        for f in ("label", "description", "role", "rationale", "confidence"):
            if getattr(a, f) != getattr(b, f):
                add("text" if f != "role" else "role", nid, f, _s(getattr(a, f)), _s(getattr(b, f)))
        if a.sources != b.sources:
            add("text", nid, "sources", ", ".join(a.sources), ", ".join(b.sources))
        rows += _cpt_changes(a, b, na, nb)
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _s(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _cpt_changes(
    a: NodeSpec, b: NodeSpec, na: dict[str, NodeSpec], nb: dict[str, NodeSpec]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(detail: str, before: Any = "", after: Any = "") -> None:
        out.append(
            {"kind": "table", "node": b.id, "detail": detail, "before": before, "after": after}
        )

    if a.cpt.type != b.cpt.type:
        add("table form", a.cpt.type, b.cpt.type)
    if isinstance(a.cpt, RankedCPT) and isinstance(b.cpt, RankedCPT):
        if a.cpt.function != b.cpt.function:
            add("ranked function", a.cpt.function, b.cpt.function)
        if a.cpt.variance != b.cpt.variance:
            add("ranked variance", f"{a.cpt.variance:g}", f"{b.cpt.variance:g}")
        for p in dict.fromkeys([*a.cpt.weights, *b.cpt.weights]):
            wa, wb = a.cpt.weights.get(p), b.cpt.weights.get(p)
            if wa != wb:
                add(f"ranked weight of {p}", _num(wa), _num(wb))
        if a.cpt.parent_scores != b.cpt.parent_scores:
            add("ranked parent scores", str(a.cpt.parent_scores), str(b.cpt.parent_scores))
    if a.parents != b.parents or a.states != b.states:
        if a.cpt != b.cpt:
            add("table reshaped (different parents or states)")
        return out
    ta = compile_cpt(a, na).reshape(-1, len(a.states))
    tb = compile_cpt(b, nb).reshape(-1, len(b.states))
    combos = list(itertools.product(*(nb[p].states for p in b.parents)))
    for combo, ra, rb in zip(combos, ta, tb, strict=True):
        where = ", ".join(f"{p}={s}" for p, s in zip(b.parents, combo, strict=True))
        for state, x, y in zip(b.states, ra, rb, strict=True):
            if abs(x - y) > CELL_TOL:
                add(
                    f"P({state}" + (f" | {where})" if where else ")"),
                    f"{100 * x:.4g}%",
                    f"{100 * y:.4g}%",
                )
    return out


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


# ------------------------------------------------------------------ the forecast


def issued_items(spec: ModelSpec, items: Iterable[EvidenceItem]) -> list[EvidenceItem]:
    """The dated items the model's forecast is issued with: up to its as-of date, on its nodes."""
    nodes = {n.id: n for n in spec.nodes}
    out = []
    for it in items:
        if it.node not in nodes or set(it.likelihood) != set(nodes[it.node].states):
            continue
        if spec.as_of is not None and it.date > spec.as_of:
            continue
        out.append(it)
    return out


def _outcomes(model: Model) -> list[str]:
    return model.outcomes or model.nodes[-1:]


def forecast_change(
    old: Model,
    new: Model,
    old_items: Sequence[EvidenceItem] = (),
    new_items: Sequence[EvidenceItem] | None = None,
    scenarios: Sequence[Scenario] = (),
    new_scenarios: Sequence[Scenario] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Outcome probabilities before and after, per evidence setting, and notes on what was skipped."""
    new_items = old_items if new_items is None else new_items
    new_scenarios = scenarios if new_scenarios is None else new_scenarios
    notes: list[str] = []
    settings: list[tuple[str, Any, Any]] = [(NO_EVIDENCE, Evidence(), Evidence())]
    ia, ib = issued_items(old.spec, old_items), issued_items(new.spec, new_items)
    if ia or ib:
        settings.append((ISSUED, Evidence(items=tuple(ia)), Evidence(items=tuple(ib))))
    by_name = {s.name: s for s in new_scenarios}
    for s in scenarios:
        settings.append((f"scenario {s.display}", s, by_name.get(s.name, s)))
    for s in new_scenarios:
        if s.name not in {x.name for x in scenarios}:
            settings.append((f"scenario {s.display}", None, s))
    targets = list(dict.fromkeys([*_outcomes(new), *[n for n in _outcomes(old) if n in new.nodes]]))
    frames = []
    for name, ea, eb in settings:
        pa = _post(old, ea, targets, name, "old", notes)
        pb = _post(new, eb, targets, name, "new", notes)
        if pa is None and pb is None:
            continue
        for node in targets:
            states = new.states(node) if node in new.nodes else old.states(node)
            for st in states:
                before = pa.get((node, st), np.nan) if pa is not None else np.nan
                after = pb.get((node, st), np.nan) if pb is not None else np.nan
                frames.append(
                    {
                        "evidence": name,
                        "node": node,
                        "state": st,
                        "before": before,
                        "after": after,
                        "change": after - before,
                    }
                )
    return pd.DataFrame(frames, columns=FORECAST_COLUMNS), notes


def _post(
    model: Model, ev: Any, targets: list[str], name: str, which: str, notes: list[str]
) -> dict[tuple[str, str], float] | None:
    if ev is None:
        return None
    mine = [t for t in targets if t in model.nodes]
    if not mine:
        return None
    try:
        table = model.posteriors(scenario=ev, targets=mine)
    except ForecastError as exc:
        notes.append(f"{name} does not fit the {which} model: {exc}")
        return None
    return {
        (str(n), str(s)): float(p)
        for n, s, p in zip(table["node"], table["state"], table["probability"], strict=True)
    }


def semantic_diff(
    old: Model | ModelSpec,
    new: Model | ModelSpec,
    old_items: Sequence[EvidenceItem] = (),
    new_items: Sequence[EvidenceItem] | None = None,
    scenarios: Sequence[Scenario] = (),
    new_scenarios: Sequence[Scenario] | None = None,
) -> ModelDiff:
    """What changed between two models and what it does to the outcomes' probabilities."""
    ma = old if isinstance(old, Model) else Model(old)
    mb = new if isinstance(new, Model) else Model(new)
    changes = diff_specs(ma.spec, mb.spec)
    forecast, notes = forecast_change(ma, mb, old_items, new_items, scenarios, new_scenarios)
    return ModelDiff(changes, forecast, tuple(notes))


def resolve_for(scenario: Scenario, items: Sequence[EvidenceItem]) -> Scenario:
    """A scenario with its item ids resolved against `items` (those missing are left out)."""
    known = {it.id for it in items}
    kept = scenario.model_copy(update={"items": [i for i in scenario.items if i in known]})
    return resolve_items(kept, items, scenario.name)

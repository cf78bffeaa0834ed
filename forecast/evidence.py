"""Evidence: dated evidence items, named scenarios, and the combined evidence a query uses.

Three kinds of evidence, all combinable (see docs/evidence.md):
- hard: a node is in a given state;
- likelihood: non-negative weights per state (every state named), multiplied in;
- fixed: the analyst's own distribution for a node, met exactly (Jeffrey's rule).

Evidence items are dated reports that bear on one node as likelihood evidence.
A scenario bundles hard, likelihood and fixed evidence with the ids of items it
applies.  Keyword evidence given on top of a scenario replaces the scenario's
evidence on the same node.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import EvidenceError, OutputExistsError
from .present import humanise
from .spec import NAME_PATTERN, Prob, as_name
from .yamlio import atomic_write_text, dump_yaml, load_yaml

Weight = Prob  # a likelihood weight or a probability: a finite number
SCENARIO_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


def _str_keys(v: Any) -> Any:
    """Names as keys at every level; values (weights) stay numbers."""
    if isinstance(v, dict):
        return {as_name(k): _str_keys(x) for k, x in v.items()}
    return v


class EvidenceItem(BaseModel):
    """A dated report bearing on one node, applied as likelihood evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, pattern=NAME_PATTERN)]
    date: dt.date
    title: str
    source: str
    node: str
    likelihood: dict[str, Weight]
    rationale: str = ""
    # how fast the report goes stale: its likelihood is raised to 0.5 ** (age / half-life)
    # (docs/evidence.md); overrides the node's half-life in the model file
    half_life_days: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @field_validator("likelihood", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return _str_keys(v) if isinstance(v, dict) else v


class Scenario(BaseModel):
    """A named set of evidence, stored as YAML in evidence/scenarios/."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=SCENARIO_NAME)]
    title: str = ""
    description: str = ""
    hard: dict[str, str] = Field(default_factory=dict)
    likelihood: dict[str, dict[str, Weight]] = Field(default_factory=dict)
    fixed: dict[str, dict[str, Weight]] = Field(default_factory=dict)
    do: dict[str, str] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=list)
    resolved_items: list[EvidenceItem] = Field(default_factory=list, exclude=True, repr=False)

    @field_validator("likelihood", "fixed", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return _str_keys(v) if isinstance(v, dict) else v

    @field_validator("hard", "do", mode="before")
    @classmethod
    def _hard_names(cls, v: Any) -> Any:
        return {as_name(k): as_name(x) for k, x in v.items()} if isinstance(v, dict) else v

    @property
    def display(self) -> str:
        """The scenario's name for people: its title, else its file name made readable."""
        return self.title or humanise(self.name)

    def to_yaml(self) -> str:
        data = self.model_dump(exclude={"resolved_items"})
        if not data["title"]:
            del data["title"]
        if not data["do"]:
            del data["do"]
        return dump_yaml(data)


def _validation_message(name: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            msg = "missing required field"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return f"{name}: " + "; ".join(parts)


def _item_from_dict(data: Any, name: str) -> EvidenceItem:
    if not isinstance(data, dict):
        raise EvidenceError(
            f"{name}: an evidence item must be a mapping with id, date, node, likelihood, ..."
        )
    try:
        return EvidenceItem.model_validate(data)
    except ValidationError as exc:
        raise EvidenceError(_validation_message(name, exc)) from None


def load_evidence(path: str | os.PathLike[str]) -> list[EvidenceItem]:
    """Evidence items from a YAML file or a folder (searched recursively, `scenarios/` skipped).

    A file may hold one item (a mapping) or several (a list).  Items are returned
    sorted by date, then id; duplicate ids are an error.
    """
    p = Path(path)
    if not p.exists():
        raise EvidenceError(f"{p}: evidence file or folder not found")
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.suffix in (".yaml", ".yml") and "scenarios" not in f.relative_to(p).parts
        )
    else:
        files = [p]
    items: list[EvidenceItem] = []
    for f in files:
        data = load_yaml(f, "evidence", EvidenceError)
        entries = data if isinstance(data, list) else [data]
        for i, entry in enumerate(entries):
            items.append(
                _item_from_dict(entry, f"{f}" + (f" (item {i + 1})" if len(entries) > 1 else ""))
            )
    seen: dict[str, int] = {}
    for it in items:
        seen[it.id] = seen.get(it.id, 0) + 1
    dups = sorted(k for k, n in seen.items() if n > 1)
    if dups:
        raise EvidenceError(f"{p}: duplicate evidence item id(s) {dups}")
    return sorted(items, key=lambda it: (it.date, it.id))


def default_evidence_folder(scenario_path: Path) -> Path | None:
    """Scenarios live in evidence/scenarios/; their items live in evidence/."""
    folder = scenario_path.resolve().parent
    if folder.name == "scenarios" and folder.parent.is_dir():
        return folder.parent
    return None


def load_scenario(
    path: str | os.PathLike[str],
    evidence: str | os.PathLike[str] | Iterable[EvidenceItem] | None = None,
) -> Scenario:
    """A scenario file, with the evidence items it names resolved.

    Items are looked up in `evidence` (a folder, a file or loaded items); by default
    in the folder above `scenarios/`.
    """
    p = Path(path)
    data = load_yaml(p, "scenario", EvidenceError)
    if data is None:
        raise EvidenceError(f"{p}: scenario file is empty")
    if not isinstance(data, dict):
        raise EvidenceError(f"{p}: a scenario must be a mapping with name, description, hard, ...")
    data.setdefault("name", p.stem)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise EvidenceError(_validation_message(str(p), exc)) from None
    if scenario.items:
        if evidence is None:
            folder = default_evidence_folder(p)
            if folder is None:
                raise EvidenceError(
                    f"{p}: the scenario applies evidence items but no evidence folder was given"
                )
            pool = load_evidence(folder)
        elif isinstance(evidence, str | os.PathLike):
            pool = load_evidence(evidence)
        else:
            pool = list(evidence)
        scenario = resolve_items(scenario, pool, str(p))
    return scenario


def resolve_items(
    scenario: Scenario, pool: Iterable[EvidenceItem], name: str = "scenario"
) -> Scenario:
    by_id = {it.id: it for it in pool}
    unknown = [i for i in scenario.items if i not in by_id]
    if unknown:
        raise EvidenceError(f"{name}: unknown evidence item id(s) {unknown}")
    return scenario.model_copy(update={"resolved_items": [by_id[i] for i in scenario.items]})


def load_scenarios(folder: str | os.PathLike[str]) -> list[Scenario]:
    """Every scenario in a folder, sorted by name."""
    files = sorted(Path(folder).glob("*.y*ml"))
    return sorted((load_scenario(f) for f in files), key=lambda s: s.name)


def file_in(
    folder: str | os.PathLike[str],
    name: Any,
    suffix: str,
    error: Callable[[str], Exception],
    *,
    who: str,
    bad: str,
    forbid: str | None = None,
) -> Path:
    """`folder/name+suffix`, or `error` when `name` is not a plain name (SCENARIO_NAME, and
    without `forbid`) or the file would land outside `folder`: the one check every writer
    of a named file makes (`who` names the name in the messages, `bad` says what is wrong)."""
    if (
        not isinstance(name, str)
        or not re.fullmatch(SCENARIO_NAME, name)
        or (forbid is not None and forbid in name)
    ):
        raise error(
            f"{who} {bad}: use up to 100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    base = Path(folder)
    target = base / f"{name}{suffix}"
    if target.resolve().parent != base.resolve():
        raise error(f"{who} would be written outside {base}")
    return target


def save_scenario(
    scenario: Scenario, folder: str | os.PathLike[str], overwrite: bool = False
) -> Path:
    """Write a scenario to `folder`/<name>.yaml atomically; never replaces a file unless `overwrite`.

    The name is checked again here (a Scenario built with model_construct skips
    validation) so the file cannot land outside `folder`.
    """
    if not isinstance(scenario, Scenario):
        raise EvidenceError(f"save_scenario needs a Scenario, not {type(scenario).__name__}")
    name = scenario.name
    target = file_in(
        folder, name, ".yaml", EvidenceError, who=f"scenario name {name!r}", bad="is not allowed"
    )
    exists = EvidenceError(
        f"a scenario named '{name}' already exists; choose another name or allow replacing it"
    )
    if target.exists() and not overwrite:
        raise exists
    try:
        return atomic_write_text(target, scenario.to_yaml(), overwrite=overwrite)
    except OutputExistsError:  # another save created it meanwhile
        raise exists from None


def _scenario_file(name: str, folder: str | os.PathLike[str]) -> Path:
    if not isinstance(name, str) or not re.fullmatch(SCENARIO_NAME, name):
        raise EvidenceError(f"there is no scenario named {name!r}")
    base = Path(folder)
    target = base / f"{name}.yaml"
    if target.resolve().parent != base.resolve() or not target.is_file():
        raise EvidenceError(f"there is no scenario named '{name}' in {base}")
    return target


def retitle_scenario(name: str, title: str, folder: str | os.PathLike[str]) -> Path:
    """Give a saved scenario a new title (what people see); its file name stays, so references hold."""
    target = _scenario_file(name, folder)
    title = " ".join(str(title).split())
    if not title:
        raise EvidenceError("a scenario's title cannot be empty")
    data = load_yaml(target, "scenario", EvidenceError)
    if not isinstance(data, dict):
        raise EvidenceError(
            f"{target}: a scenario must be a mapping with name, description, hard, ..."
        )
    data.setdefault("name", name)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise EvidenceError(_validation_message(str(target), exc)) from None
    return atomic_write_text(target, scenario.model_copy(update={"title": title}).to_yaml())


def delete_scenario(name: str, folder: str | os.PathLike[str]) -> None:
    """Remove a saved scenario's file."""
    _scenario_file(name, folder).unlink()


@dataclass(frozen=True)
class Evidence:
    """The evidence one query uses, after combining a scenario with keyword evidence."""

    hard: dict[str, str] = field(default_factory=dict)
    likelihood: dict[str, dict[str, float]] = field(default_factory=dict)
    fixed: dict[str, dict[str, float]] = field(default_factory=dict)
    items: tuple[EvidenceItem, ...] = ()
    name: str = ""
    # interventions (graph surgery: the node's incoming edges cut, its state set)
    do: dict[str, str] = field(default_factory=dict)
    # the forecast date items are aged to (None: the model's as-of date)
    as_of: dt.date | None = None

    @property
    def empty(self) -> bool:
        return not (self.hard or self.likelihood or self.fixed or self.items or self.do)

    def nodes(self) -> set[str]:
        return (
            set(self.hard)
            | set(self.likelihood)
            | set(self.fixed)
            | set(self.do)
            | {it.node for it in self.items}
        )

    def without_item(self, item_id: str) -> Evidence:
        return replace(self, items=tuple(it for it in self.items if it.id != item_id))

    def with_entry(self, kind: str, node: str, value: Any) -> Evidence:
        """This evidence with one hard, likelihood or fixed entry set on `node`."""
        parts = self._entries()
        parts[kind][node] = value
        return replace(
            self, hard=parts["hard"], likelihood=parts["likelihood"], fixed=parts["fixed"]
        )

    def without_entry(self, kind: str, node: str) -> Evidence:
        """This evidence without its hard, likelihood or fixed entry on `node`."""
        parts = self._entries()
        del parts[kind][node]
        return replace(
            self, hard=parts["hard"], likelihood=parts["likelihood"], fixed=parts["fixed"]
        )

    def _entries(self) -> dict[str, dict[str, Any]]:
        return {
            "hard": dict(self.hard),
            "likelihood": dict(self.likelihood),
            "fixed": dict(self.fixed),
        }

    def describe(self) -> list[dict[str, str]]:
        """One row per piece of evidence, for reports."""
        rows = [{"kind": "do", "node": n, "detail": s, "source": ""} for n, s in self.do.items()]
        rows += [
            {"kind": "hard", "node": n, "detail": s, "source": ""} for n, s in self.hard.items()
        ]
        rows += [
            {"kind": "likelihood", "node": n, "detail": _fmt_map(w), "source": ""}
            for n, w in self.likelihood.items()
        ]
        rows += [
            {"kind": "fixed", "node": n, "detail": _fmt_map(q), "source": ""}
            for n, q in self.fixed.items()
        ]
        rows += [
            {
                "kind": "item",
                "node": it.node,
                "detail": f"{it.date.isoformat()} {it.title} ({_fmt_map(it.likelihood)})",
                "source": it.source,
            }
            for it in self.items
        ]
        return rows

    def to_scenario(self, name: str, description: str = "") -> Scenario:
        return Scenario(
            name=name,
            description=description,
            hard=dict(self.hard),
            likelihood={k: dict(v) for k, v in self.likelihood.items()},
            fixed={k: dict(v) for k, v in self.fixed.items()},
            do=dict(self.do),
            items=[it.id for it in self.items],
            resolved_items=list(self.items),
        )


def age_weight(
    item: EvidenceItem, as_of: dt.date | None, half_life_days: float | None = None
) -> float:
    """The exponent an item's likelihood is raised to on the forecast date `as_of`.

    0 for an item dated after `as_of` (not applied), 1 without a half-life or a date,
    else 0.5 ** (age in days / half-life); the item's own half-life wins over the
    node's (`half_life_days`).  See docs/evidence.md.
    """
    if as_of is None:
        return 1.0
    age = (as_of - item.date).days
    if age < 0:
        return 0.0
    half_life = item.half_life_days if item.half_life_days is not None else half_life_days
    if half_life is None:
        return 1.0
    return float(0.5 ** (age / half_life))


EvidenceLike = Evidence | Scenario | Mapping[str, Any] | None
"""What a query accepts as its `scenario`: an Evidence, a Scenario, a mapping with keys
hard/likelihood/fixed/name/items, or None for no evidence."""


class EvidenceKeywords(TypedDict, total=False):
    """The evidence keywords every query takes besides `scenario` (see Model.evidence).

    Given on top of a scenario, they replace its evidence on the same node.
    """

    hard: Mapping[str, str] | None
    likelihood: Mapping[str, Mapping[str, float]] | None
    fixed: Mapping[str, Mapping[str, float]] | None
    do: Mapping[str, str] | None
    as_of: dt.date | None


def _fmt_map(m: Mapping[str, float]) -> str:
    return ", ".join(f"{k}: {v:g}" for k, v in m.items())


def combine(
    scenario: Scenario | Evidence | None = None,
    hard: Mapping[str, str] | None = None,
    likelihood: Mapping[str, Mapping[str, float]] | None = None,
    fixed: Mapping[str, Mapping[str, float]] | None = None,
    items: Iterable[EvidenceItem] = (),
    do: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
) -> Evidence:
    """Combine a scenario with keyword evidence; keywords replace the scenario on the same node.

    `do` interventions combine the same way; `as_of` (the forecast date) replaces the
    scenario's when given.
    """
    for label, arg in (("hard", hard), ("likelihood", likelihood), ("fixed", fixed), ("do", do)):
        if arg is not None and not isinstance(arg, Mapping):
            raise EvidenceError(
                f"{label} evidence must be a mapping of node to {'state' if label in ('hard', 'do') else 'weights'}"
            )
    if as_of is not None and not isinstance(as_of, dt.date):
        raise EvidenceError(f"as_of must be a date, not {type(as_of).__name__}")
    states = dict(hard or {})
    setting = dict(do or {})
    weights = {k: dict(_as_mapping(k, v, "likelihood")) for k, v in (likelihood or {}).items()}
    targets = {k: dict(_as_mapping(k, v, "fixed")) for k, v in (fixed or {}).items()}
    added = tuple(items)
    if scenario is None:
        return Evidence(states, weights, targets, added, do=setting, as_of=as_of)
    if isinstance(scenario, Scenario):
        base = Evidence(
            dict(scenario.hard),
            {k: dict(v) for k, v in scenario.likelihood.items()},
            {k: dict(v) for k, v in scenario.fixed.items()},
            tuple(scenario.resolved_items),
            scenario.name,
            do=dict(scenario.do),
        )
        if scenario.items and len(scenario.resolved_items) != len(scenario.items):
            raise EvidenceError(
                f"scenario '{scenario.name}' names evidence items that were not loaded; use forecast.load_scenario"
            )
    elif isinstance(scenario, Evidence):
        base = scenario
    else:
        raise EvidenceError(
            f"scenario must be a Scenario (see forecast.load_scenario), not {type(scenario).__name__}"
        )
    override = set(states) | set(weights) | set(targets) | set(setting) | {it.node for it in added}
    return Evidence(
        {**{k: v for k, v in base.hard.items() if k not in override}, **states},
        {**{k: v for k, v in base.likelihood.items() if k not in override}, **weights},
        {**{k: v for k, v in base.fixed.items() if k not in override}, **targets},
        tuple(it for it in base.items if it.node not in override) + added,
        base.name,
        do={**{k: v for k, v in base.do.items() if k not in override}, **setting},
        as_of=as_of if as_of is not None else base.as_of,
    )


def _as_mapping(node: str, value: Any, kind: str) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise EvidenceError(f"{kind} evidence for '{node}' must map each state to a number")
    return value


def check_weights(
    node: str, states: list[str], weights: Mapping[str, Any], kind: str
) -> list[float]:
    """Validate a per-state mapping for likelihood or fixed evidence; returns values in state order."""
    unknown = [s for s in weights if s not in states]
    if unknown:
        raise EvidenceError(
            f"{kind} evidence on '{node}': unknown state(s) {unknown}; states are {states}"
        )
    missing = [s for s in states if s not in weights]
    if missing:
        raise EvidenceError(
            f"{kind} evidence on '{node}': no value for state(s) {missing} (every state must be given)"
        )
    values = []
    for s in states:
        v = weights[s]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise EvidenceError(f"{kind} evidence on '{node}': value for '{s}' is not a number")
        v = float(v)
        if not math.isfinite(v):
            raise EvidenceError(f"{kind} evidence on '{node}': value for '{s}' is not finite")
        if v < 0:
            raise EvidenceError(f"{kind} evidence on '{node}': value for '{s}' is negative")
        values.append(v)
    if kind == "fixed":
        total = sum(values)
        if abs(total - 1.0) > 1e-6:
            raise EvidenceError(f"fixed evidence on '{node}' sums to {total:.15g}, not 1")
        if any(v > 1 for v in values):
            raise EvidenceError(f"fixed evidence on '{node}': a probability is above 1")
    elif not any(v > 0 for v in values):
        raise EvidenceError(
            f"{kind} evidence on '{node}': all weights are zero, which rules out every state"
        )
    return values

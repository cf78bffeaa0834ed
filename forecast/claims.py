"""Claims a model encodes, and the audit that measures each one on the network.

A model's claims sit beside it in ``<model stem>.claims.yaml`` (docs/model-format.md):
each claim names its sources, paraphrases what they say, and states a testable
effect: moving a cause from one state to another (by conditioning, or by
intervention, i.e. graph surgery) must move P(effect node = state) by at least
`min_points` percentage points in the stated direction (or by less than that,
for direction `none`).  A claim without a cause is a level claim: P(effect) under
the context must lie between `at_least` and `at_most` (in percent).

`audit(model)` measures every claim (other nodes at their priors unless the claim
gives context evidence) and returns one row per claim with a verdict, so any model
built with the tool can be checked against what its sources say.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import EvidenceError, ModelError
from .evidence import _validation_message, load_scenario
from .model import Model
from .yamlio import load_yaml

Points = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


def _name(v: Any) -> Any:
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Cause(_Strict):
    """Either a node moved between two of its states, or an intervention compared with none."""

    node: str | None = None
    from_state: str | None = Field(default=None, alias="from")
    to_state: str | None = Field(default=None, alias="to")
    do: dict[str, str] = Field(default_factory=dict)

    @field_validator("from_state", "to_state", "node", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _name(v)

    @field_validator("do", mode="before")
    @classmethod
    def _do_names(cls, v: Any) -> Any:
        return {_name(k): _name(x) for k, x in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _one_form(self) -> Cause:
        moved = self.node is not None
        if moved == bool(self.do):
            raise ValueError("give either node with from/to, or do (an intervention), not both")
        if moved and (self.from_state is None or self.to_state is None):
            raise ValueError("a cause node needs both 'from' and 'to' states")
        return self

    def describe(self) -> str:
        if self.node is not None:
            return f"{self.node}: {self.from_state} → {self.to_state}"
        return "do(" + ", ".join(f"{k}={v}" for k, v in self.do.items()) + ")"


class Effect(_Strict):
    node: str
    state: str

    @field_validator("node", "state", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _name(v)


class Given(_Strict):
    """Context evidence for a claim: hard evidence, and optionally a scenario file."""

    hard: dict[str, str] = Field(default_factory=dict)
    scenario: str | None = None  # a scenario file, relative to the claims file

    @field_validator("hard", mode="before")
    @classmethod
    def _hard_names(cls, v: Any) -> Any:
        return {_name(k): _name(x) for k, x in v.items()} if isinstance(v, dict) else v


class Claim(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[^\s]+$")]
    sources: list[str] = Field(min_length=1)
    claim: Annotated[str, Field(min_length=1)]  # one-line paraphrase, never a quotation
    cause: Cause | None = None
    effect: Effect
    direction: Literal["increase", "decrease", "none"] | None = None
    min_points: Points = 1.0
    mode: Literal["condition", "intervene"] = "condition"
    given: Given = Field(default_factory=Given)
    at_least: Points | None = None
    at_most: Points | None = None
    note: str = ""

    @model_validator(mode="after")
    def _testable(self) -> Claim:
        if self.cause is not None:
            if self.direction is None:
                raise ValueError(
                    "a claim with a cause needs a direction (increase, decrease, none)"
                )
            if self.at_least is not None or self.at_most is not None:
                raise ValueError("at_least/at_most are for level claims (no cause)")
        else:
            if self.at_least is None and self.at_most is None:
                raise ValueError("a level claim (no cause) needs at_least or at_most")
            if self.direction is not None:
                raise ValueError("direction needs a cause")
        return self

    def expected(self) -> str:
        if self.cause is None:
            lo = f"{self.at_least:g}" if self.at_least is not None else "0"
            hi = f"{self.at_most:g}" if self.at_most is not None else "100"
            return f"P in [{lo}, {hi}]%"
        if self.direction == "none":
            return f"|Δ| < {self.min_points:g} pp"
        sign = "+" if self.direction == "increase" else "−"
        return f"Δ {sign}{self.min_points:g} pp or more"


class NotEncoded(_Strict):
    """A claim the sources make that the model does not encode, and why (kept for the record)."""

    id: Annotated[str, Field(min_length=1)]
    sources: list[str] = Field(default_factory=list)
    claim: str
    reason: str


class ClaimSet(_Strict):
    model: str | None = None  # the model id the claims are about (checked when given)
    claims: list[Claim] = Field(default_factory=list)
    not_encoded: list[NotEncoded] = Field(default_factory=list)


def claims_path(model: Model) -> Path | None:
    """The sibling claims file of a model loaded from disk: <stem>.claims.yaml (or <id>.claims.yaml)."""
    if model.path is None:
        return None
    stem = model.path.name.split(".")[0]
    for name in (f"{stem}.claims.yaml", f"{model.id}.claims.yaml"):
        p = model.path.parent / name
        if p.exists():
            return p
    return None


def load_claims(path: str | os.PathLike[str]) -> ClaimSet:
    """A claims file, validated; a clear one-line ModelError for anything wrong."""
    p = Path(path)
    data = load_yaml(p, "claims", ModelError)
    if isinstance(data, list):
        data = {"claims": data}
    if not isinstance(data, dict):
        raise ModelError(f"{p}: a claims file is a mapping with a 'claims' list")
    try:
        claims = ClaimSet.model_validate(data)
    except ValidationError as exc:
        raise ModelError(_validation_message(str(p), exc)) from None
    ids = [c.id for c in claims.claims]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise ModelError(f"{p}: duplicate claim id(s) {dups}")
    return claims


def check_claims(model: Model, claims: ClaimSet, name: str = "claims") -> None:
    """Every node, state and source a claim names must exist in the model."""
    problems: list[str] = []
    sources = {s.id for s in model.spec.sources}
    if claims.model is not None and claims.model != model.id:
        problems.append(f"{name}: the claims are for model '{claims.model}', not '{model.id}'")

    def state(where: str, node: str | None, st: str | None) -> None:
        if node is None or node not in model.nodes:
            problems.append(f"{where}: unknown node '{node}'")
        elif st not in model.states(node):
            problems.append(f"{where}: node '{node}' has no state '{st}'")

    for c in claims.claims:
        where = f"{name}: claim '{c.id}'"
        for s in c.sources:
            if s not in sources:
                problems.append(f"{where}: unknown source '{s}'")
        state(where, c.effect.node, c.effect.state)
        if c.cause is not None:
            if c.cause.node is not None:
                state(where, c.cause.node, c.cause.from_state)
                state(where, c.cause.node, c.cause.to_state)
            for n, s in c.cause.do.items():
                state(where, n, s)
        for n, s in c.given.hard.items():
            state(where, n, s)
    if problems:
        raise ModelError(
            problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)",
            problems,
        )


def _context(model: Model, claim: Claim, base: Path | None) -> Any:
    scenario = None
    if claim.given.scenario is not None:
        target = Path(claim.given.scenario)
        if not target.is_absolute() and base is not None:
            target = base / target
        scenario = load_scenario(target)
    return model.evidence(scenario, hard=claim.given.hard)


def measure(model: Model, claim: Claim, base: Path | None = None) -> float:
    """The claim's measured quantity in percentage points: Δ for a cause, the level otherwise."""
    ctx = _context(model, claim, base)
    node, st = claim.effect.node, claim.effect.state

    def p(**kw: Any) -> float:
        table = model.posteriors(scenario=ctx, targets=node, **kw)
        return float(table.loc[table["state"] == st, "probability"].iloc[0]) * 100

    cause = claim.cause
    if cause is None:
        return p()
    if cause.node is None:
        return p(do=cause.do) - p()
    kind = "do" if claim.mode == "intervene" else "hard"
    return p(**{kind: {cause.node: cause.to_state}}) - p(**{kind: {cause.node: cause.from_state}})


def verdict(claim: Claim, value: float) -> bool:
    if claim.cause is None:
        lo = claim.at_least if claim.at_least is not None else 0.0
        hi = claim.at_most if claim.at_most is not None else 100.0
        return lo <= value <= hi
    if claim.direction == "increase":
        return value >= claim.min_points
    if claim.direction == "decrease":
        return value <= -claim.min_points
    return abs(value) < claim.min_points


AUDIT_COLUMNS = [
    "claim",
    "source",
    "paraphrase",
    "cause",
    "effect",
    "mode",
    "expected",
    "measured",
    "verdict",
]


def audit(model: Model, claims: ClaimSet | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Measure every claim; one row per claim: claim, source, ..., measured (pp), verdict (pass/fail).

    `claims` defaults to the model's sibling claims file.  Effects are measured with
    every other node at its prior unless the claim gives context (`given`).
    """
    base: Path | None = None
    if claims is None:
        path = claims_path(model)
        if path is None:
            raise ModelError(
                f"model '{model.id}' has no claims file (<model>.claims.yaml beside it)"
            )
        claims = path
    if not isinstance(claims, ClaimSet):
        base = Path(claims).resolve().parent
        name = str(claims)
        claims = load_claims(claims)
    else:
        name = "claims"
        sibling = claims_path(model)
        base = sibling.parent if sibling is not None else None
    check_claims(model, claims, name)
    rows = []
    for c in claims.claims:
        try:
            value = measure(model, c, base)
        except EvidenceError as exc:
            raise ModelError(f"{name}: claim '{c.id}': {exc}") from None
        rows.append(
            {
                "claim": c.id,
                "source": ", ".join(model.source_label(s) for s in c.sources),
                "paraphrase": c.claim,
                "cause": c.cause.describe() if c.cause is not None else "(level)",
                "effect": f"{c.effect.node} = {c.effect.state}",
                "mode": "level" if c.cause is None else ("do" if c.cause.do else c.mode),
                "expected": c.expected(),
                "measured": round(value, 2),
                "verdict": "pass" if verdict(c, value) else "fail",
            }
        )
    table = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    table.attrs.update(model.metadata())
    table.attrs.update(
        {
            "analysis": "claims audit: each claim's effect measured on the network (percentage points)",
            "claims": len(rows),
            "failed": int((table["verdict"] == "fail").sum()),
        }
    )
    return table

"""What the workspace's controls mean as evidence.

Pure functions (no Streamlit) so the app stays a thin shell and the rules are
unit-tested: the three modes of a node's control, sliders that always sum to
100%, and the round trip between controls and scenarios.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import EvidenceError
from ..evidence import Evidence, EvidenceItem, Scenario
from ..model import Model

UNSET, STATE, PROBABILITIES = "unset", "state", "probabilities"
MODES = (UNSET, STATE, PROBABILITIES)
MODE_LABELS = {UNSET: "Not set", STATE: "Definite state", PROBABILITIES: "My probabilities"}


@dataclass(frozen=True)
class NodeControl:
    """One node's control: not set, a definite state (hard evidence) or the analyst's percentages (fixed)."""

    mode: str = UNSET
    state: str | None = None
    percents: Mapping[str, float] = field(default_factory=dict)


def round_percents(probs: Sequence[float], total: int = 100) -> list[int]:
    """Whole percentages that sum exactly to `total` (largest-remainder rounding)."""
    p = np.asarray(probs, dtype=float)
    if p.size == 0:
        return []
    p = np.where(np.isfinite(p) & (p > 0), p, 0.0)
    s = p.sum()
    p = np.full(p.size, 1.0 / p.size) if s <= 0 else p / s
    raw = p * total
    out = np.floor(raw).astype(int)
    short = total - int(out.sum())
    if short > 0:
        order = np.argsort(-(raw - out), kind="stable")
        out[order[:short]] += 1
    return [int(x) for x in out]


def rebalance(percents: Mapping[str, float], changed: str, value: float) -> dict[str, int]:
    """Set one state's percentage and share the rest among the others in their old proportions.

    Keeps the sliders of one node consistent: they always sum to 100.  When the
    other states were all at zero, the rest is shared equally.
    """
    if changed not in percents:
        raise EvidenceError(f"unknown state '{changed}'")
    value = int(round(min(100.0, max(0.0, float(value)))))
    others = [s for s in percents if s != changed]
    if not others:
        return {changed: 100}
    old = [max(0.0, float(percents[s])) for s in others]
    shares = round_percents(old if sum(old) > 0 else [1.0] * len(others), total=100 - value)
    out = {s: 0 for s in percents}
    out[changed] = value
    out.update(dict(zip(others, shares, strict=True)))
    return out


def distribution(node: str, percents: Mapping[str, float]) -> dict[str, float]:
    """Percentages -> probabilities summing to 1 (what fixed evidence needs)."""
    values = {s: max(0.0, float(v)) for s, v in percents.items()}
    total = sum(values.values())
    if total <= 0:
        raise EvidenceError(
            f"the probabilities for '{node}' are all zero; give at least one state a chance"
        )
    return {s: v / total for s, v in values.items()}


def evidence_from_controls(
    model: Model,
    controls: Mapping[str, NodeControl],
    items: Iterable[EvidenceItem] = (),
    likelihood: Mapping[str, Mapping[str, float]] | None = None,
    name: str = "",
) -> Evidence:
    """The evidence the controls describe, validated against the model.

    `likelihood` carries weights from a loaded scenario; they stay only on nodes
    whose control is not set (a control replaces a scenario's evidence on its node).
    """
    hard: dict[str, str] = {}
    fixed: dict[str, dict[str, float]] = {}
    for node, c in controls.items():
        if c.mode == STATE:
            if c.state is None:
                raise EvidenceError(f"choose a state for {model.label(node)}")
            hard[node] = c.state
        elif c.mode == PROBABILITIES:
            fixed[node] = distribution(
                model.label(node), {s: c.percents.get(s, 0.0) for s in model.states(node)}
            )
        elif c.mode != UNSET:
            raise EvidenceError(f"unknown control mode '{c.mode}'")
    lik = {n: dict(w) for n, w in (likelihood or {}).items() if n not in hard and n not in fixed}
    ev = model.evidence(hard=hard, likelihood=lik, fixed=fixed, items=tuple(items))
    return Evidence(ev.hard, ev.likelihood, ev.fixed, ev.items, name)


def controls_from_scenario(
    model: Model, scenario: Scenario | Evidence
) -> tuple[dict[str, NodeControl], list[str], dict[str, dict[str, float]]]:
    """Controls, applied item ids and leftover likelihood weights that reproduce a scenario.

    Fixed evidence becomes whole percentages (a scenario saved from the app round-trips exactly).
    """
    ev = model.evidence(scenario) if isinstance(scenario, Scenario) else scenario
    model.check_evidence(ev)
    controls: dict[str, NodeControl] = {n: NodeControl(STATE, state=s) for n, s in ev.hard.items()}
    for node, dist in ev.fixed.items():
        states = model.states(node)
        pct = round_percents([dist[s] for s in states])
        controls[node] = NodeControl(PROBABILITIES, percents=dict(zip(states, pct, strict=True)))
    return controls, [it.id for it in ev.items], {n: dict(w) for n, w in ev.likelihood.items()}


def default_as_of(model: Model, items: Iterable[EvidenceItem]) -> str | None:
    """The latest item date on or before the model's as-of date (ISO), or None.

    The page opens with every item known at the model's as-of date applied, so it
    shows the model's current forecast; items dated later are left for the analyst.
    """
    if model.spec.as_of is None:
        return None
    dates = [it.date for it in items if it.date <= model.spec.as_of]
    return max(dates).isoformat() if dates else None


def as_of_matching(items: Iterable[EvidenceItem], applied: Iterable[str]) -> str | None:
    """The date (ISO) up to which exactly the `applied` item ids are the items dated, or None.

    After a scenario is loaded the "apply every item up to" control shows this date
    when the scenario's items are all those up to one day (the usual case), rather
    than "no items" next to a list of applied items.
    """
    items = list(items)
    on = set(applied) & {it.id for it in items}
    if not on:
        return None
    last = max(it.date for it in items if it.id in on)
    if {it.id for it in items if it.date <= last} != on:
        return None
    return last.isoformat()


# ------------------------------------------------------------------ settings: what the analyst set, per node


@dataclass
class Settings:
    """Every node's control, plus the percentages each node last had in "my probabilities".

    The page keeps one of these in its session; widgets only show it and their
    callbacks change it, so a control never commits anything on its own and a
    node's own percentages survive a detour through a definite state.
    """

    controls: dict[str, NodeControl] = field(default_factory=dict)
    kept: dict[str, dict[str, int]] = field(default_factory=dict)

    def control(self, node: str) -> NodeControl:
        return self.controls.get(node, NodeControl())

    def set_state(self, node: str, state: str | None) -> None:
        """A definite state (hard evidence); None falls back to the node's own percentages, else not set."""
        if state is not None:
            self.controls[node] = NodeControl(STATE, state=state)
        elif node in self.kept:
            self.controls[node] = NodeControl(PROBABILITIES, percents=dict(self.kept[node]))
        else:
            self.controls.pop(node, None)

    def toggle_state(self, node: str, state: str) -> None:
        """A click on a state: set it, or clear it when it is the state already set."""
        c = self.control(node)
        self.set_state(node, None if c.mode == STATE and c.state == state else state)

    def set_percents(self, node: str, percents: Mapping[str, float]) -> None:
        """The analyst's own probabilities for the node (whole percentages summing to 100)."""
        values = {s: int(round(float(v))) for s, v in percents.items()}
        self.kept[node] = values
        self.controls[node] = NodeControl(PROBABILITIES, percents=dict(values))

    def clear(self, node: str) -> None:
        """Back to "not set": the node shows the model's belief again."""
        self.controls.pop(node, None)
        self.kept.pop(node, None)

    def set_nodes(self) -> list[str]:
        return [n for n, c in self.controls.items() if c.mode != UNSET]


def shown_percents(
    settings: Settings, node: str, states: Sequence[str], belief: Mapping[str, float]
) -> dict[str, int]:
    """What a node's sliders show: its own percentages when it has them, else the current belief.

    Moving one slider then starts from exactly these values, so opening "my
    probabilities" never changes the forecast by itself.
    """
    c = settings.control(node)
    if c.mode == PROBABILITIES:
        return {s: int(round(float(c.percents.get(s, 0)))) for s in states}
    if node in settings.kept:
        return {s: int(settings.kept[node].get(s, 0)) for s in states}
    pct = round_percents([belief.get(s, 0.0) for s in states])
    return dict(zip(states, pct, strict=True))


def settings_from_scenario(
    model: Model, scenario: Scenario | Evidence
) -> tuple[Settings, list[str], dict[str, dict[str, float]]]:
    """Settings, applied item ids and leftover likelihood weights that reproduce a scenario."""
    controls, item_ids, lik = controls_from_scenario(model, scenario)
    kept = {
        n: {s: int(v) for s, v in c.percents.items()}
        for n, c in controls.items()
        if c.mode == PROBABILITIES
    }
    return Settings(dict(controls), kept), item_ids, lik

"""The metadata a result table carries in ``DataFrame.attrs``: every key, declared here.

Results carry data, not sentences.  Analyses, batch runs and the model's own
tables put structured values under the keys below (ids, numbers, dates as ISO
text); writers turn them into words through one naming object
(`forecast.naming.Naming`), so a node id never leaks into a report and a
sentence is never parsed back into data.

| key | type | written by | meaning |
|---|---|---|---|
| model_id, model_title | str | every table | the model's id and title |
| as_of | str (ISO date) | every table | the model's as-of date |
| question, horizon | str | every table | the forecasting question and its horizon |
| resolution | {node: {state: text}} | every table | resolution criteria per outcome state |
| model_hash | str | every table | SHA-256 of the model file's content |
| labels | {node: label} | every table | node names for people |
| state_labels | {node: {state: label}} | every table | state names for people |
| source_labels | {source id: citation} | every table | short citations |
| scenario | str | posteriors, analyses | the evidence's name |
| scenarios | [str] | batch runs | the scenario names, in order |
| evidence | [EvidenceRecord] or {scenario: [EvidenceRecord]} | posteriors, analyses, runs | the evidence used |
| analysis_kind | str | analyses, timeline | which analysis (see ANALYSIS_KINDS) |
| target | str | analyses | target ids: 'node=state', 'node' or 'a, b' |
| target_node, target_state | str | analyses | the target, structured (state '' for a node target) |
| target_nodes | [str] | uncertainty, timeline | the target nodes of a many-node analysis |
| target_probability | float | sensitivity, explain, explain_sequence | P(target) under the evidence |
| prior_probability | float | explain_sequence | P(target) without evidence |
| baseline | float or {state: float} | sensitivity, parameter_sensitivity, explain, indicators | the target's value the analysis starts from |
| pieces | int | explain, explain_sequence | how many pieces of evidence were weighed |
| target_entropy_bits | float | indicators | the target's entropy now |
| settings | {str: value} | analyses | the analysis settings (seeds, draws, delta, ...) |
| seed | int or None | uncertainty | the random seed of the Monte Carlo draws |
| draws_used, samples | int | uncertainty | draws that met the evidence, of those made |
| interval_settings | {str: value} | posteriors with intervals | the uncertainty settings behind p05..p95 |
| percent_columns | [str] | analyses | further columns holding probabilities |
| decimals | {column: int} | analyses | digits to show for non-probability numbers |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypedDict

from .evidence import Evidence


class EvidenceRecord(TypedDict, total=False):
    """One piece of evidence used: what kind, on which node, with which numbers."""

    kind: str  # do | hard | likelihood | fixed | item
    node: str
    state: str  # hard evidence: the state fixed
    weights: dict[str, float]  # likelihood / item weights, or fixed probabilities
    item: str  # evidence item id
    date: str  # evidence item date (ISO)
    title: str  # evidence item title
    source: str  # source id ('' for analyst entries)
    detail: str  # the legacy one-line description (journals store it)


class Metadata(TypedDict, total=False):
    """Every key a result table's attrs may carry (see the module docstring)."""

    model_id: str
    model_title: str
    as_of: str
    question: str
    horizon: str
    resolution: dict[str, dict[str, str]]
    model_hash: str
    labels: dict[str, str]
    state_labels: dict[str, dict[str, str]]
    source_labels: dict[str, str]
    scenario: str
    scenarios: list[str]
    evidence: list[EvidenceRecord] | dict[str, list[EvidenceRecord]]
    analysis_kind: str
    target: str
    target_node: str
    target_state: str
    target_nodes: list[str]
    target_probability: float
    prior_probability: float
    baseline: float | dict[str, float]
    pieces: int
    target_entropy_bits: float
    settings: dict[str, Any]
    seed: int | None
    draws_used: int
    samples: int
    interval_settings: dict[str, Any]
    percent_columns: list[str]
    decimals: dict[str, int]


KEYS: tuple[str, ...] = tuple(Metadata.__annotations__)

ANALYSIS_KINDS = (
    "sensitivity",
    "parameter_sensitivity",
    "indicators",
    "explain",
    "explain_sequence",
    "uncertainty",
    "timeline",
)


def _weights(m: Mapping[str, float]) -> dict[str, float]:
    return {str(k): float(v) for k, v in m.items()}


def evidence_records(ev: Evidence) -> list[EvidenceRecord]:
    """The evidence as structured records (one per piece), in `Evidence.describe` order."""
    legacy = ev.describe()
    out: list[EvidenceRecord] = []
    for n, s in ev.do.items():  # interventions (graph surgery) come first, as in describe()
        out.append({"kind": "do", "node": n, "state": s, "source": ""})
    for n, s in ev.hard.items():
        out.append({"kind": "hard", "node": n, "state": s, "source": ""})
    for n, w in ev.likelihood.items():
        out.append({"kind": "likelihood", "node": n, "weights": _weights(w), "source": ""})
    for n, q in ev.fixed.items():
        out.append({"kind": "fixed", "node": n, "weights": _weights(q), "source": ""})
    for it in ev.items:
        out.append(
            {
                "kind": "item",
                "node": it.node,
                "weights": _weights(it.likelihood),
                "item": it.id,
                "date": it.date.isoformat(),
                "title": it.title,
                "source": it.source,
            }
        )
    for rec, old in zip(out, legacy, strict=True):
        rec["detail"] = str(old.get("detail", ""))
    return out


def analysis_attrs(
    metadata: Mapping[str, Any],
    ev: Evidence,
    kind: str,
    target_node: str,
    target_state: str = "",
    settings: Mapping[str, Any] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """The attrs of an analysis table: model metadata, the structured target, settings, evidence."""
    unknown = set(values) - set(KEYS)
    if unknown:  # a key not declared above is a bug in the caller
        raise KeyError(f"undeclared result metadata key(s): {sorted(unknown)}")
    if kind not in ANALYSIS_KINDS:
        raise KeyError(f"undeclared analysis kind '{kind}'")
    target = f"{target_node}={target_state}" if target_state else target_node
    return {
        **metadata,
        "analysis_kind": kind,
        "target": target,
        "target_node": target_node,
        "target_state": target_state,
        "settings": dict(settings or {}),
        "evidence": evidence_records(ev),
        "scenario": ev.name,
        **values,
    }


def evidence_list(attrs: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """The evidence records of a table, flattened over scenarios (each then has 'scenario')."""
    ev = attrs.get("evidence")
    if isinstance(ev, list):
        return [dict(r) for r in ev]
    if isinstance(ev, dict):
        return [{"scenario": name, **r} for name, rows in ev.items() for r in rows]
    return []


def cutoff(attrs: Mapping[Any, Any]) -> dt.date | None:
    """The evidence cut-off: the latest date among the evidence items used, if any."""
    dates = [r.get("date") for r in evidence_list(attrs) if r.get("date")]
    return max(dt.date.fromisoformat(str(d)) for d in dates) if dates else None

"""Batch runs over named scenarios, and the timeline replay of dated evidence items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

import pandas as pd

from .errors import EvidenceError
from .evidence import Evidence, EvidenceItem, EvidenceLike, Scenario
from .model import Model
from .results import evidence_records


def run(
    model: Model,
    scenarios: Sequence[EvidenceLike],
    targets: Iterable[str] | str | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Posteriors of several scenarios side by side (one vectorised pass).

    Columns: scenario, node, state, probability, words.
    """
    if not scenarios:
        raise EvidenceError("no scenarios given")
    evs = [model.evidence(s) if isinstance(s, Scenario) else s for s in scenarios]
    if names is None:
        names = [getattr(s, "name", "") or f"scenario {i + 1}" for i, s in enumerate(evs)]
    if len(set(names)) != len(names):
        raise EvidenceError(f"scenario names must be distinct, got {list(names)}")
    table = model.posteriors_batch(evs, targets=targets, names=names)
    table.attrs["evidence"] = {
        n: (evidence_records(e) if isinstance(e, Evidence) else [])
        for n, e in zip(names, evs, strict=True)
    }
    return table


def timeline(
    model: Model,
    items: Iterable[EvidenceItem],
    targets: Iterable[str] | str | None = None,
    *,
    scenario: EvidenceLike = None,
    target: Iterable[str] | str | None = None,
    base: EvidenceLike = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Replay dated items in date order, on top of `scenario`: the target posteriors after each one.

    Targets default to the model's outcomes (Model.default_targets).  The first rows (item
    ``baseline``, no date) show the forecast before any item; each later row
    adds one item on top of all earlier ones.  Every item is aged to the forecast
    date (`as_of`, default the model's as-of date); its effective weight (the
    exponent on its likelihood, 0 when it is dated after the forecast date) is in
    the `weight` column.  Columns: date, item, weight, node, state, probability, words.
    (`target=` and `base=` are the older names of `targets=` and `scenario=`.)
    """
    if target is not None:
        if targets is not None:
            raise EvidenceError("give targets or target, not both")
        targets = target
    if base is not None:
        if scenario is not None:
            raise EvidenceError("give scenario or base, not both")
        scenario = base
    ordered = sorted(items, key=lambda it: (it.date, it.id))
    if not ordered:
        raise EvidenceError("no evidence items to replay")
    start = model.evidence(scenario, as_of=as_of) if scenario is not None else Evidence(as_of=as_of)
    # one forecast date for every step, so each item keeps the same weight down the replay
    day = model.forecast_date(replace(start, items=start.items + tuple(ordered)))
    start = replace(start, as_of=day)
    steps = [start] + [
        replace(start, items=start.items + tuple(ordered[: k + 1])) for k in range(len(ordered))
    ]
    for ev in steps[1:2]:
        model.check_evidence(ev)
    for it in ordered:
        model.check_evidence(Evidence(items=(it,)))
    targets = targets if targets is not None else model.default_targets
    labels = ["baseline"] + [it.id for it in ordered]
    table = model.posteriors_batch(steps, targets=targets, names=labels)
    dates = {"baseline": None, **{it.id: it.date for it in ordered}}
    weights = {it.id: model.item_weight(it, day) for it in ordered}
    table.insert(0, "date", pd.to_datetime(table["scenario"].map(dates)).dt.date)
    table.insert(2, "weight", table["scenario"].map(weights).astype("Float64"))
    table = table.rename(columns={"scenario": "item"})
    table.attrs["forecast_date"] = day.isoformat() if day else ""
    table.attrs["analysis_kind"] = "timeline"
    table.attrs["target_nodes"] = [targets] if isinstance(targets, str) else list(targets)
    table.attrs["evidence"] = evidence_records(steps[-1])
    table.attrs["scenario"] = start.name
    return table


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """A `run` table turned for reading: one row per node and state, one probability column per scenario.

    Keeps the model's node and state order and the scenarios' order; attrs are kept for exports.
    """
    missing = {"scenario", "node", "state", "probability"} - set(table.columns)
    if missing:
        raise EvidenceError(
            f"side_by_side needs a table from forecast.run; missing column(s) {sorted(missing)}"
        )
    names = list(dict.fromkeys(table["scenario"]))
    if not names:
        raise EvidenceError("no scenarios in the table")
    keys = table.loc[table["scenario"] == names[0], ["node", "state"]].reset_index(drop=True)
    out = keys.copy()
    for name in names:
        rows = table.loc[table["scenario"] == name, ["node", "state", "probability"]].reset_index(
            drop=True
        )
        if not rows[["node", "state"]].equals(keys):
            raise EvidenceError(
                f"scenario '{name}' has different nodes or states from '{names[0]}'"
            )
        out[str(name)] = rows["probability"].to_numpy()
    out.attrs = dict(table.attrs)
    return out


def evidence_as_of(
    items: Iterable[EvidenceItem], as_of: dt.date, model: Model | None = None
) -> Evidence:
    """The evidence a forecast made on `as_of` could use: the items dated on or before it.

    The result carries `as_of` as its forecast date, so the model ages each item to
    that day (docs/evidence.md); with `model` it is validated against the model.
    For retrospective forecasts: `model.posteriors(scenario=evidence_as_of(items, day))`.
    """
    if not isinstance(as_of, dt.date):
        raise EvidenceError(f"as_of must be a date, not {type(as_of).__name__}")
    known = tuple(sorted((it for it in items if it.date <= as_of), key=lambda it: (it.date, it.id)))
    ev = Evidence(items=known, as_of=as_of)
    if model is not None:
        model.check_evidence(ev)
    return ev

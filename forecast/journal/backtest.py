"""Backtests: the model's forecast issued as of past dates, scored against known outcomes.

A resolutions file (YAML) lists what happened: one entry per outcome node with
its state, the day it became known and a source.  At each as-of date the model
is evaluated with only the evidence items dated on or before that date, and
scored (Brier, log) against every resolution known on or after it, next to the
uniform forecast and, if given, a reference forecast (for example a verbal
judgement turned into numbers).  Nothing is written to the journal unless the
caller records the forecasts (``forecast backtest --record``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import pandas as pd

from ..errors import JournalError
from ..evidence import Evidence, EvidenceItem, Scenario
from ..model import Model
from ..yamlio import load_yaml
from .records import as_date, cut_off, items_as_of, text
from .scoring import brier, log_score

MAX_DATES = 500
MAX_RESOLUTIONS = 1000
FORECASTERS = ("model", "uniform", "reference")


class Outcome(NamedTuple):
    """One line of a resolutions file."""

    node: str
    state: str
    known_on: dt.date
    source: str


def _check_outcomes(model: Model, entries: Sequence[Outcome]) -> list[Outcome]:
    seen: set[str] = set()
    for e in entries:
        if e.node not in model.nodes:
            raise JournalError(f"resolutions: model '{model.id}' has no node '{e.node}'")
        if e.state not in model.states(e.node):
            raise JournalError(
                f"resolutions: node '{e.node}' has no state '{e.state}'; its states are {model.states(e.node)}"
            )
        if e.node in seen:
            raise JournalError(f"resolutions: node '{e.node}' is resolved twice; give it once")
        seen.add(e.node)
    return list(entries)


def parse_resolutions(data: Any, where: str = "resolutions") -> list[Outcome]:
    """Resolutions from parsed YAML: a list (or ``resolutions:`` list) of node, state, known_on, source."""
    if isinstance(data, Mapping) and set(data) == {"resolutions"}:
        data = data["resolutions"]
    if not isinstance(data, list) or not data:
        raise JournalError(
            f"{where}: expected a list of resolutions (node, state, known_on, source)"
        )
    if len(data) > MAX_RESOLUTIONS:
        raise JournalError(f"{where}: {len(data)} resolutions; the limit is {MAX_RESOLUTIONS}")
    out = []
    for k, entry in enumerate(data, start=1):
        if not isinstance(entry, Mapping):
            raise JournalError(f"{where}: entry {k} is not a mapping of node, state, known_on")
        extra = sorted(set(map(str, entry)) - {"node", "state", "known_on", "source"})
        if extra:
            raise JournalError(f"{where}: entry {k} has unknown field(s) {extra}")
        for key in ("node", "state", "known_on"):
            if key not in entry:
                raise JournalError(f"{where}: entry {k} needs '{key}'")
        node, state = entry["node"], entry["state"]
        if not isinstance(node, str) or not isinstance(state, str):
            raise JournalError(f"{where}: entry {k}: node and state must be text")
        known = entry["known_on"]
        out.append(
            Outcome(
                node.strip(),
                state.strip(),
                as_date(
                    known if isinstance(known, dt.date) else str(known),
                    f"{where}: entry {k}: known_on",
                ),
                text(entry.get("source", ""), f"{where}: entry {k}: source", 1000, one_line=False),
            )
        )
    return out


def load_resolutions(path: str | os.PathLike[str]) -> list[Outcome]:
    """Read a resolutions YAML file (see `parse_resolutions`)."""
    return parse_resolutions(load_yaml(path, "resolutions file", JournalError), str(path))


def parse_reference(model: Model, data: Any, where: str = "reference") -> dict[str, list[float]]:
    """A reference forecast {node: {state: probability}} checked against the model, in state order."""
    if isinstance(data, Mapping) and set(data) == {"reference"}:
        data = data["reference"]
    if not isinstance(data, Mapping) or not data:
        raise JournalError(f"{where}: expected a mapping of node to {{state: probability}}")
    out: dict[str, list[float]] = {}
    for node, dist in data.items():
        node = str(node)
        if node not in model.nodes:
            raise JournalError(f"{where}: model '{model.id}' has no node '{node}'")
        states = model.states(node)
        if not isinstance(dist, Mapping) or set(map(str, dist)) != set(states):
            raise JournalError(
                f"{where}: '{node}' needs a probability for each of its states {states}"
            )
        probs = []
        for s in states:
            p = {str(k): v for k, v in dist.items()}[s]
            if (
                isinstance(p, bool)
                or not isinstance(p, int | float)
                or not math.isfinite(p)
                or not 0 <= p <= 1
            ):
                raise JournalError(f"{where}: '{node}' = '{s}' is {p!r}, not a probability")
            probs.append(float(p))
        if abs(sum(probs) - 1) > 1e-6:
            raise JournalError(
                f"{where}: the probabilities of '{node}' sum to {sum(probs):.6g}, not 1"
            )
        out[node] = probs
    return out


def load_reference(model: Model, path: str | os.PathLike[str]) -> dict[str, list[float]]:
    return parse_reference(model, load_yaml(path, "reference forecast", JournalError), str(path))


def applicable(model: Model, items: Iterable[EvidenceItem]) -> list[EvidenceItem]:
    """The items that bear on this model's nodes and states (Model.applicable_items)."""
    return list(model.applicable_items(items)[0])


def default_dates(
    model: Model, items: Sequence[EvidenceItem], outcomes: Sequence[Outcome]
) -> list[dt.date]:
    """The model's as-of date and every item date, up to the last day an outcome became known."""
    last = max(o.known_on for o in outcomes)
    days = {it.date for it in items}
    if model.spec.as_of:
        days.add(model.spec.as_of)
    return sorted(d for d in days if d <= last) or [min(o.known_on for o in outcomes)]


def backtest(
    model: Model,
    outcomes: Sequence[Outcome] | str | os.PathLike[str],
    *,
    as_of: Sequence[dt.date | str] | None = None,
    items: Iterable[EvidenceItem] = (),
    scenario: Scenario | Evidence | Mapping[str, Any] | None = None,
    reference: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Issue the model's forecast as of each date and score it against the outcomes.

    One row per as-of date and resolved node known on or after that date:
    as_of, node, outcome, known_on, items (how many evidence items were known),
    then for each forecaster (model, uniform, reference if given) its
    probability of the outcome, Brier and log score; last, one ``mean`` row per
    node.  `items` are evidence items (those that do not fit the model are
    ignored); `scenario` adds fixed settings (its own items are cut off too).
    """
    if not isinstance(model, Model):
        raise JournalError(f"backtest needs a forecast.Model, not {type(model).__name__}")
    if isinstance(outcomes, str | os.PathLike):
        outcomes = load_resolutions(outcomes)
    outcomes = _check_outcomes(model, outcomes)
    pool = applicable(model, items)
    base = model.evidence(scenario)
    base = replace(base, items=base.items + tuple(pool))
    today = dt.datetime.now(dt.UTC).date()
    dates = (
        sorted({as_date(d, "as-of date") for d in as_of})
        if as_of
        else default_dates(model, pool, outcomes)
    )
    if len(dates) > MAX_DATES:
        raise JournalError(f"{len(dates)} as-of dates; a backtest takes at most {MAX_DATES}")
    late = [d for d in dates if d > today]
    if late:
        raise JournalError(f"as-of date {late[0].isoformat()} is after today; backtests look back")
    ref = dict(reference or {})
    evs = [cut_off(base, d)[0] for d in dates]
    nodes = [o.node for o in outcomes]
    table = model.posteriors_batch(evs, targets=nodes, names=[d.isoformat() for d in dates])
    rows: list[dict[str, Any]] = []
    for d, ev in zip(dates, evs, strict=True):
        part = table[table["scenario"] == d.isoformat()]
        for o in outcomes:
            if d > o.known_on:
                continue  # the outcome was known: not a forecast
            states = model.states(o.node)
            got = part[part["node"] == o.node].set_index("state")["probability"]
            dists = {
                "model": [float(got[s]) for s in states],
                "uniform": [1 / len(states)] * len(states),
            }
            if o.node in ref:
                dists["reference"] = list(ref[o.node])
            k = states.index(o.state)
            row: dict[str, Any] = {
                "as_of": d.isoformat(),
                "node": o.node,
                "outcome": o.state,
                "known_on": o.known_on.isoformat(),
                "items": len(items_as_of(ev.items, d)),
            }
            for who in FORECASTERS:
                if who in dists:
                    row[f"{who}_probability"] = dists[who][k]
                    row[f"{who}_brier"] = brier(dists[who], k)
                    row[f"{who}_log_score"] = log_score(dists[who][k])
            rows.append(row)
    if not rows:
        raise JournalError(
            "no as-of date falls on or before a day an outcome became known; nothing to score"
        )
    out = pd.DataFrame(rows)
    means = []
    for node, group in out.groupby("node", sort=False):
        mean: dict[str, Any] = {
            "as_of": "mean",
            "node": node,
            "outcome": group["outcome"].iloc[0],
            "known_on": group["known_on"].iloc[0],
            "items": int(group["items"].max()),
        }
        for col in out.columns[5:]:
            mean[col] = float(group[col].mean())
        means.append(mean)
    out = pd.concat([out, pd.DataFrame(means)], ignore_index=True)
    out.attrs = {
        "title": f"Backtest of {model.title or model.id}",
        "model_id": model.id,
        "model_hash": model.content_hash,
        "as_of_dates": [d.isoformat() for d in dates],
        "forecasters": [w for w in FORECASTERS if f"{w}_brier" in out.columns],
        "sources": {o.node: o.source for o in outcomes},
    }
    return out


def forecast_path(table: pd.DataFrame) -> pd.DataFrame:
    """The backtest's model forecasts over the as-of dates (mean rows dropped), for charts."""
    part = table[table["as_of"] != "mean"]
    return pd.DataFrame(
        {
            "as_of": pd.to_datetime(part["as_of"]),
            "node": part["node"],
            "outcome": part["outcome"],
            "probability": part["model_probability"].astype(float),
            "uniform": part["uniform_probability"].astype(float),
        }
    )

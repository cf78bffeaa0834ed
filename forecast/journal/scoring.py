"""Scoring the track record: proper scores, calibration, pooling and recalibration.

Rules (docs/journal.md):
- a forecast of a node is scored against the node's *current* resolution if it
  was issued (its as-of date) on or before the day the outcome became known;
  a forecast issued later knew the answer and is never scored;
- live and retrospective forecasts are scored, averaged and calibrated apart
  (the ``kind`` column), and so are forecasts of model files with different
  content hashes under one id, unless ``combine_versions=True``;
- Brier: sum over states of (p - outcome)^2 (0 best, 2 worst); log score:
  ln p(what happened) (0 best), with p = 0 counted as LOG_FLOOR.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import JournalError
from ..model import Model
from .records import LIVE, RETROSPECTIVE, Raw, model_filter, read, resolutions, settings
from .storage import describe

LOG_FLOOR = 1e-12
BINS = 10
COMBINED = "(combined)"
ALL = "(all)"
DB = str | os.PathLike[str] | None

SCORE_COLUMNS = [
    "id",
    "recorded_at",
    "as_of",
    "kind",
    "model",
    "model_hash",
    "author",
    "node",
    "outcome",
    "known_on",
    "amended",
    "probability",
    "brier",
    "log_score",
    "scenario",
    "note",
]
MEAN_COLUMNS = ["model", "model_hash", "kind", "author", "scored", "brier", "log_score"]
CALIBRATION_COLUMNS = [
    "kind",
    "author",
    "bin",
    "low",
    "high",
    "forecasts",
    "mean_probability",
    "observed_frequency",
]
DECOMPOSITION_COLUMNS = [
    "kind",
    "author",
    "probabilities",
    "brier",
    "reliability",
    "resolution",
    "uncertainty",
    "within_bin",
]


class Scores(NamedTuple):
    """What `score` returns: per-forecast scores, their means, calibration and its decomposition."""

    scores: pd.DataFrame
    means: pd.DataFrame
    calibration: pd.DataFrame
    decomposition: pd.DataFrame


def brier(probabilities: Sequence[float], outcome: int) -> float:
    """Brier's multi-category score: sum over states of (p - indicator)^2, 0 (best) to 2."""
    return float(
        sum((p - (1.0 if k == outcome else 0.0)) ** 2 for k, p in enumerate(probabilities))
    )


def log_score(probability: float) -> float:
    """ln p of the state that happened (0 best); p = 0 counts as LOG_FLOOR so means stay finite."""
    return math.log(max(float(probability), LOG_FLOOR))


class Scored(NamedTuple):
    """One resolved forecast of one node, with its full distribution."""

    raw: Raw
    states: list[str]
    probs: list[float]
    outcome: int
    known_on: str
    amended: bool


def scored_forecasts(
    db: DB, model_id: str | None, author: str | None, kind: str | None = None
) -> tuple[list[Scored], int]:
    """Every forecast with a current resolution it may be scored against, and how many were skipped."""
    rows, _ = read(db, model_id, author)
    res = resolutions(model=model_id, current=True, db=db)
    current: dict[tuple[str, str], tuple[str, str, bool]] = {
        (str(r["model"]), str(r["node"])): (
            str(r["state"]),
            r["known_on"].isoformat(),
            bool(r["amended"]),
        )
        for r in res.to_dict("records")
    }
    out: list[Scored] = []
    skipped = 0
    for (_, node), group in itertools.groupby(rows, key=lambda r: (r.id, r.node)):
        part = list(group)
        first = part[0]
        found = current.get((first.model, node))
        if found is None or first.as_of > found[1]:
            continue  # unresolved, or issued after the outcome was known
        if kind is not None and first.kind != kind:
            continue
        states = [r.state for r in part]
        if found[0] not in states:
            skipped += 1
            continue
        out.append(
            Scored(
                first,
                states,
                [float(r.probability) for r in part],
                states.index(found[0]),
                found[1],
                found[2],
            )
        )
    return out, skipped


def _check_kind(kind: str | None) -> str | None:
    if kind not in (None, LIVE, RETROSPECTIVE):
        raise JournalError(f"kind must be '{LIVE}' or '{RETROSPECTIVE}', not {kind!r}")
    return kind


def score(
    *,
    model: Model | str | None = None,
    author: str | None = None,
    kind: str | None = None,
    combine_versions: bool = False,
    db: DB = None,
) -> Scores:
    """Score every resolved forecast (see the module docstring for the rules).

    - ``scores``: one row per forecast and resolved node (columns id, recorded_at,
      as_of, kind, model, model_hash, author, node, outcome, known_on, amended,
      probability (given to the outcome), brier, log_score, scenario, note);
    - ``means``: per model, model hash, kind and author, then over all authors
      (author ``(all)``) per model, hash and kind; kinds are never averaged
      together.  ``combine_versions`` pools the hashes (model_hash ``(combined)``);
    - ``calibration``: every state probability of the scored forecasts in ten
      bins, per kind and author and for all authors, with counts;
    - ``decomposition``: Murphy's reliability, resolution and uncertainty per
      kind and author (see `decompose`).
    """
    model_id = model_filter(model)
    kind = _check_kind(kind)
    found, skipped = scored_forecasts(db, model_id, author, kind)
    rows = [
        {
            "id": s.raw.id,
            "recorded_at": s.raw.recorded_at,
            "as_of": dt.date.fromisoformat(s.raw.as_of),
            "kind": s.raw.kind,
            "model": s.raw.model,
            "model_hash": COMBINED if combine_versions else s.raw.model_hash,
            "author": s.raw.author,
            "node": s.raw.node,
            "outcome": s.states[s.outcome],
            "known_on": dt.date.fromisoformat(s.known_on),
            "amended": s.amended,
            "probability": s.probs[s.outcome],
            "brier": brier(s.probs, s.outcome),
            "log_score": log_score(s.probs[s.outcome]),
            "scenario": s.raw.scenario,
            "note": s.raw.note,
        }
        for s in found
    ]
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    scores["recorded_at"] = pd.to_datetime(scores["recorded_at"], utc=True, format="ISO8601")
    if len(scores):
        scores = scores.sort_values(["id", "node"], kind="stable").reset_index(drop=True)
    hashes = sorted({s.raw.model_hash for s in found})
    meta = {
        "journal": describe(db),
        "model_id": model_id or "",
        "author": author or "",
        "skipped": skipped,
        "kinds": sorted({s.raw.kind for s in found}),
        "model_hashes": hashes,
        "combine_versions": combine_versions,
        "amended": sorted({f"{s.raw.model}/{s.raw.node}" for s in found if s.amended}),
    }
    scores.attrs.update(meta)
    means = _means(scores)
    means.attrs.update(meta)
    pairs = [(s.raw.kind, s.raw.author, s.probs, s.outcome) for s in found]
    calibration = _calibration(pairs)
    calibration.attrs.update(meta)
    decomposition = _decompositions(pairs)
    decomposition.attrs.update(meta)
    return Scores(scores, means, calibration, decomposition)


def _means(scores: pd.DataFrame) -> pd.DataFrame:
    if scores.empty:
        return pd.DataFrame(columns=MEAN_COLUMNS)
    keys = ["model", "model_hash", "kind"]
    agg = {
        "scored": ("brier", "size"),
        "brier": ("brier", "mean"),
        "log_score": ("log_score", "mean"),
    }
    groups = scores.groupby([*keys, "author"], sort=True).agg(**agg).reset_index()
    total = scores.groupby(keys, sort=True).agg(**agg).reset_index()
    total["author"] = ALL
    out = pd.concat([groups, total], ignore_index=True)
    out["_all"] = out["author"] == ALL
    out = out.sort_values([*keys, "_all", "author"], kind="stable").drop(columns="_all")
    return out[MEAN_COLUMNS].reset_index(drop=True)


def _bin_index(p: np.ndarray) -> np.ndarray:
    # 0.8 - 1e-15 is still in 80-90%
    return np.clip(np.floor(p * BINS + 1e-9).astype(int), 0, BINS - 1)


def _flatten(pairs: Sequence[tuple[Sequence[float], int]]) -> tuple[np.ndarray, np.ndarray]:
    """Every state probability of each forecast, and whether that state happened."""
    p = [float(x) for probs, _ in pairs for x in probs]
    hit = [1.0 if j == k else 0.0 for probs, k in pairs for j in range(len(probs))]
    return np.asarray(p, dtype=float), np.asarray(hit, dtype=float)


def _groups(
    pairs: Sequence[tuple[str, str, Sequence[float], int]],
) -> list[tuple[str, str, list[tuple[Sequence[float], int]]]]:
    """(kind, author, forecasts) per kind and author, then per kind for all authors."""
    out = []
    for kind in sorted({k for k, _, _, _ in pairs}):
        mine = [x for x in pairs if x[0] == kind]
        for author in sorted({a for _, a, _, _ in mine}):
            out.append((kind, author, [(p, o) for _, a, p, o in mine if a == author]))
        out.append((kind, ALL, [(p, o) for _, _, p, o in mine]))
    return out


def calibration_table(pairs: Sequence[tuple[Sequence[float], int]]) -> pd.DataFrame:
    """Forecast probability bins [0, .1), ..., [.9, 1] against the observed frequency; empty bins omitted."""
    cols = CALIBRATION_COLUMNS[2:]
    if not pairs:
        return pd.DataFrame(columns=cols)
    p, hit = _flatten(pairs)
    idx = _bin_index(p)
    rows = []
    for b in range(BINS):
        mask = idx == b
        if not mask.any():
            continue
        low, high = b / BINS, (b + 1) / BINS
        rows.append(
            {
                "bin": f"{low:.0%}–{high:.0%}",
                "low": low,
                "high": high,
                "forecasts": int(mask.sum()),
                "mean_probability": float(p[mask].mean()),
                "observed_frequency": float(hit[mask].mean()),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _calibration(pairs: Sequence[tuple[str, str, Sequence[float], int]]) -> pd.DataFrame:
    parts = []
    for kind, author, group in _groups(pairs):
        table = calibration_table(group)
        table.insert(0, "author", author)
        table.insert(0, "kind", kind)
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CALIBRATION_COLUMNS]


def decompose(pairs: Sequence[tuple[Sequence[float], int]]) -> dict[str, float]:
    """Murphy's decomposition of the Brier score over every state probability, in ten bins.

    With N state probabilities p (bin k: n_k of them, mean forecast f_k, observed
    frequency o_k; overall frequency o): reliability = sum n_k (f_k - o_k)^2 / N,
    resolution = sum n_k (o_k - o)^2 / N, uncertainty = o (1 - o), and
    brier = mean (p - hit)^2 = reliability - resolution + uncertainty + within_bin,
    where within_bin (the spread of forecasts inside a bin) is 0 when every
    forecast in a bin is the same.  The multi-category Brier score of a
    K-state question is K times this per-probability mean.
    """
    p, hit = _flatten(pairs)
    if not len(p):
        raise JournalError("no resolved forecasts to decompose")
    idx = _bin_index(p)
    n = len(p)
    o = float(hit.mean())
    rel = res = 0.0
    for b in np.unique(idx):
        mask = idx == b
        f_k, o_k, n_k = float(p[mask].mean()), float(hit[mask].mean()), int(mask.sum())
        rel += n_k * (f_k - o_k) ** 2 / n
        res += n_k * (o_k - o) ** 2 / n
    bs = float(((p - hit) ** 2).mean())
    unc = o * (1 - o)
    return {
        "probabilities": float(n),
        "brier": bs,
        "reliability": rel,
        "resolution": res,
        "uncertainty": unc,
        "within_bin": bs - (rel - res + unc),
    }


def _decompositions(pairs: Sequence[tuple[str, str, Sequence[float], int]]) -> pd.DataFrame:
    rows = [{"kind": k, "author": a, **decompose(g)} for k, a, g in _groups(pairs)]
    table = pd.DataFrame(rows, columns=DECOMPOSITION_COLUMNS)
    table["probabilities"] = table["probabilities"].astype(int)
    return table


# ---------------------------------------------------------------- pooling


POOL_COLUMNS = ["model", "model_hash", "node", "forecaster", "authors", "state", "probability"]
# A pool's scores: which pool (the first five POOL_COLUMNS), what happened, and its scores.
POOL_SCORE_COLUMNS = [*POOL_COLUMNS[:5], "outcome", "known_on", "probability", "brier", "log_score"]
LINEAR, LOG_ODDS = "linear pool", "mean of log-odds"


def linear_pool(forecasts: Sequence[Sequence[float]], extremise: float = 1.0) -> np.ndarray:
    """The mean of the authors' probabilities, optionally raised to `extremise` and renormalised."""
    mean = np.asarray(forecasts, dtype=float).mean(axis=0)
    return _power(mean, extremise)


def log_odds_pool(forecasts: Sequence[Sequence[float]], extremise: float = 1.0) -> np.ndarray:
    """The mean of log-odds (normalised geometric mean), times `extremise` in log-odds.

    For two states this is logit(p) = extremise * mean(logit(p_i)); for more it
    is p_s proportional to exp(extremise * mean_i ln p_is).  A probability of 0
    counts as LOG_FLOOR.
    """
    logs = np.log(np.maximum(np.asarray(forecasts, dtype=float), LOG_FLOOR)).mean(axis=0)
    z = extremise * logs
    w = np.exp(z - z.max())
    return w / w.sum()


def _power(p: np.ndarray, a: float) -> np.ndarray:
    if a == 1.0:
        return p / p.sum()
    w = np.power(np.maximum(p, 0.0), a)
    return w / w.sum()


def extremise_setting(db: DB, model_id: str, before: str | None = None) -> float | None:
    """The extremising exponent saved for the model, as it stood before `before` (ISO time)."""
    table = settings(model=model_id, db=db)
    table = table[table["key"] == "extremise"]
    if before is not None:
        table = table[table["recorded_at"] < before]
    return None if table.empty else float(table["value"].iloc[-1])


class Pooled(NamedTuple):
    """What `pool` returns: pooled and per-author forecasts, and their scores where resolved."""

    forecasts: pd.DataFrame
    scores: pd.DataFrame


def pool(
    *,
    model: Model | str,
    node: str | None = None,
    kind: str = LIVE,
    extremise: float | None = None,
    db: DB = None,
) -> Pooled:
    """Pool each author's latest forecast of each question, and score the pools beside the authors.

    A question is a model (and content hash) and node.  Per author, the latest
    forecast of that kind issued on or before the day the outcome became known
    (the latest of all if unresolved).  Pools: the linear pool and the mean of
    log-odds; with an extremising exponent (argument, else the ``extremise``
    setting saved before the question was resolved) each also extremised.
    """
    model_id = model_filter(model)
    if not model_id:
        raise JournalError("pooling needs a model")
    kind = _check_kind(kind) or LIVE
    if extremise is not None and (
        isinstance(extremise, bool)
        or not isinstance(extremise, int | float)
        or not 0 < extremise <= 10
    ):
        raise JournalError(
            f"the extremising exponent must be above 0 and at most 10, not {extremise!r}"
        )
    rows, _ = read(db, model_id, None)
    res = resolutions(model=model_id, db=db)
    first_resolved: dict[str, str] = {}
    current: dict[str, tuple[str, str]] = {}
    for r in res.to_dict("records"):
        first_resolved.setdefault(str(r["node"]), r["recorded_at"].isoformat())
        if r["current"]:
            current[str(r["node"])] = (str(r["state"]), r["known_on"].isoformat())
    latest: dict[tuple[str, str, str], tuple[list[str], list[float]]] = {}
    for (_, n), group in itertools.groupby(rows, key=lambda r: (r.id, r.node)):
        part = list(group)
        first = part[0]
        if (node and n != node) or first.kind != kind:
            continue
        found = current.get(n)
        if found is not None and first.as_of > found[1]:
            continue
        latest[(first.model_hash, n, first.author)] = (
            [r.state for r in part],
            [float(r.probability) for r in part],
        )
    out_rows: list[dict[str, Any]] = []
    score_rows: list[dict[str, Any]] = []
    questions = sorted({(h, n) for h, n, _ in latest})
    for h, n in questions:
        authors = sorted(a for hh, nn, a in latest if (hh, nn) == (h, n))
        states = latest[(h, n, authors[0])][0]
        dists = [latest[(h, n, a)][1] for a in authors if latest[(h, n, a)][0] == states]
        named: list[tuple[str, np.ndarray]] = [
            (a, np.asarray(latest[(h, n, a)][1])) for a in authors
        ]
        a = extremise
        if a is None:
            a = extremise_setting(db, model_id, first_resolved.get(n))
        named.append((LINEAR, linear_pool(dists)))
        named.append((LOG_ODDS, log_odds_pool(dists)))
        if a is not None and a != 1.0:
            named.append((f"{LINEAR}, extremised ×{a:g}", linear_pool(dists, a)))
            named.append((f"{LOG_ODDS}, extremised ×{a:g}", log_odds_pool(dists, a)))
        for who, dist in named:
            count = 1 if who in authors else len(dists)
            out_rows += [
                {
                    "model": model_id,
                    "model_hash": h,
                    "node": n,
                    "forecaster": who,
                    "authors": count,
                    "state": s,
                    "probability": float(p),
                }
                for s, p in zip(states, dist, strict=True)
            ]
            found = current.get(n)
            if found is not None and found[0] in states:
                k = states.index(found[0])
                score_rows.append(
                    {
                        "model": model_id,
                        "model_hash": h,
                        "node": n,
                        "forecaster": who,
                        "authors": count,
                        "outcome": found[0],
                        "known_on": dt.date.fromisoformat(found[1]),
                        "probability": float(dist[k]),
                        "brier": brier(list(dist), k),
                        "log_score": log_score(float(dist[k])),
                    }
                )
    meta = {"journal": describe(db), "model_id": model_id, "kind": kind}
    forecasts = pd.DataFrame(out_rows, columns=POOL_COLUMNS)
    forecasts.attrs.update(meta)
    scores = pd.DataFrame(score_rows, columns=POOL_SCORE_COLUMNS)
    scores.attrs.update(meta)
    return Pooled(forecasts, scores)


# ---------------------------------------------------------------- recalibration


RECALIBRATION_COLUMNS = [
    "id",
    "author",
    "node",
    "known_on",
    "fitted_on",
    "exponent",
    "probability",
    "recalibrated",
    "brier",
    "recalibrated_brier",
    "log_score",
    "recalibrated_log_score",
    "sample",
]
EXPONENT_RANGE = (0.05, 20.0)


def fit_exponent(pairs: Sequence[tuple[Sequence[float], int]]) -> float:
    """The log-odds scale a maximising the log score of p_s^a / sum p^a over `pairs`."""
    from scipy.optimize import minimize_scalar

    logs = [np.log(np.maximum(np.asarray(p, dtype=float), LOG_FLOOR)) for p, _ in pairs]

    def loss(a: float) -> float:
        total = 0.0
        for lp, (_, k) in zip(logs, pairs, strict=True):
            z = a * lp
            m = z.max()
            total -= z[k] - (m + math.log(float(np.exp(z - m).sum())))
        return total

    result = minimize_scalar(loss, bounds=EXPONENT_RANGE, method="bounded")
    return float(result.x)


def scale(probs: Sequence[float], a: float) -> np.ndarray:
    """Probabilities with their log-odds scaled by `a` (p_s^a renormalised)."""
    z = a * np.log(np.maximum(np.asarray(probs, dtype=float), LOG_FLOOR))
    w = np.exp(z - z.max())
    return w / w.sum()


def recalibrate(
    *,
    model: Model | str | None = None,
    author: str | None = None,
    kind: str = LIVE,
    min_questions: int = 1,
    db: DB = None,
) -> pd.DataFrame:
    """Out-of-sample recalibration: each forecast rescaled by an exponent fitted on earlier questions.

    Questions (model and node) are ordered by the day their outcome became known;
    a forecast of a question is rescaled with the exponent fitted only on
    forecasts of questions known strictly earlier (at least `min_questions` of
    them), never on its own outcome.  Forecasts without enough earlier questions
    are left out.  Every row is labelled ``out-of-sample``.
    """
    model_id = model_filter(model)
    kind = _check_kind(kind) or LIVE
    found, _ = scored_forecasts(db, model_id, author, kind)
    known = {(s.raw.model, s.raw.node): s.known_on for s in found}
    rows = []
    for s in sorted(found, key=lambda x: (x.known_on, x.raw.id)):
        earlier = [x for x in found if x.known_on < s.known_on]
        if len({(x.raw.model, x.raw.node) for x in earlier}) < min_questions or not earlier:
            continue
        a = fit_exponent([(x.probs, x.outcome) for x in earlier])
        q = scale(s.probs, a)
        rows.append(
            {
                "id": s.raw.id,
                "author": s.raw.author,
                "node": s.raw.node,
                "known_on": dt.date.fromisoformat(s.known_on),
                "fitted_on": len({(x.raw.model, x.raw.node) for x in earlier}),
                "exponent": a,
                "probability": s.probs[s.outcome],
                "recalibrated": float(q[s.outcome]),
                "brier": brier(s.probs, s.outcome),
                "recalibrated_brier": brier(list(q), s.outcome),
                "log_score": log_score(s.probs[s.outcome]),
                "recalibrated_log_score": log_score(float(q[s.outcome])),
                "sample": "out-of-sample",
            }
        )
    table = pd.DataFrame(rows, columns=RECALIBRATION_COLUMNS)
    table.attrs = {
        "journal": describe(db),
        "model_id": model_id or "",
        "kind": kind,
        "questions": len(known),
        "out_of_sample": True,
    }
    return table

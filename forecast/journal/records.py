"""Recording forecasts (as of a date), reading them back, and resolutions as an audit trail.

A forecast stores when it was recorded (UTC) and the date it was issued for
(``as_of``: the evidence cut-off, by default the recording day).  Issued for an
earlier day than the one it was recorded on, it is *retrospective*: only the
evidence items dated on or before that day are used, and scores keep it apart
from live forecasts.

A resolution is a list of versions per model and node: who recorded it and
when, the state, the day it became known and a source.  Recording a different
state or day again needs ``amend=True`` and a reason; every version is kept and
the latest one is current.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple, TypedDict, Unpack

import numpy as np
import pandas as pd

from ..errors import JournalError
from ..evidence import Evidence, EvidenceItem, Scenario
from ..model import Model
from ..runs import evidence_as_of
from . import storage
from .storage import Conn, connection, describe

MAX_AUTHOR = 100
MAX_NOTE = 4000
MAX_SOURCE = 1000

HISTORY_COLUMNS = [
    "id",
    "recorded_at",
    "as_of",
    "kind",
    "model",
    "author",
    "node",
    "state",
    "probability",
    "scenario",
    "evidence",
    "note",
    "model_hash",
    "horizon",
]
RESOLUTION_COLUMNS = [
    "model",
    "node",
    "version",
    "state",
    "known_on",
    "current",
    "amended",
    "recorded_at",
    "author",
    "source",
    "reason",
    "before_horizon",
]
LIVE, RETROSPECTIVE = "live", "retrospective"
DB = str | os.PathLike[str] | None


# ---------------------------------------------------------------- small parts


def default_author() -> str:
    """FORECAST_AUTHOR, else the login name."""
    name = os.environ.get("FORECAST_AUTHOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return ""


def text(value: Any, what: str, limit: int, one_line: bool) -> str:
    """Checked free text: a string within `limit` characters, one line where asked."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise JournalError(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise JournalError(f"{what} is {len(value)} characters long; the limit is {limit}")
    if one_line and any(c in value for c in "\r\n\t\x00"):
        raise JournalError(f"{what} must be a single line")
    if "\x00" in value:
        raise JournalError(f"{what} contains a NUL character")
    return value


def as_date(value: dt.date | str, what: str = "date") -> dt.date:
    """A date from a date, a datetime or 'YYYY-MM-DD'."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise JournalError(f"{what} '{value}' is not a date of the form YYYY-MM-DD") from None
    raise JournalError(f"{what} must be a date or 'YYYY-MM-DD', not {type(value).__name__}")


def model_filter(model: Model | str | None) -> str | None:
    if model is None:
        return None
    if isinstance(model, Model):
        return model.id
    if isinstance(model, str):
        return model.strip() or None
    raise JournalError(f"model must be a model id or a forecast.Model, not {type(model).__name__}")


def horizon_of(model: Model) -> str:
    """The question's horizon as an ISO date, or '' if the model gives none (or no date)."""
    q = model.spec.question
    if q is None or not q.horizon:
        return ""
    try:
        return dt.date.fromisoformat(str(q.horizon)[:10]).isoformat()
    except ValueError:
        return ""


def items_as_of(items: Iterable[EvidenceItem], as_of: dt.date) -> list[EvidenceItem]:
    """The evidence items known on `as_of`: those dated on or before it (forecast.evidence_as_of).

    `cut_off` also gives the evidence `as_of` as its forecast date, so the model
    ages each item to that day.
    """
    return list(evidence_as_of(items, as_of).items)


# ---------------------------------------------------------------- recording


class Entry(NamedTuple):
    evidence: dict[str, Any]
    rows: list[tuple[str, str, int, float]]  # node, state, position, probability


def recorded_nodes(model: Model) -> list[str]:
    return list(model.default_targets)


def _evidence_json(ev: Evidence, left_out: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "name": ev.name,
        "describe": ev.describe(),
        "hard": dict(ev.hard),
        "likelihood": {k: {s: float(w) for s, w in v.items()} for k, v in ev.likelihood.items()},
        "fixed": {k: {s: float(w) for s, w in v.items()} for k, v in ev.fixed.items()},
        "items": [it.id for it in ev.items],
        "items_after_as_of": list(left_out),
    }


def cut_off(ev: Evidence, as_of: dt.date) -> tuple[Evidence, list[str]]:
    """The evidence with only the items known on `as_of`, and the ids left out."""
    kept = items_as_of(ev.items, as_of)
    left = [it.id for it in ev.items if it not in kept]
    # keep do= interventions; age the kept items to `as_of` (docs/evidence.md)
    return replace(ev, items=tuple(kept), as_of=as_of), left


def entries_from_evidence(
    model: Model, evs: Sequence[Evidence], as_of: dt.date | None = None
) -> list[Entry]:
    """Evaluate a batch of evidence in one pass; the table is scenario-major with a fixed width."""
    cut = [cut_off(ev, as_of) if as_of else (ev, []) for ev in evs]
    nodes = recorded_nodes(model)
    table = model.posteriors_batch(
        [c[0] for c in cut], targets=nodes, names=[str(i) for i in range(len(evs))]
    )
    width = sum(len(model.states(n)) for n in nodes)
    labels = [
        (str(n), str(st), model.states(n).index(st))
        for n, st in zip(table["node"].iloc[:width], table["state"].iloc[:width], strict=True)
    ]
    probs = table["probability"].to_numpy(dtype=float).reshape(len(evs), width)
    if not np.isfinite(probs).all():
        raise JournalError("the posteriors are not finite numbers; nothing was recorded")
    return [
        Entry(
            _evidence_json(ev, left),
            [(n, st, k, float(p)) for (n, st, k), p in zip(labels, row, strict=True)],
        )
        for (ev, left), row in zip(cut, probs, strict=True)
    ]


def _rows_from_table(
    model: Model, table: pd.DataFrame, nodes: Sequence[str]
) -> list[tuple[str, str, int, float]]:
    rows = []
    for node in nodes:
        states = model.states(node)
        part = table[table["node"] == node]
        if part.empty:
            continue
        given = dict(zip(part["state"].astype(str), part["probability"], strict=True))
        if len(part) != len(given) or set(given) != set(states):
            raise JournalError(
                f"the posteriors of '{node}' must give each of its states {states} once"
            )
        probs = []
        for s in states:
            p = given[s]
            if isinstance(p, bool) or not isinstance(p, int | float | np.integer | np.floating):
                raise JournalError(f"the posterior of '{node}' = '{s}' is not a number")
            p = float(p)
            if not math.isfinite(p) or p < -1e-9 or p > 1 + 1e-9:
                raise JournalError(f"the posterior of '{node}' = '{s}' is {p}, not a probability")
            probs.append(min(max(p, 0.0), 1.0))
        if abs(sum(probs) - 1.0) > 1e-6:
            raise JournalError(f"the posteriors of '{node}' sum to {sum(probs):.6g}, not 1")
        rows += [(node, s, k, p) for k, (s, p) in enumerate(zip(states, probs, strict=True))]
    return rows


def _entry_from_table(model: Model, table: pd.DataFrame) -> Entry:
    missing = [c for c in ("node", "state", "probability") if c not in table.columns]
    if missing:
        raise JournalError(
            f"a posteriors table needs the columns node, state, probability (missing {missing})"
        )
    if "scenario" in table.columns and table["scenario"].nunique() > 1:
        raise JournalError(
            "the table holds several scenarios; record them one at a time "
            "(table[table.scenario == NAME]) or use forecast.journal.record_run"
        )
    table_hash = table.attrs.get("model_hash")
    if table_hash and table_hash != model.content_hash:
        raise JournalError(
            f"the posteriors were computed with a different model than '{model.id}' (content hash differs)"
        )
    unknown = sorted(set(map(str, table["node"])) - set(model.nodes))
    if unknown:
        raise JournalError(
            f"the posteriors name node(s) {unknown[:5]} that model '{model.id}' does not have"
        )
    nodes = recorded_nodes(model)
    rows = _rows_from_table(model, table, nodes)
    if not rows:
        raise JournalError(
            f"the posteriors hold none of the outcome nodes {nodes}; query them (or pass the evidence instead)"
        )
    scenario = table.attrs.get("scenario")
    if not scenario and "scenario" in table.columns and len(table):
        scenario = str(table["scenario"].iloc[0])
    evidence = {"name": scenario or "", "describe": _plain(table.attrs.get("evidence", []))}
    return Entry(evidence, rows)


def _plain(value: Any) -> Any:
    """Table attrs made JSON-safe (dates and numpy scalars to text and numbers)."""
    return json.loads(json.dumps(value, default=str))


def _entry(model: Model, what: Any, as_of: dt.date | None) -> Entry:
    if isinstance(what, pd.DataFrame):
        if as_of is not None:
            raise JournalError(
                "a forecast issued as of an earlier date needs the evidence (a Scenario, Evidence "
                "or mapping), not a computed table, so that items dated later can be left out"
            )
        return _entry_from_table(model, what)
    if what is None or isinstance(what, Evidence | Scenario | Mapping):
        return entries_from_evidence(model, [model.evidence(what)], as_of)[0]
    raise JournalError(
        f"record needs a posteriors table, a Scenario or Evidence, not {type(what).__name__}"
    )


def _issue_date(as_of: dt.date | str | None) -> tuple[dt.date, dt.date | None]:
    """(the date the forecast is issued for, the cut-off to apply or None for today)."""
    today = storage.now().date()
    if as_of is None:
        return today, None
    day = as_date(as_of, "as-of date")
    if day > today:
        raise JournalError(
            f"as-of date {day.isoformat()} is after today ({today.isoformat()}); "
            "a forecast cannot be issued for a day that has not come"
        )
    return day, (day if day < today else None)


def _insert(
    conn: Conn,
    model: Model,
    entries: Sequence[Entry],
    author: str,
    note: str,
    as_of: dt.date,
) -> list[int]:
    ids: list[int] = []

    def write(c: Conn) -> None:
        ids.clear()
        for e in entries:
            fid = c.insert(
                "INSERT INTO forecasts (recorded_at, as_of, horizon, author, model_id, model_hash,"
                " evidence, note, scenario) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    storage.timestamp(),
                    as_of.isoformat(),
                    horizon_of(model),
                    author,
                    model.id,
                    model.content_hash,
                    json.dumps(e.evidence, ensure_ascii=False, allow_nan=False),
                    note,
                    str(e.evidence.get("name") or ""),
                ),
            )
            c.run_many(
                "INSERT INTO posteriors (forecast_id, node, state, position, probability, seq)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(fid, *row, k) for k, row in enumerate(e.rows)],
            )
            ids.append(fid)

    conn.write(write)
    return ids


def _check_model(model: Any) -> Model:
    if not isinstance(model, Model):
        raise JournalError(
            f"record needs a forecast.Model (see forecast.load_model), not {type(model).__name__}"
        )
    return model


def record(
    model: Model,
    posteriors_or_scenario: pd.DataFrame | Scenario | Evidence | Mapping[str, Any] | None,
    *,
    note: str = "",
    author: str = "",
    as_of: dt.date | str | None = None,
    db: DB = None,
) -> int:
    """Record one forecast: its outcome posteriors, the evidence used, who and when; returns its id.

    `posteriors_or_scenario` is a table from ``model.posteriors`` (or a one-scenario
    ``forecast.run``), or a Scenario / Evidence / evidence mapping / None (no
    evidence), which is evaluated here.  `as_of` issues the forecast for an
    earlier day: only evidence items dated on or before it are used, and the
    forecast is retrospective.  Only the outcome nodes are recorded (all nodes
    if the model marks none).  `author` defaults to FORECAST_AUTHOR or the login name.
    """
    model = _check_model(model)
    note = text(note, "note", MAX_NOTE, one_line=False)
    author = text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    day, cut = _issue_date(as_of)
    entry = _entry(model, posteriors_or_scenario, cut)
    with connection(db, create=True, doing="recording a forecast") as conn:
        assert conn is not None
        return _insert(conn, model, [entry], author, note, day)[0]


def record_run(
    model: Model,
    scenarios: Sequence[Scenario | Evidence | Mapping[str, Any] | None],
    *,
    note: str = "",
    author: str = "",
    as_of: dt.date | str | None = None,
    db: DB = None,
) -> list[int]:
    """Record one forecast per scenario, all in one transaction (all or none); returns their ids."""
    model = _check_model(model)
    note = text(note, "note", MAX_NOTE, one_line=False)
    author = text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    if not scenarios:
        raise JournalError("no scenarios to record")
    day, cut = _issue_date(as_of)
    entries = entries_from_evidence(model, [model.evidence(s) for s in scenarios], cut)
    with connection(db, create=True, doing="recording forecasts") as conn:
        assert conn is not None
        return _insert(conn, model, entries, author, note, day)


# ---------------------------------------------------------------- reading


def _evidence_text(raw: str) -> str:
    try:
        data = json.loads(raw)
        rows = data.get("describe", [])
        return "; ".join(f"{r['kind']} {r['node']}: {r['detail']}" for r in rows) or "none"
    except (ValueError, TypeError, KeyError, AttributeError):
        return "unreadable"


class Raw(NamedTuple):
    id: int
    recorded_at: str
    as_of: str
    model: str
    author: str
    node: str
    state: str
    probability: float
    scenario: str
    note: str
    model_hash: str
    horizon: str

    @property
    def kind(self) -> str:
        return RETROSPECTIVE if self.as_of < self.recorded_at[:10] else LIVE


def _where(model_id: str | None, author: str | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if model_id:
        clauses.append("f.model_id = ?")
        params.append(model_id)
    if author is not None:
        if not isinstance(author, str):
            raise JournalError(f"author must be text, not {type(author).__name__}")
        clauses.append("f.author = ?")
        params.append(author.strip())
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def read(db: DB, model_id: str | None, author: str | None) -> tuple[list[Raw], dict[int, str]]:
    """Posterior rows (forecast order, then recorded order) and each forecast's evidence JSON."""
    where, params = _where(model_id, author)
    with connection(db, create=False, doing="reading the journal") as conn:
        if conn is None:
            return [], {}
        evidence = {
            int(k): str(v)
            for k, v in conn.rows(f"SELECT f.id, f.evidence FROM forecasts f{where}", params)
        }
        rows = conn.rows(
            "SELECT f.id, f.recorded_at, f.as_of, f.model_id, f.author, p.node, p.state,"
            " p.probability, f.scenario, f.note, f.model_hash, f.horizon"
            " FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            f"{where} ORDER BY f.id, p.seq",
            params,
        )
    return [_raw(r) for r in rows], evidence


def _raw(r: tuple[Any, ...]) -> Raw:
    t = [str(x) for x in r]
    return Raw(int(r[0]), t[1], t[2], t[3], t[4], t[5], t[6], float(r[7]), t[8], t[9], t[10], t[11])


def history(
    *,
    model: Model | str | None = None,
    author: str | None = None,
    db: DB = None,
) -> pd.DataFrame:
    """Recorded forecasts, one row per forecast and outcome state (oldest first).

    Columns: id, recorded_at (UTC), as_of (the date it was issued for), kind
    ("live" or "retrospective"), model, author, node, state, probability,
    scenario, evidence (a readable summary), note, model_hash (the model file's
    content hash), horizon.  The full evidence JSON of each forecast is in
    ``attrs["forecast_evidence"]`` keyed by id.
    """
    model_id = model_filter(model)
    rows, evidence = read(db, model_id, author)
    summary = {fid: _evidence_text(raw) for fid, raw in evidence.items()}
    table = pd.DataFrame(
        {
            "id": pd.Series([r.id for r in rows], dtype="int64"),
            "recorded_at": pd.to_datetime(
                [r.recorded_at for r in rows], utc=True, format="ISO8601"
            ),
            "as_of": [dt.date.fromisoformat(r.as_of) for r in rows],
            "kind": [r.kind for r in rows],
            "model": [r.model for r in rows],
            "author": [r.author for r in rows],
            "node": [r.node for r in rows],
            "state": [r.state for r in rows],
            "probability": pd.Series([r.probability for r in rows], dtype=float),
            "scenario": [r.scenario for r in rows],
            "evidence": [summary.get(r.id, "") for r in rows],
            "note": [r.note for r in rows],
            "model_hash": [r.model_hash for r in rows],
            "horizon": [r.horizon for r in rows],
        },
        columns=HISTORY_COLUMNS,
    )
    table.attrs = {
        "journal": describe(db),
        "model_id": model_id or "",
        "forecast_evidence": {int(k): _safe_json(v) for k, v in evidence.items()},
    }
    return table


def _safe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ---------------------------------------------------------------- resolving


class Resolution(NamedTuple):
    """What `resolve` did: the version written (or kept) and how many forecasts it scores."""

    version: int
    scores: int
    amended: bool
    unchanged: bool


def _known_states(conn: Conn, model: Model | None, model_id: str, node: str) -> list[str]:
    """The node's states: from the model if given, else from the recorded forecasts."""
    if model is not None:
        if node not in model.nodes:
            raise JournalError(
                f"model '{model_id}' has no node '{node}'; its outcome nodes are {recorded_nodes(model)}"
            )
        return list(model.states(node))
    known = [
        str(r[0])
        for r in conn.rows(
            "SELECT p.state, min(p.position) FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            " WHERE f.model_id = ? AND p.node = ? GROUP BY p.state ORDER BY min(p.position)",
            (model_id, node),
        )
    ]
    if known:
        return known
    nodes = [
        str(r[0])
        for r in conn.rows(
            "SELECT DISTINCT p.node FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            " WHERE f.model_id = ? ORDER BY p.node",
            (model_id,),
        )
    ]
    if not nodes:
        raise JournalError(f"no recorded forecasts of model '{model_id}'")
    raise JournalError(
        f"no recorded forecasts of node '{node}' in model '{model_id}'; recorded nodes are {nodes}"
    )


def _horizon(conn: Conn, model: Model | None, model_id: str) -> str:
    if model is not None:
        return horizon_of(model)
    row = conn.one(
        "SELECT horizon FROM forecasts WHERE model_id = ? ORDER BY id DESC LIMIT 1", (model_id,)
    )
    return str(row[0]) if row else ""


class ResolveOptions(TypedDict, total=False):
    """The keywords `resolve` passes on to `resolve_version` (see there)."""

    author: str
    source: str
    amend: bool
    reason: str
    before_horizon: bool
    db: DB


def resolve(
    model: str | Model,
    node: str,
    state: str,
    date: dt.date | str,
    **options: Unpack[ResolveOptions],
) -> int:
    """Record that `node` turned out `state`, known on `date`; returns how many forecasts it scores.

    It scores the forecasts of that model and node issued (as of) on or before
    `date`.  A node or state the model does not have (or, given only a model id,
    that no recorded forecast has) is refused; so is a date before the question's
    horizon unless `before_horizon` says it was settled early.  If the node is
    already resolved, the same state and date change nothing; anything else needs
    ``amend=True`` and a `reason`, and is kept as a new version beside the old.
    The keywords are `ResolveOptions`: `author`, `source`, `amend`, `reason`,
    `before_horizon` and the journal `db`.
    """
    return resolve_version(model, node, state, date, **options).scores


def resolve_version(
    model: str | Model,
    node: str,
    state: str,
    date: dt.date | str,
    *,
    author: str = "",
    source: str = "",
    amend: bool = False,
    reason: str = "",
    before_horizon: bool = False,
    db: DB = None,
) -> Resolution:
    """`resolve`, returning the version written and whether it amended an earlier one."""
    model_obj = model if isinstance(model, Model) else None
    model_id = model_filter(model)
    if not model_id:
        raise JournalError("resolve needs a model id")
    for value, what in ((node, "node"), (state, "state")):
        if not isinstance(value, str) or not value.strip():
            raise JournalError(f"resolve needs the {what} as text")
    node, state = node.strip(), state.strip()
    day = as_date(date, "resolution date")
    author = text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    source = text(source, "source", MAX_SOURCE, one_line=False)
    reason = text(reason, "reason", MAX_SOURCE, one_line=False)
    today = storage.now().date()
    if day > today + dt.timedelta(days=1):
        raise JournalError(
            f"resolution date {day.isoformat()} is in the future; resolve once the outcome is known"
        )
    with connection(db, create=model_obj is not None, doing="resolving") as conn:
        if conn is None:
            raise JournalError(
                f"{describe(db)}: no journal yet; record forecasts before resolving them"
            )
        states = _known_states(conn, model_obj, model_id, node)
        if state not in states:
            raise JournalError(f"node '{node}' has no state '{state}'; its states are {states}")
        horizon = _horizon(conn, model_obj, model_id)
        if horizon and day.isoformat() < horizon and not before_horizon:
            raise JournalError(
                f"known on {day.isoformat()} is before the question's horizon {horizon}; "
                "if the outcome was settled early, say so (before_horizon=True, --before-horizon)"
            )
        out: list[Resolution] = []

        def write(c: Conn) -> None:
            out.clear()
            if c.dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
                c.run("SELECT pg_advisory_xact_lock(?)", (storage.PG_LOCK_KEY + 1,))
            row = c.one(
                "SELECT version, state, known_on FROM resolution_versions"
                " WHERE model_id = ? AND node = ? ORDER BY version DESC LIMIT 1",
                (model_id, node),
            )
            if row and (row[1], row[2]) == (state, day.isoformat()):
                out.append(Resolution(int(row[0]), 0, int(row[0]) > 1, True))
                return
            if row and not amend:
                raise JournalError(
                    f"'{node}' of model '{model_id}' is already resolved as '{row[1]}' known on "
                    f"{row[2]}; to change it, amend with a reason (amend=True, reason=...; "
                    "--amend --reason TEXT)"
                )
            if amend and not row:
                raise JournalError(f"'{node}' of model '{model_id}' has no resolution to amend")
            if amend and not reason:
                raise JournalError("an amended resolution needs a reason (--reason TEXT)")
            version = int(row[0]) + 1 if row else 1
            c.run(
                "INSERT INTO resolution_versions (model_id, node, version, state, known_on,"
                " recorded_at, author, source, reason, before_horizon)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    node,
                    version,
                    state,
                    day.isoformat(),
                    storage.timestamp(),
                    author,
                    source,
                    reason,
                    int(bool(horizon and day.isoformat() < horizon)),
                ),
            )
            out.append(Resolution(version, 0, version > 1, False))

        conn.write(write)
        count = conn.one(
            "SELECT count(DISTINCT f.id) FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            " WHERE f.model_id = ? AND p.node = ? AND f.as_of <= ?",
            (model_id, node, day.isoformat()),
        )[0]
    return out[0]._replace(scores=int(count))


def resolutions(
    *, model: Model | str | None = None, current: bool = False, db: DB = None
) -> pd.DataFrame:
    """Every resolution version (oldest first per node), or only the current ones.

    Columns: model, node, version, state, known_on, current, amended (this
    version replaced an earlier one), recorded_at, author, source, reason,
    before_horizon.
    """
    model_id = model_filter(model)
    with connection(db, create=False, doing="reading resolutions") as conn:
        rows: list[tuple[Any, ...]] = []
        if conn is not None:
            sql = (
                "SELECT r.model_id, r.node, r.version, r.state, r.known_on, r.recorded_at, r.author,"
                " r.source, r.reason, r.before_horizon, m.top FROM resolution_versions r JOIN"
                " (SELECT model_id, node, max(version) AS top FROM resolution_versions"
                " GROUP BY model_id, node) m ON m.model_id = r.model_id AND m.node = r.node"
            )
            params: list[str] = []
            if model_id:
                sql += " WHERE r.model_id = ?"
                params.append(model_id)
            rows = conn.rows(sql + " ORDER BY r.model_id, r.node, r.version", params)
    table = pd.DataFrame(
        [
            {
                "model": r[0],
                "node": r[1],
                "version": int(r[2]),
                "state": r[3],
                "known_on": dt.date.fromisoformat(r[4]),
                "current": int(r[2]) == int(r[10]),
                "amended": int(r[2]) > 1,
                "recorded_at": r[5],
                "author": r[6],
                "source": r[7],
                "reason": r[8],
                "before_horizon": bool(r[9]),
            }
            for r in rows
        ],
        columns=RESOLUTION_COLUMNS,
    )
    table["recorded_at"] = pd.to_datetime(table["recorded_at"], utc=True, format="ISO8601")
    if current:
        table = table[table["current"]].reset_index(drop=True)
    table.attrs = {"journal": describe(db), "model_id": model_id or ""}
    return table


# ---------------------------------------------------------------- settings


SETTINGS = {"extremise": "the extremising exponent of pooled forecasts (a number > 0)"}


def set_setting(
    model: Model | str, key: str, value: float, *, author: str = "", db: DB = None
) -> None:
    """Fix a journal setting for a model before the data it applies to (kept with its time).

    The only setting is ``extremise``: the exponent pooled forecasts are raised to.
    Scores use the value in force when each question was resolved, so it cannot
    be tuned on the outcomes it is scored against.
    """
    model_id = model_filter(model)
    if not model_id:
        raise JournalError("a setting needs a model id")
    if key not in SETTINGS:
        raise JournalError(f"unknown journal setting '{key}'; settings are {sorted(SETTINGS)}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise JournalError(f"setting '{key}' must be a number, not {value!r}")
    if value <= 0 or value > 10:
        raise JournalError(f"setting '{key}' must be above 0 and at most 10, not {value:g}")
    author = text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    with connection(db, create=True, doing="saving a setting") as conn:
        assert conn is not None
        conn.write(
            lambda c: c.run(
                "INSERT INTO settings (model_id, key, value, recorded_at, author) VALUES (?, ?, ?, ?, ?)",
                (model_id, key, repr(float(value)), storage.timestamp(), author),
            )
        )


def settings(*, model: Model | str | None = None, db: DB = None) -> pd.DataFrame:
    """Every setting ever saved (oldest first): model, key, value, recorded_at, author."""
    model_id = model_filter(model)
    with connection(db, create=False, doing="reading settings") as conn:
        rows: list[tuple[Any, ...]] = []
        if conn is not None:
            sql = "SELECT model_id, key, value, recorded_at, author FROM settings"
            params = []
            if model_id:
                sql += " WHERE model_id = ?"
                params.append(model_id)
            rows = conn.rows(sql + " ORDER BY id", params)
    table = pd.DataFrame(
        [(r[0], r[1], float(r[2]), r[3], r[4]) for r in rows],
        columns=["model", "key", "value", "recorded_at", "author"],
    )
    return table

"""The forecast journal: record issued forecasts, resolve them, and score the track record.

The journal is one SQLite file (stdlib ``sqlite3``), by default
``journal.sqlite3`` in the user's data folder; ``FORECAST_DB`` or an explicit
``db`` argument points elsewhere (a team can share one file on a local disk).

Why SQLite: every write is a transaction, so an interrupted command loses
nothing and leaves nothing half-written; write-ahead logging and a busy
timeout let several processes record at the same time.  The file carries our
``application_id`` and a schema version (``user_version``) that is migrated
forward; a file that is not SQLite, an SQLite file of some other program, or a
journal written by a newer version is refused with a JournalError and never
modified.

Scores (docs/journal.md): the Brier score of a forecast of an outcome node is
the sum over its states of (p - outcome)^2 (0 best, 2 worst); the log score is
ln p(the state that happened) (0 best).  A resolution applies to the
forecasts of that model and node recorded on or before its date; a forecast
is scored against the earliest resolution on or after the day it was recorded.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import getpass
import itertools
import json
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import numpy as np
import pandas as pd

from .errors import JournalError
from .evidence import Evidence, Scenario
from .model import Model

APPLICATION_ID = 0x46434A4E  # "FCJN": marks the file as a forecast journal
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0
MAX_AUTHOR = 100
MAX_NOTE = 4000
LOG_FLOOR = 1e-12  # a probability of 0 for what happened scores ln(1e-12), not -inf
BINS = 10

# Forward migrations: MIGRATIONS[k] takes a journal from schema version k to k + 1.
MIGRATIONS: list[str] = [
    # 0 -> 1: forecasts, their outcome posteriors, and resolutions.
    """
    CREATE TABLE forecasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL,
        author TEXT NOT NULL,
        model_id TEXT NOT NULL,
        model_hash TEXT NOT NULL,
        evidence TEXT NOT NULL,
        note TEXT NOT NULL
    );
    CREATE TABLE posteriors (
        forecast_id INTEGER NOT NULL REFERENCES forecasts(id) ON DELETE CASCADE,
        node TEXT NOT NULL,
        state TEXT NOT NULL,
        position INTEGER NOT NULL,
        probability REAL NOT NULL CHECK (probability >= 0 AND probability <= 1),
        PRIMARY KEY (forecast_id, node, state)
    );
    CREATE TABLE resolutions (
        model_id TEXT NOT NULL,
        node TEXT NOT NULL,
        resolved_on TEXT NOT NULL,
        state TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (model_id, node, resolved_on)
    );
    """,
    # 1 -> 2: the scenario name as its own column, and indexes for history and scoring.
    """
    ALTER TABLE forecasts ADD COLUMN scenario TEXT NOT NULL DEFAULT '';
    UPDATE forecasts SET scenario = COALESCE(json_extract(evidence, '$.name'), '')
        WHERE json_valid(evidence);
    CREATE INDEX forecasts_model ON forecasts(model_id, recorded_at);
    CREATE INDEX posteriors_node ON posteriors(node);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

HISTORY_COLUMNS = [
    "id",
    "recorded_at",
    "model",
    "author",
    "node",
    "state",
    "probability",
    "scenario",
    "evidence",
    "note",
    "model_hash",
]
SCORE_COLUMNS = [
    "id",
    "recorded_at",
    "model",
    "author",
    "node",
    "outcome",
    "resolved_on",
    "probability",
    "brier",
    "log_score",
    "scenario",
    "note",
]
MEAN_COLUMNS = ["model", "author", "scored", "brier", "log_score"]
CALIBRATION_COLUMNS = ["bin", "low", "high", "forecasts", "mean_probability", "observed_frequency"]


# ---------------------------------------------------------------- the file


def default_path() -> Path:
    """FORECAST_DB if set, else journal.sqlite3 in the user's data folder."""
    env = os.environ.get("FORECAST_DB", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("forecast", appauthor=False)) / "journal.sqlite3"


def journal_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The journal file a call uses: `db`, else FORECAST_DB, else the default."""
    if db is None or (isinstance(db, str) and not db.strip()):
        return default_path()
    if not isinstance(db, str | os.PathLike):
        raise JournalError(f"db must be a file path, not {type(db).__name__}")
    return Path(db).expanduser()


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite ever opens it for writing."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise JournalError(f"{path}: is a folder, not a forecast journal file") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise JournalError(
            f"{path}: not a forecast journal (the file is not an SQLite database); left untouched"
        )


def _sqlite_error(path: Path, exc: sqlite3.Error, doing: str) -> JournalError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return JournalError(
            f"{path}: the journal stayed locked by another process for {BUSY_TIMEOUT_S:g} s while {doing}"
        )
    damaged = "malformed" in text or "not a database" in text
    if damaged or (
        isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)
    ):
        return JournalError(f"{path}: the journal is damaged ({text}); it was left untouched")
    if "readonly" in text or "read-only" in text:
        return JournalError(
            f"{path}: cannot write the journal: the file or its folder is read-only"
        )
    if "unable to open" in text:
        return JournalError(
            f"{path}: cannot open the journal (check that the folder exists and is writable)"
        )
    return JournalError(f"{path}: journal error while {doing}: {text}")


def _open(path: Path, create: bool) -> sqlite3.Connection | None:
    """A connection with our schema at the current version, or None if there is no journal yet."""
    if path.exists():
        _check_header(path)
    elif not create:
        return None
    else:
        parent = path.parent
        if not parent.is_dir():
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(
                    f"{path}: cannot create the journal folder: {exc.strerror or exc}"
                ) from None
    # Writers open read-write; readers fall back to read-only, then to "immutable"
    # (no locks or shared memory), which is how SQLite reads a WAL file on a read-only disk.
    modes = ["rwc"] if create else ["rw", "ro", "ro&immutable=1"]
    for k, mode in enumerate(modes):
        conn = None
        try:
            conn = sqlite3.connect(
                f"file:{quote(str(path.absolute()))}?mode={mode}",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
            )
            conn.execute("PRAGMA foreign_keys = ON")
            if not _prepare(conn, path, create):
                conn.close()
                return None
            return conn
        except JournalError:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if k + 1 < len(modes) and _cannot_open(exc):
                continue
            if _cannot_open(exc) and not _writable(path):
                raise JournalError(
                    f"{path}: cannot {'write' if create else 'read'} the journal: its folder is read-only"
                ) from None
            raise _sqlite_error(path, exc, "opening it") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _cannot_open(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "unable to open" in text or "readonly" in text or "read-only" in text


def _writable(path: Path) -> bool:
    """Whether we may write the journal and its -wal/-shm companions next to it."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _identity(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """application_id, user_version and the number of schema objects, read in one snapshot.

    One statement, so a journal being created by another process at this moment
    is seen either wholly before or wholly after its creating transaction.
    """
    row = conn.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _check_identity(path: Path, app: int, version: int, tables: int) -> bool:
    """True if the file is a journal at the current version; errors for foreign or newer files."""
    if app == 0 and tables == 0:
        return False  # an empty (new) database
    if app != APPLICATION_ID:
        raise JournalError(
            f"{path}: an SQLite database of another program, not a forecast journal; left untouched"
        )
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: written by a newer version of forecast (journal schema {version}; "
            f"this version reads up to {SCHEMA_VERSION}); upgrade forecast"
        )
    return version == SCHEMA_VERSION


def _prepare(conn: sqlite3.Connection, path: Path, create: bool) -> bool:
    """Check the file is ours; create or migrate the schema inside one write transaction.

    Returns False for an empty database that a reader should treat as no journal.
    """
    app, version, tables = _identity(conn)
    if _check_identity(path, app, version, tables):
        return True
    if not create and tables == 0:
        return False
    _retry_busy(lambda: _set_wal(conn))
    _retry_busy(lambda: _migrate(conn, path))
    return True


def _set_wal(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    with _transaction(conn):
        app, version, tables = _identity(conn)  # another process may have got here first
        if not _check_identity(path, app, version, tables):
            for step in MIGRATIONS[version:]:
                for statement in _statements(step):
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _retry_busy(step: Callable[[], None]) -> None:
    """Run `step`, retrying while another process holds the lock.

    SQLite's busy timeout covers ordinary waits, but switching a new file to WAL
    while another process opens it can report "locked" at once; retry that too.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]


@contextlib.contextmanager
def _connection(
    db: str | os.PathLike[str] | None, create: bool, doing: str
) -> Iterator[sqlite3.Connection | None]:
    path = journal_path(db)
    conn = _open(path, create)
    try:
        yield conn
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc, doing) from None
    finally:
        if conn is not None:
            conn.close()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front (waits up to the busy timeout)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (disk full, say)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(db: str | os.PathLike[str] | None = None) -> int:
    """The journal's schema version (0 if there is no journal yet)."""
    with _connection(db, create=False, doing="reading its version") as conn:
        return 0 if conn is None else int(conn.execute("PRAGMA user_version").fetchone()[0])


# ---------------------------------------------------------------- recording


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_author() -> str:
    """FORECAST_AUTHOR, else the login name."""
    name = os.environ.get("FORECAST_AUTHOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return ""


def _text(value: Any, what: str, limit: int, one_line: bool) -> str:
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


class _Entry(NamedTuple):
    evidence: dict[str, Any]
    rows: list[tuple[str, str, int, float]]  # node, state, position, probability


def _recorded_nodes(model: Model) -> list[str]:
    return model.default_targets


def _evidence_json(ev: Evidence) -> dict[str, Any]:
    return {
        "name": ev.name,
        "describe": ev.describe(),
        "hard": dict(ev.hard),
        "likelihood": {k: {s: float(w) for s, w in v.items()} for k, v in ev.likelihood.items()},
        "fixed": {k: {s: float(w) for s, w in v.items()} for k, v in ev.fixed.items()},
        "items": [it.id for it in ev.items],
    }


def _entries_from_evidence(model: Model, evs: Sequence[Evidence]) -> list[_Entry]:
    """Evaluate a batch of evidence in one pass; the table is scenario-major with a fixed width."""
    nodes = _recorded_nodes(model)
    table = model.posteriors_batch(
        list(evs), targets=nodes, names=[str(i) for i in range(len(evs))]
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
        _Entry(
            _evidence_json(ev),
            [(n, st, k, float(p)) for (n, st, k), p in zip(labels, row, strict=True)],
        )
        for ev, row in zip(evs, probs, strict=True)
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


def _entry_from_table(model: Model, table: pd.DataFrame) -> _Entry:
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
    nodes = _recorded_nodes(model)
    rows = _rows_from_table(model, table, nodes)
    if not rows:
        raise JournalError(
            f"the posteriors hold none of the outcome nodes {nodes}; query them (or pass the evidence instead)"
        )
    scenario = table.attrs.get("scenario")
    if not scenario and "scenario" in table.columns and len(table):
        scenario = str(table["scenario"].iloc[0])
    evidence = {"name": scenario or "", "describe": _plain(table.attrs.get("evidence", []))}
    return _Entry(evidence, rows)


def _plain(value: Any) -> Any:
    """Table attrs made JSON-safe (dates and numpy scalars to text and numbers)."""
    return json.loads(json.dumps(value, default=str))


def _entry(model: Model, what: Any) -> _Entry:
    if isinstance(what, pd.DataFrame):
        return _entry_from_table(model, what)
    if what is None or isinstance(what, Evidence | Scenario | Mapping):
        return _entries_from_evidence(model, [model.evidence(what)])[0]
    raise JournalError(
        f"record needs a posteriors table, a Scenario or Evidence, not {type(what).__name__}"
    )


def _insert(
    conn: sqlite3.Connection, model: Model, entries: Sequence[_Entry], author: str, note: str
) -> list[int]:
    ids: list[int] = []

    def write() -> None:
        ids.clear()
        with _transaction(conn):
            _write_entries(conn, model, entries, author, note, ids)

    _retry_busy(write)
    return ids


def _write_entries(
    conn: sqlite3.Connection,
    model: Model,
    entries: Sequence[_Entry],
    author: str,
    note: str,
    ids: list[int],
) -> None:
    """Insert the forecasts and their posteriors (inside the caller's transaction)."""
    for e in entries:
        cur = conn.execute(
            "INSERT INTO forecasts (recorded_at, author, model_id, model_hash, evidence, note, scenario)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                _now().isoformat(timespec="microseconds"),
                author,
                model.id,
                model.content_hash,
                json.dumps(e.evidence, ensure_ascii=False, allow_nan=False),
                note,
                str(e.evidence.get("name") or ""),
            ),
        )
        fid = int(cur.lastrowid)
        conn.executemany(
            "INSERT INTO posteriors (forecast_id, node, state, position, probability) VALUES (?, ?, ?, ?, ?)",
            [(fid, *row) for row in e.rows],
        )
        ids.append(fid)


def _check_model(model: Any) -> Model:
    if not isinstance(model, Model):
        raise JournalError(
            f"record needs a forecast.Model (see forecast.load_model), not {type(model).__name__}"
        )
    return model


def record(
    model: Model,
    posteriors_or_scenario: pd.DataFrame | Scenario | Evidence | Mapping[str, Any] | None,
    note: str = "",
    author: str = "",
    db: str | os.PathLike[str] | None = None,
) -> int:
    """Record one forecast: its outcome posteriors, the evidence used, who and when; returns its id.

    `posteriors_or_scenario` is a table from ``model.posteriors`` (or a one-scenario
    ``forecast.run``), or a Scenario / Evidence / evidence mapping / None (no
    evidence), which is evaluated here.  Only the outcome nodes are recorded (all
    nodes if the model marks none).  `author` defaults to FORECAST_AUTHOR or the
    login name.
    """
    model = _check_model(model)
    note = _text(note, "note", MAX_NOTE, one_line=False)
    author = _text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    entry = _entry(model, posteriors_or_scenario)
    with _connection(db, create=True, doing="recording a forecast") as conn:
        assert conn is not None
        return _insert(conn, model, [entry], author, note)[0]


def record_run(
    model: Model,
    scenarios: Sequence[Scenario | Evidence | Mapping[str, Any] | None],
    note: str = "",
    author: str = "",
    db: str | os.PathLike[str] | None = None,
) -> list[int]:
    """Record one forecast per scenario, all in one transaction (all or none); returns their ids."""
    model = _check_model(model)
    note = _text(note, "note", MAX_NOTE, one_line=False)
    author = _text(author, "author", MAX_AUTHOR, one_line=True) or default_author()
    if not scenarios:
        raise JournalError("no scenarios to record")
    entries = _entries_from_evidence(model, [model.evidence(s) for s in scenarios])
    with _connection(db, create=True, doing="recording forecasts") as conn:
        assert conn is not None
        return _insert(conn, model, entries, author, note)


# ---------------------------------------------------------------- reading


def _model_filter(model: Model | str | None) -> str | None:
    if model is None:
        return None
    if isinstance(model, Model):
        return model.id
    if isinstance(model, str):
        return model.strip() or None
    raise JournalError(f"model must be a model id or a forecast.Model, not {type(model).__name__}")


def _evidence_text(raw: str) -> str:
    try:
        data = json.loads(raw)
        rows = data.get("describe", [])
        return "; ".join(f"{r['kind']} {r['node']}: {r['detail']}" for r in rows) or "none"
    except (ValueError, TypeError, KeyError, AttributeError):
        return "unreadable"


class _Raw(NamedTuple):
    id: int
    recorded_at: str
    model: str
    author: str
    node: str
    state: str
    probability: float
    scenario: str
    note: str
    model_hash: str


def _read(
    db: str | os.PathLike[str] | None, model_id: str | None, author: str | None
) -> tuple[list[_Raw], dict[int, str]]:
    """Posterior rows (forecast order, then state order) and each forecast's evidence JSON."""
    where, params = _where(model_id, author)
    with _connection(db, create=False, doing="reading the journal") as conn:
        if conn is None:
            return [], {}
        evidence = dict(
            conn.execute(f"SELECT f.id, f.evidence FROM forecasts f{where}", params).fetchall()
        )
        rows = conn.execute(
            "SELECT f.id, f.recorded_at, f.model_id, f.author, p.node, p.state, p.probability,"
            " f.scenario, f.note, f.model_hash"
            " FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            f"{where} ORDER BY f.id, p.rowid",
            params,
        ).fetchall()
    return [_Raw(*r) for r in rows], evidence


def history(
    db: str | os.PathLike[str] | None = None,
    model: Model | str | None = None,
    author: str | None = None,
) -> pd.DataFrame:
    """Recorded forecasts, one row per forecast and outcome state (oldest first).

    Columns: id, recorded_at (UTC), model, author, node, state, probability,
    scenario, evidence (a readable summary), note, model_hash.  The full evidence
    JSON of each forecast is in ``attrs["forecast_evidence"]`` keyed by id.
    """
    model_id = _model_filter(model)
    rows, evidence = _read(db, model_id, author)
    summary = {fid: _evidence_text(raw) for fid, raw in evidence.items()}
    table = pd.DataFrame(
        {
            "id": pd.Series([r.id for r in rows], dtype="int64"),
            "recorded_at": pd.to_datetime(
                [r.recorded_at for r in rows], utc=True, format="ISO8601"
            ),
            "model": [r.model for r in rows],
            "author": [r.author for r in rows],
            "node": [r.node for r in rows],
            "state": [r.state for r in rows],
            "probability": pd.Series([r.probability for r in rows], dtype=float),
            "scenario": [r.scenario for r in rows],
            "evidence": [summary.get(r.id, "") for r in rows],
            "note": [r.note for r in rows],
            "model_hash": [r.model_hash for r in rows],
        },
        columns=HISTORY_COLUMNS,
    )
    table.attrs = {
        "journal": str(journal_path(db)),
        "model_id": model_id or "",
        "forecast_evidence": {int(k): _safe_json(v) for k, v in evidence.items()},
    }
    return table


def _safe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


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


# ---------------------------------------------------------------- resolving


def _as_date(date: dt.date | str) -> dt.date:
    if isinstance(date, dt.datetime):
        return date.date()
    if isinstance(date, dt.date):
        return date
    if isinstance(date, str):
        try:
            return dt.date.fromisoformat(date.strip())
        except ValueError:
            raise JournalError(
                f"resolution date '{date}' is not a date of the form YYYY-MM-DD"
            ) from None
    raise JournalError(f"resolution date must be a date or 'YYYY-MM-DD', not {type(date).__name__}")


def resolve(
    model_id: str | Model,
    node: str,
    state: str,
    date: dt.date | str,
    db: str | os.PathLike[str] | None = None,
) -> int:
    """Record that `node` of model `model_id` turned out `state` on `date`.

    The resolution applies to that model's forecasts of `node` recorded on or
    before `date` (UTC).  The node and state must match recorded forecasts
    (so a typo cannot pass silently); resolving the same node again with the same
    date corrects the earlier resolution.  Returns how many recorded forecasts it
    now scores.
    """
    model_id = _model_filter(model_id)
    if not model_id:
        raise JournalError("resolve needs a model id")
    for value, what in ((node, "node"), (state, "state")):
        if not isinstance(value, str) or not value.strip():
            raise JournalError(f"resolve needs the {what} as text")
    node, state = node.strip(), state.strip()
    day = _as_date(date)
    today = _now().date()
    if day > today + dt.timedelta(days=1):
        raise JournalError(
            f"resolution date {day.isoformat()} is in the future; resolve once the outcome is known"
        )
    with _connection(db, create=False, doing="resolving") as conn:
        if conn is None:
            raise JournalError(
                f"{journal_path(db)}: no journal yet; record forecasts before resolving them"
            )
        known = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT p.state FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
                " WHERE f.model_id = ? AND p.node = ? ORDER BY p.position",
                (model_id, node),
            )
        ]
        if not known:
            nodes = [
                r[0]
                for r in conn.execute(
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
        if state not in known:
            raise JournalError(f"node '{node}' has no state '{state}'; recorded states are {known}")

        def write() -> None:
            with _transaction(conn):
                conn.execute(
                    "INSERT INTO resolutions (model_id, node, resolved_on, state, recorded_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (model_id, node, resolved_on) DO UPDATE SET state = excluded.state,"
                    " recorded_at = excluded.recorded_at",
                    (
                        model_id,
                        node,
                        day.isoformat(),
                        state,
                        _now().isoformat(timespec="microseconds"),
                    ),
                )

        _retry_busy(write)
        earlier = conn.execute(
            "SELECT max(resolved_on) FROM resolutions WHERE model_id = ? AND node = ? AND resolved_on < ?",
            (model_id, node, day.isoformat()),
        ).fetchone()[0]
        count = conn.execute(
            "SELECT count(DISTINCT f.id) FROM forecasts f JOIN posteriors p ON p.forecast_id = f.id"
            " WHERE f.model_id = ? AND p.node = ? AND substr(f.recorded_at, 1, 10) <= ?"
            " AND substr(f.recorded_at, 1, 10) > ?",
            (model_id, node, day.isoformat(), earlier or ""),
        ).fetchone()[0]
    return int(count)


def resolutions(
    db: str | os.PathLike[str] | None = None, model: Model | str | None = None
) -> pd.DataFrame:
    """Recorded resolutions: model, node, state, resolved_on, recorded_at."""
    model_id = _model_filter(model)
    with _connection(db, create=False, doing="reading resolutions") as conn:
        rows = []
        if conn is not None:
            sql = "SELECT model_id, node, state, resolved_on, recorded_at FROM resolutions"
            params: list[str] = []
            if model_id:
                sql += " WHERE model_id = ?"
                params.append(model_id)
            rows = conn.execute(sql + " ORDER BY model_id, node, resolved_on", params).fetchall()
    return pd.DataFrame(rows, columns=["model", "node", "state", "resolved_on", "recorded_at"])


# ---------------------------------------------------------------- scoring


class Scores(NamedTuple):
    """What `score` returns: per-forecast scores, their means, and a calibration table."""

    scores: pd.DataFrame
    means: pd.DataFrame
    calibration: pd.DataFrame


def brier(probabilities: Sequence[float], outcome: int) -> float:
    """Brier's multi-category score: sum over states of (p - indicator)^2, 0 (best) to 2."""
    return float(
        sum((p - (1.0 if k == outcome else 0.0)) ** 2 for k, p in enumerate(probabilities))
    )


def log_score(probability: float) -> float:
    """ln p of the state that happened (0 best); p = 0 counts as LOG_FLOOR so means stay finite."""
    return math.log(max(float(probability), LOG_FLOOR))


def score(
    db: str | os.PathLike[str] | None = None,
    model: Model | str | None = None,
    author: str | None = None,
) -> Scores:
    """Score every resolved forecast (see the module docstring for the rules).

    - ``scores``: one row per forecast and resolved node (columns id, recorded_at,
      model, author, node, outcome, resolved_on, probability (given to the
      outcome), brier, log_score, scenario, note);
    - ``means``: per model and author, then over all (model and author ``(all)``):
      scored, brier, log_score;
    - ``calibration``: every state probability of the scored forecasts in ten
      bins, with the mean forecast and how often those states happened.
    """
    model_id = _model_filter(model)
    rows, _ = _read(db, model_id, author)
    res = resolutions(db, model_id)
    by_key: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for r in res.itertuples(index=False):
        by_key.setdefault((r.model, r.node), []).append((r.resolved_on, r.state))
    for key in by_key:
        by_key[key].sort()
    scored_rows: list[dict[str, Any]] = []
    calib: list[tuple[float, float]] = []
    skipped = 0
    for (_, node), group in itertools.groupby(rows, key=lambda r: (r.id, r.node)):
        part = list(group)
        first = part[0]
        candidates = by_key.get((first.model, node))
        if not candidates:
            continue
        day = first.recorded_at[:10]  # the UTC day: recorded_at is stored as ISO text in UTC
        k_res = bisect.bisect_left(candidates, (day, ""))
        if k_res == len(candidates):
            continue  # every resolution predates the forecast
        resolved_on, outcome = candidates[k_res]
        states = [r.state for r in part]
        probs = [float(r.probability) for r in part]
        if outcome not in states:
            skipped += 1
            continue
        k = states.index(outcome)
        scored_rows.append(
            {
                "id": int(first.id),
                "recorded_at": first.recorded_at,
                "model": first.model,
                "author": first.author,
                "node": node,
                "outcome": outcome,
                "resolved_on": dt.date.fromisoformat(resolved_on),
                "probability": probs[k],
                "brier": brier(probs, k),
                "log_score": log_score(probs[k]),
                "scenario": first.scenario,
                "note": first.note,
            }
        )
        calib += [(p, 1.0 if j == k else 0.0) for j, p in enumerate(probs)]
    scores = pd.DataFrame(scored_rows, columns=SCORE_COLUMNS)
    scores["recorded_at"] = pd.to_datetime(scores["recorded_at"], utc=True, format="ISO8601")
    if len(scores):
        scores = scores.sort_values(["id", "node"], kind="stable").reset_index(drop=True)
    meta = {
        "journal": str(journal_path(db)),
        "model_id": model_id or "",
        "author": author or "",
        "skipped": skipped,
    }
    scores.attrs = dict(meta)
    means = _means(scores)
    means.attrs = dict(meta)
    calibration = _calibration(calib)
    calibration.attrs = dict(meta)
    return Scores(scores, means, calibration)


def _means(scores: pd.DataFrame) -> pd.DataFrame:
    if scores.empty:
        return pd.DataFrame(columns=MEAN_COLUMNS)
    groups = (
        scores.groupby(["model", "author"], sort=True)
        .agg(scored=("brier", "size"), brier=("brier", "mean"), log_score=("log_score", "mean"))
        .reset_index()
    )
    total = pd.DataFrame(
        [
            {
                "model": "(all)",
                "author": "(all)",
                "scored": len(scores),
                "brier": float(scores["brier"].mean()),
                "log_score": float(scores["log_score"].mean()),
            }
        ]
    )
    return pd.concat([groups, total], ignore_index=True)[MEAN_COLUMNS]


def _calibration(pairs: list[tuple[float, float]]) -> pd.DataFrame:
    """Forecast probability bins [0, .1), ..., [.9, 1] against the observed frequency; empty bins omitted."""
    if not pairs:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    p = np.asarray([a for a, _ in pairs])
    hit = np.asarray([b for _, b in pairs])
    idx = np.clip(
        np.floor(p * BINS + 1e-9).astype(int), 0, BINS - 1
    )  # 0.8 - 1e-15 is still in 80-90%
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
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


__all__ = [
    "JournalError",
    "Scores",
    "brier",
    "default_path",
    "history",
    "journal_path",
    "log_score",
    "record",
    "record_run",
    "resolve",
    "resolutions",
    "schema_version",
    "score",
]

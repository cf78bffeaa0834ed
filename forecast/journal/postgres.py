"""The journal on PostgreSQL (psycopg 3): opening, the schema mark, migrations and errors.

The version lives in a ``forecast_journal`` table (application, schema_version)
of the connection's current schema, so one database can hold several journals
in different schemas (``?options=-csearch_path%3Dteam``).  Creating or
migrating takes a transaction-scoped advisory lock, so processes that race to
create a new journal wait for each other instead of colliding.
"""

from __future__ import annotations

from typing import Any

from ..errors import JournalError
from .storage import (
    APPLICATION_NAME,
    MIGRATIONS,
    PG_LOCK_KEY,
    SCHEMA_VERSION,
    Conn,
    check_identity,
    statements,
)

CONNECT_TIMEOUT_S = 10


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a declared dependency
        raise JournalError(
            "a postgresql:// journal needs psycopg 3 (pip install 'psycopg[binary]')"
        ) from None
    return psycopg


def driver_errors() -> tuple[type[BaseException], ...]:
    return (_psycopg().Error,)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def error(where: str, exc: BaseException, doing: str) -> JournalError:
    psycopg = _psycopg()
    if isinstance(exc, psycopg.OperationalError):
        return JournalError(
            f"{where}: lost the connection to the journal while {doing}: {_first_line(exc)}"
        )
    return JournalError(f"{where}: journal error while {doing}: {_first_line(exc)}")


def open_journal(url: str, where: str, create: bool) -> Conn | None:
    """A connection with the journal at the current version, or None if there is none (readers)."""
    psycopg = _psycopg()
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise JournalError(f"{where}: cannot connect to the journal: {_first_line(exc)}") from None
    except Exception as exc:  # a malformed URL raises ProgrammingError or ValueError
        raise JournalError(f"{where}: not a usable PostgreSQL URL: {_first_line(exc)}") from None
    conn = Conn(raw, "postgresql", where)
    try:
        state = _identity(conn)
        if check_identity(where, *state):
            return conn
        if not create and state[0] is None and state[2] == 0:
            conn.close()
            return None
        with conn.transaction():
            conn.run("SELECT pg_advisory_xact_lock(?)", (PG_LOCK_KEY,))
            state = _identity(conn)  # another process may have created it meanwhile
            if not check_identity(where, *state):
                _migrate(conn, state[1])
        return conn
    except JournalError:
        conn.close()
        raise
    except psycopg.Error as exc:
        conn.close()
        raise error(where, exc, "opening it") from None


def _identity(conn: Conn) -> tuple[bool | None, int, int]:
    """(is it ours: None if unmarked, schema version, number of tables in the current schema)."""
    tables = int(
        conn.one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        )[0]
    )
    if conn.one("SELECT to_regclass('forecast_journal') IS NOT NULL")[0] is not True:
        return None, 0, tables
    marks = dict(conn.rows("SELECT key, value FROM forecast_journal"))
    if marks.get("application") != APPLICATION_NAME:
        return False, 0, tables
    try:
        version = int(marks.get("schema_version", "0"))
    except ValueError:
        return False, 0, tables
    return True, version, tables


def _migrate(conn: Conn, version: int) -> None:
    if version == 0:
        conn.run("CREATE TABLE forecast_journal (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.run(
            "INSERT INTO forecast_journal (key, value) VALUES ('application', ?)",
            (APPLICATION_NAME,),
        )
        conn.run("INSERT INTO forecast_journal (key, value) VALUES ('schema_version', '0')")
    for step in MIGRATIONS[version:]:
        for statement in statements(step["postgresql"]):
            conn.run(statement)
    conn.run(
        "UPDATE forecast_journal SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
    )

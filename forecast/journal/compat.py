"""The raw SQLite connection for modules that share the journal's file (forecast.elicitation).

They predate the backend-neutral `storage.Conn`; these helpers keep them
working on an SQLite journal with the journal's checks (header, identity,
schema, error codes).  On a PostgreSQL journal they refuse with a clear
message until those modules move to `storage.Conn`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from ..errors import JournalError
from .storage import connection, describe


@contextlib.contextmanager
def sqlite_connection(
    db: str | os.PathLike[str] | None, create: bool, doing: str
) -> Iterator[sqlite3.Connection | None]:
    """The journal's sqlite3 connection (None if there is no journal yet and `create` is false)."""
    with connection(db, create, doing) as conn:
        if conn is not None and conn.dialect != "sqlite":
            raise JournalError(f"{describe(db)}: {doing} needs an SQLite journal file for now")
        yield None if conn is None else conn.raw


@contextlib.contextmanager
def sqlite_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes SQLite's write lock up front."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

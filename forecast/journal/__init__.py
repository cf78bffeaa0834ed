"""The forecast journal: record forecasts (live or as of a past date), resolve them, score the record.

The journal is an SQLite file (by default ``journal.sqlite3`` in the user's
data folder) or, where ``FORECAST_DB`` (or ``db=``) is a ``postgresql://``
URL, a PostgreSQL database; both keep the same schema and versions.  Every
function takes the journal as the keyword argument ``db``.

Modules: `storage` (files, databases, schema, errors), `postgres` (the
PostgreSQL backend), `records` (recording, history, resolutions as an audit
trail, settings), `scoring` (scores, calibration, Murphy decomposition,
pooling, out-of-sample recalibration) and `backtest` (retrospective forecasts
against a resolutions file).  See docs/journal.md for the rules and limits.
"""

from __future__ import annotations

from ..errors import JournalError
from .backtest import Outcome, backtest, forecast_path, load_reference, load_resolutions
from .backtest import applicable as backtest_items
from .records import (
    HISTORY_COLUMNS,
    LIVE,
    MAX_AUTHOR,
    MAX_NOTE,
    MAX_SOURCE,
    RESOLUTION_COLUMNS,
    RETROSPECTIVE,
    Resolution,
    default_author,
    history,
    items_as_of,
    record,
    record_run,
    recorded_nodes,
    resolutions,
    resolve,
    resolve_version,
    set_setting,
    settings,
)
from .scoring import (
    BINS,
    CALIBRATION_COLUMNS,
    LOG_FLOOR,
    MEAN_COLUMNS,
    SCORE_COLUMNS,
    Pooled,
    Scores,
    brier,
    calibration_table,
    decompose,
    fit_exponent,
    linear_pool,
    log_odds_pool,
    log_score,
    pool,
    recalibrate,
    score,
)
from .storage import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    default_path,
    describe,
    journal_path,
    location,
    schema_version,
)

_recorded_nodes = recorded_nodes  # tests/test_model.py checks the journal's default nodes

__all__ = [
    "APPLICATION_ID",
    "BINS",
    "CALIBRATION_COLUMNS",
    "HISTORY_COLUMNS",
    "LIVE",
    "LOG_FLOOR",
    "MAX_AUTHOR",
    "MAX_NOTE",
    "MAX_SOURCE",
    "MEAN_COLUMNS",
    "MIGRATIONS",
    "RESOLUTION_COLUMNS",
    "RETROSPECTIVE",
    "SCHEMA_VERSION",
    "SCORE_COLUMNS",
    "JournalError",
    "Outcome",
    "Pooled",
    "Resolution",
    "Scores",
    "backtest",
    "backtest_items",
    "brier",
    "calibration_table",
    "decompose",
    "default_author",
    "default_path",
    "describe",
    "fit_exponent",
    "forecast_path",
    "history",
    "items_as_of",
    "journal_path",
    "linear_pool",
    "load_reference",
    "load_resolutions",
    "location",
    "log_odds_pool",
    "log_score",
    "pool",
    "recalibrate",
    "record",
    "record_run",
    "resolutions",
    "resolve",
    "resolve_version",
    "schema_version",
    "score",
    "set_setting",
    "settings",
]

"""Journal sub-commands (history, resolve, score) and the --record options of query and run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .. import journal
from ..errors import ForecastError
from ..evidence import Evidence, Scenario
from ..export import jsonable, jsonable_rows, render
from ..model import Model, load_model
from .common import emit_text

TEXT_FORMATS = ("table", "csv", "json", "md")
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".md": "md", ".txt": "table"}


def add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="journal file (default: $FORECAST_DB, else journal.sqlite3 in your data folder)",
    )


def add_record_args(parser: argparse.ArgumentParser) -> None:
    """--record, --author, --note, --db for commands that produce a forecast."""
    g = parser.add_argument_group("journal")
    g.add_argument(
        "--record",
        action="store_true",
        help="record the outcome posteriors in the forecast journal",
    )
    g.add_argument(
        "--author",
        metavar="NAME",
        help="who issues the forecast (default: $FORECAST_AUTHOR or login name)",
    )
    g.add_argument(
        "--note", metavar="TEXT", default="", help="a note stored with the recorded forecast"
    )
    add_db_arg(g)


def record_forecast(
    args: argparse.Namespace, model: Model, evidence: Evidence | Scenario | None
) -> int:
    """`query --record`: record the outcome posteriors under the query's evidence."""
    if not getattr(args, "record", False):
        return 0
    fid = journal.record(
        model, evidence, note=args.note or "", author=args.author or "", db=args.db
    )
    sys.stderr.write(f"recorded forecast {fid} in {journal.journal_path(args.db)}\n")
    return 0


def record_scenarios(
    args: argparse.Namespace, model: Model, scenarios: Sequence[Scenario | Evidence]
) -> int:
    """`run --record`: one forecast per scenario, in one transaction."""
    if not getattr(args, "record", False):
        return 0
    ids = journal.record_run(
        model, list(scenarios), note=args.note or "", author=args.author or "", db=args.db
    )
    shown = ", ".join(map(str, ids))
    sys.stderr.write(
        f"recorded forecast{'s' if len(ids) > 1 else ''} {shown} in {journal.journal_path(args.db)}\n"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history", help="list recorded forecasts (one row per forecast and outcome state)"
    )
    p.add_argument("--model", metavar="ID", help="only forecasts of this model id (or model file)")
    p.add_argument("--author", metavar="NAME", help="only forecasts by this author")
    _add_output(p)
    add_db_arg(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("resolve", help="record what happened to an outcome node")
    p.add_argument("model_id", metavar="MODEL_ID", help="model id (or model file)")
    p.add_argument("node", metavar="NODE")
    p.add_argument("state", metavar="STATE", help="the state that happened")
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="when it was known; scores forecasts recorded on or before (default: today, UTC)",
    )
    add_db_arg(p)
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser(
        "score", help="Brier and log scores of resolved forecasts, their means, and calibration"
    )
    p.add_argument("--model", metavar="ID", help="only forecasts of this model id (or model file)")
    p.add_argument("--author", metavar="NAME", help="only forecasts by this author")
    p.add_argument(
        "--only",
        choices=("scores", "means", "calibration"),
        help="one part only (csv always gives one part: scores unless --only says otherwise)",
    )
    _add_output(p)
    add_db_arg(p)
    p.set_defaults(func=cmd_score)


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=TEXT_FORMATS, help="output format (default: table)")
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (.csv .json .md .txt, atomically)"
    )


def _model_id(text: str | None) -> str | None:
    """An id, or the id of a model file given instead."""
    if text is None:
        return None
    path = Path(text)
    return load_model(path).id if path.is_file() else text


def _output_format(args: argparse.Namespace) -> str:
    fmt = args.format
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if fmt is None:
            if suffix not in SUFFIX_FORMATS:
                raise ForecastError(
                    f"{args.output}: unknown format '{suffix}'; use .csv, .json, .md or .txt"
                )
            fmt = SUFFIX_FORMATS[suffix]
    return fmt or "table"


def _write(text: str, args: argparse.Namespace) -> int:
    return emit_text(text, args.output)


def _for_people(table: pd.DataFrame) -> pd.DataFrame:
    """Rounded scores and minute-resolution times for the terminal and Markdown."""
    out = table.copy()
    for col in ("recorded_at",):
        if col in out.columns and len(out):
            out[col] = out[col].map(lambda t: t.strftime("%Y-%m-%d %H:%M"))
    for col in ("brier", "log_score"):
        if col in out.columns:
            out[col] = out[col].map(lambda x: f"{x:.3f}")
    for col, pattern in (
        ("low", "{:.0%}"),
        ("high", "{:.0%}"),
        ("mean_probability", "{:.1%}"),
        ("observed_frequency", "{:.1%}"),
    ):
        if col in out.columns:
            out[col] = out[col].map(pattern.format)
    out.attrs = {}
    return out


def _text_table(table: pd.DataFrame, fmt: str) -> str:
    shown = _for_people(table)
    if fmt == "md":
        from ..export import display_table

        return display_table(shown).to_markdown(index=False)
    return render(shown, "table")


def cmd_history(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    table = journal.history(db=args.db, model=_model_id(args.model), author=args.author)
    where = journal.journal_path(args.db)
    if fmt in ("table", "md"):
        if table.empty:
            return _write(f"No forecasts recorded in {where}.", args)
        shown = table.drop(columns=["model_hash", "evidence"])
        text = _text_table(shown, fmt)
        if fmt == "md":
            text = f"# Forecast journal\n\nJournal: `{where}`\n\n{text}"
        return _write(text, args)
    if fmt == "csv":
        return _write(table.to_csv(index=False), args)
    return _write(render(table, "json"), args)


def cmd_resolve(args: argparse.Namespace) -> int:
    date = args.date or dt.datetime.now(dt.UTC).date().isoformat()
    model_id = _model_id(args.model_id)
    count = journal.resolve(model_id, args.node, args.state, date, db=args.db)
    sys.stdout.write(
        f"resolved {model_id}: {args.node.strip()} = {args.state.strip()} on {date}; "
        f"it scores {count} recorded forecast{'s' if count != 1 else ''}"
        + (" (only forecasts recorded on or before that date count)" if count == 0 else "")
        + "\n"
    )
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    result = journal.score(db=args.db, model=_model_id(args.model), author=args.author)
    parts = {"scores": result.scores, "means": result.means, "calibration": result.calibration}
    chosen = [args.only] if args.only else (["scores"] if fmt == "csv" else list(parts))
    if fmt == "csv":
        return _write(parts[chosen[0]].to_csv(index=False), args)
    if fmt == "json":
        data = {
            "metadata": jsonable(result.scores.attrs),
            **{name: jsonable_rows(parts[name]) for name in chosen},
        }
        return _write(json.dumps(data, indent=2, ensure_ascii=False), args)
    if result.scores.empty:
        skipped = result.scores.attrs.get("skipped", 0)
        extra = (
            f" ({skipped} skipped: the resolved state is not among their states)" if skipped else ""
        )
        return _write(
            f"No resolved forecasts to score in {journal.journal_path(args.db)}{extra}; "
            "record forecasts, then `forecast resolve MODEL_ID NODE STATE --date YYYY-MM-DD`.",
            args,
        )
    titles = {"scores": "Scores", "means": "Means", "calibration": "Calibration"}
    blocks = []
    for name in chosen:
        table = parts[name]
        if name == "scores":
            table = table.drop(columns=["note", "scenario"])
        body = _text_table(table, fmt)
        blocks.append(
            f"## {titles[name]}\n\n{body}" if fmt == "md" else f"{titles[name]}\n\n{body}"
        )
    return _write("\n\n".join(blocks), args)

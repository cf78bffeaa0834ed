"""Journal sub-commands and the --record options of query and run.

history, resolve (with --amend --reason), resolutions, score, pool,
recalibrate, journal-setting and backtest: thin shells over forecast.journal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from .. import journal
from ..errors import ForecastError
from ..evidence import Evidence, Scenario, load_evidence
from ..export import jsonable, jsonable_rows, render
from ..model import Model, load_model
from ..safety import safe_frame
from .common import (
    add_as_of_arg,
    add_author_arg,
    add_command,
    add_evidence_args,
    add_items_arg,
    add_model_id_arg,
    add_output_args,
    emit,
    emit_text,
    evidence_from_args,
)

TEXT_FORMATS = ("table", "csv", "json", "md")
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".md": "md", ".txt": "table"}
HASH_SHOWN = 12  # characters of the model's content hash in tables for people


def add_db_arg(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="journal file or postgresql:// URL (default: $FORECAST_DB, else journal.sqlite3 "
        "in your data folder)",
    )


def add_record_args(parser: argparse.ArgumentParser) -> None:
    """--record, --author, --note, --as-of, --db for commands that produce a forecast."""
    g = parser.add_argument_group("journal")
    g.add_argument(
        "--record",
        action="store_true",
        help="record the outcome posteriors in the forecast journal",
    )
    add_author_arg(g, "who issues the forecast (default: $FORECAST_AUTHOR or login name)")
    g.add_argument(
        "--note", metavar="TEXT", default="", help="a note stored with the recorded forecast"
    )
    add_as_of_arg(
        g,
        "forecast date: evidence items dated after it are not applied and the rest are "
        "aged to it (docs/evidence.md); with --record, the forecast is recorded as of this "
        "date (a date before today makes it retrospective)",
    )
    add_db_arg(g)


def record_forecast(
    args: argparse.Namespace, model: Model, evidence: Evidence | Scenario | None
) -> int:
    """`query --record`: record the outcome posteriors under the query's evidence."""
    if not getattr(args, "record", False):
        return 0
    fid = journal.record(
        model,
        evidence,
        note=args.note or "",
        author=args.author or "",
        as_of=args.as_of,
        db=args.db,
    )
    sys.stderr.write(f"recorded forecast {fid} in {journal.describe(args.db)}\n")
    return 0


def record_scenarios(
    args: argparse.Namespace, model: Model, scenarios: Sequence[Scenario | Evidence]
) -> int:
    """`run --record`: one forecast per scenario, in one transaction."""
    if not getattr(args, "record", False):
        return 0
    ids = journal.record_run(
        model,
        list(scenarios),
        note=args.note or "",
        author=args.author or "",
        as_of=args.as_of,
        db=args.db,
    )
    shown = ", ".join(map(str, ids))
    sys.stderr.write(
        f"recorded forecast{'s' if len(ids) > 1 else ''} {shown} in {journal.describe(args.db)}\n"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        cmd_history,
        "list recorded forecasts (one row per forecast and outcome state) and resolutions",
    )
    _add_filters(p, kind=False)
    _add_listing(p)

    p = add_command(sub, cmd_resolve, "record what happened to an outcome node")
    add_model_id_arg(p)
    p.add_argument("node", metavar="NODE")
    p.add_argument("state", metavar="STATE", help="the state that happened")
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="the day it became known; scores forecasts issued on or before it (default: today, UTC)",
    )
    p.add_argument("--source", metavar="TEXT", default="", help="where the outcome was reported")
    add_author_arg(p, "who resolves (default: $FORECAST_AUTHOR)")
    p.add_argument(
        "--amend", action="store_true", help="replace the current resolution (needs --reason)"
    )
    p.add_argument("--reason", metavar="TEXT", default="", help="why the resolution is amended")
    p.add_argument(
        "--before-horizon",
        action="store_true",
        help="the outcome was settled before the question's horizon",
    )
    add_db_arg(p)

    p = add_command(sub, cmd_resolutions, "every version of every resolution (the audit trail)")
    p.add_argument("--model", metavar="ID", help="only this model id (or model file)")
    p.add_argument("--current", action="store_true", help="only the current versions")
    _add_listing(p)

    p = add_command(
        sub,
        cmd_score,
        "Brier and log scores of resolved forecasts, their means, calibration and its decomposition",
    )
    _add_filters(p)
    p.add_argument(
        "--combine-versions",
        action="store_true",
        help="score forecasts of model files with different content hashes under one id together",
    )
    p.add_argument(
        "--only",
        choices=("scores", "means", "calibration", "decomposition"),
        help="one part only (csv always gives one part: scores unless --only says otherwise)",
    )
    _add_listing(p)

    p = add_command(
        sub, cmd_pool, "pool several authors' forecasts (linear, log-odds) and score them"
    )
    add_model_id_arg(p)
    p.add_argument("--node", metavar="NODE", help="only this outcome node")
    p.add_argument("--kind", choices=(journal.LIVE, journal.RETROSPECTIVE), default=journal.LIVE)
    p.add_argument(
        "--extremise",
        type=float,
        metavar="A",
        help="extremising exponent (default: the journal setting fixed before resolution)",
    )
    _add_listing(p)

    p = add_command(
        sub, cmd_recalibrate, "out-of-sample log-odds recalibration fitted on earlier questions"
    )
    _add_filters(p)
    _add_listing(p)

    p = add_command(
        sub, cmd_journal_setting, "fix a journal setting for a model in advance (extremise)"
    )
    add_model_id_arg(p)
    p.add_argument("key", choices=sorted(journal.records.SETTINGS))
    p.add_argument("value", type=float)
    add_author_arg(p)
    add_db_arg(p)

    p = add_command(
        sub,
        cmd_backtest,
        "issue the model's forecast as of past dates and score it against a resolutions file",
    )
    p.add_argument("model", metavar="MODEL", help="model file")
    p.add_argument(
        "--resolutions",
        required=True,
        metavar="FILE",
        help="YAML list of node, state, known_on, source",
    )
    add_as_of_arg(
        p,
        "an as-of date (repeatable; default: the model's as-of date and every item date)",
        action="append",
    )
    add_items_arg(
        p, "evidence item file or folder; items dated on or before each as-of date are applied"
    )
    p.add_argument(
        "--reference",
        metavar="FILE",
        help="YAML reference forecast {node: {state: probability}} scored beside the model",
    )
    add_evidence_args(p, as_of=False)
    g = p.add_argument_group("journal")
    g.add_argument(
        "--record",
        action="store_true",
        help="also record each as-of forecast in the journal (retrospective)",
    )
    add_author_arg(g)
    add_db_arg(g)
    add_output_args(p, formats=("table", "csv", "json", "md", "html", "xlsx"))


def _add_filters(p: argparse.ArgumentParser, kind: bool = True) -> None:
    """--model and --author (and --kind unless `kind` is false): which forecasts a command reads."""
    p.add_argument("--model", metavar="ID", help="only forecasts of this model id (or model file)")
    add_author_arg(p, "only forecasts by this author")
    if not kind:
        return
    p.add_argument(
        "--kind",
        choices=(journal.LIVE, journal.RETROSPECTIVE),
        help="only live or only retrospective forecasts (they are always shown apart)",
    )


def _add_listing(p: argparse.ArgumentParser) -> None:
    """--format, --output and --db: a command that lists what the journal holds."""
    p.add_argument("--format", choices=TEXT_FORMATS, help="output format (default: table)")
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (.csv .json .md .txt, atomically)"
    )
    add_db_arg(p)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    """The journal keywords from `_add_filters`' --model and --author, and --db."""
    return {"model": _model_id(args.model), "author": args.author, "db": args.db}


def _model_id(text: str | None) -> str | None:
    """An id, or the id of a model file given instead."""
    if text is None:
        return None
    path = Path(text)
    return load_model(path).id if path.is_file() else text


def _model_or_id(text: str) -> Model | str:
    path = Path(text)
    return load_model(path) if path.is_file() else text


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
    """Rounded scores, minute-resolution times and short hashes for the terminal and Markdown."""
    out = table.copy()
    for col in ("recorded_at",):
        if col in out.columns and len(out):
            out[col] = out[col].map(lambda t: t.strftime("%Y-%m-%d %H:%M"))
    if "model_hash" in out.columns:
        out["model_hash"] = out["model_hash"].map(lambda h: str(h)[:HASH_SHOWN])
    for col in out.columns:
        if col.endswith(("brier", "log_score")) or col in (
            "reliability",
            "resolution",
            "uncertainty",
            "within_bin",
            "exponent",
        ):
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


def _csv(table: pd.DataFrame) -> str:
    """CSV with text cells made safe for spreadsheets (no live formulas from authors or notes)."""
    return safe_frame(table).to_csv(index=False)


def _blocks(parts: list[tuple[str, pd.DataFrame]], fmt: str) -> str:
    out = []
    for title, table in parts:
        body = _text_table(table, fmt)
        out.append(f"## {title}\n\n{body}" if fmt == "md" else f"{title}\n\n{body}")
    return "\n\n".join(out)


def cmd_history(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    model = _model_id(args.model)
    table = journal.history(model=model, author=args.author, db=args.db)
    res = journal.resolutions(model=model, db=args.db)
    where = journal.describe(args.db)
    if fmt in ("table", "md"):
        if table.empty and res.empty:
            return _write(f"No forecasts recorded in {where}.", args)
        parts = [("Forecasts", table.drop(columns=["evidence", "horizon"]))]
        if not res.empty:
            parts.append(("Resolutions (every version; the last of each node is current)", res))
        text = _blocks(parts, fmt)
        if fmt == "md":
            text = f"# Forecast journal\n\nJournal: `{where}`\n\n{text}"
        return _write(text, args)
    if fmt == "csv":
        return _write(_csv(table), args)
    data = json.loads(render(table, "json"))
    data["resolutions"] = jsonable_rows(res)
    return _write(json.dumps(data, indent=2, ensure_ascii=False), args)


def cmd_resolve(args: argparse.Namespace) -> int:
    today = dt.datetime.now(dt.UTC).date()
    date = args.date or today.isoformat()
    model = _model_or_id(args.model_id)
    model_id = model.id if isinstance(model, Model) else model
    done = journal.resolve_version(
        model,
        args.node,
        args.state,
        date,
        author=args.author or "",
        source=args.source,
        amend=args.amend,
        reason=args.reason,
        before_horizon=args.before_horizon,
        db=args.db,
    )
    count = done.scores
    what = (
        "unchanged (already resolved so)"
        if done.unchanged
        else (f"amended (version {done.version})" if done.amended else "resolved")
    )
    sys.stdout.write(
        f"{what} {model_id}: {args.node.strip()} = {args.state.strip()} on {date}; "
        f"it scores {count} recorded forecast{'s' if count != 1 else ''}"
        + (" (only forecasts issued on or before that date count)" if count == 0 else "")
        + "\n"
    )
    if not args.date:
        sys.stderr.write(
            f"note: known on today ({date}) by default; give --date for the day it became known\n"
        )
    return 0


def cmd_resolutions(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    table = journal.resolutions(model=_model_id(args.model), current=args.current, db=args.db)
    if fmt == "csv":
        return _write(_csv(table), args)
    if fmt == "json":
        return _write(render(table, "json"), args)
    if table.empty:
        return _write(f"No resolutions in {journal.describe(args.db)}.", args)
    return _write(_text_table(table, fmt), args)


def cmd_score(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    result = journal.score(**_filters(args), kind=args.kind, combine_versions=args.combine_versions)
    parts = {
        "scores": result.scores,
        "means": result.means,
        "calibration": result.calibration,
        "decomposition": result.decomposition,
    }
    chosen = [args.only] if args.only else (["scores"] if fmt == "csv" else list(parts))
    if fmt == "csv":
        return _write(_csv(parts[chosen[0]]), args)
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
            f"No resolved forecasts to score in {journal.describe(args.db)}{extra}; "
            "record forecasts, then `forecast resolve MODEL NODE STATE --date YYYY-MM-DD`.",
            args,
        )
    titles = {
        "scores": "Scores",
        "means": "Means (live and retrospective forecasts apart)",
        "calibration": "Calibration (counts per bin)",
        "decomposition": "Brier decomposition (Murphy)",
    }
    blocks = []
    for name in chosen:
        table = parts[name]
        if name == "scores":
            table = table.drop(columns=["note", "scenario"])
        blocks.append((titles[name], table))
    text = _blocks(blocks, fmt)
    notes = []
    for question in result.scores.attrs.get("amended", []):
        notes.append(f"note: the resolution of {question} was amended; scores use the current one")
    if len(result.scores.attrs.get("model_hashes", [])) > 1 and not args.combine_versions:
        notes.append(
            "note: forecasts of model files with different content hashes are scored apart "
            "(--combine-versions pools them)"
        )
    return _write("\n\n".join([text, *notes]) if notes else text, args)


def cmd_pool(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    pooled = journal.pool(
        model=_model_id(args.model_id) or "",
        node=args.node,
        kind=args.kind,
        extremise=args.extremise,
        db=args.db,
    )
    if fmt == "csv":
        return _write(_csv(pooled.scores if len(pooled.scores) else pooled.forecasts), args)
    if fmt == "json":
        data = {
            "forecasts": jsonable_rows(pooled.forecasts),
            "scores": jsonable_rows(pooled.scores),
        }
        return _write(json.dumps(data, indent=2, ensure_ascii=False), args)
    if pooled.forecasts.empty:
        return _write("No forecasts to pool.", args)
    parts = [("Pooled and individual forecasts", pooled.forecasts)]
    if len(pooled.scores):
        parts.append(("Scores", pooled.scores))
    return _write(_blocks(parts, fmt), args)


def cmd_recalibrate(args: argparse.Namespace) -> int:
    fmt = _output_format(args)
    table = journal.recalibrate(**_filters(args), kind=args.kind or journal.LIVE)
    if fmt == "csv":
        return _write(_csv(table), args)
    if fmt == "json":
        return _write(render(table, "json"), args)
    if table.empty:
        return _write(
            "Nothing to recalibrate out of sample: it needs forecasts of at least one question "
            "resolved earlier than the one scored.",
            args,
        )
    title = "Out-of-sample recalibration (each exponent fitted only on earlier questions)"
    return _write(_blocks([(title, table)], fmt), args)


def cmd_journal_setting(args: argparse.Namespace) -> int:
    model_id = _model_id(args.model_id) or ""
    journal.set_setting(model_id, args.key, args.value, author=args.author or "", db=args.db)
    sys.stdout.write(f"set {args.key} = {args.value:g} for {model_id}\n")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    items = load_evidence(args.evidence) if args.evidence else []
    scenario = evidence_from_args(model, args)
    reference = journal.load_reference(model, args.reference) if args.reference else None
    table = journal.backtest(
        model,
        journal.load_resolutions(args.resolutions),
        as_of=args.as_of,
        items=items,
        scenario=scenario,
        reference=reference,
    )
    if args.record:
        ids = [
            journal.record(
                model,
                replace(
                    scenario, items=scenario.items + tuple(journal.backtest_items(model, items))
                ),
                author=args.author or "",
                note="backtest",
                as_of=day,
                db=args.db,
            )
            for day in table.attrs["as_of_dates"]
        ]
        sys.stderr.write(f"recorded forecasts {ids[0]}–{ids[-1]} in {journal.describe(args.db)}\n")
    return emit(table, args)

"""`forecast diff OLD NEW [--scenario FILE]...`: the semantic diff of two model files, for review."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..diff import semantic_diff
from ..errors import ForecastError
from ..evidence import load_evidence, load_scenario
from ..model import load_model
from .common import emit_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="what changed between two model files and what it does to the outcomes",
    )
    p.add_argument("old", metavar="OLD", help="the model file before the change")
    p.add_argument("new", metavar="NEW", help="the model file after the change")
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE",
        help="also compare the outcomes under this scenario (repeatable)",
    )
    p.add_argument(
        "--evidence",
        metavar="DIR",
        help="dated evidence items for the issued forecast (default: ./evidence if it exists)",
    )
    p.add_argument("--no-evidence", action="store_true", help="do not compare the issued forecast")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically)")
    p.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    old, new = load_model(args.old), load_model(args.new)
    items = []
    folder = args.evidence or ("evidence" if Path("evidence").is_dir() else None)
    if folder and not args.no_evidence:
        items = load_evidence(folder)
    elif args.evidence and not Path(args.evidence).exists():
        raise ForecastError(f"{args.evidence}: evidence folder not found")
    pool = items or None
    scenarios = [load_scenario(f, evidence=pool) for f in args.scenario]
    result = semantic_diff(old, new, items, items, scenarios)
    if args.format == "json":
        text = json.dumps(
            {
                "changes": result.changes.to_dict("records"),
                "forecast": json.loads(result.forecast.to_json(orient="records")),
                "notes": list(result.notes),
            },
            indent=2,
            ensure_ascii=False,
        )
    elif args.format == "csv":
        text = result.changes.to_csv(index=False) + "\n" + result.forecast.to_csv(index=False)
    else:
        text = result.to_text()
    emit_text(text, args.output)
    if args.output is None:
        sys.stdout.flush()
    return 0

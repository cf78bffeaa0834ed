"""`forecast diff OLD NEW [--scenario FILE]...`: the semantic diff of two model files, for review.

Either side may be a git revision of a file, `REV:PATH` (as `git show` takes it), so
`forecast diff HEAD:models/russia_iran.yaml models/russia_iran.yaml` reviews the
working copy's edits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ..diff import semantic_diff
from ..errors import ForecastError
from ..evidence import load_evidence, load_scenario
from ..model import Model, load_model, model_from_bytes
from .common import add_command, add_items_arg, emit_text


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, cmd_diff, "what changed between two model files and what it does to the outcomes"
    )
    p.add_argument("old", metavar="OLD", help="the model file before the change (or REV:PATH)")
    p.add_argument("new", metavar="NEW", help="the model file after the change (or REV:PATH)")
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="FILE",
        help="also compare the outcomes under this scenario (repeatable)",
    )
    add_items_arg(
        p, "dated evidence items for the issued forecast (default: ./evidence if it exists)", "DIR"
    )
    p.add_argument("--no-evidence", action="store_true", help="do not compare the issued forecast")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (atomically)")


def cmd_diff(args: argparse.Namespace) -> int:
    old, new = open_model(args.old), open_model(args.new)
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


def open_model(arg: str) -> Model:
    """A model file, or `REV:PATH` read from git when no such file exists."""
    rev, sep, path = arg.partition(":")
    if Path(arg).exists() or not sep or not rev or not path:
        return load_model(arg)
    try:
        done = subprocess.run(
            ["git", "show", f"{rev}:{path}"], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise ForecastError(f"{arg}: no such file, and git is not installed to read it") from None
    except subprocess.TimeoutExpired:
        raise ForecastError(f"{arg}: git took too long to answer") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ForecastError(f"{arg}: no such file, and git cannot show it ({' '.join(reason[:1])})")
    return model_from_bytes(done.stdout, path)

"""`forecast report`: the report an analyst hands in, as .docx, .xlsx, .html, .md, .csv or .json."""

from __future__ import annotations

import argparse
import sys

from ..evidence import load_evidence, load_scenario
from ..reporting import report
from ..writers import REPORT_FORMATS, report_format, write_report
from .common import (
    add_author_arg,
    add_command,
    add_items_arg,
    add_model_arg,
    add_targets_arg,
    open_model,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        cmd_report,
        "write a report with key judgements, issue record, charts and sources",
        description="Key judgements first (ICD 203 language), then the issue record, tables, "
        "charts, the evidence used and a bibliography; see docs/reports.md.",
    )
    add_model_arg(p)
    p.add_argument("--scenario", metavar="FILE", help="scenario file (its evidence and items)")
    add_items_arg(p, "apply every dated evidence item in this file or folder as well")
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="FILE",
        help="a further scenario file to compare side by side (repeatable)",
    )
    add_author_arg(p, "the report's author (default: $FORECAST_AUTHOR)")
    add_targets_arg(p, "an outcome to judge (repeatable; default: the model's outcomes)")
    p.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="FILE",
        help=f"the report file; its suffix picks the format ({', '.join(REPORT_FORMATS)})",
    )


def cmd_report(args: argparse.Namespace) -> int:
    report_format(args.output)  # a bad suffix fails before any work is done
    model = open_model(args)
    scenario = load_scenario(args.scenario) if args.scenario else None
    items = load_evidence(args.evidence) if args.evidence else []
    compare = [load_scenario(f) for f in args.compare]
    built = report(
        model, scenario, author=args.author, compare=compare, items=items, targets=args.target
    )
    write_report(built, args.output)
    sys.stderr.write(f"wrote {args.output}\n")
    return 0

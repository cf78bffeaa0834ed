"""`forecast audit MODEL`: measure every claim the model lists; exit 1 if any fails."""

from __future__ import annotations

import argparse
import sys

from ..claims import audit
from .common import add_command, add_model_arg, add_output_args, emit, open_model


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        cmd_audit,
        "measure each claim in the model's claims file on the network (exit 1 if any fails)",
    )
    add_model_arg(p)
    p.add_argument(
        "--claims",
        metavar="FILE",
        help="claims file (default: <model>.claims.yaml beside the model)",
    )
    p.add_argument("--failed", action="store_true", help="show only the claims that fail")
    add_output_args(p)


def cmd_audit(args: argparse.Namespace) -> int:
    model = open_model(args)
    table = audit(model, args.claims)
    failed = int((table["verdict"] == "fail").sum())
    shown = table[table["verdict"] == "fail"].reset_index(drop=True) if args.failed else table
    shown.attrs = dict(table.attrs)
    emit(shown, args)
    sys.stderr.write(f"{len(table)} claims, {len(table) - failed} pass, {failed} fail\n")
    return 1 if failed else 0

"""`forecast rename MODEL OLD NEW`: rename a node (or a state) everywhere, saving only edited lines.

The same edit as the app's Model tab (forecast.edit): parents, tables, ranked
weights, resolution criteria, evidence items, scenarios and the claims file
follow; the files keep their comments and layout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_command, add_items_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        cmd_rename,
        "rename a node (or, with --state-of NODE, one of its states) in the model, its "
        "evidence items, scenarios and claims",
    )
    p.add_argument("model", metavar="MODEL", help="the YAML model file")
    p.add_argument("old", metavar="OLD", help="the current id")
    p.add_argument("new", metavar="NEW", help="the new id (letters, digits, _)")
    p.add_argument("--state-of", metavar="NODE", help="rename a state of NODE instead of a node")
    add_items_arg(p, "the evidence items to update (default: ./evidence if it exists)", "DIR")
    p.add_argument(
        "--scenarios", metavar="DIR", help="the scenarios to update (default: EVIDENCE/scenarios)"
    )
    p.add_argument("--dry-run", action="store_true", help="show the change summary, write nothing")


def cmd_rename(args: argparse.Namespace) -> int:
    from ..edit import open_workbench  # ruamel.yaml is loaded only when a command writes

    evidence = args.evidence or ("evidence" if Path("evidence").is_dir() else None)
    scenarios = args.scenarios or (str(Path(evidence) / "scenarios") if evidence else None)
    bench = open_workbench(args.model, evidence, scenarios)
    if args.state_of:
        bench.editor.rename_state(args.state_of, args.old, args.new)
    else:
        bench.editor.rename_node(args.old, args.new)
    changes = bench.changes()
    lines = [f"{len(changes.changes)} change(s) in the model", *bench.evidence_changes()]
    if args.dry_run:
        sys.stdout.write("\n".join(lines) + "\n(dry run: nothing written)\n")
        return 0
    written = bench.save()
    sys.stdout.write("\n".join([*lines, *(f"wrote {p}" for p in written)]) + "\n")
    return 0

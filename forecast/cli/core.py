"""Core sub-commands: nodes, validate, query, run, timeline, describe."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..checks import model_warnings
from ..describe import describe_model
from ..errors import ForecastError
from ..evidence import load_evidence, load_scenario
from ..formats import WRITABLE, read_model_file, write_model_file
from ..runs import run, timeline
from .common import (
    add_as_of_arg,
    add_command,
    add_draws_args,
    add_evidence_args,
    add_intervention_args,
    add_items_arg,
    add_model_arg,
    add_output_args,
    add_targets_arg,
    emit,
    emit_text,
    evidence_from_args,
    interventions_from_args,
    open_model,
    option_names,
)
from .journal import add_record_args, record_forecast, record_scenarios
from .sweep import add_executor_args, run_sweep, wants_sweep


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, cmd_nodes, "list the model's nodes with role, states and parents")
    add_model_arg(p)
    add_output_args(p)

    p = add_command(sub, cmd_validate, "check a model file and report every problem")
    add_model_arg(p)
    add_items_arg(
        p,
        "evidence items to check with the model (default: the evidence/ folder beside models/, if any)",
        "EVIDENCE",
    )

    p = add_command(sub, cmd_query, "posteriors under evidence")
    add_model_arg(p)
    add_evidence_args(p, as_of=False)  # --as-of comes with the journal options
    add_targets_arg(p)
    add_draws_args(
        p,
        "--intervals",
        "add p05/p50/p95 columns from N Monte Carlo draws of the CPTs (see `forecast uncertainty`)",
    )
    add_output_args(p)
    add_record_args(p)

    p = add_command(sub, cmd_run, "posteriors for several scenario files side by side")
    add_model_arg(p)
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario files")
    add_targets_arg(p)
    add_intervention_args(p, as_of=False)  # --as-of comes with the journal options
    p.add_argument("--grid", metavar="FILE.csv", help="a scenario grid: one row per scenario")
    add_draws_args(p, "--samples", "Monte Carlo: p05/p50/p95 from N draws per scenario")
    add_executor_args(p)
    add_output_args(p)
    add_record_args(p)

    p = add_command(
        sub, cmd_timeline, "replay dated evidence items and show how the forecast moved"
    )
    add_model_arg(p)
    p.add_argument("evidence", metavar="EVIDENCE", help="evidence item file or folder")
    add_targets_arg(p, "nodes to follow (default: outcomes)")
    add_as_of_arg(p, "forecast date the items are aged to (default: the model's as-of date)")
    add_output_args(p)

    p = add_command(sub, cmd_describe, "write the model's documentation as Markdown")
    add_model_arg(p)
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")

    p = add_command(
        sub,
        cmd_export_model,
        "write the model as BIF, XMLBIF, Hugin NET or GeNIe XDSL (for GeNIe, Hugin, Netica, pyAgrum)",
    )
    add_model_arg(p)
    p.add_argument(
        "--format",
        choices=WRITABLE,
        help="file format (default: from the output's suffix)",
    )
    p.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="file to write (.gz compresses it)"
    )


def cmd_nodes(args: argparse.Namespace) -> int:
    model = open_model(args)
    rows = [
        {
            "node": n,
            "label": model.label(n),
            "role": model.node(n).role,
            "states": ", ".join(model.states(n)),
            "parents": ", ".join(model.parents(n)),
        }
        for n in model.nodes
    ]
    table = pd.DataFrame(rows)
    table.attrs.update(model.metadata())
    return emit(table, args)


def cmd_validate(args: argparse.Namespace) -> int:
    model = open_model(args)
    tree = model.tree
    sys.stdout.write(
        f"{args.model}: valid model '{model.id}' with {len(model.nodes)} nodes "
        f"({len(model.drivers)} drivers, {len(model.outcomes)} outcomes); "
        f"largest clique table {tree.largest_table:,} entries\n"
    )
    for line in model_warnings(model, _validation_items(args)):
        sys.stderr.write(f"warning: {line}\n")
    return 0


def _validation_items(args: argparse.Namespace) -> list:
    """The items `validate` checks: --evidence, else <model folder>/../evidence when it exists."""
    if args.evidence:
        return load_evidence(args.evidence)
    folder = Path(args.model).resolve().parent.parent / "evidence"
    return load_evidence(folder) if folder.is_dir() else []


def cmd_query(args: argparse.Namespace) -> int:
    model = open_model(args)
    ev = evidence_from_args(model, args)
    table = model.posteriors(scenario=ev, targets=args.target)
    if args.intervals is not None:
        from ..analysis import uncertainty, with_intervals

        with option_names(samples="--intervals"):
            intervals = uncertainty(
                model, args.intervals, args.seed, targets=args.target, scenario=ev
            )
        table = with_intervals(table, intervals)
    emit(table, args)
    return record_forecast(args, model, ev)


def cmd_run(args: argparse.Namespace) -> int:
    model = open_model(args)
    scenarios = [load_scenario(s) for s in args.scenarios]
    if wants_sweep(args, run_options=True):
        if args.record:
            raise ForecastError("--record works without --executor, --grid or --samples")
        return run_sweep(args, model, list(scenarios))
    if not scenarios:
        raise ForecastError("give at least one scenario file (or --grid FILE.csv)")
    do, as_of = interventions_from_args(args)
    evs = [model.evidence(s, do=do, as_of=as_of) for s in scenarios] if do or as_of else scenarios
    table = run(model, evs, targets=args.target)
    emit(table, args)
    return record_scenarios(args, model, scenarios)


def cmd_timeline(args: argparse.Namespace) -> int:
    model = open_model(args)
    items = load_evidence(args.evidence)
    _, as_of = interventions_from_args(args)
    table = timeline(model, items, targets=args.target, as_of=as_of)
    return emit(table, args)


def cmd_describe(args: argparse.Namespace) -> int:
    model = open_model(args)
    return emit_text(describe_model(model), args.output)


def cmd_export_model(args: argparse.Namespace) -> int:
    # a conversion: the file is read and checked, but no junction tree is compiled (nor needed)
    spec = read_model_file(args.model, junction_tree=False)
    path = write_model_file(spec, args.output, args.format)
    sys.stderr.write(f"wrote {path}\n")
    return 0

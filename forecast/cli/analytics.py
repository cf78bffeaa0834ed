"""Analytics sub-commands: sensitivity, indicators, explain, uncertainty (thin shells over forecast.analysis)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .. import analysis
from ..evidence import load_scenario
from . import common
from .sweep import add_executor_args, run_sweep, wants_sweep

Progress = Callable[[int, int], None]


def register(sub: argparse._SubParsersAction) -> None:
    p = _add_analysis(
        sub, cmd_sensitivity, "which nodes (or CPT entries) move a target most: the tornado"
    )
    _add_outcome_arg(p)
    common.add_evidence_args(p)
    p.add_argument(
        "--parameters", action="store_true", help="move each CPT entry instead of setting each node"
    )
    p.add_argument(
        "--delta",
        type=float,
        default=0.1,
        metavar="D",
        help="how far to move each entry (default 0.1)",
    )
    p.add_argument(
        "--top",
        type=int,
        default=None,
        metavar="N",
        help="with --parameters: only the N entries with the largest swings",
    )
    common.add_output_args(p)

    p = _add_analysis(
        sub, cmd_indicators, "which unobserved nodes are worth collecting: mutual information"
    )
    p.add_argument("--target", required=True, metavar="NODE", help="the node to learn about")
    common.add_evidence_args(p)
    common.add_output_args(p)

    p = _add_analysis(sub, cmd_explain, "what each piece of evidence in a scenario did to a target")
    _add_outcome_arg(p)
    p.add_argument(
        "--scenario",
        required=True,
        metavar="FILE",
        help="scenario file whose evidence is explained",
    )
    p.add_argument(
        "--sequence",
        action="store_true",
        help="the cumulative sequence in date order (the waterfall)",
    )
    common.add_output_args(p)

    p = _add_analysis(
        sub, cmd_uncertainty, "intervals on the posteriors from Dirichlet draws of every CPT row"
    )
    common.add_draws_args(p, "--samples", "number of draws (default 2000)", default=2000)
    common.add_targets_arg(p, "nodes to report (default: the outcomes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    common.add_evidence_args(p)
    add_executor_args(p)
    common.add_output_args(p)


@contextmanager
def _progress_bar(args: argparse.Namespace, what: str) -> Iterator[Progress | None]:
    """A tqdm bar on stderr (when it is a terminal); closed even on Ctrl-C."""
    if getattr(args, "no_progress", False) or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=0, desc=what, unit="", leave=False, file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _add_analysis(
    sub: argparse._SubParsersAction, func: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    """An analysis sub-command: named after `func`, its first argument the model file."""
    p = common.add_command(sub, func, help)
    common.add_model_arg(p)
    return p


def _add_outcome_arg(p: argparse.ArgumentParser) -> None:
    """--target NODE=STATE: the one outcome that sensitivity and explain explain."""
    p.add_argument("--target", required=True, metavar="NODE=STATE", help="the outcome to explain")


def cmd_sensitivity(args: argparse.Namespace) -> int:
    model = common.open_model(args)
    ev = common.evidence_from_args(model, args)
    if args.parameters:
        with _progress_bar(args, "CPT entries") as progress, common.option_names():
            table = analysis.parameter_sensitivity(
                model, args.target, args.delta, scenario=ev, progress=progress, top=args.top
            )
    else:
        table = analysis.sensitivity(model, args.target, scenario=ev)
    return common.emit(table, args)


def cmd_indicators(args: argparse.Namespace) -> int:
    model = common.open_model(args)
    ev = common.evidence_from_args(model, args)
    return common.emit(analysis.indicators(model, args.target, scenario=ev), args)


def cmd_explain(args: argparse.Namespace) -> int:
    model = common.open_model(args)
    scenario = model.evidence(load_scenario(args.scenario))
    fn = analysis.explain_sequence if args.sequence else analysis.explain
    return common.emit(fn(model, args.target, scenario), args)


def cmd_uncertainty(args: argparse.Namespace) -> int:
    model = common.open_model(args)
    ev = common.evidence_from_args(model, args)
    if wants_sweep(args):
        return run_sweep(args, model, [ev])
    with _progress_bar(args, "draws") as progress, common.option_names():
        table = analysis.uncertainty(
            model, args.samples, args.seed, targets=args.target, scenario=ev, progress=progress
        )
    return common.emit(table, args)

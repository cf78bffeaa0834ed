"""Argument helpers shared by every sub-command: evidence options and output."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from ..errors import ArgumentError, EvidenceError, ForecastError
from ..evidence import Evidence, load_scenario
from ..export import FORMATS, export, format_for, render
from ..formats import MODEL_SUFFIXES
from ..model import Model, load_model
from ..yamlio import atomic_write_text


def fail(message: str) -> int:
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"forecast: error: {one_line}\n")
    return 2


@contextlib.contextmanager
def option_names(**options: str) -> Iterator[None]:
    """Word the library's argument errors with the options the user typed.

    The library checks the values (the CLI passes them on unchecked); a parameter
    is named by its option, `--NAME` unless `options` maps it (samples="--intervals").
    """
    try:
        yield
    except ArgumentError as exc:
        raise exc.renamed(
            options.get(exc.argument, "--" + exc.argument.replace("_", "-"))
        ) from None


Options = argparse.ArgumentParser | argparse._ArgumentGroup


def add_command(
    sub: argparse._SubParsersAction, func: Callable[[argparse.Namespace], int], help: str, **kw: Any
) -> argparse.ArgumentParser:
    """The sub-command run by `func`, named after it (``cmd_export_model`` is ``export-model``).

    `help` and `kw` (a description) go to argparse, as click names a command after its function.
    """
    name = func.__name__.removeprefix("cmd_").replace("_", "-")
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, **kw)
    parser.set_defaults(func=func)
    return parser


def add_items_arg(parser: Options, help: str, metavar: str = "PATH") -> None:
    """--evidence: the dated evidence items (a file or folder) a command reads or updates."""
    parser.add_argument("--evidence", metavar=metavar, help=help)


def add_as_of_arg(parser: Options, help: str, **kw: Any) -> None:
    """--as-of YYYY-MM-DD: the forecast date (`kw`: action="append" for several)."""
    parser.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD", help=help, **kw)


def add_author_arg(parser: Options, help: str | None = None) -> None:
    """--author NAME: who issues, resolves or writes (or, as a filter, whose forecasts)."""
    parser.add_argument("--author", metavar="NAME", help=help)


def add_model_id_arg(parser: Options) -> None:
    """MODEL, for the journal's commands: a model id, or a model file standing for its id."""
    parser.add_argument("model_id", metavar="MODEL", help="model id or model file")


def add_targets_arg(
    parser: argparse.ArgumentParser, help: str = "only these nodes (repeatable)"
) -> None:
    """--target NODE, repeatable: the nodes a table reports (the library's `targets`)."""
    parser.add_argument("--target", action="append", metavar="NODE", help=help)


def add_draws_args(
    parser: argparse.ArgumentParser, draws: str, help: str, default: int | None = None
) -> None:
    """The number of Monte Carlo draws (`draws` is the option's name) and --seed."""
    parser.add_argument(draws, type=int, default=default, metavar="N", help=help)
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help=f"random seed for {draws} (default 0)"
    )


def add_model_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model file: " + ", ".join(MODEL_SUFFIXES) + " (docs/formats.md)",
    )


def add_evidence_args(parser: argparse.ArgumentParser, as_of: bool = True) -> None:
    g = parser.add_argument_group("evidence")
    g.add_argument(
        "--hard", action="append", default=[], metavar="NODE=STATE", help="NODE is in STATE"
    )
    g.add_argument(
        "--likelihood",
        action="append",
        default=[],
        metavar="NODE=S1:W1,S2:W2",
        help="likelihood weights for every state of NODE",
    )
    g.add_argument(
        "--fixed",
        action="append",
        default=[],
        metavar="NODE=S1:P1,S2:P2",
        help="your own probabilities for NODE (its posterior will equal them)",
    )
    g.add_argument(
        "--scenario",
        metavar="FILE",
        help="scenario file (keyword evidence replaces it node by node)",
    )
    add_intervention_args(g, as_of=as_of)


def add_intervention_args(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, as_of: bool = True
) -> None:
    """--do (graph surgery) and --as-of (the forecast date evidence items are aged to).

    Commands that record forecasts get --as-of from the journal options (one option,
    one meaning), so they pass `as_of=False`.
    """
    parser.add_argument(
        "--do",
        action="append",
        default=[],
        metavar="NODE=STATE",
        help="intervene: set NODE to STATE and cut its incoming edges (repeatable)",
    )
    if not as_of:
        return
    add_as_of_arg(
        parser,
        "forecast date: items are aged to it, later items are not applied (default: the model's as-of date)",
    )


def interventions_from_args(args: argparse.Namespace) -> tuple[dict[str, str], dt.date | None]:
    """The --do pairs and the --as-of date, checked."""
    do = _once([_split_pair(d, "do") for d in getattr(args, "do", [])], "do")
    raw = getattr(args, "as_of", None)
    if isinstance(raw, list):  # a command whose --as-of lists several dates (backtest)
        return do, None
    if raw is None:
        return do, None
    try:
        return do, dt.date.fromisoformat(raw)
    except ValueError:
        raise EvidenceError(f"--as-of '{raw}': expected a date YYYY-MM-DD") from None


def add_output_args(
    parser: argparse.ArgumentParser, formats: tuple[str, ...] = ("table", "csv", "json", "md")
) -> None:
    parser.add_argument(
        "--format",
        choices=formats + (("html",) if "html" not in formats else ()),
        help="output format",
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (atomically); format from its suffix"
    )


def _split_pair(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise EvidenceError(f"--{what} '{text}': expected NODE=...")
    node, _, rest = text.partition("=")
    if not node or not rest:
        raise EvidenceError(f"--{what} '{text}': expected NODE=...")
    return node.strip(), rest.strip()


def _parse_weights(text: str, what: str) -> tuple[str, dict[str, float]]:
    node, rest = _split_pair(text, what)
    weights: dict[str, float] = {}
    for part in rest.split(","):
        state, sep, value = part.partition(":")
        if not sep or not state.strip():
            raise EvidenceError(f"--{what} '{text}': expected NODE=STATE:NUMBER,STATE:NUMBER")
        try:
            number = float(value)
        except ValueError:
            raise EvidenceError(f"--{what} '{text}': '{value}' is not a number") from None
        if not math.isfinite(number):
            raise EvidenceError(f"--{what} '{text}': '{value}' is not a finite number")
        if state.strip() in weights:
            raise EvidenceError(f"--{what} '{text}': state '{state.strip()}' given twice")
        weights[state.strip()] = number
    return node, weights


def _once(pairs: list[tuple[str, object]], what: str) -> dict:
    """Options as {node: value}; a node given twice is an error, not a silent last-one-wins."""
    out: dict = {}
    for node, value in pairs:
        if node in out:
            raise EvidenceError(f"--{what} names node '{node}' twice; give each node once")
        out[node] = value
    return out


def evidence_from_args(model: Model, args: argparse.Namespace) -> Evidence:
    hard = _once([_split_pair(h, "hard") for h in args.hard], "hard")
    likelihood = _once([_parse_weights(x, "likelihood") for x in args.likelihood], "likelihood")
    fixed = _once([_parse_weights(x, "fixed") for x in args.fixed], "fixed")
    scenario = load_scenario(args.scenario) if getattr(args, "scenario", None) else None
    do, as_of = interventions_from_args(args)
    return model.evidence(
        scenario, hard=hard, likelihood=likelihood, fixed=fixed, do=do, as_of=as_of
    )


def open_model(args: argparse.Namespace) -> Model:
    return load_model(args.model)


def emit(table: pd.DataFrame, args: argparse.Namespace, default: str = "table") -> int:
    """Print or write a table; the format comes from --format, else the output's suffix."""
    fmt = args.format
    if args.output:
        by_suffix = FORMATS.get(os.path.splitext(str(args.output))[1].lower())
        if fmt in (None, "table"):
            fmt = format_for(args.output)
        elif by_suffix is not None and by_suffix != fmt:
            raise ForecastError(
                f"--format {fmt} does not match the suffix of {args.output} ({by_suffix})"
            )
        if fmt not in set(FORMATS.values()):
            raise ForecastError(f"cannot write format '{fmt}' to a file")
        export(table, args.output, fmt)
        sys.stderr.write(f"wrote {args.output}\n")
        return 0
    fmt = fmt or default
    if fmt == "xlsx":
        raise ForecastError("xlsx needs --output FILE.xlsx")
    text = render(table, fmt)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def emit_text(text: str, output: str | None) -> int:
    """Print text, or write it atomically to `output`."""
    text = text if text.endswith("\n") else text + "\n"
    if output:
        atomic_write_text(output, text)
        sys.stderr.write(f"wrote {output}\n")
    else:
        sys.stdout.write(text)
    return 0

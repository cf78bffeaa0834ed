"""Executor options for `forecast run` and `forecast uncertainty`: in-process or on a dask cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..errors import EvidenceError
from ..evidence import Evidence, Scenario
from ..model import Model
from ..safeio import read_bytes_bounded
from ..sweep import sweep, sweep_uncertainty
from .common import emit


def add_executor_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scale-out (docs/performance.md)")
    g.add_argument(
        "--executor",
        choices=("local", "dask"),
        help="run the chunks in this process (default) or on a dask cluster",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing dask scheduler (default: a local cluster)",
    )
    g.add_argument("--workers", type=int, metavar="N", help="worker processes of the local cluster")
    g.add_argument("--chunk-size", type=int, metavar="N", help="scenarios per chunk")


def wants_sweep(args: argparse.Namespace, *, run_options: bool = False) -> bool:
    """Whether the command goes through `forecast.sweep` (an executor, Parquet, grids, draws)."""
    out = str(getattr(args, "output", "") or "")
    flags = [args.executor, args.scheduler, args.workers, args.chunk_size]
    if run_options:
        flags += [args.grid, args.samples]
    return any(f is not None for f in flags) or out.lower().endswith(".parquet")


def read_grid(path: str) -> pd.DataFrame:
    """A scenario grid from CSV: one row per scenario, one column per node (state names)."""
    import io

    data = read_bytes_bounded(Path(path), what="scenario grid")
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False).replace("", None)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: not a readable CSV scenario grid ({exc})") from None


def run_sweep(args: argparse.Namespace, model: Model, scenarios: list[Scenario | Evidence]) -> int:
    parquet = args.output if str(args.output or "").lower().endswith(".parquet") else None
    options = dict(
        targets=args.target,
        executor=args.executor or "local",
        scheduler=args.scheduler,
        workers=args.workers,
        chunk_size=args.chunk_size,
        output=parquet,
    )
    samples = getattr(args, "samples", None)
    grid = getattr(args, "grid", None)
    if samples is not None:
        if grid:
            raise EvidenceError("--samples runs over scenario files; --grid is for posteriors only")
        table = sweep_uncertainty(model, scenarios, samples, getattr(args, "seed", 0), **options)
    elif grid:
        if scenarios:
            raise EvidenceError("give scenario files or --grid, not both")
        table = sweep(model, read_grid(grid), **options)
    else:
        table = sweep(model, [model.evidence(s) for s in scenarios], **options)
    if parquet:
        sys.stderr.write(f"wrote {parquet} ({len(table):,} rows)\n")
        return 0
    return emit(table, args)

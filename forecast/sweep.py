"""Sweeps that outgrow one process: scenario batches and Monte Carlo, mapped over an executor.

The default executor runs in this process.  ``executor="dask"`` maps the same
chunks over a `distributed` cluster: a LocalCluster of worker processes by default,
or an existing cluster given by its scheduler address.  The compiled model is sent
to each worker once (scattered with ``broadcast=True``; a Model pickles as its
validated spec and recompiles on arrival), the work is cut into chunks of a fixed
size (by default what the memory guard lets one batch hold, at most
``DEFAULT_CHUNK`` scenarios), and every chunk's result is put back in its place by
index, so a chunk recomputed after a worker died is neither lost nor counted twice.

Random draws never depend on how the work is split: each scenario's Monte Carlo
draws use their own seed, derived from the one master seed and the scenario's
position (numpy's SeedSequence), so the numbers are the same in-process, on two
workers or on twenty.

With ``output=...parquet`` the table is written as one Parquet file, atomically.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import pandas as pd

from .errors import EvidenceError, ForecastError
from .model import EvidenceLike, Model
from .yamlio import atomic_write

__all__ = ["DEFAULT_CHUNK", "SweepOptions", "sweep", "sweep_uncertainty"]

ExecutorName = Literal["local", "dask"]
Progress = Callable[[int, int], None]
DEFAULT_CHUNK = 10_000
MAX_WORKERS = 256
MAX_SAMPLES = 1_000_000  # draws per scenario


class SweepOptions(TypedDict, total=False):
    """Where and how a sweep runs (the keywords of `sweep` and `sweep_uncertainty`)."""

    executor: ExecutorName  # "local" (default) or "dask"
    scheduler: str | None  # an existing dask scheduler's address
    workers: int | None  # worker processes of a local dask cluster
    chunk_size: int | None  # scenarios per chunk (default: what the memory guard allows)
    output: str | os.PathLike[str] | None  # a .parquet file to write
    progress: Progress | None  # called with (done, total) scenarios


def sweep(
    model: Model,
    scenarios: Sequence[EvidenceLike] | pd.DataFrame,
    *,
    targets: Iterable[str] | str | None = None,
    names: Sequence[str] | None = None,
    **options: Unpack[SweepOptions],
) -> pd.DataFrame:
    """Posteriors for many scenarios (a list or a scenario grid), chunk by chunk.

    The same table as `Model.posteriors_batch` (scenario, node, state, probability,
    words), whatever the executor.
    """
    chunk = _chunk_size(model, options.get("chunk_size"))
    if isinstance(scenarios, pd.DataFrame):
        total = len(scenarios)
        if names is None and "scenario" not in scenarios.columns:
            scenarios = scenarios.assign(scenario=[str(i) for i in range(total)])
        pieces: list[Any] = [scenarios.iloc[i : i + chunk] for i in range(0, total, chunk)]
        labels: list[Sequence[str] | None] = [
            None if names is None else list(names[i : i + chunk]) for i in range(0, total, chunk)
        ]
    else:
        evs = [model._as_evidence(e) for e in scenarios]
        total = len(evs)
        if names is None:
            names = [ev.name or str(i) for i, ev in enumerate(evs)]
        pieces = [evs[i : i + chunk] for i in range(0, total, chunk)]
        labels = [list(names[i : i + chunk]) for i in range(0, total, chunk)]
    if total == 0:
        raise EvidenceError("no scenarios given")
    if names is not None and len(names) != total:
        raise EvidenceError(f"{len(names)} names given for {total} scenarios")
    target_list = (
        None if targets is None else ([targets] if isinstance(targets, str) else list(targets))
    )
    model._targets(target_list)  # unknown targets are refused before any work is sent
    tasks = [(p, target_list, lab) for p, lab in zip(pieces, labels, strict=True)]
    sizes = [len(p) for p in pieces]
    parts = _map(model, _posteriors_chunk, tasks, sizes, options)
    table = pd.concat(parts, ignore_index=True)
    table.attrs = {**parts[0].attrs, "scenarios": total, "chunk_size": chunk}
    return _finish(table, options.get("output"))


def sweep_uncertainty(
    model: Model,
    scenarios: Sequence[EvidenceLike],
    samples: int = 2000,
    seed: int = 0,
    *,
    targets: Iterable[str] | str | None = None,
    names: Sequence[str] | None = None,
    **options: Unpack[SweepOptions],
) -> pd.DataFrame:
    """Monte Carlo over the parameters for every scenario: `forecast.uncertainty` per scenario.

    Columns: scenario, node, state, probability, p05, p50, p95.  Scenario i's draws
    use the seed SeedSequence([seed, i]), so results do not depend on the executor,
    the number of workers or the chunk size.
    """
    from .analysis import uncertainty

    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise EvidenceError(f"seed {seed!r} must be a non-negative whole number")
    evs = [model._as_evidence(e) for e in scenarios]
    if not evs:
        raise EvidenceError("no scenarios given")
    if names is None:
        names = [ev.name or str(i) for i, ev in enumerate(evs)]
    if len(names) != len(evs):
        raise EvidenceError(f"{len(names)} names given for {len(evs)} scenarios")
    _check_samples(samples)
    uncertainty(model, samples=2, seed=0, targets=targets, scenario=evs[0])  # checks the targets
    chunk = max(1, min(_chunk_size(model, options.get("chunk_size")), 64))
    target_list = (
        None if targets is None else ([targets] if isinstance(targets, str) else list(targets))
    )
    tasks = []
    for start in range(0, len(evs), chunk):
        idx = list(range(start, min(len(evs), start + chunk)))
        seeds = [_derived_seed(seed, i) for i in idx]
        tasks.append(([evs[i] for i in idx], [names[i] for i in idx], seeds, samples, target_list))
    sizes = [len(t[0]) for t in tasks]
    parts = _map(model, _uncertainty_chunk, tasks, sizes, options)
    table = pd.concat(parts, ignore_index=True)
    table.attrs.update(model.metadata())
    table.attrs.update({"samples": samples, "seed": seed, "scenarios": len(evs)})
    return _finish(table, options.get("output"))


def _check_samples(samples: Any) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer):
        raise EvidenceError(f"samples {samples!r} must be a whole number")
    if not 2 <= samples <= MAX_SAMPLES:
        raise EvidenceError(f"samples {samples} must be between 2 and {MAX_SAMPLES:,}")


def _derived_seed(master: int, index: int) -> int:
    return int(np.random.SeedSequence([int(master), int(index)]).generate_state(1)[0])


def _chunk_size(model: Model, chunk_size: int | None) -> int:
    if chunk_size is None:
        return int(max(1, min(DEFAULT_CHUNK, model.tree.max_batch)))
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int | np.integer)
        or chunk_size < 1
    ):
        raise EvidenceError(f"chunk size {chunk_size!r} must be a whole number of at least 1")
    return int(min(chunk_size, model.tree.max_batch))


# ---------------------------------------------------------------- chunk work (runs on workers)


def _posteriors_chunk(model: Model, task: tuple[Any, Any, Any]) -> pd.DataFrame:
    piece, targets, names = task
    return model.posteriors_batch(piece, targets=targets, names=names)


def _uncertainty_chunk(model: Model, task: tuple[Any, ...]) -> pd.DataFrame:
    from .analysis import uncertainty

    evs, names, seeds, samples, targets = task
    frames = []
    for ev, name, s in zip(evs, names, seeds, strict=True):
        t = uncertainty(model, samples=samples, seed=s, targets=targets, scenario=ev)
        frames.append(t.assign(scenario=name)[["scenario", *t.columns]])
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- executors


def _map(
    model: Model,
    fn: Callable[[Model, Any], pd.DataFrame],
    tasks: list[Any],
    sizes: list[int],
    options: SweepOptions,
) -> list[pd.DataFrame]:
    executor = options.get("executor") or "local"
    scheduler, workers = options.get("scheduler"), options.get("workers")
    progress = options.get("progress")
    total = sum(sizes)
    if executor == "local":
        if scheduler is not None or workers is not None:
            raise ForecastError("--scheduler and --workers need --executor dask")
        out = []
        done = 0
        for task, size in zip(tasks, sizes, strict=True):
            out.append(fn(model, task))
            done += size
            if progress is not None:
                progress(done, total)
        return out
    if executor != "dask":
        raise ForecastError(f"unknown executor {executor!r}; use 'local' or 'dask'")
    results: list[pd.DataFrame | None] = [None] * len(tasks)
    with _dask_client(scheduler, workers) as client:
        from distributed import as_completed

        [shared] = client.scatter([model], broadcast=True)
        futures = {
            client.submit(fn, shared, task, key=f"forecast-sweep-{id(tasks)}-{i}", retries=3): i
            for i, task in enumerate(tasks)
        }
        done = 0
        for future in as_completed(futures):
            i = futures[future]
            try:
                part = future.result()
            except ForecastError:
                raise
            except Exception as exc:  # a worker-side failure: one line, naming the chunk
                raise ForecastError(
                    f"chunk {i + 1} of {len(tasks)} failed on the cluster: {type(exc).__name__}: {exc}"
                ) from None
            if results[i] is None:  # a chunk finishes once, even if recomputed after a lost worker
                results[i] = part
                done += sizes[i]
                if progress is not None:
                    progress(done, total)
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:  # pragma: no cover - as_completed yields every future
        raise ForecastError(f"{len(missing)} chunks did not come back from the cluster")
    return [r for r in results if r is not None]


@contextlib.contextmanager
def _dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise ForecastError(
            "the dask executor needs the 'distributed' package: pip install 'forecast[dask]'"
        ) from None
    if scheduler is not None:
        if workers is not None:
            raise ForecastError("--workers starts a local cluster; leave it out with --scheduler")
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ForecastError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_WORKERS:
        raise ForecastError(f"workers {n!r} must be a whole number from 1 to {MAX_WORKERS}")
    try:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise ForecastError(f"could not start a local dask cluster: {exc}") from None
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ---------------------------------------------------------------- output


def _finish(table: pd.DataFrame, output: str | os.PathLike[str] | None) -> pd.DataFrame:
    if output is None:
        return table
    path = Path(output)
    if path.suffix.lower() != ".parquet":
        raise ForecastError(f"{path}: sweeps write Parquet; name the file .parquet")
    plain = table.copy()
    plain.attrs = {}
    for col in plain.columns:
        if plain[col].dtype == object or str(plain[col].dtype).startswith("str"):
            plain[col] = plain[col].astype(str)
    atomic_write(path, lambda tmp: plain.to_parquet(tmp, index=False))
    return table

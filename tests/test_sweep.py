"""Sweeps: chunked batches and Monte Carlo, in-process and on a real dask LocalCluster."""

import os
import signal
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.errors import ForecastError
from forecast.sweep import sweep, sweep_uncertainty

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def grid(tiny):
    states = {n: tiny.states(n) for n in ("rain", "sprinkler")}
    rows = [
        {"rain": r, "sprinkler": s}
        for r in [*states["rain"], None]
        for s in [*states["sprinkler"], None]
    ]
    return pd.DataFrame(rows * 5)


def test_chunked_sweep_equals_one_batch(tiny, grid):
    whole = tiny.posteriors_batch(grid.assign(scenario=[str(i) for i in range(len(grid))]))
    for chunk in (1, 7, 1000):
        got = sweep(tiny, grid, chunk_size=chunk)
        pd.testing.assert_frame_equal(got, whole)
    scenarios = [
        {"hard": {"rain": "yes"}},
        None,
        {"likelihood": {"sprinkler": {"off": 1, "on": 3}}},
    ]
    got = sweep(tiny, scenarios, chunk_size=2, targets="outcome")
    pd.testing.assert_frame_equal(got, tiny.posteriors_batch(scenarios, targets="outcome"))


def test_monte_carlo_does_not_depend_on_chunking(tiny):
    scenarios = [{"hard": {"rain": r}, "name": r} for r in tiny.states("rain")] * 2
    names = [f"s{i}" for i in range(len(scenarios))]
    a = sweep_uncertainty(tiny, scenarios, samples=300, seed=7, names=names, chunk_size=1)
    b = sweep_uncertainty(tiny, scenarios, samples=300, seed=7, names=names, chunk_size=3)
    pd.testing.assert_frame_equal(a, b)
    # scenario i is forecast.uncertainty with the seed derived from (master seed, i)
    seed1 = int(np.random.SeedSequence([7, 1]).generate_state(1)[0])
    one = forecast.uncertainty(tiny, samples=300, seed=seed1, scenario=scenarios[1])
    np.testing.assert_allclose(a[a["scenario"] == "s1"]["p50"].to_numpy(), one["p50"].to_numpy())
    # repeated scenarios get their own draws, not copies
    assert not np.allclose(
        a[a["scenario"] == "s0"]["p05"].to_numpy(), a[a["scenario"] == "s2"]["p05"].to_numpy()
    )


def test_parquet_output(tiny, grid, tmp_path):
    path = tmp_path / "sweep.parquet"
    table = sweep(tiny, grid, output=path)
    back = pd.read_parquet(path)
    assert len(back) == len(table)
    np.testing.assert_allclose(back["probability"], table["probability"])
    assert list(tmp_path.iterdir()) == [path]  # no temporary leftovers
    with pytest.raises(ForecastError, match="Parquet"):
        sweep(tiny, grid, output=tmp_path / "sweep.csv")


def test_bad_arguments_are_named(tiny, grid):
    with pytest.raises(ForecastError, match="unknown executor"):
        sweep(tiny, grid, executor="spark")
    with pytest.raises(ForecastError, match="chunk size"):
        sweep(tiny, grid, chunk_size=0)
    with pytest.raises(ForecastError, match="no node 'nope'"):
        sweep(tiny, grid, targets="nope")
    with pytest.raises(ForecastError, match="samples"):
        sweep_uncertainty(tiny, [None], samples=10**9)
    with pytest.raises(ForecastError, match="need --executor dask"):
        sweep(tiny, grid, workers=2)
    with pytest.raises(ForecastError, match="no scenarios"):
        sweep(tiny, [])


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    # Worker processes are spawned and re-run the parent's __main__; Streamlit's AppTest
    # (earlier in the suite) leaves its temporary script there, so start them from a bare one.
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield from _cluster(distributed)
    finally:
        sys.modules["__main__"] = saved


def _cluster(distributed):
    with distributed.LocalCluster(
        n_workers=3, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c


@pytest.mark.slow
def test_dask_cluster_gives_the_same_numbers(tiny, grid, cluster):
    address = cluster.scheduler_address
    local = sweep(tiny, grid, chunk_size=4)
    remote = sweep(tiny, grid, chunk_size=4, executor="dask", scheduler=address)
    pd.testing.assert_frame_equal(local, remote)
    scenarios = [{"hard": {"rain": "yes"}}, None, {"hard": {"sprinkler": "on"}}]
    a = sweep_uncertainty(tiny, scenarios, samples=200, seed=3)
    b = sweep_uncertainty(tiny, scenarios, samples=200, seed=3, executor="dask", scheduler=address)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster):
    from distributed import Client

    model = forecast.load_model(Path(__file__).resolve().parents[1] / "models" / "russia_iran.yaml")
    scenarios = [
        forecast.load_scenario(p)
        for p in sorted((Path(model.path).parents[1] / "evidence" / "scenarios").glob("*.yaml"))
    ]
    scenarios = scenarios * 2  # 14 chunks of one scenario, a fraction of a second each
    names = [f"s{i}" for i in range(len(scenarios))]
    expected = sweep_uncertainty(model, scenarios, samples=250, seed=11, names=names, chunk_size=1)
    with Client(cluster.scheduler_address) as client:
        pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one(done, total):
        if done >= 2 and not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    got = sweep_uncertainty(
        model,
        scenarios,
        samples=250,
        seed=11,
        names=names,
        chunk_size=1,
        executor="dask",
        scheduler=cluster.scheduler_address,
        progress=kill_one,
    )
    assert killed, "the worker was never killed"
    pd.testing.assert_frame_equal(got, expected)
    assert got["scenario"].value_counts().eq(len(got) // len(scenarios)).all()


def test_cli_run_grid_and_parquet(tmp_path, tiny):
    from forecast.cli import main

    grid = tmp_path / "grid.csv"
    grid.write_text("rain,sprinkler\nyes,\nno,on\n")
    out = tmp_path / "out.parquet"
    assert (
        main(
            ["run", str(tiny.path), "--grid", str(grid), "--chunk-size", "1", "--output", str(out)]
        )
        == 0
    )
    table = pd.read_parquet(out)
    assert set(table["scenario"]) == {"0", "1"}
    direct = tiny.posteriors(hard={"rain": "no", "sprinkler": "on"}, targets="outcome")
    got = table[(table["scenario"] == "1") & (table["node"] == "outcome")]["probability"]
    np.testing.assert_allclose(got.to_numpy(), direct["probability"].to_numpy())

"""The memory guard: oversized models are refused before any table exists; batches fit the budget."""

from __future__ import annotations

import functools
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pgmpy
import pytest
import yaml

import forecast
from forecast.engine import check_memory
from forecast.formats import read_model_file
from forecast.memory import DEFAULT_MEMORY_BUDGET, parse_bytes
from forecast.model import Model

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"


@functools.cache
def alarm_spec():  # noqa: ANN201
    return read_model_file(EXAMPLES / "alarm.bif.gz")


def alarm(memory_budget: int | None = None) -> Model:
    """ALARM compiled under a budget (the file is parsed once per test session)."""
    return Model(alarm_spec(), memory_budget=memory_budget)


def write_model(tmp_path: Path, nodes: list[dict], name: str = "big") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"id": name, "nodes": nodes}), encoding="utf-8")
    return path


def binary_root(node_id: str) -> dict:
    return {"id": node_id, "states": ["lo", "hi"], "cpt": {"rows": [{"probabilities": [0.5, 0.5]}]}}


def grid(n: int) -> list[dict]:
    """An n x n grid of binary nodes, each with its upper and left neighbour as parents.

    Every CPT is tiny, but the moral graph is a grid, whose junction tree needs a
    clique of about n binary nodes: the tables grow as 2^n.
    """
    nodes = []
    for i in range(n):
        for j in range(n):
            parents = ([f"g{i - 1}_{j}"] if i else []) + ([f"g{i}_{j - 1}"] if j else [])
            rows = []
            for k in range(2 ** len(parents)):
                when = {p: ("lo", "hi")[(k >> b) & 1] for b, p in enumerate(parents)}
                rows.append(
                    {"when": when, "probabilities": [0.3, 0.7]}
                    if parents
                    else {"probabilities": [0.3, 0.7]}
                )
            nodes.append(
                {
                    "id": f"g{i}_{j}",
                    "states": ["lo", "hi"],
                    "parents": parents,
                    "cpt": {"rows": rows},
                }
            )
    return nodes


def peak_bytes(fn) -> tuple[int, object]:  # noqa: ANN001
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - returned for the caller to check
            result = exc
        return tracemalloc.get_traced_memory()[1] - base, result
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(30)
def test_a_node_with_forty_parents_is_refused_before_its_table_is_built(tmp_path):
    parents = [f"p{i}" for i in range(40)]
    nodes = [binary_root(p) for p in parents] + [
        {
            "id": "child",
            "states": ["lo", "hi"],
            "parents": parents,
            "cpt": {"type": "ranked", "weights": dict.fromkeys(parents, 1.0)},
        }
    ]
    path = write_model(tmp_path, nodes)
    peak, err = peak_bytes(lambda: forecast.load_model(path))
    assert isinstance(err, forecast.ModelError), err
    message = str(err)
    assert (
        "child" in message and "2,199,023,255,552 entries" in message
    )  # 2^40 parent states x 2: the estimate
    assert "memory budget of 1.0 GiB" in message
    assert peak < 50 * 2**20  # nothing near the 8 TiB table was allocated


@pytest.mark.timeout(30)
def test_a_model_whose_junction_tree_is_too_big_is_refused_without_allocating(tmp_path):
    path = write_model(tmp_path, grid(30))
    peak, err = peak_bytes(lambda: forecast.load_model(path))
    assert isinstance(err, forecast.MemoryBudgetError), err
    assert isinstance(err, forecast.ModelError)
    message = str(err)
    assert "memory budget of 1.0 GiB" in message
    estimate = re.search(
        r"needs (?:at least )?[\d.]+ (KiB|MiB|GiB|TiB) for one scenario \(([\d,]+) clique-table entries",
        message,
    )
    assert estimate is not None, message
    assert int(estimate.group(2).replace(",", "")) * 8 * 4 > 2**30
    assert "FORECAST_MEMORY_BUDGET" in message
    assert peak < 100 * 2**20


def test_a_small_grid_compiles_and_its_estimate_is_honest(tmp_path):
    model = forecast.load_model(write_model(tmp_path, grid(6)))
    tree = model.tree
    entries = sum(int(np.prod([tree.cards[v] for v in c])) for c in tree.cliques)
    assert tree.bytes_per_scenario == entries * 8 * 4
    assert check_memory(tree.cards, tree.parents) == tree.bytes_per_scenario


def test_the_budget_comes_from_the_environment_or_the_caller(monkeypatch):
    need = alarm().tree.bytes_per_scenario
    assert alarm().tree.memory_budget == DEFAULT_MEMORY_BUDGET
    monkeypatch.setenv("FORECAST_MEMORY_BUDGET", "16KiB")
    with pytest.raises(forecast.MemoryBudgetError, match=r"over the memory budget of 16\.0 KiB"):
        forecast.load_model(EXAMPLES / "alarm.bif.gz")
    # an explicit budget wins over the environment
    assert alarm(memory_budget=need).tree.memory_budget == need
    with pytest.raises(forecast.MemoryBudgetError, match="memory budget"):
        alarm(memory_budget=need - 8)
    monkeypatch.setenv("FORECAST_MEMORY_BUDGET", "lots")
    with pytest.raises(forecast.MemoryBudgetError, match="'lots' is not a size"):
        alarm()


def test_the_budget_given_to_load_model_is_the_one_the_file_checks_use(tmp_path, monkeypatch):
    """The file's table check once read only the environment and refused what the caller allowed."""
    parents = [f"p{i}" for i in range(8)]
    wide = [
        {"id": p, "states": ["a", "b", "c", "d"], "cpt": {"rows": [{"probabilities": [0.25] * 4}]}}
        for p in parents
    ] + [
        {
            "id": "child",
            "states": ["lo", "hi"],
            "parents": parents,
            "cpt": {"type": "ranked", "weights": dict.fromkeys(parents, 1.0)},
        }
    ]  # 4^8 x 2 = 131,072 entries: about 4 MiB of work
    path = write_model(tmp_path, wide)
    monkeypatch.setenv("FORECAST_MEMORY_BUDGET", "1MiB")
    with pytest.raises(forecast.ModelError, match=r"child.*memory budget of 1\.0 MiB"):
        forecast.load_model(path)
    model = forecast.load_model(path, memory_budget=1 << 30)
    assert model.tree.memory_budget == model.memory_budget == 1 << 30
    text = path.read_text(encoding="utf-8")
    assert forecast.model_from_text(text, "big.yaml", memory_budget=1 << 30).nodes == model.nodes


@pytest.mark.parametrize(
    ("text", "value"),
    [("512MiB", 512 * 2**20), ("2G", 2 * 2**30), ("1.5 KiB", 1536), ("4096", 4096)],
)
def test_budget_sizes_parse(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["-1G", "0", "many", "1 PB", "nan"])
def test_bad_budget_sizes_are_refused(text):
    with pytest.raises(forecast.MemoryBudgetError):
        parse_bytes(text)


def random_likelihoods(
    tree, rng: np.random.Generator, batch: int, every: int = 2
) -> dict[int, np.ndarray]:  # noqa: ANN001
    return {
        v: rng.uniform(0.05, 1.0, (batch, tree.cards[v])) for v in range(0, len(tree.cards), every)
    }


def test_big_batches_are_cut_into_chunks_that_fit_a_small_budget():
    roomy = alarm()
    need = roomy.tree.bytes_per_scenario
    tight = alarm(memory_budget=3 * need)
    assert tight.tree.max_batch == 3 and tight.tree.chunk <= 3
    rng = np.random.default_rng(0)
    batch = 400
    lik = random_likelihoods(tight.tree, rng, batch)
    peak, result = peak_bytes(lambda: tight.tree.marginals(lik, batch))
    margs, ok = result
    expected, ok_expected = roomy.tree.marginals(lik, batch)
    assert ok.all() and ok_expected.all()
    for a, b in zip(margs, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    output = sum(m.nbytes for m in margs)
    assert peak <= tight.tree.memory_budget + output + 256 * 1024


def test_an_evidence_table_is_only_built_when_it_fits_the_budget():
    roomy = alarm()
    need = roomy.tree.bytes_per_scenario
    tight = alarm(memory_budget=3 * need)
    rng = np.random.default_rng(1)
    nodes = [0, 5, 9]
    batch = 3000
    lik = {v: rng.uniform(0.05, 1.0, (batch, roomy.tree.cards[v])) for v in nodes}
    expected, _ = roomy.tree.marginals(lik, batch)
    assert roomy.tree._tables  # the roomy tree answered from a table
    tight.tree  # compiled on first use: compile it before measuring the query  # noqa: B018
    peak, result = peak_bytes(lambda: tight.tree.marginals(lik, batch))
    margs, ok = result
    assert ok.all()
    width = sum(tight.tree.cards) + 1
    table_bytes = np.prod([tight.tree.cards[v] for v in nodes]) * width * 8
    if table_bytes * 4 > tight.tree.memory_budget:
        assert not tight.tree._tables
    for a, b in zip(margs, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert peak <= tight.tree.memory_budget + sum(m.nbytes for m in margs) + 256 * 1024


def test_the_posteriors_api_respects_a_small_budget():
    roomy = alarm()
    tight = alarm(memory_budget=2 * roomy.tree.bytes_per_scenario)
    rng = np.random.default_rng(2)
    scenarios = []
    for _ in range(30):
        nodes = rng.choice(roomy.nodes, 6, replace=False)
        scenarios.append(
            {
                "likelihood": {
                    str(n): dict(
                        zip(
                            roomy.states(str(n)),
                            rng.uniform(0.1, 1, len(roomy.states(str(n)))).tolist(),
                            strict=True,
                        )
                    )
                    for n in nodes
                }
            }
        )
    a = tight.posteriors_batch(scenarios)["probability"].to_numpy()
    b = roomy.posteriors_batch(scenarios)["probability"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)

"""Per-query pruning: a query on a few targets runs on their ancestors only, with the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast
import forecast.engine
import forecast.model
from forecast.engine import relevant, requisite
from forecast.spec import spec_from_dict

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"


def test_relevant_is_the_ancestral_set():
    parents = [[], [0], [1], [0], [2, 3], []]  # 0 -> 1 -> 2 -> 4 <- 3 <- 0, and an isolated 5
    assert relevant(parents, [2]) == [0, 1, 2]
    assert relevant(parents, [3, 5]) == [0, 3, 5]
    assert relevant(parents, [4]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["alarm", "insurance", "hailfinder", "child"])
def test_pruned_queries_agree_with_the_full_tree(name):
    model = forecast.load_model(EXAMPLES / f"{name}.bif.gz")
    rng = np.random.default_rng(5)
    for _ in range(6):
        picks = [str(x) for x in rng.choice(model.nodes, 4, replace=False)]
        hard_node, lik_node, fixed_node, target = picks
        hard = {hard_node: model.states(hard_node)[0]}
        weights = rng.uniform(0.1, 1, len(model.states(lik_node)))
        lik = {lik_node: dict(zip(model.states(lik_node), weights.tolist(), strict=True))}
        k = len(model.states(fixed_node))
        fixed = {fixed_node: dict(zip(model.states(fixed_node), [1 / k] * k, strict=True))}
        try:
            full = model.posteriors(hard=hard, likelihood=lik, fixed=fixed)
        except forecast.EvidenceError:
            continue  # impossible evidence: nothing to compare
        few = model.posteriors(hard=hard, likelihood=lik, fixed=fixed, targets=[target])
        want = full[full["node"] == target]["probability"].to_numpy()
        np.testing.assert_allclose(few["probability"].to_numpy(), want, rtol=0, atol=1e-9)


def test_a_query_far_from_the_evidence_uses_a_smaller_tree():
    model = forecast.load_model(EXAMPLES / "alarm.bif.gz")
    model.posteriors(hard={"HISTORY": "TRUE"}, targets=["LVFAILURE"])
    ((kept, cut),) = model._pruned  # one pruned tree, over HISTORY's ancestors and LVFAILURE
    assert len(kept) == 2 and not cut
    model.posteriors(hard={"HISTORY": "TRUE"})  # every node asked: the full tree
    assert len(model._pruned) == 1


def test_requisite_nodes_follow_bayes_ball():
    chain = [[], [0], [1]]  # 0 -> 1 -> 2
    assert requisite(chain, [2], hard=[1]) == ([1, 2], {1})  # 1 observed: 0 is d-separated
    assert requisite(chain, [2], hard=[]) == ([0, 1, 2], set())
    assert requisite(chain, [0], hard=[2]) == ([0, 1, 2], set())  # evidence below: all needed
    collider = [[], [], [0, 1]]  # 0 -> 2 <- 1
    assert requisite(collider, [0], hard=[]) == ([0], set())
    assert requisite(collider, [0], hard=[2]) == ([0, 1, 2], set())  # explaining away
    assert requisite(collider, [0], hard=[], soft=[2]) == ([0, 1, 2], set())
    fork = [[], [0], [0]]  # 1 <- 0 -> 2
    assert requisite(fork, [1], hard=[0, 2]) == ([0, 1], {0})


@pytest.mark.parametrize("name", ["alarm", "insurance", "hailfinder", "child", "water"])
def test_d_separation_pruning_gives_the_full_trees_posteriors(name):
    model = forecast.load_model(EXAMPLES / f"{name}.bif.gz", memory_budget=4 << 30)
    _, parents = model._structure()
    rng = np.random.default_rng(11)
    smaller = 0
    for _ in range(8):
        # the target's parents observed (they cut its other ancestors off) and one node anywhere
        target = str(rng.choice([n for n in model.nodes if model.parents(n)]))
        other = str(rng.choice([n for n in model.nodes if n != target]))
        config = {}  # findings from a sampled configuration: always possible
        for n in model.nodes:
            row = model.cpt(n)[tuple(model.states(p).index(config[p]) for p in model.parents(n))]
            config[n] = model.states(n)[int(rng.choice(len(row), p=row / row.sum()))]
        hard = {n: config[n] for n in {*model.parents(target), other}}
        full = model.posteriors(hard=hard)
        few = model.posteriors(hard=hard, targets=[target])
        want = full[full["node"] == target]["probability"].to_numpy()
        np.testing.assert_allclose(few["probability"].to_numpy(), want, rtol=0, atol=1e-9)
        index = [model.nodes.index(n) for n in [target, *hard]]
        kept, _ = requisite(parents, index[:1], hard=index[1:])
        smaller += len(kept) < len(relevant(parents, index))
    assert smaller  # the hard evidence cut something off in at least one query


def _chain(p_b_given_a: list[list[float]]) -> forecast.Model:
    """A -> B -> C, binary: the CPT of B given."""
    two = ["x", "y"]
    nodes = [
        {"id": "A", "states": two, "cpt": {"rows": [{"when": {}, "probabilities": [0.5, 0.5]}]}},
        {
            "id": "B",
            "states": two,
            "parents": ["A"],
            "cpt": {
                "rows": [
                    {"when": {"A": s}, "probabilities": p}
                    for s, p in zip(two, p_b_given_a, strict=True)
                ]
            },
        },
        {
            "id": "C",
            "states": two,
            "parents": ["B"],
            "cpt": {
                "rows": [
                    {"when": {"B": "x"}, "probabilities": [0.9, 0.1]},
                    {"when": {"B": "y"}, "probabilities": [0.2, 0.8]},
                ]
            },
        },
    ]
    return forecast.Model(spec_from_dict({"id": "chain", "nodes": nodes}))


def test_impossible_evidence_in_the_d_separated_part_is_still_refused():
    model = _chain([[1.0, 0.0], [0.3, 0.7]])  # A = x forces B = x
    with pytest.raises(forecast.EvidenceError, match="impossible"):
        model.posteriors(hard={"A": "x", "B": "y"}, targets=["C"])
    few = model.posteriors(hard={"A": "y", "B": "y"}, targets=["C"])  # possible: pruned, exact
    np.testing.assert_allclose(few["probability"].to_numpy(), [0.2, 0.8], rtol=0, atol=1e-12)
    assert any(cut for _, cut in model._pruned)  # B's CPT was left out: A is d-separated from C


@pytest.mark.parametrize("name", ["mildew", "water", "alarm"])
def test_hard_evidence_sliced_out_gives_the_full_trees_posteriors(name, monkeypatch):
    monkeypatch.setattr(forecast.model, "ABSORB_GAIN", 1.0)  # absorb whenever it is smaller at all
    model = forecast.load_model(EXAMPLES / f"{name}.bif.gz", memory_budget=4 << 30)
    rng = np.random.default_rng(2)
    config = {}
    for n in model.nodes:
        row = model.cpt(n)[tuple(model.states(p).index(config[p]) for p in model.parents(n))]
        config[n] = model.states(n)[int(rng.choice(len(row), p=row / row.sum()))]
    picks = [str(x) for x in rng.choice(model.nodes, 4, replace=False)]
    weights = rng.uniform(0.1, 1, len(model.states(picks[3])))
    ev = model.evidence(
        hard={n: config[n] for n in picks[:3]},
        likelihood={picks[3]: dict(zip(model.states(picks[3]), weights.tolist(), strict=True))},
    )
    lik, _ = model._batch_arrays([ev])
    want, _ = forecast.engine.solve_fixed(model.tree, lik, {}, 1, model.nodes)
    got, ok = model.marginals([ev])
    assert ok.all()
    assert any(plan is not None for plan in model._absorb_plans.values())
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_impossible_hard_evidence_stays_impossible_when_sliced_out(monkeypatch):
    monkeypatch.setattr(forecast.model, "ABSORB_GAIN", 10.0)
    model = _chain([[1.0, 0.0], [0.3, 0.7]])  # A = x forces B = x
    with pytest.raises(forecast.EvidenceError, match="impossible"):
        model.posteriors(hard={"A": "x", "B": "y"})
    table = model.posteriors(hard={"A": "y", "C": "y"})
    assert any(plan is not None for plan in model._absorb_plans.values())
    b = table[table["node"] == "B"]["probability"].to_numpy()
    expected = np.array([0.3 * 0.1, 0.7 * 0.8])  # P(B | A = y) times P(C = y | B)
    np.testing.assert_allclose(b, expected / expected.sum(), rtol=0, atol=1e-12)

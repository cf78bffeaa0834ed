"""The engine against pgmpy's VariableElimination on the networks pgmpy ships.

Each network is read from its BIF file with forecast.load_model; the reference is
pgmpy's VariableElimination on model.to_pgmpy() (the same, renormalised, CPTs),
one query per node, with hard evidence and likelihood (virtual) evidence drawn at
random from a seeded generator.  Hard findings come from a configuration sampled
from the network itself, so the evidence is never impossible.
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path

import numpy as np
import pgmpy
import pytest

import forecast

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"
ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-9

# every node is queried on these; the larger ones below on a sample of nodes
EVERY_NODE = ["asia", "cancer", "earthquake", "sachs", "survey", "alarm", "child", "insurance"]
SAMPLED = {"hailfinder": 15, "hepar2": 15, "win95pts": 15, "water": 12, "andes": 6}


@functools.cache
def network(name: str) -> forecast.Model:
    return forecast.load_model(EXAMPLES / f"{name}.bif.gz")


@functools.cache
def reference_engine(name: str):  # noqa: ANN202 - pgmpy types
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    from pgmpy.inference import VariableElimination

    return VariableElimination(network(name).to_pgmpy())


def sample_configuration(model: forecast.Model, rng: np.random.Generator) -> dict[str, str]:
    """One joint state drawn from the network (forward sampling in topological order)."""
    config: dict[str, str] = {}
    for n in model.nodes:
        table = model.cpt(n)
        index = tuple(model.states(p).index(config[p]) for p in model.parents(n))
        row = table[index]
        config[n] = model.states(n)[int(rng.choice(len(row), p=row / row.sum()))]
    return config


def random_evidence(model: forecast.Model, rng: np.random.Generator, n_hard: int, n_lik: int):
    config = sample_configuration(model, rng)
    chosen = [str(x) for x in rng.choice(model.nodes, n_hard + n_lik, replace=False)]
    hard = {n: config[n] for n in chosen[:n_hard]}
    lik = {
        n: dict(
            zip(model.states(n), rng.uniform(0.05, 1.0, len(model.states(n))).tolist(), strict=True)
        )
        for n in chosen[n_hard:]
    }
    return hard, lik


def reference_posterior(
    name: str, node: str, hard: dict[str, str], lik: dict[str, dict[str, float]]
) -> np.ndarray:
    from pgmpy.factors.discrete import TabularCPD

    model = network(name)
    states = model.states(node)
    if node in hard:
        return np.array([1.0 if s == hard[node] else 0.0 for s in states])
    virtual = [
        TabularCPD(n, len(w), [[w[s]] for s in model.states(n)], state_names={n: model.states(n)})
        for n, w in lik.items()
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = reference_engine(name).query(
            [node], evidence=hard or None, virtual_evidence=virtual or None, show_progress=False
        )
    return np.array([q.values[q.state_names[node].index(s)] for s in states])


def by_node(table) -> dict[str, np.ndarray]:  # noqa: ANN001
    return {n: g["probability"].to_numpy() for n, g in table.groupby("node", sort=False)}


def check_against_pgmpy(
    name: str, nodes: list[str] | None, seed: int, n_hard: int, n_lik: int
) -> None:
    model = network(name)
    rng = np.random.default_rng(seed)
    hard, lik = random_evidence(model, rng, n_hard, n_lik)
    ours = by_node(model.posteriors(hard=hard, likelihood=lik))
    for node in nodes if nodes is not None else model.nodes:
        expected = reference_posterior(name, node, hard, lik)
        np.testing.assert_allclose(
            ours[node], expected, rtol=0, atol=TOL, err_msg=f"{name}: node {node}"
        )


@pytest.mark.parametrize("name", EVERY_NODE)
@pytest.mark.parametrize(("seed", "n_hard", "n_lik"), [(1, 0, 0), (2, 2, 2), (3, 1, 3)])
def test_every_posterior_matches_pgmpy(name, seed, n_hard, n_lik):
    model = network(name)
    n_hard = min(n_hard, len(model.nodes) // 3)
    n_lik = min(n_lik, len(model.nodes) // 3)
    check_against_pgmpy(name, None, seed, n_hard, n_lik)


@pytest.mark.parametrize("name", sorted(SAMPLED))
@pytest.mark.parametrize(("seed", "n_hard", "n_lik"), [(4, 3, 2), (5, 1, 4)])
def test_sampled_posteriors_match_pgmpy_on_larger_networks(name, seed, n_hard, n_lik):
    model = network(name)
    rng = np.random.default_rng(100 + seed)
    nodes = [str(x) for x in rng.choice(model.nodes, SAMPLED[name], replace=False)]
    check_against_pgmpy(name, nodes, seed, n_hard, n_lik)


def test_fixed_evidence_follows_jeffreys_rule_against_pgmpy():
    """One fixed node F with target q: P*(x) = sum_s q(s) P(x | F=s, other evidence)."""
    name = "alarm"
    model = network(name)
    rng = np.random.default_rng(7)
    hard, lik = random_evidence(model, rng, 2, 1)
    free = [n for n in model.nodes if n not in hard and n not in lik]
    node = next(
        n
        for n in free
        if by_node(model.posteriors(hard=hard, likelihood=lik))[n].min() > 1e-3
        and len(model.states(n)) >= 3
    )
    target = rng.dirichlet(np.ones(len(model.states(node))))
    fixed = {node: dict(zip(model.states(node), target.tolist(), strict=True))}
    ours = by_node(model.posteriors(hard=hard, likelihood=lik, fixed=fixed))
    np.testing.assert_allclose(ours[node], target, atol=1e-8)
    for other in [str(x) for x in rng.choice(free, 8, replace=False)]:
        if other == node:
            continue
        expected = sum(
            q * reference_posterior(name, other, {**hard, node: s}, lik)
            for s, q in zip(model.states(node), target, strict=True)
        )
        np.testing.assert_allclose(ours[other], expected, atol=1e-8, err_msg=other)


# ---------------------------------------------------------------- batches


def mixed_scenarios(
    model: forecast.Model, rng: np.random.Generator, count: int, nodes: list[str] | None = None
):
    """Scenarios mixing hard, likelihood and fixed evidence (and none at all).

    With `nodes`, every scenario draws its evidence from those few nodes (the shape of a
    sensitivity sweep); otherwise from the whole network.
    """
    pool = nodes or model.nodes
    prior = by_node(model.posteriors())
    out = []
    for i in range(count):
        config = sample_configuration(model, rng)
        chosen = [str(x) for x in rng.choice(pool, min(3, len(pool)), replace=False)]
        kinds = rng.integers(0, 3, len(chosen))
        hard, lik, fixed = {}, {}, {}
        for n, k in zip(chosen, kinds, strict=True):
            states = model.states(n)
            if k == 0:
                hard[n] = config[n]
            elif k == 1:
                lik[n] = dict(
                    zip(states, rng.uniform(0.05, 1.0, len(states)).tolist(), strict=True)
                )
            elif prior[n].min() > 1e-3 and not fixed:
                fixed[n] = dict(
                    zip(states, rng.dirichlet(np.ones(len(states))).tolist(), strict=True)
                )
        ev = {"hard": hard, "likelihood": lik, "fixed": fixed}
        if i % 7 == 0:
            ev = {}
        try:  # a fixed target the hard findings rule out is an error for that scenario: skip it
            model.posteriors(**ev)
        except forecast.EvidenceError:
            ev = {"hard": hard, "likelihood": lik}
        out.append(ev)
    return out


def assert_batch_equals_singles(
    model: forecast.Model, scenarios: list[dict], table: bool | None = None
) -> None:
    """Every row of the batch equals the scenario's own query; `table`: whether an evidence table served it."""
    model.tree._tables.clear()
    batch = model.posteriors_batch(scenarios)
    if table is not None:
        assert bool(model.tree._tables) == table
    assert list(batch["scenario"].unique()) == [str(i) for i in range(len(scenarios))]
    for i, ev in enumerate(scenarios):
        single = model.posteriors(**ev)
        rows = batch[batch["scenario"] == str(i)]
        assert list(rows["node"]) == list(single["node"])
        assert list(rows["state"]) == list(single["state"])
        np.testing.assert_allclose(
            rows["probability"].to_numpy(), single["probability"].to_numpy(), rtol=0, atol=TOL
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alarm", "insurance", "child"])
def test_a_mixed_batch_equals_one_scenario_at_a_time(name):
    model = network(name)
    rng = np.random.default_rng(11)
    scenarios = [ev for ev in mixed_scenarios(model, rng, 40) if not ev.get("fixed")]
    assert_batch_equals_singles(
        model, scenarios, table=False
    )  # too many evidence nodes: one direct pass
    assert_batch_equals_singles(model, mixed_scenarios(model, rng, 40))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alarm", "insurance"])
def test_a_sweep_over_few_nodes_equals_one_scenario_at_a_time(name):
    """Many scenarios on the same few nodes: answered from an evidence table, still exact."""
    model = network(name)
    rng = np.random.default_rng(12)
    nodes = [str(x) for x in rng.choice(model.nodes, 4, replace=False)]
    scenarios = mixed_scenarios(model, rng, 150, nodes)
    assert_batch_equals_singles(model, scenarios, table=True)


@pytest.mark.slow
def test_the_default_model_batch_equals_one_scenario_at_a_time():
    path = ROOT / "models" / "russia_iran.yaml"
    model = forecast.load_model(path)
    rng = np.random.default_rng(13)
    assert_batch_equals_singles(model, mixed_scenarios(model, rng, 60))
    assert_batch_equals_singles(model, mixed_scenarios(model, rng, 120, model.drivers[:4]))


def test_the_default_model_matches_pgmpy():
    path = ROOT / "models" / "russia_iran.yaml"
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

    model = forecast.load_model(path)
    ve = VariableElimination(model.to_pgmpy())
    rng = np.random.default_rng(14)
    for _ in range(3):
        hard, lik = random_evidence(model, rng, 2, 2)
        ours = by_node(model.posteriors(hard=hard, likelihood=lik))
        virtual = [
            TabularCPD(
                n, len(w), [[w[s]] for s in model.states(n)], state_names={n: model.states(n)}
            )
            for n, w in lik.items()
        ]
        for node in model.nodes:
            if node in hard:
                continue
            q = ve.query([node], evidence=hard, virtual_evidence=virtual, show_progress=False)
            expected = np.array(
                [q.values[q.state_names[node].index(s)] for s in model.states(node)]
            )
            np.testing.assert_allclose(ours[node], expected, rtol=0, atol=TOL, err_msg=node)


def test_impossible_scenarios_are_flagged_not_nan():
    model = network("asia")
    tree = model.tree
    i = model.nodes.index("either")
    j = model.nodes.index("tub")
    # either is a logical OR of tub and lung: either=no with tub=yes is impossible
    yes_no = model.states("either")
    lik = {
        i: np.array([[0.0, 1.0] if yes_no == ["yes", "no"] else [1.0, 0.0]] * 3),
        j: np.array(
            [
                [1.0, 0.0] if model.states("tub") == ["yes", "no"] else [0.0, 1.0],
                [0.5, 0.5],
                [0.5, 0.5],
            ]
        ),
    }
    margs, ok = tree.marginals(lik, 3)
    assert list(ok) == [False, True, True]
    assert all(np.isfinite(m).all() for m in margs)
    logp = tree.log_evidence(lik, 3)
    assert logp[0] == -np.inf and np.isfinite(logp[1:]).all()

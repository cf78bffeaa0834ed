"""Exact inference checked against independent references.

- pgmpy's VariableElimination (one query per node) on the fixtures, the Russia–Iran
  model and random networks, under hard and likelihood evidence;
- likelihood evidence against the equivalent virtual child node;
- fixed evidence against its definition (posterior equals target) and Jeffrey's rule.
"""

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import forecast
from forecast.spec import spec_from_dict

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pgmpy announces deprecations on import
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

RUSSIA_IRAN = Path(__file__).resolve().parents[1] / "models" / "russia_iran.yaml"
ATOL = 1e-9


# ---------------------------------------------------------------- helpers


def as_dict(table) -> dict[str, np.ndarray]:
    """{node: probabilities in the table's state order}."""
    assert not table["probability"].isna().any()
    return {n: g["probability"].to_numpy() for n, g in table.groupby("node", sort=False)}


def virtual_weights(weights: dict[str, float], states: list[str]) -> np.ndarray:
    w = np.asarray([weights[s] for s in states], dtype=float)
    return w / w.max()


def reference(model: forecast.Model, hard=None, likelihood=None) -> dict[str, np.ndarray]:
    """pgmpy VariableElimination, one query per node; likelihoods become observed virtual children."""
    net = model.to_pgmpy()
    evidence = dict(hard or {})
    for i, (node, weights) in enumerate((likelihood or {}).items()):
        child = f"virtual_{i}"
        states = model.states(node)
        p_seen = virtual_weights(weights, states)
        net.add_node(child)
        net.add_edge(node, child)
        net.add_cpds(
            TabularCPD(
                child,
                2,
                [p_seen, 1 - p_seen],
                evidence=[node],
                evidence_card=[len(states)],
                state_names={child: ["seen", "unseen"], node: states},
            )
        )
        evidence[child] = "seen"
    ve = VariableElimination(net)
    out = {}
    for node in model.nodes:
        states = model.states(node)
        if node in evidence:
            out[node] = np.asarray([float(s == evidence[node]) for s in states])
        else:
            factor = ve.query([node], evidence=evidence, show_progress=False)
            out[node] = np.asarray([factor.get_value(**{node: s}) for s in states])
    return out


def assert_close(
    ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], atol: float = ATOL
) -> None:
    assert set(ours) == set(ref)
    for node, p in ours.items():
        np.testing.assert_allclose(p, ref[node], atol=atol, rtol=0, err_msg=f"node {node}")


# ---------------------------------------------------------------- random networks


def random_spec(
    rng: np.random.Generator, n_nodes: int, max_parents: int = 3, ranked: bool = True
) -> dict:
    """A random DAG (parents drawn among earlier nodes) with random CPTs, as a model-file dict.

    Every table entry is positive, so any hard or likelihood evidence with a
    positive weight somewhere is possible.
    """
    nodes = []
    for i in range(n_nodes):
        states = [f"s{k}" for k in range(int(rng.integers(2, 4)))]
        k_parents = int(rng.integers(0, min(i, max_parents) + 1))
        parents = sorted(rng.choice(i, size=k_parents, replace=False).tolist()) if k_parents else []
        parent_ids = [f"n{p}" for p in parents]
        node = {"id": f"n{i}", "states": states, "parents": parent_ids}
        if parents and ranked and rng.random() < 0.3:
            node["cpt"] = {
                "type": "ranked",
                "function": str(rng.choice(["wmean", "wmin", "wmax"])),
                "weights": {p: float(rng.choice([-2.0, -1.0, 0.5, 1.0, 3.0])) for p in parent_ids},
                "variance": float(rng.choice([0.02, 0.1, 0.5])),
            }
        else:
            rows = []
            parent_states = [nodes[p]["states"] for p in parents]
            for combo in itertools.product(*parent_states):
                probs = rng.dirichlet(np.ones(len(states))) * 0.9 + 0.1 / len(states)
                rows.append(
                    {
                        "when": dict(zip(parent_ids, combo, strict=True)),
                        "probabilities": probs.tolist(),
                    }
                )
            node["cpt"] = {"rows": rows}
        nodes.append(node)
    return {"id": "random", "nodes": nodes}


def random_model(rng: np.random.Generator, n_nodes: int, **kw) -> forecast.Model:
    return forecast.Model(spec_from_dict(random_spec(rng, n_nodes, **kw), "random"))


def random_evidence(rng: np.random.Generator, model: forecast.Model, zeros: bool = True):
    """Hard evidence on some nodes, likelihood on others (never both on one node)."""
    hard, likelihood = {}, {}
    for node in model.nodes:
        u = rng.random()
        states = model.states(node)
        if u < 0.25:
            hard[node] = states[int(rng.integers(len(states)))]
        elif u < 0.5:
            w = rng.uniform(0.0, 2.0, size=len(states))
            if zeros and rng.random() < 0.3:
                w[int(rng.integers(len(states)))] = 0.0
            if w.max() <= 0:
                w[0] = 1.0
            likelihood[node] = dict(zip(states, w.tolist(), strict=True))
    return hard, likelihood


@st.composite
def networks_with_evidence(draw):
    """Hypothesis strategy: (model, hard, likelihood) on a small random network."""
    n_nodes = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    model = random_model(rng, n_nodes)
    hard, likelihood = {}, {}
    for node in model.nodes:
        states = model.states(node)
        kind = draw(st.sampled_from(["none", "none", "hard", "likelihood"]))
        if kind == "hard":
            hard[node] = draw(st.sampled_from(states))
        elif kind == "likelihood":
            weights = draw(
                st.lists(
                    st.one_of(st.just(0.0), st.floats(0.001, 5.0)),
                    min_size=len(states),
                    max_size=len(states),
                )
            )
            assume(max(weights) > 0)
            likelihood[node] = dict(zip(states, weights, strict=True))
    return model, hard, likelihood


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks_with_evidence())
def test_random_networks_agree_with_pgmpy(case):
    model, hard, likelihood = case
    ours = as_dict(model.posteriors(hard=hard, likelihood=likelihood))
    assert_close(ours, reference(model, hard, likelihood))


@pytest.mark.parametrize("seed", range(12))
def test_seeded_random_networks_agree_with_pgmpy(seed):
    rng = np.random.default_rng(1000 + seed)
    model = random_model(rng, int(rng.integers(3, 9)))
    for _ in range(2):
        hard, likelihood = random_evidence(rng, model)
        ours = as_dict(model.posteriors(hard=hard, likelihood=likelihood))
        assert_close(ours, reference(model, hard, likelihood))


def test_to_pgmpy_is_a_valid_network_with_the_same_tables(tiny):
    net = tiny.to_pgmpy()
    assert net.check_model()
    assert set(net.nodes()) == set(tiny.nodes)
    assert set(net.edges()) == {(p, n) for n in tiny.nodes for p in tiny.parents(n)}
    cpd = net.get_cpds("outcome")
    for i, r in enumerate(tiny.states("rain")):
        for j, s in enumerate(tiny.states("sprinkler")):
            for k, o in enumerate(tiny.states("outcome")):
                assert cpd.get_value(outcome=o, rain=r, sprinkler=s) == pytest.approx(
                    tiny.cpt("outcome")[i, j, k]
                )


# ---------------------------------------------------------------- the project's models


TINY_CASES = [
    ({}, {}),
    ({"rain": "yes"}, {}),
    ({"outcome": "bad"}, {}),
    ({"sprinkler": "on", "outcome": "good"}, {}),
    ({}, {"outcome": {"good": 0.2, "bad": 1.0}}),
    ({"sprinkler": "off"}, {"rain": {"no": 0.3, "yes": 0.9}, "outcome": {"good": 1.0, "bad": 0.0}}),
]


@pytest.mark.parametrize(("hard", "likelihood"), TINY_CASES)
def test_tiny_agrees_with_pgmpy(tiny, hard, likelihood):
    assert_close(
        as_dict(tiny.posteriors(hard=hard, likelihood=likelihood)),
        reference(tiny, hard, likelihood),
    )


def test_tiny_prior_by_hand(tiny):
    """No evidence: rain is its prior and sprinkler is the sum over rain, worked out by hand."""
    post = as_dict(tiny.posteriors())
    np.testing.assert_allclose(post["rain"], [0.7, 0.3], atol=ATOL)
    np.testing.assert_allclose(
        post["sprinkler"], [0.7 * 0.6 + 0.3 * 0.99, 0.7 * 0.4 + 0.3 * 0.01], atol=ATOL
    )


@pytest.fixture(scope="module")
def russia_iran():
    return forecast.load_model(RUSSIA_IRAN)


def test_russia_iran_agrees_with_pgmpy(russia_iran):
    model = russia_iran
    assert_close(as_dict(model.posteriors()), reference(model))
    rng = np.random.default_rng(7)
    for _ in range(2):
        hard, likelihood = random_evidence(rng, model, zeros=False)
        # keep the query modest: a few findings on drivers and outcomes
        hard = dict(list(hard.items())[:3])
        likelihood = dict(list(likelihood.items())[:3])
        try:
            ours = as_dict(model.posteriors(hard=hard, likelihood=likelihood))
        except forecast.EvidenceError as exc:  # the model may rule some combinations out
            assert "impossible" in str(exc)
            continue
        assert_close(ours, reference(model, hard, likelihood))


def test_russia_iran_fixed_on_a_driver_meets_target(russia_iran):
    model = russia_iran
    driver = model.drivers[0] if model.drivers else model.nodes[0]
    states = model.states(driver)
    target = dict(
        zip(
            states,
            np.linspace(1, 2, len(states)) / np.linspace(1, 2, len(states)).sum(),
            strict=True,
        )
    )
    post = as_dict(model.posteriors(fixed={driver: target}))
    np.testing.assert_allclose(post[driver], [target[s] for s in states], atol=ATOL)


def scenario_likelihoods(
    scenario: forecast.Scenario, model: forecast.Model
) -> dict[str, dict[str, float]]:
    """The scenario's likelihoods with its evidence items multiplied in, node by node.

    Each item is aged to the forecast date first: its weights raised to the power
    0.5 ** (age / half-life) (docs/evidence.md).
    """
    out = {n: dict(w) for n, w in scenario.likelihood.items()}
    day = model.forecast_date(model.evidence(scenario))
    for item in scenario.resolved_items:
        power = model.item_weight(item, day)
        prev = out.get(item.node)
        out[item.node] = {
            s: w**power * (prev[s] if prev else 1.0) for s, w in item.likelihood.items()
        }
    return out


def test_russia_iran_scenarios_agree_with_pgmpy(russia_iran):
    folder = RUSSIA_IRAN.parents[1] / "evidence" / "scenarios"
    files = sorted(folder.glob("*.yaml"))
    assert files, "the shipped scenarios are missing"
    for path in files:
        scenario = forecast.load_scenario(path)
        ours = as_dict(russia_iran.posteriors(scenario=scenario))
        likelihood = scenario_likelihoods(scenario, russia_iran)
        if not scenario.fixed:
            assert_close(ours, reference(russia_iran, scenario.hard, likelihood))
            continue
        for node, q in scenario.fixed.items():
            np.testing.assert_allclose(
                ours[node], [q[s] for s in russia_iran.states(node)], atol=ATOL
            )
        if len(scenario.fixed) == 1:
            ((node, q),) = scenario.fixed.items()
            assert_close(ours, jeffrey(russia_iran, node, q, scenario.hard, likelihood))


# ---------------------------------------------------------------- likelihood = virtual child


def with_virtual_child(spec: dict, node: str, states: list[str], weights: dict[str, float]) -> dict:
    """The model-file dict plus a child 'report' of `node` with P(seen | x) proportional to the weights."""
    p_seen = virtual_weights(weights, states)
    rows = [
        {"when": {node: s}, "probabilities": {"seen": float(p), "unseen": float(1 - p)}}
        for s, p in zip(states, p_seen, strict=True)
    ]
    child = {"id": "report", "states": ["seen", "unseen"], "parents": [node], "cpt": {"rows": rows}}
    return {**spec, "nodes": [*spec["nodes"], child]}


@pytest.mark.parametrize("seed", range(8))
def test_likelihood_equals_observed_virtual_child(seed):
    rng = np.random.default_rng(seed)
    spec = random_spec(rng, int(rng.integers(3, 7)))
    model = forecast.Model(spec_from_dict(spec))
    node = model.nodes[int(rng.integers(len(model.nodes)))]
    states = model.states(node)
    weights = dict(zip(states, rng.uniform(0, 3, len(states)).tolist(), strict=True))
    hard, _ = random_evidence(rng, model)
    hard.pop(node, None)
    virtual = forecast.Model(spec_from_dict(with_virtual_child(spec, node, states, weights)))
    ours = as_dict(model.posteriors(hard=hard, likelihood={node: weights}))
    via_child = as_dict(virtual.posteriors(hard={**hard, "report": "seen"}))
    via_child.pop("report")
    assert_close(ours, via_child)


def test_likelihood_weights_are_scale_free(tiny):
    a = as_dict(tiny.posteriors(likelihood={"outcome": {"good": 0.2, "bad": 0.6}}))
    b = as_dict(tiny.posteriors(likelihood={"outcome": {"good": 1.0, "bad": 3.0}}))
    assert_close(a, b)


def test_likelihood_with_a_single_positive_weight_equals_hard(tiny):
    soft = as_dict(tiny.posteriors(likelihood={"sprinkler": {"off": 0.0, "on": 2.5}}))
    hard = as_dict(tiny.posteriors(hard={"sprinkler": "on"}))
    assert_close(soft, hard)


# ---------------------------------------------------------------- fixed evidence (Jeffrey's rule)


def test_fixed_posterior_equals_target(tiny):
    post = as_dict(tiny.posteriors(fixed={"outcome": {"good": 0.9, "bad": 0.1}}))
    np.testing.assert_allclose(post["outcome"], [0.9, 0.1], atol=ATOL)


def test_fixed_one_hot_equals_hard(tiny):
    fixed = as_dict(
        tiny.posteriors(fixed={"sprinkler": {"off": 0.0, "on": 1.0}}, hard={"outcome": "good"})
    )
    hard = as_dict(tiny.posteriors(hard={"sprinkler": "on", "outcome": "good"}))
    assert_close(fixed, hard)


def jeffrey(model: forecast.Model, node: str, q: dict[str, float], hard=None, likelihood=None):
    """Jeffrey's rule from its definition: sum_x q(x) P(Y | node = x, other evidence), via pgmpy."""
    total = None
    for state, weight in q.items():
        cond = reference(model, {**(hard or {}), node: state}, likelihood)
        part = {n: weight * p for n, p in cond.items()}
        total = part if total is None else {n: total[n] + part[n] for n in total}
    return total


@pytest.mark.parametrize("seed", range(8))
def test_fixed_follows_jeffreys_rule_with_other_evidence(seed):
    rng = np.random.default_rng(100 + seed)
    model = random_model(rng, int(rng.integers(3, 7)))
    hard, likelihood = random_evidence(rng, model, zeros=False)
    node = model.nodes[int(rng.integers(len(model.nodes)))]
    hard.pop(node, None)
    likelihood.pop(node, None)
    states = model.states(node)
    q = dict(zip(states, rng.dirichlet(np.ones(len(states))).tolist(), strict=True))
    ours = as_dict(model.posteriors(hard=hard, likelihood=likelihood, fixed={node: q}))
    np.testing.assert_allclose(ours[node], [q[s] for s in states], atol=ATOL)
    assert_close(ours, jeffrey(model, node, q, hard, likelihood))


def test_fixed_on_tiny_follows_jeffreys_rule(tiny):
    q = {"no": 0.25, "yes": 0.75}
    ours = as_dict(
        tiny.posteriors(fixed={"rain": q}, likelihood={"outcome": {"good": 1.0, "bad": 0.5}})
    )
    assert_close(ours, jeffrey(tiny, "rain", q, likelihood={"outcome": {"good": 1.0, "bad": 0.5}}))


def test_several_fixed_nodes_are_met_jointly(tiny):
    fixed = {"rain": {"no": 0.5, "yes": 0.5}, "outcome": {"good": 0.2, "bad": 0.8}}
    post = as_dict(tiny.posteriors(fixed=fixed, hard={"sprinkler": "on"}))
    np.testing.assert_allclose(post["rain"], [0.5, 0.5], atol=ATOL)
    np.testing.assert_allclose(post["outcome"], [0.2, 0.8], atol=ATOL)


@pytest.mark.parametrize("seed", range(6))
def test_several_fixed_nodes_on_random_networks(seed):
    rng = np.random.default_rng(200 + seed)
    model = random_model(rng, int(rng.integers(4, 8)))
    chosen = rng.choice(model.nodes, size=3, replace=False).tolist()
    fixed = {}
    for node in chosen:
        states = model.states(node)
        fixed[node] = dict(
            zip(states, rng.dirichlet(np.ones(len(states)) * 3).tolist(), strict=True)
        )
    # every joint probability is positive, so positive targets on distinct nodes can all be met
    # (their product distribution meets them), and iterative proportional fitting converges
    post = as_dict(model.posteriors(fixed=fixed))
    for node, q in fixed.items():
        np.testing.assert_allclose(post[node], [q[s] for s in model.states(node)], atol=ATOL)


def test_fixed_on_independent_roots_mixes_the_conditionals():
    """Two independent roots fixed together: P'(c) = sum_{a,b} q_a(a) q_b(b) P(c | a, b)."""
    rng = np.random.default_rng(5)
    spec = {
        "id": "roots",
        "nodes": [
            {"id": "a", "states": ["x", "y"], "cpt": {"rows": [{"probabilities": [0.3, 0.7]}]}},
            {
                "id": "b",
                "states": ["u", "v", "w"],
                "cpt": {"rows": [{"probabilities": [0.2, 0.3, 0.5]}]},
            },
            {
                "id": "c",
                "states": ["lo", "hi"],
                "parents": ["a", "b"],
                "cpt": {
                    "rows": [
                        {"when": {"a": x, "b": y}, "probabilities": rng.dirichlet([1, 1]).tolist()}
                        for x in ("x", "y")
                        for y in ("u", "v", "w")
                    ]
                },
            },
        ],
    }
    model = forecast.Model(spec_from_dict(spec))
    qa, qb = {"x": 0.9, "y": 0.1}, {"u": 0.1, "v": 0.1, "w": 0.8}
    post = as_dict(model.posteriors(fixed={"a": qa, "b": qb}))
    cpt = model.cpt("c")
    expected = sum(
        qa[x] * qb[y] * cpt[i, j]
        for (i, x), (j, y) in itertools.product(enumerate("xy"), enumerate("uvw"))
    )
    np.testing.assert_allclose(post["c"], expected, atol=ATOL)


def test_fixed_target_the_other_evidence_rules_out(deterministic):
    # b copies a, so hard b = x rules out a = y; a fixed distribution giving a = y mass cannot hold
    with pytest.raises(forecast.EvidenceError, match="fixed evidence on 'a'"):
        deterministic.posteriors(hard={"b": "x"}, fixed={"a": {"x": 0.5, "y": 0.5}})
    # c = w is impossible when a = x
    with pytest.raises(forecast.EvidenceError, match="fixed evidence on 'c'"):
        deterministic.posteriors(hard={"a": "x"}, fixed={"c": {"u": 0.3, "v": 0.3, "w": 0.4}})


def test_fixed_nodes_that_cannot_hold_together(deterministic):
    # b is a copy of a: fixing them to different distributions cannot be met
    with pytest.raises(forecast.EvidenceError) as info:
        deterministic.posteriors(fixed={"a": {"x": 0.3, "y": 0.7}, "b": {"x": 0.5, "y": 0.5}})
    assert "nan" not in str(info.value).lower()
    # the same distribution on both is fine
    post = as_dict(
        deterministic.posteriors(fixed={"a": {"x": 0.3, "y": 0.7}, "b": {"x": 0.3, "y": 0.7}})
    )
    np.testing.assert_allclose(post["a"], [0.3, 0.7], atol=ATOL)
    np.testing.assert_allclose(post["b"], [0.3, 0.7], atol=ATOL)


def test_fixed_with_a_zero_where_the_model_allows_it(deterministic):
    post = as_dict(deterministic.posteriors(fixed={"c": {"u": 0.5, "v": 0.5, "w": 0.0}}))
    np.testing.assert_allclose(post["c"], [0.5, 0.5, 0.0], atol=ATOL)
    assert_close(post, jeffrey(deterministic, "c", {"u": 0.5, "v": 0.5}))
    # fixed is not the same as a likelihood with the same numbers
    as_likelihood = reference(deterministic, likelihood={"c": {"u": 0.5, "v": 0.5, "w": 0.0}})
    assert not np.allclose(post["a"], as_likelihood["a"])


# ---------------------------------------------------------------- impossible evidence


@pytest.mark.parametrize(
    ("hard", "likelihood"),
    [
        ({"a": "x", "b": "y"}, {}),
        ({"a": "x", "c": "w"}, {}),
        ({"a": "x"}, {"b": {"x": 0.0, "y": 1.0}}),
        ({}, {"a": {"x": 1.0, "y": 0.0}, "c": {"u": 0.0, "v": 0.0, "w": 1.0}}),
    ],
)
def test_impossible_evidence_is_an_error_not_nan(deterministic, hard, likelihood):
    with pytest.raises(forecast.EvidenceError, match="impossible"):
        deterministic.posteriors(hard=hard, likelihood=likelihood)


def test_possible_evidence_with_zeros_has_no_nan(deterministic):
    table = deterministic.posteriors(hard={"c": "w"})
    assert not table["probability"].isna().any()
    post = as_dict(table)
    np.testing.assert_allclose(post["a"], [0.0, 1.0], atol=ATOL)
    assert_close(post, reference(deterministic, {"c": "w"}))


def test_conflicts_name_a_smallest_set_of_findings_that_cannot_hold_together():
    model = forecast.load_model(Path(__file__).resolve().parent / "fixtures" / "deterministic.yaml")
    assert model.conflicts({"hard": {"a": "x"}}) == []
    # c = w needs a = y while b = x needs a = x: deletion keeps a smallest impossible set
    found = model.conflicts({"hard": {"a": "x", "c": "w", "b": "x"}})
    assert [p.hard for p in found] == [{"a": "x"}, {"c": "w"}] or [p.hard for p in found] == [
        {"c": "w"},
        {"b": "x"},
    ]
    with pytest.raises(forecast.errors.EvidenceError):
        model.posteriors(hard={k: v for p in found for k, v in p.hard.items()})
    # fixed evidence that the rest rules out counts as a conflict too
    found = model.conflicts({"hard": {"a": "x"}, "fixed": {"c": {"u": 0.2, "v": 0.3, "w": 0.5}}})
    assert len(found) == 2 and found[1].fixed

"""Property tests: the engine on random small networks against brute-force enumeration of the joint."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forecast.engine import JunctionTree, solve_fixed, triangulate, witness
from forecast.errors import EvidenceError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw, max_nodes: int = 7):  # noqa: ANN001, ANN201
    """(cards, parents, cpts): up to 3 parents among earlier nodes, 2-3 states, some zero entries."""
    n = draw(st.integers(1, max_nodes))
    cards = [draw(st.integers(2, 3)) for _ in range(n)]
    parents = []
    for i in range(n):
        k = draw(st.integers(0, min(i, 3)))
        parents.append(
            sorted(draw(st.lists(st.integers(0, i - 1), min_size=k, max_size=k, unique=True)))
            if i
            else []
        )
    seed = draw(st.integers(0, 2**32 - 1))
    zeros = draw(st.floats(0, 0.4))
    rng = np.random.default_rng(seed)
    cpts = []
    for i in range(n):
        shape = [cards[p] for p in parents[i]] + [cards[i]]
        table = rng.dirichlet(np.ones(cards[i]), size=math.prod(shape[:-1]))
        mask = rng.random(table.shape) < zeros
        mask[np.arange(len(table)), rng.integers(0, cards[i], len(table))] = (
            False  # keep each row possible
        )
        table = np.where(mask, 0.0, table)
        cpts.append((table / table.sum(axis=1, keepdims=True)).reshape(shape))
    return cards, parents, cpts


def joint(cards, parents, cpts) -> np.ndarray:  # noqa: ANN001
    """The full joint distribution, axes in variable order."""
    p = np.ones(cards)
    for v, (ps, cpt) in enumerate(zip(parents, cpts, strict=True)):
        axes = list(ps) + [v]
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        t = np.transpose(cpt, order)
        shape = [cards[u] if u in axes else 1 for u in range(len(cards))]
        p = p * t.reshape(shape)
    return p


def brute_force(cards, parents, cpts, lik: dict[int, np.ndarray]) -> tuple[list[np.ndarray], float]:  # noqa: ANN001
    """(marginals, P(evidence)) for one scenario's likelihood vectors."""
    p = joint(cards, parents, cpts)
    for v, w in lik.items():
        shape = [cards[v] if u == v else 1 for u in range(len(cards))]
        p = p * np.asarray(w).reshape(shape)
    z = p.sum()
    margs = [
        p.sum(axis=tuple(u for u in range(len(cards)) if u != v)) / z if z > 0 else None
        for v in range(len(cards))
    ]
    return margs, float(z)


@st.composite
def scenarios(draw, cards, batch: int, min_nodes: int = 0):  # noqa: ANN001, ANN201
    """Likelihoods for `batch` scenarios on a random subset of nodes: hard 0/1 rows, soft weights, zeros."""
    n = len(cards)
    nodes = draw(
        st.lists(st.integers(0, n - 1), min_size=min_nodes, max_size=min(n, 4), unique=True)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lik = {}
    for v in nodes:
        rows = rng.uniform(0.0, 1.0, (batch, cards[v]))
        hard = rng.random(batch) < 0.4
        states = rng.integers(0, cards[v], batch)
        rows[hard] = np.eye(cards[v])[states[hard]]
        rows[rng.random(batch) < 0.1] = 0.0  # now and then an impossible scenario
        lik[v] = rows
    return lik


@SETTINGS
@given(data=st.data(), net=networks())
def test_every_marginal_of_a_batch_matches_brute_force(data, net):
    cards, parents, cpts = net
    batch = data.draw(st.integers(1, 6))
    lik = data.draw(scenarios(cards, batch))
    tree = JunctionTree(cards, parents, cpts)
    margs, ok = tree.marginals(lik, batch)
    logp = tree.log_evidence(lik, batch)
    for b in range(batch):
        expected, z = brute_force(cards, parents, cpts, {v: w[b] for v, w in lik.items()})
        assert ok[b] == (z > 0)
        for v in range(len(cards)):
            assert np.isfinite(margs[v][b]).all()
            if z > 0:
                np.testing.assert_allclose(margs[v][b], expected[v], rtol=0, atol=1e-10)
            else:
                np.testing.assert_allclose(margs[v][b], 1.0 / cards[v])
        if z > 0:
            assert logp[b] == pytest.approx(math.log(z), rel=1e-9, abs=1e-9)
        else:
            assert logp[b] == -math.inf


@SETTINGS
@given(data=st.data(), net=networks())
def test_family_marginals_match_brute_force(data, net):
    """P(parents, child | e) per variable, CPT axes in construction order."""
    cards, parents, cpts = net
    lik = {v: w[0] for v, w in data.draw(scenarios(cards, 1)).items()}
    tree = JunctionTree(cards, parents, cpts)
    fams, ok = tree.family_marginals({v: w[None, :] for v, w in lik.items()})
    p = joint(cards, parents, cpts)
    for v, w in lik.items():
        p = p * np.asarray(w).reshape([cards[v] if u == v else 1 for u in range(len(cards))])
    assert ok == (p.sum() > 0)
    for v, ps in enumerate(parents):
        family = [*ps, v]
        assert fams[v].shape == tuple(cards[u] for u in family)
        if not ok:
            assert not fams[v].any()
            continue
        keep = sorted(family)
        m = p.sum(axis=tuple(u for u in range(len(cards)) if u not in family)) / p.sum()
        expected = np.transpose(m, [keep.index(u) for u in family])
        np.testing.assert_allclose(fams[v], expected, rtol=0, atol=1e-10)


@SETTINGS
@given(data=st.data(), net=networks())
def test_the_evidence_table_and_the_direct_pass_agree(data, net):
    cards, parents, cpts = net
    batch = data.draw(st.integers(2, 40))
    lik = data.draw(scenarios(cards, batch, min_nodes=1))
    tree = JunctionTree(cards, parents, cpts)
    direct, ok_direct = tree._chunked(lik, batch)
    table = tree.evidence_table(sorted(lik))
    assert table is not None
    via_table, ok_table = table.marginals(lik, batch)
    np.testing.assert_array_equal(ok_direct, ok_table)
    for a, b in zip(direct, via_table, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@SETTINGS
@given(data=st.data(), net=networks())
def test_a_mixed_batch_split_by_evidence_pattern_matches_brute_force(data, net):
    """Scenarios observing different nodes (a few patterns): grouped per pattern, same numbers."""
    cards, parents, cpts = net
    assume(len(cards) >= 2)
    batch = 48
    lik = data.draw(scenarios(cards, batch, min_nodes=2))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    patterns = rng.random((3, len(lik))) < 0.5  # which of the nodes each pattern observes
    patterns[0] = True
    patterns[1] = False
    patterns[1, 0] = True
    rows = rng.integers(0, 3, batch)
    for j, v in enumerate(lik):
        unobserved = ~patterns[rows, j]
        lik[v][unobserved] = 1.0
    tree = JunctionTree(cards, parents, cpts)
    informative = {v: w for v, w in lik.items() if not (w == w[:1]).all()}
    assert tree._by_pattern(lik, informative, batch) is not None  # the batch was split
    margs, ok = tree.marginals(lik, batch)
    stacked, ok_stacked = tree._chunked(lik, batch)
    np.testing.assert_array_equal(ok, ok_stacked)
    for b in range(batch):
        expected, z = brute_force(cards, parents, cpts, {v: w[b] for v, w in lik.items()})
        assert ok[b] == (z > 0)
        for v in range(len(cards)):
            if z > 0:
                np.testing.assert_allclose(margs[v][b], expected[v], rtol=0, atol=1e-10)
            else:
                np.testing.assert_allclose(margs[v][b], 1.0 / cards[v])


@SETTINGS
@given(data=st.data(), net=networks())
def test_a_witness_is_only_found_for_possible_evidence(data, net):
    """engine.witness may miss a configuration, never invent one: found implies P(evidence) > 0."""
    cards, parents, cpts = net
    lik = {v: w[0] for v, w in data.draw(scenarios(cards, 1)).items()}
    _, z = brute_force(cards, parents, cpts, lik)
    found = witness(list(range(len(cards))), parents, cpts, lik)
    assert not found or z > 0
    if not lik:
        assert found  # no evidence: every network here has a configuration of positive probability


@SETTINGS
@given(data=st.data(), net=networks(max_nodes=6))
def test_fixed_evidence_on_one_node_is_jeffreys_rule(data, net):
    cards, parents, cpts = net
    n = len(cards)
    node = data.draw(st.integers(0, n - 1))
    others = data.draw(scenarios(cards, 1))
    others.pop(node, None)
    target = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).dirichlet(
        np.ones(cards[node])
    )
    tree = JunctionTree(cards, parents, cpts)
    base, z = brute_force(cards, parents, cpts, {v: w[0] for v, w in others.items()})
    assume(z > 0)
    if (base[node] <= 0).any():
        with pytest.raises(EvidenceError):
            solve_fixed(tree, others, {node: target[None]}, 1)
        return
    margs, ok = solve_fixed(tree, others, {node: target[None]}, 1)
    assert ok.all()
    expected = [np.zeros(c) for c in cards]
    for s in range(cards[node]):
        hard = np.eye(cards[node])[s]
        cond, _ = brute_force(
            cards, parents, cpts, {**{v: w[0] for v, w in others.items()}, node: hard}
        )
        for v in range(n):
            expected[v] += target[s] * cond[v]
    for v in range(n):
        np.testing.assert_allclose(margs[v][0], expected[v], rtol=0, atol=1e-8)


@SETTINGS
@given(data=st.data(), net=networks(max_nodes=6))
def test_several_fixed_nodes_meet_their_targets_or_are_refused(data, net):
    cards, parents, cpts = net
    n = len(cards)
    assume(n >= 2)
    nodes = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=min(3, n), unique=True))
    batch = data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    fixed = {v: rng.dirichlet(np.ones(cards[v]), size=batch) for v in nodes}
    tree = JunctionTree(cards, parents, cpts)
    try:
        margs, ok = solve_fixed(tree, {}, fixed, batch)
    except EvidenceError:
        return  # targets the model cannot reach together are refused with a message, never wrong numbers
    for v in nodes:
        np.testing.assert_allclose(margs[v], fixed[v], rtol=0, atol=1e-8)


@settings(max_examples=100, deadline=None)
@given(net=networks(max_nodes=25))
def test_the_triangulation_is_a_valid_junction_tree(net):
    cards, parents, cpts = net
    cliques = triangulate(cards, parents)
    sets = [set(c) for c in cliques]
    for v, ps in enumerate(parents):
        assert any(set(ps) | {v} <= c for c in sets)  # every family sits in a clique
    for a, b in itertools.combinations(sets, 2):
        assert not a <= b and not b <= a  # maximal cliques only
    tree = JunctionTree(cards, parents, cpts)
    # running intersection: the cliques holding a variable form a connected subtree
    adjacency = {i: set() for i in range(len(cliques))}
    for e in tree._edges:
        adjacency[e.child].add(e.parent)
        adjacency[e.parent].add(e.child)
    for v in range(len(cards)):
        holding = {i for i, c in enumerate(sets) if v in c}
        start = next(iter(holding))
        seen, todo = {start}, [start]
        while todo:
            i = todo.pop()
            for j in adjacency[i] & holding:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        assert seen == holding

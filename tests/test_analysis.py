"""The four analyses, checked against direct computations from the full joint distribution."""

import datetime as dt
import itertools
import json
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast import analysis
from forecast.analysis import _draw_cpt, _shift_rows, parse_target, with_intervals
from forecast.engine import JunctionTree
from forecast.errors import EvidenceError
from forecast.evidence import Evidence, EvidenceItem
from forecast.export import analysis_sections, render, to_html, write_xlsx
from forecast.model import Model
from forecast.spec import spec_from_dict

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"

# ------------------------------------------------------------------ reference: the full joint


def joint(model: Model, overrides: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """P(all nodes), one axis per node in model.nodes order, by multiplying every CPT."""
    overrides = overrides or {}
    letters = string.ascii_letters
    ax = {n: letters[i] for i, n in enumerate(model.nodes)}
    terms, ops = [], []
    for n in model.nodes:
        terms.append("".join(ax[p] for p in model.parents(n)) + ax[n])
        ops.append(overrides.get(n, model.cpt(n)))
    return np.einsum(",".join(terms) + "->" + "".join(ax[n] for n in model.nodes), *ops)


def weigh(model: Model, j: np.ndarray, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The joint times per-node evidence vectors (hard evidence is a 0/1 vector)."""
    out = j
    for n, vec in vectors.items():
        shape = [1] * j.ndim
        shape[model.nodes.index(n)] = len(vec)
        out = out * np.asarray(vec, dtype=float).reshape(shape)
    return out


def marginal(model: Model, w: np.ndarray, nodes: list[str]) -> np.ndarray:
    keep = [model.nodes.index(n) for n in nodes]
    m = w.sum(axis=tuple(i for i in range(w.ndim) if i not in keep))
    order = np.argsort(np.argsort(keep))  # axes come out in model order; put them in `nodes` order
    m = np.transpose(m, tuple(order))
    return m / m.sum()


def hard_vec(model: Model, node: str, state: str) -> np.ndarray:
    v = np.zeros(len(model.states(node)))
    v[model.states(node).index(state)] = 1.0
    return v


def random_model(seed: int, n: int = 6, zeros: bool = True) -> Model:
    """A random network: up to 3 parents from earlier nodes, 2-3 states, some zero entries."""
    rng = np.random.default_rng(seed)
    nodes = []
    for i in range(n):
        k = int(rng.integers(2, 4))
        states = [f"s{j}" for j in range(k)]
        parents = (
            sorted(rng.choice(i, size=min(i, int(rng.integers(0, 4))), replace=False).tolist())
            if i
            else []
        )
        pnames = [f"n{p}" for p in parents]
        combos = itertools.product(*[nodes[p]["states"] for p in parents])
        rows = []
        for combo in combos:
            row = rng.dirichlet(np.ones(k))
            if zeros and rng.random() < 0.2:
                row[int(rng.integers(k))] = 0.0
                row /= row.sum()
            rows.append(
                {
                    "when": dict(zip(pnames, combo, strict=True)),
                    "probabilities": [float(x) for x in row],
                }
            )
        nodes.append(
            {
                "id": f"n{i}",
                "states": states,
                "parents": pnames,
                "role": "outcome" if i == n - 1 else "driver",
                "cpt": {"rows": rows},
            }
        )
    return Model(spec_from_dict({"id": f"random{seed}", "nodes": nodes}))


def random_evidence(model: Model, seed: int) -> tuple[dict, dict]:
    """Hard evidence on one node and likelihood evidence on another, possible under the model."""
    rng = np.random.default_rng(seed + 100)
    a, b = rng.choice(len(model.nodes) - 1, size=2, replace=False)
    na, nb = model.nodes[int(a)], model.nodes[int(b)]
    base = model.posteriors(targets=[na])
    state = str(base.loc[base["probability"].idxmax(), "state"])
    lik = {
        s: float(x)
        for s, x in zip(model.states(nb), rng.uniform(0.1, 2, len(model.states(nb))), strict=True)
    }
    return {na: state}, {nb: lik}


# ------------------------------------------------------------------ 1. sensitivity


def reference_sensitivity(model, node, state, hard, likelihood):
    j = joint(model)
    t = model.states(node).index(state)
    out = {}
    for x in model.nodes:
        if x == node or x in hard:
            continue
        vals = []
        for s in model.states(x):
            vecs = {n: hard_vec(model, n, v) for n, v in hard.items()}
            vecs |= {
                n: np.array([w[k] for k in model.states(n)])
                for n, w in likelihood.items()
                if n != x
            }
            vecs[x] = hard_vec(model, x, s)  # setting x replaces any evidence on it
            w = weigh(model, j, vecs)
            if w.sum() > 0:
                vals.append(marginal(model, w, [node])[t])
        out[x] = (min(vals), max(vals))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sensitivity_ranges_equal_the_joint(seed):
    model = random_model(seed)
    hard, likelihood = random_evidence(model, seed)
    target = model.nodes[-1]
    state = model.states(target)[0]
    table = forecast.sensitivity(model, f"{target}={state}", hard=hard, likelihood=likelihood)
    ref = reference_sensitivity(model, target, state, hard, likelihood)
    assert set(table["node"]) == set(ref)
    for r in table.itertuples():
        assert r.low == pytest.approx(ref[r.node][0], abs=1e-10)
        assert r.high == pytest.approx(ref[r.node][1], abs=1e-10)
        assert r.swing == pytest.approx(r.high - r.low, abs=1e-12)
    assert list(table["swing"]) == sorted(table["swing"], reverse=True)


def test_sensitivity_on_tiny_names_the_states_and_baseline(tiny):
    table = forecast.sensitivity(tiny, "outcome=good")
    assert list(table.columns[:4]) == ["node", "low", "high", "swing"]
    assert set(table["node"]) == {"rain", "sprinkler"}
    base = tiny.posteriors(targets="outcome").set_index("state")["probability"]["good"]
    for r in table.itertuples():
        low = tiny.posteriors(hard={r.node: r.low_state}, targets="outcome").set_index("state")[
            "probability"
        ]["good"]
        high = tiny.posteriors(hard={r.node: r.high_state}, targets="outcome").set_index("state")[
            "probability"
        ]["good"]
        assert (low, high) == pytest.approx((r.low, r.high), abs=1e-12)
        assert r.low <= base <= r.high
        assert r.baseline == pytest.approx(base, abs=1e-12)
    assert table.attrs["analysis_kind"] == "sensitivity" and table.attrs["target"] == "outcome=good"


def test_sensitivity_skips_hard_evidence_and_impossible_states(deterministic):
    table = forecast.sensitivity(deterministic, "c=u", hard={"b": "x"})
    # b is observed; a is then certainly x, so a=y is impossible and a has no range
    assert list(table["node"]) == ["a"]
    assert table.loc[0, "low"] == table.loc[0, "high"] == pytest.approx(0.5)
    assert table.loc[0, "swing"] == 0.0


def test_sensitivity_skips_settings_that_cannot_meet_fixed_evidence(deterministic):
    # c is fixed with weight on w, which a=x rules out: only a=y is a possible setting
    fixed = {"c": {"u": 0.3, "v": 0.3, "w": 0.4}}
    table = forecast.sensitivity(deterministic, "b=y", fixed=fixed).set_index("node")
    assert table.loc["a", "low_state"] == table.loc["a", "high_state"] == "y"
    assert table.loc["a", "low"] == pytest.approx(1.0)
    direct = deterministic.posteriors(hard={"a": "y"}, fixed=fixed, targets="b").set_index("state")[
        "probability"
    ]
    assert table.loc["a", "high"] == pytest.approx(direct["y"])


@pytest.mark.parametrize("seed", [0, 2, 6])
@pytest.mark.parametrize("kind", ["plain", "do", "fixed"])
def test_what_if_by_bayes_rule_equals_setting_each_node(monkeypatch, seed, kind):
    """The tornado and the indicators from k + 1 propagations match one scenario per state."""
    model = random_model(seed, n=7)
    hard, likelihood = random_evidence(model, seed)
    keywords: dict = {"hard": hard, "likelihood": likelihood}
    free = [n for n in model.nodes[:-1] if n not in hard and n not in likelihood]
    if kind == "do":
        keywords["do"] = {free[0]: model.states(free[0])[-1]}
    if kind == "fixed":  # one fixed distribution: Jeffrey's rule
        p = model.posteriors(targets=[free[0]], hard=hard, likelihood=likelihood)
        q = 0.5 * p["probability"].to_numpy() + 0.5 * (p["probability"] == p["probability"].max())
        keywords["fixed"] = {free[0]: dict(zip(model.states(free[0]), q / q.sum(), strict=True))}
    target = model.nodes[-1]
    t = f"{target}={model.states(target)[0]}"
    fast = (
        forecast.sensitivity(model, t, **keywords),
        forecast.indicators(model, target, **keywords),
    )

    def all_unsure(model, ev, target, pairs):
        k = len(model.states(target))
        return np.zeros((len(pairs), k)), np.zeros(len(pairs), bool), np.ones(len(pairs), bool)

    monkeypatch.setattr(analysis, "_by_bayes_rule", all_unsure)
    slow = (
        forecast.sensitivity(model, t, **keywords),
        forecast.indicators(model, target, **keywords),
    )
    for a, b in zip(fast, slow, strict=True):
        assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
        key = [c for c in ("node", "state") if c in a.columns]  # ties may sort either way
        a, b = (x.sort_values(key).reset_index(drop=True) for x in (a, b))
        for col in a.columns:
            if a[col].dtype.kind == "f":
                assert np.abs(a[col].to_numpy() - b[col].to_numpy()).max() < 1e-12, col
            elif col in ("low_state", "high_state"):  # a tie (no swing) may pick either state
                moved = (a["swing"] > 1e-9).to_numpy()
                assert list(a[col][moved]) == list(b[col][moved]), col
            else:
                assert list(a[col]) == list(b[col]), col


# ------------------------------------------------------------------ parameter sensitivity


def test_shift_rows_renormalises_proportionally():
    row = np.array([0.2, 0.3, 0.5])
    up = _shift_rows(row, 0, 0.1)
    assert up == pytest.approx([0.3, 0.3 * 0.7 / 0.8, 0.5 * 0.7 / 0.8])
    assert up.sum() == pytest.approx(1.0)
    assert _shift_rows(np.array([0.05, 0.95]), 0, -0.1) == pytest.approx([0.0, 1.0])  # clipped at 0
    assert _shift_rows(np.array([1.0, 0.0, 0.0]), 0, -0.1) == pytest.approx(
        [0.9, 0.05, 0.05]
    )  # whole row: shared
    assert _shift_rows(np.array([0.0, 0.4, 0.6]), 1, 0.1)[0] == 0.0  # zeros elsewhere stay zero


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 5, 7])
def test_parameter_sensitivity_equals_the_joint_with_the_changed_table(seed):
    model = random_model(seed, n=5)
    hard, likelihood = random_evidence(model, seed)
    target = model.nodes[-1]
    state = model.states(target)[0]
    delta = 0.15
    table = forecast.parameter_sensitivity(
        model, f"{target}={state}", delta, hard=hard, likelihood=likelihood
    )
    assert not table.empty
    vecs = {n: hard_vec(model, n, v) for n, v in hard.items()}
    vecs |= {n: np.array([w[k] for k in model.states(n)]) for n, w in likelihood.items()}
    t = model.states(target).index(state)
    base = marginal(model, weigh(model, joint(model), vecs), [target])[t]
    listed = set()
    for r in table.itertuples():
        cpt = model.cpt(r.node)
        combo = tuple(
            model.states(p).index(x.split("=", 1)[1])
            for p, x in zip(
                model.parents(r.node),
                r.parent_states.split(", ") if r.parent_states else [],
                strict=True,
            )
        )
        s = model.states(r.node).index(r.state)
        listed.add((r.node, combo, s))
        assert r.value == pytest.approx(cpt[combo + (s,)])
        assert r.base == pytest.approx(base, abs=1e-10)
        for sign, got in ((-1, r.minus), (1, r.plus)):
            changed = cpt.copy()
            changed[combo] = _shift_rows(cpt[combo], s, sign * delta)
            ref = marginal(model, weigh(model, joint(model, {r.node: changed}), vecs), [target])[t]
            assert got == pytest.approx(ref, abs=1e-10)
    assert list(table["swing"]) == sorted(table["swing"], reverse=True)
    # entries left out really do not matter
    for n in model.nodes:
        cpt = model.cpt(n)
        for combo in np.ndindex(*cpt.shape[:-1]):
            s = 0
            if (n, combo, s) in listed:
                continue
            changed = cpt.copy()
            changed[combo] = _shift_rows(cpt[combo], s, delta)
            ref = marginal(model, weigh(model, joint(model, {n: changed}), vecs), [target])[t]
            assert ref == pytest.approx(base, abs=1e-9)


@pytest.mark.parametrize("one_fixed", [False, True])
def test_closed_form_answers_most_entries_and_propagation_the_rest(monkeypatch, one_fixed):
    """Both paths run (zero entries go to propagation) and give the same table; one fixed
    distribution is Jeffrey's rule, a weighted sum of the closed forms."""
    model = random_model(3, n=7)
    hard, likelihood = random_evidence(model, 3)
    if one_fixed:
        free = next(n for n in model.nodes[:-1] if n not in hard and n not in likelihood)
        now = model.posteriors(targets=[free], hard=hard, likelihood=likelihood)
        p = now["probability"].to_numpy()
        q = 0.5 * p + 0.5 * (p == p.max())  # a new distribution the evidence allows
        fixed = {free: dict(zip(model.states(free), q / q.sum(), strict=True))}
    else:
        fixed = {}
    target = f"{model.nodes[-1]}={model.states(model.nodes[-1])[0]}"
    solved: list[int] = []
    real = analysis._solved_moves

    def counting(*args):
        solved.append(len(args[4]))
        return real(*args)

    monkeypatch.setattr(analysis, "_solved_moves", counting)
    kw = {"hard": hard, "likelihood": likelihood, "fixed": fixed}
    fast = forecast.parameter_sensitivity(model, target, 0.2, **kw)
    monkeypatch.setattr(analysis, "_linear_moves", lambda *a: {})
    slow = forecast.parameter_sensitivity(model, target, 0.2, **kw)
    entries = solved[1]  # every entry, when the closed form is switched off
    assert 0 < solved[0] < entries  # the zero entries, and only those, were propagated
    key = ["node", "parent_states", "state"]
    both = fast.merge(slow, on=key, suffixes=("_fast", "_slow"))
    assert len(both) == len(fast) == len(slow)
    for col in ("minus", "plus"):
        assert np.abs(both[f"{col}_fast"] - both[f"{col}_slow"]).max() < 1e-12


@pytest.mark.parametrize("seed", [1, 3, 8])
@pytest.mark.parametrize("n_fixed", [1, 2])
def test_top_entries_under_fixed_evidence_are_the_exact_ones(seed, n_fixed):
    """`top` screens the entries, then computes the chosen ones exactly (refitting)."""
    model = random_model(seed, n=7, zeros=False)
    hard, _ = random_evidence(model, seed)
    free = [n for n in model.nodes[:-1] if n not in hard]
    fixed = {
        n: dict(
            zip(
                model.states(n),
                np.random.default_rng(seed).dirichlet(np.ones(len(model.states(n)))),
                strict=True,
            )
        )
        for n in free[:n_fixed]
    }
    target = f"{model.nodes[-1]}={model.states(model.nodes[-1])[0]}"
    full = forecast.parameter_sensitivity(model, target, 0.1, hard=hard, fixed=fixed)
    best = forecast.parameter_sensitivity(model, target, 0.1, hard=hard, fixed=fixed, top=3)
    assert len(best) == min(3, len(full)) > 0
    key = ["node", "parent_states", "state"]
    both = best.merge(full, on=key, suffixes=("", "_full"))
    assert len(both) == len(best)  # every listed entry is in the full table ...
    for col in ("minus", "plus", "swing"):  # ... with the same exact numbers
        assert np.abs(both[col] - both[f"{col}_full"]).max() < 1e-9
    assert best["swing"].iloc[0] == pytest.approx(full["swing"].iloc[0], abs=1e-9)


def test_parameter_sensitivity_under_an_intervention_uses_the_mutilated_network():
    model = random_model(4, n=6)
    target = model.nodes[-1]
    t = f"{target}={model.states(target)[0]}"
    middle = next(n for n in model.nodes[1:-1] if model.parents(n))
    do = {middle: model.states(middle)[0]}
    table = forecast.parameter_sensitivity(model, t, 0.1, do=do)
    assert middle not in set(table["node"])  # its table does not matter once it is set
    cut = model.intervened(do)
    again = forecast.parameter_sensitivity(cut, t, 0.1, hard=do)
    again = again[again["node"] != middle]
    key = ["node", "parent_states", "state"]
    both = table.merge(again, on=key, suffixes=("_do", "_cut"))
    assert len(both) == len(table) == len(again)
    assert np.abs(both["plus_do"] - both["plus_cut"]).max() < 1e-12
    assert np.abs(both["minus_do"] - both["minus_cut"]).max() < 1e-12


def test_parameter_sensitivity_leaves_out_barren_nodes_and_reports_progress(tiny):
    calls = []
    table = forecast.parameter_sensitivity(
        tiny, "rain=yes", 0.1, progress=lambda d, t: calls.append((d, t))
    )
    assert set(table["node"]) == {"rain"}  # nothing below rain is observed
    assert calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ------------------------------------------------------------------ 2. indicators


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mutual_information_equals_the_joint(seed):
    model = random_model(seed)
    hard, likelihood = random_evidence(model, seed)
    target = model.nodes[-1]
    table = forecast.indicators(model, target, hard=hard, likelihood=likelihood)
    vecs = {n: hard_vec(model, n, v) for n, v in hard.items()}
    vecs |= {n: np.array([w[k] for k in model.states(n)]) for n, w in likelihood.items()}
    w = weigh(model, joint(model), vecs)
    nodes = table.drop_duplicates("node")
    assert set(nodes["node"]) == set(model.nodes) - {target} - set(hard)
    for r in nodes.itertuples():
        pxt = marginal(model, w, [r.node, target])
        px, pt = pxt.sum(axis=1), pxt.sum(axis=0)
        nz = pxt > 0
        mi = float((pxt[nz] * np.log2(pxt[nz] / np.outer(px, pt)[nz])).sum())
        assert r.mutual_information_bits == pytest.approx(mi, abs=1e-10)
        rows = table[table["node"] == r.node]
        for q in rows.itertuples(index=False):
            x = model.states(r.node).index(q.state)
            assert q.state_probability == pytest.approx(px[x], abs=1e-10)
            post = rows.loc[
                rows["state"] == q.state, [f"{target}={s}" for s in model.states(target)]
            ].to_numpy()[0]
            assert post == pytest.approx(pxt[x] / px[x], abs=1e-10)
    mis = list(nodes["mutual_information_bits"])
    assert mis == sorted(mis, reverse=True)


def test_indicators_of_a_copy_carry_all_the_information(deterministic):
    table = forecast.indicators(deterministic, "a")
    top = table.drop_duplicates("node").set_index("node")
    p = np.array([0.4, 0.6])
    entropy = float(-(p * np.log2(p)).sum())
    assert top.loc["b", "mutual_information_bits"] == pytest.approx(entropy)  # b copies a
    assert top.loc["b", "entropy_share"] == pytest.approx(1.0)
    assert table.columns.tolist()[:5] == [
        "node",
        "mutual_information_bits",
        "entropy_share",
        "state",
        "state_probability",
    ]
    assert table.attrs["target"] == "a"


# ------------------------------------------------------------------ 3. evidence impact


def item(id_, date, node, lik):
    return EvidenceItem(
        id=id_,
        date=dt.date.fromisoformat(date),
        title=f"report {id_}",
        source="s",
        node=node,
        likelihood=lik,
    )


def p_of(model, ev, node, state):
    return model.posteriors(scenario=ev, targets=node).set_index("state")["probability"][state]


def logit(p):
    return np.log(p / (1 - p))


def test_explain_deltas_are_differences_of_direct_posteriors(tiny):
    items = (
        item("b", "2018-03-01", "sprinkler", {"off": 0.2, "on": 1.0}),
        item("a", "2018-02-01", "rain", {"no": 0.5, "yes": 1.0}),
    )
    ev = Evidence(
        likelihood={"sprinkler": {"off": 1.0, "on": 0.5}},
        fixed={"rain": {"no": 0.4, "yes": 0.6}},
        items=items,
    )
    table = forecast.explain(tiny, "outcome=good", ev)
    p_all = p_of(tiny, ev, "outcome", "good")
    without = {
        "likelihood:sprinkler": Evidence(fixed=ev.fixed, items=items),
        "fixed:rain": Evidence(likelihood=ev.likelihood, items=items),
        "b": Evidence(likelihood=ev.likelihood, fixed=ev.fixed, items=items[1:]),
        "a": Evidence(likelihood=ev.likelihood, fixed=ev.fixed, items=items[:1]),
    }
    assert set(table["item"]) == set(without)
    for r in table.itertuples():
        p_wo = p_of(tiny, without[r.item], "outcome", "good")
        assert r.delta_probability == pytest.approx(p_all - p_wo, abs=1e-9)
        assert r.probability_without == pytest.approx(p_wo, abs=1e-9)
        assert r.delta_log_odds == pytest.approx(logit(p_all) - logit(p_wo), abs=1e-7)
    assert table.set_index("item").loc["a", "date"] == dt.date(2018, 2, 1)


def test_explain_sequence_adds_undated_then_items_by_date(tiny):
    items = (
        item("late", "2018-03-01", "rain", {"no": 1.0, "yes": 0.25}),
        item("early", "2018-02-01", "sprinkler", {"off": 0.2, "on": 1.0}),
    )
    ev = Evidence(hard={"rain": "yes"}, items=items)
    seq = forecast.explain_sequence(tiny, "outcome=good", ev)
    assert list(seq["item"]) == ["prior", "hard:rain", "early", "late"]
    steps = [
        Evidence(),
        Evidence(hard={"rain": "yes"}),
        Evidence(hard={"rain": "yes"}, items=items[1:]),
        ev,
    ]
    for r, e in zip(seq.itertuples(), steps, strict=True):
        assert r.cumulative_probability == pytest.approx(
            p_of(tiny, e, "outcome", "good"), abs=1e-12
        )
    assert seq["delta_probability"].sum() == pytest.approx(
        seq["cumulative_probability"].iloc[-1] - seq["cumulative_probability"].iloc[0]
    )
    assert seq["delta_log_odds"].iloc[1:].sum() == pytest.approx(
        seq["log_odds"].iloc[-1] - seq["log_odds"].iloc[0]
    )


def test_explain_with_a_scenario_file_and_nothing_to_explain(tiny):
    scenario = forecast.load_scenario(TINY_EVIDENCE / "scenarios" / "rainy.yaml")
    table = forecast.explain(tiny, "outcome=bad", scenario)
    assert list(table["item"]) == ["hard:rain", "likelihood:sprinkler"]
    assert table.attrs["scenario"] == "rainy"
    with pytest.raises(EvidenceError, match="nothing to explain"):
        forecast.explain(tiny, "outcome=bad", None)


# ------------------------------------------------------------------ 4. uncertainty


def test_dirichlet_draws_keep_zeros_and_centre_on_the_row():
    rng = np.random.default_rng(1)
    cpt = np.array([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    draws = _draw_cpt(rng, cpt, 20.0, 20000)
    assert draws.shape == (20000, 2, 3)
    assert (draws[:, 0, 0] == 0).all() and (draws[:, 1] == cpt[1]).all()
    assert draws.sum(axis=-1) == pytest.approx(np.ones((20000, 2)))
    assert draws[:, 0].mean(axis=0) == pytest.approx(cpt[0], abs=0.01)
    # Dirichlet(c * row) variance of an entry: p (1 - p) / (c + 1)
    assert draws[:, 0, 1].var() == pytest.approx(0.25 * 0.75 / 21, rel=0.05)


def test_uncertainty_is_reproducible_and_ordered(tiny):
    a = forecast.uncertainty(tiny, samples=500, seed=7)
    b = forecast.uncertainty(tiny, samples=500, seed=7)
    c = forecast.uncertainty(tiny, samples=500, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p05"], c["p05"])
    assert list(a.columns) == ["node", "state", "probability", "p05", "p50", "p95"]
    assert set(a["node"]) == set(tiny.outcomes)
    assert (a["p05"] <= a["p50"]).all() and (a["p50"] <= a["p95"]).all()
    point = tiny.posteriors(targets=tiny.outcomes)["probability"].to_numpy()
    assert a["probability"].to_numpy() == pytest.approx(point)


def test_uncertainty_under_an_intervention_keeps_the_set_node_set(tiny):
    table = forecast.uncertainty(tiny, samples=300, targets=["sprinkler"], do={"sprinkler": "on"})
    on = table[table["state"] == "on"].iloc[0]
    assert on["probability"] == on["p05"] == on["p95"] == 1.0  # not redrawn from its own table
    rain = forecast.uncertainty(tiny, samples=300, targets=["rain"], do={"sprinkler": "on"})
    prior = forecast.uncertainty(tiny, samples=300, targets=["rain"])
    # setting a child says nothing about its parent (other draws: same up to Monte Carlo error)
    assert rain["probability"].to_numpy() == pytest.approx(prior["probability"].to_numpy())
    assert rain["p05"].to_numpy() == pytest.approx(prior["p05"].to_numpy(), abs=0.03)


def with_confidence(path, confidence: float) -> Model:
    spec = forecast.load_model(path).spec
    return Model(spec.model_copy(update={"default_confidence": confidence}))


def test_intervals_shrink_as_confidence_grows():
    widths = []
    for conf in (2.0, 20.0, 200.0, 2000.0):
        t = forecast.uncertainty(
            with_confidence(TINY, conf), samples=1000, seed=0, targets=["outcome", "sprinkler"]
        )
        widths.append(float((t["p95"] - t["p05"]).mean()))
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 10


def test_huge_confidence_centres_on_the_point_posterior():
    model = with_confidence(TINY, 1e8)
    t = forecast.uncertainty(
        model, samples=200, seed=3, hard={"sprinkler": "on"}, targets=["outcome", "rain"]
    )
    assert t["p50"].to_numpy() == pytest.approx(t["probability"].to_numpy(), abs=1e-3)
    assert (t["p95"] - t["p05"]).max() < 5e-3


def test_node_confidence_overrides_the_default():
    spec = forecast.load_model(TINY).spec
    nodes = [n.model_copy(update={"confidence": 1e9}) if n.id == "rain" else n for n in spec.nodes]
    sure = Model(spec.model_copy(update={"nodes": nodes}))
    t = forecast.uncertainty(sure, samples=300, seed=0, targets="rain").set_index("state")
    assert t.loc["yes", "p95"] - t.loc["yes", "p05"] < 1e-3
    assert t.attrs["settings"]["node_confidence"] == {"rain": 1e9}


def test_uncertainty_with_fixed_evidence_meets_it_in_every_draw(tiny):
    t = forecast.uncertainty(
        tiny,
        samples=300,
        seed=0,
        fixed={"rain": {"no": 0.4, "yes": 0.6}},
        targets=["rain", "outcome"],
    )
    rain = t[t["node"] == "rain"].set_index("state")
    for col in ("probability", "p05", "p50", "p95"):
        assert rain.loc["yes", col] == pytest.approx(0.6, abs=1e-8)
    point = tiny.posteriors(fixed={"rain": {"no": 0.4, "yes": 0.6}}, targets="outcome")[
        "probability"
    ].to_numpy()
    assert t[t["node"] == "outcome"]["probability"].to_numpy() == pytest.approx(point)


def test_batched_potentials_reproduce_the_compiled_tree():
    model = random_model(4, n=7)
    tree = model.tree
    rng = np.random.default_rng(0)
    lik = {2: rng.uniform(0.1, 1, (1, tree.cards[2]))}
    plain, _ = tree.marginals(lik, 1)
    pots = tree.batched_potentials([model.cpt(n)[None] for n in model.nodes])
    same, _ = tree.marginals(lik, 1, potentials=pots)
    for a, b in zip(plain, same, strict=True):
        assert a == pytest.approx(b, abs=1e-12)
    # a batch of two parameter sets equals two separately compiled trees
    other = []
    for n in model.nodes:
        c = model.cpt(n) + rng.uniform(0, 1, model.cpt(n).shape)
        other.append(c / c.sum(axis=-1, keepdims=True))
    stacked = [np.stack([model.cpt(n), o]) for n, o in zip(model.nodes, other, strict=True)]
    both, ok = tree.marginals(lik, 2, potentials=tree.batched_potentials(stacked))
    parents = [[model.nodes.index(p) for p in model.parents(n)] for n in model.nodes]
    ref_other, _ = JunctionTree(tree.cards, parents, other).marginals(lik, 1)
    assert ok.all()
    for v in range(len(model.nodes)):
        assert both[v][0] == pytest.approx(plain[v][0], abs=1e-12)
        assert both[v][1] == pytest.approx(ref_other[v][0], abs=1e-12)


def test_an_interrupted_run_leaves_the_model_untouched(tiny):
    before = tiny.posteriors()

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        forecast.uncertainty(tiny, samples=1000, progress=stop)
    pd.testing.assert_frame_equal(tiny.posteriors(), before)


def test_with_intervals_adds_interval_columns(tiny):
    unc = forecast.uncertainty(tiny, samples=200)
    post = tiny.posteriors()
    merged = with_intervals(post, unc)
    assert list(merged.columns) == list(post.columns) + ["p05", "p50", "p95"]
    assert merged.attrs["interval_settings"]["samples"] == 200
    assert merged.loc[merged["node"] == "outcome", "p05"].notna().all()


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: forecast.sensitivity(m, "outcome"), "expected NODE=STATE"),
        (lambda m: forecast.sensitivity(m, "nope=good"), "has no node 'nope'"),
        (lambda m: forecast.sensitivity(m, "outcome=meh"), "has no state 'meh'"),
        (lambda m: forecast.indicators(m, "nope"), "has no node 'nope'"),
        (lambda m: forecast.parameter_sensitivity(m, "outcome=good", 0), "delta"),
        (lambda m: forecast.uncertainty(m, samples=1), "samples"),
        (lambda m: forecast.uncertainty(m, seed=-1), "seed"),
        (lambda m: forecast.uncertainty(m, targets=["nope"]), "has no node 'nope'"),
        (lambda m: forecast.explain(m, "outcome=good", hard={"rain": "maybe"}), "no state 'maybe'"),
    ],
)
def test_bad_input_is_one_clear_error(tiny, call, message):
    with pytest.raises(forecast.ForecastError, match=message) as info:
        call(tiny)
    assert "\n" not in str(info.value)


def test_impossible_evidence_is_refused(deterministic):
    with pytest.raises(EvidenceError, match="impossible"):
        forecast.sensitivity(deterministic, "c=u", hard={"a": "x", "b": "y"})


def test_parse_target_accepts_pairs(tiny):
    assert parse_target(tiny, ("outcome", "bad")) == ("outcome", "bad")
    assert parse_target(tiny, " outcome = bad ") == ("outcome", "bad")


# ------------------------------------------------------------------ exports


def test_exports_carry_the_analysis_and_its_settings(tiny, tmp_path):
    table = forecast.parameter_sensitivity(tiny, "outcome=good", 0.2, hard={"sprinkler": "on"})
    md = render(table, "md")
    assert (
        "**Analysis:** Sensitivity to each CPT entry" in md and "**Target:** Wet grass: Good" in md
    )
    evidence = md.split("## Evidence used")[1].split("## Results")[0]
    assert "**Settings:** Delta: 0.2; Renormalisation: proportional" in md
    assert ["Definite state", "Sprinkler", "On", ""] in [
        [c.strip() for c in line.strip("|").split("|")] for line in evidence.splitlines()
    ]  # the evidence, by name
    assert "outcome=good" not in md and "sprinkler=" not in md  # no ids in a report for people
    meta = json.loads(render(table, "json"))["metadata"]
    assert meta["settings"]["delta"] == 0.2 and meta["evidence"][0]["node"] == "sprinkler"
    page = to_html(table)
    assert "<svg" in page and "<script" not in page and "Settings" in page
    write_xlsx(table, tmp_path / "p.xlsx")
    sheet = pd.read_excel(tmp_path / "p.xlsx", sheet_name="Report", header=None)
    assert "Analysis" in sheet[0].tolist()


def test_analysis_sections_draw_every_analysis(tiny):
    ev = Evidence(
        hard={"rain": "yes"}, items=(item("a", "2018-02-01", "sprinkler", {"off": 0.2, "on": 1.0}),)
    )
    tables = [
        forecast.sensitivity(tiny, "outcome=good", scenario=ev),
        forecast.parameter_sensitivity(tiny, "outcome=good", scenario=ev),
        forecast.indicators(tiny, "outcome"),
        forecast.explain(tiny, "outcome=good", ev),
        forecast.explain_sequence(tiny, "outcome=good", ev),
        forecast.uncertainty(tiny, samples=100),
    ]
    posteriors = tiny.posteriors(scenario=ev)
    sections = [s for t in tables for s in analysis_sections(t)]
    assert len(sections) == len(tables)
    assert all("<svg" in body and "<table" in body for _, body in sections)
    page = to_html(posteriors, extra_sections=sections)
    assert page.count("<svg") == len(tables) and "<script" not in page
    assert analysis_sections(posteriors) == []
    assert "None" not in sections[3][1]  # undated evidence shows a blank date


# ------------------------------------------------------------------ the app's Analysis tab


def test_chart_data_helpers(tiny):
    from forecast.ui.analysis import interval_data, tornado_data, waterfall_data

    ev = Evidence(hard={"rain": "yes"}, likelihood={"sprinkler": {"off": 1.0, "on": 3.0}})
    seq = forecast.explain_sequence(tiny, "outcome=good", ev)
    wf = waterfall_data(seq)
    assert wf["start"].iloc[1:-1].tolist() == seq["cumulative_probability"].iloc[:-1].tolist()
    assert wf["end"].iloc[-1] == seq["cumulative_probability"].iloc[-1]
    assert wf["change"].iloc[0] == "prior" and wf["change"].iloc[-1] == "total"
    torn = tornado_data(tiny, forecast.sensitivity(tiny, "outcome=good"))
    assert list(torn["label"]) == ["Rain", "Sprinkler"]
    iv = interval_data(tiny, forecast.uncertainty(tiny, samples=100))
    assert iv["label"].iloc[0].startswith("Wet grass: ")


def test_analysis_tab_renders_every_chart():
    from streamlit.testing.v1 import AppTest

    def app(path):
        import forecast
        from forecast.evidence import Evidence
        from forecast.ui.analysis import render

        model = forecast.load_model(path)
        render(
            model, Evidence(hard={"rain": "yes"}, likelihood={"sprinkler": {"off": 1.0, "on": 3.0}})
        )

    at = AppTest.from_function(app, args=(str(TINY),), default_timeout=120).run()
    assert not at.exception
    at.toggle[0].set_value(True).run()
    assert not at.exception

    def count(node, kind):
        return (getattr(node, "type", None) == kind) + sum(
            count(c, kind) for c in getattr(node, "children", {}).values()
        )

    assert (
        count(at.main, "vega_lite_chart") == 5
    )  # tornado, CPT tornado, indicators, waterfall, intervals
    assert len(at.get("download_button")) >= 5


@pytest.mark.parametrize(
    ("evidence", "phrase"),
    [
        ({"hard": {"rain": "yes"}}, "with its one piece of evidence"),
        (
            {"hard": {"rain": "yes"}, "likelihood": {"sprinkler": {"off": 1, "on": 0.5}}},
            "with all 2 pieces",
        ),
    ],
)
def test_explain_summary_counts_pieces_in_words(tiny, evidence, phrase):
    """One piece is 'its one piece', not 'all 1 pieces'."""
    from forecast.naming import Naming

    attrs = forecast.explain(tiny, "outcome=good", **evidence).attrs
    assert "summary" not in attrs  # results carry data (pieces), writers the words
    summary = Naming.of(attrs).summary(attrs)
    assert phrase in summary and "all 1 pieces" not in summary

"""do= interventions (graph surgery) against a brute-force sum over the mutilated joint."""

import itertools

import numpy as np
import pytest

import forecast
from forecast.cli import main

ATOL = 1e-12


def brute_force(model, do=None, hard=None, likelihood=None):
    """{node: posterior} by enumerating every joint state of the mutilated network."""
    do, hard, likelihood = do or {}, hard or {}, likelihood or {}
    nodes = model.nodes
    cards = [len(model.states(n)) for n in nodes]
    post = {n: np.zeros(c) for n, c in zip(nodes, cards, strict=True)}
    for joint in itertools.product(*(range(c) for c in cards)):
        x = dict(zip(nodes, joint, strict=True))
        p = 1.0
        for n in nodes:
            states = model.states(n)
            if n in do:
                p *= 1.0 if states[x[n]] == do[n] else 0.0
            else:
                idx = tuple(x[q] for q in model.parents(n)) + (x[n],)
                p *= model.cpt(n)[idx]
            if n in hard:
                p *= 1.0 if states[x[n]] == hard[n] else 0.0
            if n in likelihood:
                p *= likelihood[n][states[x[n]]]
        for n in nodes:
            post[n][x[n]] += p
    return {n: v / v.sum() for n, v in post.items()}


def as_dict(table):
    return {n: g["probability"].to_numpy() for n, g in table.groupby("node", sort=False)}


@pytest.mark.parametrize(
    "do, hard, likelihood",
    [
        ({"sprinkler": "on"}, {}, {}),
        ({"sprinkler": "off"}, {"outcome": "good"}, {}),
        ({"rain": "yes"}, {}, {"sprinkler": {"off": 0.3, "on": 1.0}}),
        ({"rain": "no", "sprinkler": "on"}, {"outcome": "bad"}, {}),
        ({"outcome": "good"}, {"sprinkler": "on"}, {}),
    ],
)
def test_do_matches_brute_force(tiny, do, hard, likelihood):
    table = tiny.posteriors(do=do, hard=hard, likelihood=likelihood)
    expected = brute_force(tiny, do, hard, likelihood)
    for node, probs in as_dict(table).items():
        np.testing.assert_allclose(probs, expected[node], atol=ATOL)


def test_do_differs_from_conditioning_upstream(tiny):
    """Setting the sprinkler says nothing about rain; observing it does."""
    prior = tiny.posteriors(targets="rain")["probability"].to_numpy()
    done = tiny.posteriors(do={"sprinkler": "on"}, targets="rain")["probability"].to_numpy()
    seen = tiny.posteriors(hard={"sprinkler": "on"}, targets="rain")["probability"].to_numpy()
    np.testing.assert_allclose(done, prior, atol=ATOL)
    assert abs(seen[0] - prior[0]) > 0.1


def test_mutilated_network_is_cached_and_keeps_order(tiny):
    a = tiny.intervened({"sprinkler": "on"})
    assert tiny.intervened({"sprinkler": "on"}) is a
    assert a.parents("sprinkler") == [] and a.nodes == tiny.nodes
    assert tiny.parents("sprinkler") == ["rain"]  # the original is untouched
    assert tiny.intervened({}) is tiny


def test_do_in_batches_and_scenarios(tiny):
    evs = [
        tiny.evidence(do={"sprinkler": "on"}),
        tiny.evidence(hard={"rain": "yes"}),
        tiny.evidence(do={"sprinkler": "off"}, hard={"rain": "yes"}),
    ]
    table = forecast.run(tiny, evs, names=["a", "b", "c"])
    assert list(dict.fromkeys(table["scenario"])) == ["a", "b", "c"]
    for name, (do, hard) in zip(
        "abc",
        [({"sprinkler": "on"}, {}), ({}, {"rain": "yes"}), ({"sprinkler": "off"}, {"rain": "yes"})],
        strict=True,
    ):
        got = as_dict(table[table["scenario"] == name])
        expected = brute_force(tiny, do, hard)
        for node, probs in got.items():
            np.testing.assert_allclose(probs, expected[node], atol=ATOL)
    sc = forecast.Scenario(name="s", do={"sprinkler": "on"})
    np.testing.assert_allclose(
        tiny.posteriors(scenario=sc)["probability"],
        tiny.posteriors(do={"sprinkler": "on"})["probability"],
        atol=ATOL,
    )


@pytest.mark.parametrize(
    "do, message",
    [
        ({"nosuch": "on"}, "unknown node 'nosuch'"),
        ({"sprinkler": "maybe"}, "no state 'maybe'"),
    ],
)
def test_bad_do_is_a_clear_error(tiny, do, message):
    with pytest.raises(forecast.EvidenceError, match=message):
        tiny.posteriors(do=do)


def test_do_contradicting_hard_evidence(tiny):
    with pytest.raises(forecast.EvidenceError, match="set to 'on' by do"):
        tiny.posteriors(do={"sprinkler": "on"}, hard={"sprinkler": "off"})


def test_cli_do(capsys):
    from conftest import FIXTURES

    assert (
        main(["query", str(FIXTURES / "tiny.yaml"), "--do", "sprinkler=on", "--format", "csv"]) == 0
    )
    out = capsys.readouterr().out
    assert "rain,no,0.7" in out.replace('"', "")
    assert main(["query", str(FIXTURES / "tiny.yaml"), "--do", "sprinkler"]) == 2
    assert "expected NODE=" in capsys.readouterr().err


def test_explain_and_raw_marginals_keep_the_intervention(tiny):
    """Analyses built on Model.marginals see the mutilated network too."""
    evs = [tiny.evidence(do={"sprinkler": "on"}), tiny.evidence(hard={"sprinkler": "on"})]
    margs, ok = tiny.marginals(evs)
    assert ok.all()
    rain = tiny.nodes.index("rain")
    np.testing.assert_allclose(margs[rain][0], brute_force(tiny, do={"sprinkler": "on"})["rain"])
    np.testing.assert_allclose(margs[rain][1], brute_force(tiny, hard={"sprinkler": "on"})["rain"])
    table = forecast.explain(tiny, "outcome=good", do={"sprinkler": "on"}, hard={"rain": "yes"})
    without_rain = tiny.posteriors(do={"sprinkler": "on"}, targets="outcome")
    row = table.set_index("item").loc["hard:rain"]
    assert row["probability_without"] == pytest.approx(without_rain["probability"].iloc[0])

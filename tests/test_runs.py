"""Batch runs over scenarios, and the timeline replay of dated evidence items."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TIMELINE_COLUMNS

import forecast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"  # dated items; scenarios/ below

SCENARIOS = TINY_EVIDENCE / "scenarios"


@pytest.fixture
def scenarios():
    return [forecast.load_scenario(SCENARIOS / n) for n in ("rainy.yaml", "analyst_view.yaml")]


def test_run_equals_individual_posteriors(tiny, scenarios):
    table = forecast.run(tiny, scenarios)
    assert list(table.columns) == ["scenario", "node", "state", "probability", "words"]
    assert list(dict.fromkeys(table["scenario"])) == ["rainy", "analyst_view"]
    for scenario in scenarios:
        part = (
            table[table["scenario"] == scenario.name]
            .drop(columns="scenario")
            .reset_index(drop=True)
        )
        alone = tiny.posteriors(scenario=scenario)
        assert part[["node", "state", "words"]].equals(alone[["node", "state", "words"]])
        np.testing.assert_allclose(part["probability"], alone["probability"], atol=1e-12)


def test_run_mixes_evidence_kinds_and_names(tiny, scenarios):
    no_evidence = forecast.Evidence(name="baseline")
    table = forecast.run(tiny, [no_evidence, *scenarios], targets=["outcome"])
    assert list(table["scenario"]) == ["baseline"] * 2 + ["rainy"] * 2 + ["analyst_view"] * 2
    assert set(table["node"]) == {"outcome"}
    np.testing.assert_allclose(
        table.loc[table["scenario"] == "baseline", "probability"],
        tiny.posteriors(targets="outcome")["probability"],
        atol=1e-12,
    )
    renamed = forecast.run(tiny, scenarios, names=["A", "B"])
    assert list(dict.fromkeys(renamed["scenario"])) == ["A", "B"]


def test_run_records_the_evidence_of_each_scenario(tiny, scenarios):
    table = forecast.run(tiny, scenarios)
    assert table.attrs["model_id"] == "tiny"
    rainy = table.attrs["evidence"]["rainy"]
    assert {"kind": "hard", "node": "rain", "state": "yes", "source": "", "detail": "yes"} in rainy
    weights = next(r["weights"] for r in rainy if r["kind"] == "likelihood")
    assert weights == {"off": 0.5, "on": 1.0}  # structured numbers, not a sentence


def test_run_errors(tiny, scenarios):
    with pytest.raises(forecast.EvidenceError, match="no scenarios"):
        forecast.run(tiny, [])
    with pytest.raises(forecast.EvidenceError, match="distinct"):
        forecast.run(tiny, [scenarios[0], scenarios[0]])
    impossible = forecast.Scenario(
        name="odd", hard={"rain": "yes"}, likelihood={"rain": {"no": 1.0, "yes": 0.0}}
    )
    with pytest.raises(forecast.EvidenceError, match="impossible.*'odd'"):
        forecast.run(tiny, [scenarios[0], impossible])


def test_timeline_is_ordered_baseline_first_and_cumulative(tiny):
    items = forecast.load_evidence(TINY_EVIDENCE)
    table = forecast.timeline(tiny, list(reversed(items)))  # order given does not matter
    assert list(table.columns) == TIMELINE_COLUMNS
    steps = list(dict.fromkeys(table["item"]))
    assert steps == ["baseline", "wet_pavement", "sprinkler_seen", "forecast_dry"]
    assert set(table["node"]) == {"outcome"}  # the model's outcome nodes by default
    dates = [table.loc[table["item"] == s, "date"].iloc[0] for s in steps]
    assert pd.isna(dates[0])  # the baseline has no date
    assert dates[1:] == [dt.date(2018, 2, 1), dt.date(2018, 2, 15), dt.date(2018, 3, 1)]
    # each step holds every earlier item: two reports on rain multiply
    rain = [
        {"no": 1.0, "yes": 1.0},
        {"no": 0.5, "yes": 1.0},
        {"no": 0.5, "yes": 1.0},
        {"no": 0.5, "yes": 0.25},
    ]
    sprinkler = [None, None, {"off": 0.2, "on": 1.0}, {"off": 0.2, "on": 1.0}]
    for step, r, s in zip(steps, rain, sprinkler, strict=True):
        likelihood = {"rain": r, **({"sprinkler": s} if s else {})}
        expected = tiny.posteriors(likelihood=likelihood, targets="outcome")["probability"]
        np.testing.assert_allclose(
            table.loc[table["item"] == step, "probability"], expected, atol=1e-12
        )


def test_timeline_on_top_of_a_scenario_and_with_targets(tiny):
    items = forecast.load_evidence(TINY_EVIDENCE)
    base = forecast.Scenario(name="sprinkler_off", hard={"sprinkler": "off"})
    table = forecast.timeline(tiny, items[:1], target=["rain", "outcome"], base=base)
    assert list(dict.fromkeys(table["node"])) == ["rain", "outcome"]
    last = table[table["item"] == "wet_pavement"]
    expected = tiny.posteriors(
        hard={"sprinkler": "off"},
        likelihood={"rain": {"no": 0.5, "yes": 1.0}},
        targets=["rain", "outcome"],
    )
    np.testing.assert_allclose(last["probability"], expected["probability"], atol=1e-12)


def test_timeline_errors(tiny):
    with pytest.raises(forecast.EvidenceError, match="no evidence items"):
        forecast.timeline(tiny, [])
    bad = forecast.EvidenceItem(
        id="x", date=dt.date(2018, 1, 1), title="T", source="s", node="snow", likelihood={"a": 1.0}
    )
    with pytest.raises(forecast.EvidenceError, match="unknown node 'snow'"):
        forecast.timeline(tiny, [bad])

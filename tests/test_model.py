"""Model's domain rules that every surface shares: default targets, drivers, what evidence fits."""

from pathlib import Path

import forecast
from forecast import journal, runs

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_roles_given_are_used(tiny):
    assert tiny.default_targets == ["outcome"] == tiny.outcomes
    assert tiny.driver_nodes == ["rain", "sprinkler"] == tiny.drivers


def test_without_roles_the_leaves_are_forecast_and_the_roots_are_drivers(deterministic):
    assert deterministic.outcomes == [] and deterministic.drivers == []
    assert deterministic.default_targets == ["b", "c"]
    assert deterministic.driver_nodes == ["a"]


def test_core_defaults_agree_with_the_app(deterministic, tiny):
    """The timeline, uncertainty and the journal follow the nodes the app shows (it once differed)."""
    items = forecast.load_evidence(FIXTURES / "tiny_evidence")
    table = runs.timeline(tiny, items)
    assert list(dict.fromkeys(table["node"])) == tiny.default_targets
    bands = forecast.uncertainty(deterministic, samples=20, seed=1)
    assert list(dict.fromkeys(bands["node"])) == deterministic.default_targets
    assert journal._recorded_nodes(deterministic) == deterministic.default_targets


def test_applicable_items_split_by_node_and_state(tiny, deterministic):
    items = forecast.load_evidence(FIXTURES / "tiny_evidence")
    fits, other = tiny.applicable_items(items)
    assert [it.id for it in fits] == [it.id for it in items] and other == []
    fits, other = deterministic.applicable_items(items)
    assert fits == [] and len(other) == len(items)


def test_fitting_scenarios_leave_out_another_models(tiny, deterministic):
    folder = FIXTURES / "tiny_evidence" / "scenarios"
    scenarios = forecast.load_scenarios(folder)
    assert tiny.fitting_scenarios(scenarios) == scenarios
    assert deterministic.fitting_scenarios(scenarios) == []


def test_names_come_from_the_model(tiny):
    assert tiny.names.node("outcome") == "Wet grass"
    assert tiny.names.state("rain", "no") == "No" == tiny.state_label("rain", "no")
    assert tiny.names.source("src1") == "Someone (2017)"
    assert tiny.metadata()["state_labels"] == tiny.names.attrs()["state_labels"]

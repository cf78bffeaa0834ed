"""Evidence: validation, combination rules, scenario and item files, and the posterior table's shape."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.words import words

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"  # dated items; scenarios/ below

SCENARIOS = TINY_EVIDENCE / "scenarios"


def probs(table: pd.DataFrame, node: str) -> np.ndarray:
    return table.loc[table["node"] == node, "probability"].to_numpy()


# ---------------------------------------------------------------- the table


def test_table_columns_rows_and_order(tiny):
    table = tiny.posteriors()
    assert list(table.columns) == ["node", "state", "probability", "words"]
    assert list(table["node"]) == ["rain", "rain", "sprinkler", "sprinkler", "outcome", "outcome"]
    assert list(table["state"]) == ["no", "yes", "off", "on", "good", "bad"]
    assert list(table.index) == list(range(6))
    assert table["probability"].dtype == float
    assert table["words"].tolist() == [words(p) for p in table["probability"]]
    sums = table.groupby("node")["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)


def test_nodes_are_in_topological_order_not_file_order(write_yaml):
    # the child is written first in the file
    path = write_yaml(
        """\
        id: order
        nodes:
          - {id: child, states: [a, b], parents: [root], cpt: {rows: [
              {when: {root: x}, probabilities: [0.9, 0.1]}, {when: {root: y}, probabilities: [0.2, 0.8]}]}}
          - {id: root, states: [y, x], cpt: {rows: [{probabilities: {x: 0.4, y: 0.6}}]}}
        """
    )
    model = forecast.load_model(path)
    assert model.nodes == ["root", "child"]
    table = model.posteriors()
    assert list(table["node"]) == ["root", "root", "child", "child"]
    assert list(table["state"]) == ["y", "x", "a", "b"]  # states in file order
    np.testing.assert_allclose(probs(table, "root"), [0.6, 0.4])
    np.testing.assert_allclose(
        probs(table, "child"), [0.4 * 0.9 + 0.6 * 0.2, 0.4 * 0.1 + 0.6 * 0.8]
    )


def test_targets_restrict_rows(tiny):
    full = tiny.posteriors(hard={"rain": "yes"})
    one = tiny.posteriors(hard={"rain": "yes"}, targets=["outcome"])
    assert list(one["node"]) == ["outcome", "outcome"]
    np.testing.assert_allclose(one["probability"], probs(full, "outcome"))
    # a single name works, and the order is the model's whatever order the targets come in
    assert list(tiny.posteriors(targets="sprinkler")["node"]) == ["sprinkler"] * 2
    two = tiny.posteriors(targets=["outcome", "rain", "outcome"])
    assert list(two["node"]) == ["rain", "rain", "outcome", "outcome"]


@pytest.mark.parametrize(
    ("targets", "problem"), [(["nowhere"], "no node 'nowhere'"), ([], "no target")]
)
def test_bad_targets(tiny, targets, problem):
    with pytest.raises(forecast.EvidenceError, match=problem):
        tiny.posteriors(targets=targets)


def test_table_attrs_carry_metadata_and_evidence(tiny):
    table = tiny.posteriors(hard={"rain": "yes"})
    assert table.attrs["model_id"] == "tiny"
    assert table.attrs["as_of"] == "2018-01-31"
    assert table.attrs["question"] == "Will the outcome be good by 2020?"
    # a structured record (forecast/results.py): the state as data, the detail for the journal
    assert table.attrs["evidence"] == [
        {"kind": "hard", "node": "rain", "state": "yes", "source": "", "detail": "yes"}
    ]


# ---------------------------------------------------------------- bad evidence


@pytest.mark.parametrize(
    ("kwargs", "pieces"),
    [
        ({"hard": {"weather": "wet"}}, ["unknown node 'weather'"]),
        ({"likelihood": {"weather": {"a": 1}}}, ["unknown node 'weather'"]),
        ({"fixed": {"weather": {"a": 1}}}, ["unknown node 'weather'"]),
        ({"hard": {"rain": "maybe"}}, ["'rain'", "no state 'maybe'"]),
        ({"likelihood": {"rain": {"no": 1, "maybe": 1}}}, ["'rain'", "unknown state", "maybe"]),
        ({"fixed": {"rain": {"no": 0.5, "maybe": 0.5}}}, ["'rain'", "unknown state", "maybe"]),
        ({"likelihood": {"rain": {"no": -0.5, "yes": 1}}}, ["'rain'", "'no'", "negative"]),
        ({"fixed": {"rain": {"no": -0.5, "yes": 1.5}}}, ["'rain'", "negative"]),
        ({"likelihood": {"rain": {"no": 1}}}, ["'rain'", "no value for state", "yes"]),
        ({"fixed": {"rain": {"yes": 1}}}, ["'rain'", "no value for state", "no"]),
        ({"likelihood": {"rain": {"no": 0, "yes": 0}}}, ["'rain'", "all weights are zero"]),
        ({"likelihood": {"rain": {"no": "high", "yes": 1}}}, ["'rain'", "not a number"]),
        ({"likelihood": {"rain": {"no": float("nan"), "yes": 1}}}, ["'rain'", "not finite"]),
        ({"fixed": {"rain": {"no": float("inf"), "yes": 0}}}, ["'rain'", "not finite"]),
        ({"fixed": {"rain": {"no": 0.5, "yes": 0.6}}}, ["'rain'", "sums to 1.1"]),
        ({"fixed": {"rain": {"no": 0.5, "yes": 0.4}}}, ["'rain'", "sums to 0.9"]),
        (
            {"hard": {"rain": "yes"}, "fixed": {"rain": {"no": 0.5, "yes": 0.5}}},
            ["'rain'", "hard and fixed"],
        ),
        ({"likelihood": {"rain": [0.5, 1]}}, ["'rain'", "must map each state"]),
        ({"hard": [("rain", "yes")]}, ["hard evidence must be a mapping"]),
    ],
)
def test_bad_evidence_is_a_clear_error(tiny, kwargs, pieces):
    with pytest.raises(forecast.EvidenceError) as info:
        tiny.posteriors(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    for piece in pieces:
        assert piece in message


def test_fixed_sum_tolerance(tiny):
    # within 1e-6 of summing to 1: accepted, and met after normalising
    table = tiny.posteriors(fixed={"rain": {"no": 0.4, "yes": 0.6000005}})
    np.testing.assert_allclose(
        probs(table, "rain"), np.array([0.4, 0.6000005]) / 1.0000005, atol=1e-9
    )
    with pytest.raises(forecast.EvidenceError, match="sums to"):
        tiny.posteriors(fixed={"rain": {"no": 0.4, "yes": 0.60001}})


def test_hard_and_likelihood_on_one_node_multiply(tiny):
    both = tiny.posteriors(hard={"rain": "yes"}, likelihood={"rain": {"no": 0.5, "yes": 1.0}})
    hard = tiny.posteriors(hard={"rain": "yes"})
    np.testing.assert_allclose(both["probability"], hard["probability"], atol=1e-12)
    with pytest.raises(forecast.EvidenceError, match="impossible"):
        tiny.posteriors(hard={"rain": "yes"}, likelihood={"rain": {"no": 1.0, "yes": 0.0}})


def test_likelihood_on_a_fixed_node_has_no_effect(tiny):
    fixed = {"rain": {"no": 0.2, "yes": 0.8}}
    a = tiny.posteriors(fixed=fixed, likelihood={"rain": {"no": 1.0, "yes": 0.1}})
    b = tiny.posteriors(fixed=fixed)
    np.testing.assert_allclose(a["probability"], b["probability"], atol=1e-9)


# ---------------------------------------------------------------- scenarios and items


def test_load_evidence_sorts_items_by_date():
    items = forecast.load_evidence(TINY_EVIDENCE)
    assert [it.id for it in items] == ["wet_pavement", "sprinkler_seen", "forecast_dry"]
    assert items[0].date == dt.date(2018, 2, 1)
    assert items[0].likelihood == {"no": 0.5, "yes": 1.0}
    assert all(isinstance(w, float) for it in items for w in it.likelihood.values())


def test_load_scenario_reads_every_kind():
    rainy = forecast.load_scenario(SCENARIOS / "rainy.yaml")
    assert rainy.name == "rainy"
    assert rainy.hard == {"rain": "yes"}  # 'yes' stays a string
    assert rainy.likelihood == {"sprinkler": {"off": 0.5, "on": 1.0}}
    view = forecast.load_scenario(SCENARIOS / "analyst_view.yaml")
    assert view.fixed == {"rain": {"no": 0.4, "yes": 0.6}}
    assert [it.id for it in view.resolved_items] == ["sprinkler_seen"]  # found in the folder above


def test_scenario_equals_the_same_evidence_as_keywords(tiny):
    rainy = forecast.load_scenario(SCENARIOS / "rainy.yaml")
    a = tiny.posteriors(scenario=rainy)
    b = tiny.posteriors(hard={"rain": "yes"}, likelihood={"sprinkler": {"off": 0.5, "on": 1.0}})
    np.testing.assert_allclose(a["probability"], b["probability"], atol=1e-12)
    assert a.attrs["scenario"] == "rainy"


def test_scenario_items_act_as_likelihood_evidence(tiny):
    view = forecast.load_scenario(SCENARIOS / "analyst_view.yaml")
    a = tiny.posteriors(scenario=view)
    b = tiny.posteriors(
        fixed={"rain": {"no": 0.4, "yes": 0.6}}, likelihood={"sprinkler": {"off": 0.2, "on": 1.0}}
    )
    np.testing.assert_allclose(a["probability"], b["probability"], atol=1e-12)
    np.testing.assert_allclose(probs(a, "rain"), [0.4, 0.6], atol=1e-9)
    assert any(row["kind"] == "item" and row["node"] == "sprinkler" for row in a.attrs["evidence"])


def test_keyword_evidence_replaces_the_scenario_on_the_same_node(tiny):
    rainy = forecast.load_scenario(
        SCENARIOS / "rainy.yaml"
    )  # hard rain = yes, likelihood on sprinkler
    # a likelihood on rain replaces the scenario's hard finding (it does not multiply with it)
    a = tiny.posteriors(scenario=rainy, likelihood={"rain": {"no": 1.0, "yes": 0.5}})
    b = tiny.posteriors(
        likelihood={"rain": {"no": 1.0, "yes": 0.5}, "sprinkler": {"off": 0.5, "on": 1.0}}
    )
    np.testing.assert_allclose(a["probability"], b["probability"], atol=1e-12)
    # fixed on rain replaces the hard finding: no "hard and fixed" error
    c = tiny.posteriors(scenario=rainy, fixed={"rain": {"no": 0.9, "yes": 0.1}})
    np.testing.assert_allclose(probs(c, "rain"), [0.9, 0.1], atol=1e-9)
    # hard evidence on the node of a scenario's item replaces the item
    view = forecast.load_scenario(SCENARIOS / "analyst_view.yaml")
    d = tiny.posteriors(scenario=view, hard={"sprinkler": "off"})
    e = tiny.posteriors(fixed={"rain": {"no": 0.4, "yes": 0.6}}, hard={"sprinkler": "off"})
    np.testing.assert_allclose(d["probability"], e["probability"], atol=1e-12)
    assert not any(row["kind"] == "item" for row in d.attrs["evidence"])


def test_evidence_as_a_mapping(tiny):
    a = tiny.posteriors(
        scenario={"hard": {"rain": "no"}, "likelihood": {"outcome": {"good": 1, "bad": 0.3}}}
    )
    b = tiny.posteriors(hard={"rain": "no"}, likelihood={"outcome": {"good": 1, "bad": 0.3}})
    np.testing.assert_allclose(a["probability"], b["probability"], atol=1e-12)
    with pytest.raises(forecast.EvidenceError, match="unknown key"):
        tiny.posteriors(scenario={"hrad": {"rain": "no"}})


def test_scenario_name_defaults_to_file_stem(write_yaml):
    path = write_yaml("hard: {rain: no}\n", "scenarios/dry_day.yaml")
    scenario = forecast.load_scenario(path)
    assert scenario.name == "dry_day" and scenario.hard == {"rain": "no"}


def test_scenario_with_unknown_node_fails_at_query_time(tiny, write_yaml):
    scenario = forecast.load_scenario(write_yaml("name: odd\nhard: {snow: deep}\n", "odd.yaml"))
    with pytest.raises(forecast.EvidenceError, match="unknown node 'snow'"):
        tiny.posteriors(scenario=scenario)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("- a\n- b\n", "must be a mapping"),
        ("name: s\nhard: {rain: yes}\nsoft: {}\n", "soft: unknown field"),
        ("name: s\nlikelihood: {rain: {no: high, yes: 1}}\n", "likelihood.rain.no"),
        ("name: bad name\n", "name"),
        ("name: s\nitems: [nope]\n", "nope"),
    ],
)
def test_bad_scenario_files(write_yaml, text, problem):
    write_yaml("[]\n", "evidence/none.yaml")  # the evidence folder above scenarios/, with no items
    path = write_yaml(text, "evidence/scenarios/s.yaml")
    with pytest.raises(forecast.EvidenceError) as info:
        forecast.load_scenario(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "id: a\ndate: 2018-01-01\ntitle: T\nsource: s\nnode: rain\n",
            "likelihood: missing required field",
        ),
        (
            "id: a\ndate: soon\ntitle: T\nsource: s\nnode: rain\nlikelihood: {no: 1, yes: 1}\n",
            "date",
        ),
        (
            "id: a\ndate: 2018-01-01\ntitle: T\nsource: s\nnode: rain\nlikelihood: {no: 1, yes: 1}\nnote: x\n",
            "note: unknown field",
        ),
        ("just text\n", "must be a mapping"),
    ],
)
def test_bad_evidence_item_files(write_yaml, text, problem):
    path = write_yaml(text, "items/item.yaml")
    with pytest.raises(forecast.EvidenceError) as info:
        forecast.load_evidence(path.parent)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_duplicate_item_ids(write_yaml):
    item = (
        "id: same\ndate: 2018-01-01\ntitle: T\nsource: s\nnode: rain\nlikelihood: {no: 1, yes: 1}\n"
    )
    write_yaml(item, "items/one.yaml")
    path = write_yaml(item, "items/two.yaml")
    with pytest.raises(forecast.EvidenceError, match="duplicate evidence item id"):
        forecast.load_evidence(path.parent)


def test_item_on_unknown_node_or_state_fails_at_query_time(tiny):
    item = forecast.EvidenceItem(
        id="x",
        date=dt.date(2018, 1, 1),
        title="T",
        source="s",
        node="rain",
        likelihood={"no": 1.0, "wet": 1.0},
    )
    with pytest.raises(forecast.EvidenceError, match="unknown state"):
        tiny.posteriors(scenario=forecast.Evidence(items=(item,)))


def test_scenario_title_is_shown_and_round_trips(tmp_path):
    titled = forecast.Scenario(name="gulf_axis", title="A Russia–Gulf axis", hard={"rain": "no"})
    assert titled.display == "A Russia–Gulf axis"
    assert forecast.Scenario(name="us_led_talks").display == "Us led talks"
    path = forecast.save_scenario(titled, tmp_path)
    again = forecast.load_scenario(path)
    assert (again.title, again.hard) == ("A Russia–Gulf axis", {"rain": "no"})
    untitled = forecast.save_scenario(forecast.Scenario(name="plain"), tmp_path)
    assert "title" not in untitled.read_text(encoding="utf-8")


def test_entries_are_set_and_removed_without_touching_the_rest():
    ev = forecast.Evidence(hard={"a": "x"}, likelihood={"b": {"u": 1.0, "v": 0.5}}, name="s")
    moved = ev.with_entry("fixed", "c", {"p": 0.2, "q": 0.8}).without_entry("hard", "a")
    assert moved.hard == {} and moved.fixed == {"c": {"p": 0.2, "q": 0.8}}
    assert moved.likelihood == ev.likelihood and moved.name == "s"
    assert ev.hard == {"a": "x"} and ev.fixed == {}  # the original is unchanged

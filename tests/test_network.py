"""The live network view's elements: a box per node, a clickable bar per state."""

from pathlib import Path

import pytest

import forecast
from forecast.export import percent
from forecast.ui import network

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny():
    return forecast.load_model(ROOT / "tests" / "fixtures" / "tiny.yaml")


def test_every_node_and_state_is_an_element_and_every_arrow_an_edge(tiny):
    nodes, edges, clicks = network.elements(tiny, tiny.posteriors())
    boxes = [n for n in nodes if "parentId" not in n]
    rows = [n for n in nodes if "parentId" in n]
    assert [b["id"] for b in boxes] == tiny.nodes
    assert len(rows) == sum(len(tiny.states(n)) for n in tiny.nodes)
    # React Flow needs a parent before its children
    order = [n["id"] for n in nodes]
    assert all(order.index(r["parentId"]) < order.index(r["id"]) for r in rows)
    assert {(e["source"], e["target"]) for e in edges} == {
        (p, n) for n in tiny.nodes for p in tiny.parents(n)
    }
    assert clicks == network.click_map(tiny)
    assert clicks[network.state_id(tiny, "rain", "yes")] == network.Click("rain", "yes")
    assert clicks["rain"] == network.Click("rain")


def test_each_bar_shows_the_probability_and_label_with_the_shared_formatting(tiny):
    post = tiny.posteriors(hard={"rain": "yes"})
    nodes, _, _ = network.elements(tiny, post, reference=tiny.posteriors(), hard={"rain": "yes"})
    by_id = {n["id"]: n for n in nodes}
    p = float(post[(post.node == "outcome") & (post.state == "good")]["probability"].iloc[0])
    row = by_id[network.state_id(tiny, "outcome", "good")]
    assert tiny.state_label("outcome", "good") in by_id["outcome"]["data"]["content"]
    # the numbers travel in the box's style (CSS custom properties), not in its content
    assert row["style"]["--p"] == f'"{percent(p)}"'
    assert row["style"]["--w"] == f"{100 * p:.1f}%"
    assert "--t" in row["style"]  # the reference's tick...
    ref = float(
        tiny.posteriors().query("node == 'outcome' and state == 'good'")["probability"].iloc[0]
    )
    assert ("fc-up" if p > ref else "fc-down") in row["className"]  # ...and the change
    assert "--d" in row["style"]
    assert "fc-on" in by_id[network.state_id(tiny, "rain", "yes")]["className"]
    yes = tiny.states("rain").index("yes")
    assert f"fc-on{yes}" in by_id["rain"]["className"].split()  # its label in bold
    assert "fc-on" not in by_id[network.state_id(tiny, "rain", "no")]["className"]
    assert "3px solid" in by_id["rain"]["style"]["outline"]  # set by the analyst
    assert "3px solid" not in by_id["sprinkler"]["style"]["outline"]


def test_a_states_content_does_not_change_with_the_evidence(tiny):
    """The browser re-parses a node's content when it changes: only style and classes may."""
    before, _, _ = network.elements(tiny, tiny.posteriors())
    after, _, _ = network.elements(
        tiny,
        tiny.posteriors(hard={"rain": "yes"}),
        reference=tiny.posteriors(),
        hard={"rain": "yes"},
        selected="rain",
    )
    assert [n["data"] for n in before] == [n["data"] for n in after]
    assert [n["style"] for n in before] != [n["style"] for n in after]


def test_labels_are_escaped(tiny, monkeypatch):
    monkeypatch.setattr(tiny, "label", lambda node: "<b>x</b> & y")
    nodes, _, _ = network.elements(tiny, tiny.posteriors())
    assert "<b>x</b>" not in nodes[0]["data"]["content"]
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in nodes[0]["data"]["content"]


def test_the_drawing_fits_a_40_node_model():
    import pgmpy

    alarm = Path(pgmpy.__file__).parent / "utils" / "example_models" / "alarm.bif.gz"
    if not alarm.exists():
        pytest.skip("pgmpy's alarm network is not installed")
    model = forecast.load_model(alarm)
    assert len(model.nodes) == 37
    nodes, edges, clicks = network.elements(
        model, model.posteriors(), per_row=network.per_row(model)
    )
    assert len(clicks) == len(nodes)
    assert 420 <= network.height(model) <= 900

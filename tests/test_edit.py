"""The edit API: every edit validated as load_model validates, references kept, undo exact."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.edit import EditError, Editor, normalise, phrase_value, suggest_id
from forecast.evidence import load_evidence, load_scenarios
from forecast.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
TINY_EV = ROOT / "tests" / "fixtures" / "tiny_evidence"


@pytest.fixture
def ed():
    return Editor(load_spec(TINY), load_evidence(TINY_EV), load_scenarios(TINY_EV / "scenarios"))


def posterior(spec, node, **kw):
    post = forecast.Model(spec).posteriors(**kw)
    sub = post[post["node"] == node]
    return dict(zip(sub["state"], sub["probability"], strict=True))


def test_inspect_shows_table_ranked_sources_and_children(ed):
    rain = ed.inspect("rain")
    assert rain.children == ["sprinkler", "outcome"]
    assert rain.sources == [
        {"id": "src1", "title": "A source", "author": "Someone", "date": "2017-01-01"}
    ]
    assert rain.grid.to_dict("list") == {"no": [0.7], "yes": [0.3]}
    out = ed.inspect("outcome")
    assert out.kind == "ranked" and out.weights == {"rain": 2.0, "sprinkler": -1.0}
    assert list(out.grid.columns) == ["rain", "sprinkler", "good", "bad"]
    assert len(out.grid) == 4
    np.testing.assert_allclose(out.grid[["good", "bad"]].sum(axis=1), 1.0)
    sprinkler = ed.cpt_grid("sprinkler", percent=True)
    assert sprinkler.loc[1, "off"] == pytest.approx(99.0)


def test_rename_node_updates_parents_items_scenarios_and_criteria(ed):
    before = posterior(ed.spec, "outcome")
    ed.rename_node("rain", "rainfall")
    spec = ed.spec
    assert spec.node("sprinkler").parents == ["rainfall"]
    assert spec.node("outcome").cpt.weights == {"rainfall": 2.0, "sprinkler": -1.0}
    assert {it.node for it in ed.items} == {"rainfall", "sprinkler"}
    rainy = ed.draft.scenario("rainy")
    assert "rainfall" in rainy.hard and "rain" not in rainy.hard
    assert posterior(spec, "outcome") == pytest.approx(before)
    ed.rename_state("rainfall", "yes", "wet")
    assert ed.spec.node("sprinkler").cpt.rows[1].when == {"rainfall": "wet"}
    assert all("wet" in it.likelihood for it in ed.items if it.node == "rainfall")
    assert ed.draft.scenario("rainy").hard["rainfall"] == "wet"


def test_undo_restores_the_previous_model_exactly(ed):
    start = ed.draft
    ed.set_row("rain", {}, {"no": 0.4, "yes": 0.6})
    ed.add_node("wind", ["calm", "gusty"], role="driver")
    ed.add_edge("wind", "outcome")
    assert ed.can_undo and ed.history()[-1] == "add the arrow 'wind' -> 'outcome'"
    for _ in range(3):
        ed.undo()
    assert ed.draft == start and ed.spec == start.spec
    ed.redo()
    assert ed.spec.node("rain").cpt.rows[0].probabilities == {"no": 0.4, "yes": 0.6}
    with pytest.raises(EditError):
        ed.redo() if not ed.can_redo else (ed.redo(), ed.redo(), ed.redo())


def test_at_least_fifty_undos(ed):
    start = ed.spec
    for i in range(60):
        ed.set_row("rain", {}, [0.5 + i / 200, 0.5 - i / 200])
    for _ in range(60):
        ed.undo()
    assert ed.spec == start and not ed.can_undo


def test_invalid_row_is_refused_naming_the_row_and_nothing_changes(ed):
    start = ed.draft
    with pytest.raises(EditError, match=r"row 2 \(rain=yes\) sums to 1.1"):
        ed.set_row("sprinkler", {"rain": "yes"}, {"off": 0.6, "on": 0.5})
    assert ed.draft is start
    ed.set_row("sprinkler", {"rain": "yes"}, [60, 40], percent=True)
    assert ed.spec.node("sprinkler").cpt.rows[1].probabilities == [0.6, 0.4]


def test_normalise_a_row_from_percentages(ed):
    grid = ed.cpt_grid("sprinkler", percent=True)
    grid.loc[0, ["off", "on"]] = [30, 30]
    with pytest.raises(EditError, match="sums to 0.6"):
        ed.set_table("sprinkler", grid, percent=True)
    assert normalise([30, 30]) == [0.5, 0.5]
    ed.set_row("sprinkler", {"rain": "no"}, normalise([30, 30]))
    assert ed.spec.node("sprinkler").cpt.rows[0].probabilities == {"off": 0.5, "on": 0.5}


def test_a_cycle_is_refused_naming_its_path(ed):
    with pytest.raises(EditError, match="cycle outcome -> rain -> .*outcome"):
        ed.add_edge("outcome", "rain")


def test_new_parent_leaves_the_distribution_and_removing_averages_it_out(ed):
    ed.add_node("wind", ["calm", "gusty"], role="driver")
    before = posterior(ed.spec, "sprinkler")
    ed.add_edge("wind", "sprinkler")
    assert len(ed.spec.node("sprinkler").cpt.rows) == 4
    assert posterior(ed.spec, "sprinkler") == pytest.approx(before)
    ed.remove_edge("rain", "sprinkler")
    # P(sprinkler) with rain averaged out at its marginal equals the old marginal
    assert posterior(ed.spec, "sprinkler") == pytest.approx(before, abs=1e-6)
    ed.remove_edge("wind", "outcome") if "wind" in ed.spec.node("outcome").parents else None


def test_states_added_and_deleted_keep_tables_and_evidence_valid(ed):
    ed.add_state("rain", "storm")
    assert ed.spec.node("rain").cpt.rows[0].probabilities == {"no": 0.7, "yes": 0.3, "storm": 0.0}
    assert len(ed.spec.node("sprinkler").cpt.rows) == 3
    assert all(set(it.likelihood) == {"no", "yes", "storm"} for it in ed.items if it.node == "rain")
    ed.delete_state("rain", "storm")
    assert ed.spec.node("rain").states == ["no", "yes"]
    with pytest.raises(EditError, match="scenario"):
        ed.delete_state("rain", "yes")  # the rainy scenario sets rain = yes


def test_ranked_and_table_forms(ed):
    generated = ed.cpt_grid("outcome")
    ed.to_table("outcome")
    np.testing.assert_allclose(
        ed.cpt_grid("outcome")[["good", "bad"]], generated[["good", "bad"]], atol=1e-6
    )
    ed.to_ranked("outcome", "wmin", {"rain": 1.0, "sprinkler": 3.0}, 0.2)
    assert ed.inspect("outcome").function == "wmin"
    with pytest.raises(EditError, match="variance"):
        ed.set_ranked("outcome", variance=-1)
    with pytest.raises(EditError, match="needs parents"):
        ed.to_ranked("rain")


def test_delete_node_refuses_when_evidence_uses_it_unless_dropped(ed):
    with pytest.raises(EditError, match="evidence item"):
        ed.delete_node("rain")
    ed.delete_node("rain", drop_evidence=True)
    assert [n.id for n in ed.spec.nodes] == ["sprinkler", "outcome"]
    assert all(it.node != "rain" for it in ed.items)
    assert all("rain" not in s.hard for s in ed.scenarios)


def test_ids_must_be_identifiers(ed):
    with pytest.raises(EditError, match="not a valid id.*'new_node'"):
        ed.add_node("new node", ["a", "b"])
    with pytest.raises(EditError, match="already has a node"):
        ed.add_node("rain", ["a", "b"])
    assert suggest_id("US–Russia détente") == "us_russia_detente"


def test_evidence_items_and_scenarios_checked_like_files(ed):
    item = {
        "id": "new_item",
        "date": "2018-03-03",
        "title": "t",
        "source": "src1",
        "node": "rain",
        "likelihood": {"no": 1.0},
    }
    with pytest.raises(EditError, match="no value for state"):
        ed.add_item(item)
    ed.add_item({**item, "likelihood": {"no": 1.0, "yes": 2.0}})
    assert ed.draft.item("new_item").likelihood == {"no": 1.0, "yes": 2.0}
    ed.edit_item("new_item", likelihood={"no": 1.0, "yes": 3.0})
    ed.add_scenario({"name": "mine", "hard": {"rain": "yes"}, "items": ["new_item"]})
    with pytest.raises(EditError, match="sets node 'rain' to 'maybe'"):
        ed.edit_scenario("mine", hard={"rain": "maybe"})
    ed.delete_item("new_item")
    assert ed.draft.scenario("mine").items == []


def test_new_model_from_nothing_and_text_fields():
    ed = Editor.new("m", "Will it?", "result", ["no", "yes"])
    ed.add_node("a", ["low", "high"], role="driver")
    ed.add_edge("a", "result")
    ed.set_question(horizon="2020-01-01")
    ed.set_resolution("result", "yes", "It did.")
    ed.set_source("s1", "A title", "An author", "2017")
    ed.set_node_text("a", rationale="because", sources=["s1"])
    with pytest.raises(EditError, match="unknown source id"):
        ed.set_node_text("a", sources=["nope"])
    assert ed.spec.question.resolution == {"result": {"yes": "It did."}}
    assert ed.inspect("a").sources[0]["title"] == "A title"
    assert phrase_value("likely") == pytest.approx(0.675)
    assert isinstance(ed.cpt_grid("result"), pd.DataFrame)


def test_with_cell_fills_a_phrase_and_keeps_the_row_summing_to_one():
    from forecast.edit import with_cell

    row = with_cell([0.2, 0.3, 0.5], 0, phrase_value("very likely"))
    assert row[0] == pytest.approx(0.875)
    assert sum(row) == pytest.approx(1.0)
    assert row[1] / row[2] == pytest.approx(0.3 / 0.5, rel=1e-4)


def test_renaming_a_node_saves_its_evidence_items_and_scenarios(tmp_path, monkeypatch):
    import shutil

    from forecast.edit import open_workbench

    shutil.copy(TINY, tmp_path / "tiny.yaml")
    shutil.copytree(TINY_EV, tmp_path / "evidence")
    monkeypatch.chdir(tmp_path)  # folders given relative to the working folder, as the app does
    bench = open_workbench("tiny.yaml", "evidence", "evidence/scenarios")
    bench.editor.rename_node("rain", "rainfall")
    assert any("changed evidence item" in c for c in bench.evidence_changes())
    written = bench.save()
    assert Path("tiny.yaml") in written
    assert sorted(p.name for p in (tmp_path / "evidence").rglob("*.yaml")) == sorted(
        p.name for p in TINY_EV.rglob("*.yaml")
    )  # items saved over their own files, nothing new
    items = load_evidence(tmp_path / "evidence")
    assert {it.node for it in items} == {"rainfall", "sprinkler"}
    rainy = forecast.load_scenario(tmp_path / "evidence" / "scenarios" / "rainy.yaml")
    assert rainy.hard == {"rainfall": "yes"}
    spec = load_spec(tmp_path / "tiny.yaml")
    assert spec.node("sprinkler").parents == ["rainfall"]
    # the comment at the top of the items file is kept
    assert (tmp_path / "evidence" / "items.yaml").read_text().startswith("# Dated reports")
    # a second workbench opened before the save cannot overwrite it silently
    assert not bench.dirty


def test_a_stale_workbench_is_refused_and_nothing_is_written(tmp_path):
    import shutil

    from forecast.edit import open_workbench
    from forecast.writer import FileChangedError

    shutil.copy(TINY, tmp_path / "tiny.yaml")
    shutil.copytree(TINY_EV, tmp_path / "evidence")
    args = (tmp_path / "tiny.yaml", tmp_path / "evidence", tmp_path / "evidence" / "scenarios")
    first, second = open_workbench(*args), open_workbench(*args)
    first.editor.set_row("rain", {}, [0.6, 0.4])
    first.save()
    saved = (tmp_path / "tiny.yaml").read_text()
    second.editor.rename_node("rain", "rainfall")
    with pytest.raises(FileChangedError, match="changed on disk"):
        second.save()
    assert (tmp_path / "tiny.yaml").read_text() == saved
    assert {it.node for it in load_evidence(tmp_path / "evidence")} == {"rain", "sprinkler"}


def test_renames_follow_into_the_claims_file(tmp_path):
    import shutil

    from forecast.edit import open_workbench

    shutil.copy(TINY, tmp_path / "tiny.yaml")
    claims = tmp_path / "tiny.claims.yaml"
    claims.write_text(
        "# claims about the tiny model\n"
        "model: tiny\n"
        "claims:\n"
        "  - id: c1\n"
        "    sources: [src1]\n"
        "    claim: Rain makes the grass wet.\n"
        "    cause: {node: rain, from: 'no', to: 'yes'}\n"
        "    effect: {node: outcome, state: bad}\n"
        "    direction: increase\n"
        "    given: {hard: {sprinkler: 'off'}}\n"
        "  - id: c2\n"
        "    sources: [src1]\n"
        "    claim: Switching the sprinkler on matters.\n"
        "    cause: {do: {sprinkler: 'on'}}\n"
        "    effect: {node: outcome, state: good}\n"
        "    direction: decrease\n"
    )
    bench = open_workbench(tmp_path / "tiny.yaml")
    ed = bench.editor
    ed.rename_node("rain", "rainfall")
    ed.rename_state("sprinkler", "on", "running")
    with pytest.raises(EditError, match=r"claim\(s\) \['c1'\]"):
        ed.delete_state("rainfall", "yes")
    with pytest.raises(EditError, match="claim"):
        ed.delete_node("sprinkler")
    written = bench.save()
    assert claims in written
    text = claims.read_text()
    assert text.startswith("# claims about the tiny model\n")
    assert "cause: {node: rainfall, from: 'no', to: 'yes'}" in text
    assert "cause: {do: {sprinkler: 'running'}}" in text  # the file's quoting is kept
    assert "given: {hard: {sprinkler: 'off'}}" in text


def test_a_bif_model_is_edited_and_saved_as_yaml(tmp_path):
    from forecast.edit import open_workbench

    forecast.write_model_file(forecast.load_model(TINY), tmp_path / "tiny.bif")
    bif = forecast.load_model(tmp_path / "tiny.bif")
    bench = open_workbench(tmp_path / "tiny.bif", model=bif)
    assert bench.model_path is None  # a BIF file is not written over: save as YAML
    bench.editor.set_role(bif.nodes[0], "driver")
    with pytest.raises(EditError, match="file name"):
        bench.save()
    bench.save(tmp_path / "tiny.yaml")
    again = forecast.load_model(tmp_path / "tiny.yaml")
    assert again.posteriors().equals(bench.editor.model().posteriors())


def test_edit_scenario_and_item_accept_their_own_fields(ed):
    ed.edit_scenario("rainy", name="rainy", title="Rain")
    assert ed.draft.scenario("rainy").title == "Rain"
    ed.edit_item("wet_pavement", id="wet_paths")
    assert ed.draft.item("wet_paths").node == "rain"


def test_noisy_max_nodes_rename_and_become_tables_when_reshaped():
    model = forecast.load_model(ROOT / "tests" / "fixtures" / "interchange" / "CancerOR2.xdsl")
    ed = Editor(model.spec)
    before = forecast.Model(ed.spec).posteriors()
    ed.rename_node("Smoker", "smoker")
    ed.rename_state("smoker", "True", "yes")
    cpt = ed.spec.node("LungCancer").cpt
    assert cpt.type == "noisy_max" and cpt.parameters["smoker"]["yes"] == [0.61, 0.39]
    after = forecast.Model(ed.spec).posteriors()
    np.testing.assert_allclose(after["probability"], before["probability"], atol=1e-12)
    ed.add_state("smoker", "heavy")
    assert ed.spec.node("LungCancer").cpt.type == "table"  # reshaped: an explicit table now
    ed.undo()
    ed.add_node("asbestos", ["no", "yes"], role="driver")
    marginal = forecast.Model(ed.spec).posteriors(targets="LungCancer")
    ed.add_edge("asbestos", "LungCancer")  # the distribution stays as it was, now as a table
    assert ed.spec.node("LungCancer").cpt.type == "table"
    np.testing.assert_allclose(
        forecast.Model(ed.spec).posteriors(targets="LungCancer")["probability"],
        marginal["probability"],
        atol=1e-12,
    )


def test_new_and_deleted_items_and_scenarios_are_written_and_removed(tmp_path):
    import shutil

    from forecast.edit import open_workbench

    shutil.copy(TINY, tmp_path / "tiny.yaml")
    shutil.copytree(TINY_EV, tmp_path / "evidence")
    sc = tmp_path / "evidence" / "scenarios"
    bench = open_workbench(tmp_path / "tiny.yaml", tmp_path / "evidence", sc)
    ed = bench.editor
    ed.add_item(
        {
            "id": "dry_soil",
            "date": "2018-01-15",
            "title": "Dry soil",
            "source": "src1",
            "node": "rain",
            "likelihood": {"no": 1, "yes": 0.5},
        }
    )
    ed.add_scenario({"name": "dry", "title": "Dry", "hard": {"rain": "no"}, "items": ["dry_soil"]})
    ed.delete_scenario("analyst_view")
    ed.delete_item("forecast_dry")  # one of three items in items.yaml: the others stay
    bench.save()
    assert (tmp_path / "evidence" / "dry_soil.yaml").exists()
    assert not (sc / "analyst_view.yaml").exists()
    dry = forecast.load_scenario(sc / "dry.yaml")
    assert dry.title == "Dry" and [it.id for it in dry.resolved_items] == ["dry_soil"]
    ids = {it.id for it in load_evidence(tmp_path / "evidence")}
    assert ids == {"wet_pavement", "sprinkler_seen", "dry_soil"}
    assert (tmp_path / "evidence" / "items.yaml").read_text().startswith("# Dated reports")

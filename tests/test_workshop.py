"""The Model tab driven through Streamlit's AppTest: inspect, edit, refuse, undo, save, conflicts."""

import shutil
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import forecast
from forecast.export import percent
from forecast.spec import load_spec
from forecast.ui.workspace import UNEXPECTED

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
TINY_EV = ROOT / "tests" / "fixtures" / "tiny_evidence"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_DB", str(tmp_path / "journal.sqlite"))
    (tmp_path / "models").mkdir()
    shutil.copy(TINY, tmp_path / "models" / "tiny.yaml")
    shutil.copytree(TINY_EV, tmp_path / "evidence")
    return tmp_path


def start(monkeypatch, files: Path) -> AppTest:
    argv = [
        "app.py",
        "--model",
        str(files / "models" / "tiny.yaml"),
        "--evidence",
        str(files / "evidence"),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["workspace_tab"] = "Model"
    return rerun(at)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    failures = [e.value for e in at.error if e.value.startswith(UNEXPECTED)]
    assert not failures, failures
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return rerun(at)


def section(at: AppTest, name: str) -> AppTest:
    at.radio(key="workshop.section").set_value(name)
    return rerun(at)


def keyed(elements, prefix: str, suffix: str = ""):
    """The widget whose key starts with `prefix` (and ends with `suffix`): keys carry a draft version."""
    return next(
        e for e in elements if (e.key or "").startswith(prefix) and (e.key or "").endswith(suffix)
    )


def frame_with(at: AppTest, column: str):
    """The first data frame on the page with this column (plain st.dataframe has no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def outcome_shown(at: AppTest) -> dict[str, str]:
    frame = next(t.value for t in at.table if "as opened" in t.value.columns)
    col = [c for c in frame.columns if c.startswith("now")][0]
    return dict(zip(frame["state"], frame[col], strict=True))


def test_inspector_shows_the_node_and_follows_a_click(monkeypatch, files):
    at = start(monkeypatch, files)
    assert at.selectbox(key="workshop.node").value == "rain"
    text = " ".join(m.value for m in at.markdown)
    assert "Someone — A source" in text and "a coin with a bias" in text
    at.session_state["selected_node"] = "outcome"
    at = rerun(at)
    assert at.selectbox(key="workshop.node").value == "outcome"
    assert any("Ranked node" in m.value for m in at.markdown)


def test_refused_edit_is_shown_inline_and_undo_redo(monkeypatch, files):
    at = start(monkeypatch, files)
    at = section(at, "Structure")
    at.text_input(key="workshop.add.id").set_value("bad id")
    at = press(at, "workshop.add.go")
    assert any("not a valid id" in e.value for e in at.error)
    at.text_input(key="workshop.add.id").set_value("wind")
    at.text_input(key="workshop.add.states").set_value("calm, gusty")
    at.selectbox(key="workshop.add.role").set_value("driver")
    at = press(at, "workshop.add.go")
    assert any("Added the node" in s.value for s in at.success)
    assert "wind" in at.session_state["edited_model"].nodes
    at = press(at, "workshop.undo")
    assert "edited_model" not in at.session_state  # back to the file's model exactly
    at = press(at, "workshop.redo")
    assert "wind" in at.session_state["edited_model"].nodes


def test_edit_a_row_by_phrase_changes_the_forecast_and_saves(monkeypatch, files):
    at = start(monkeypatch, files)
    before = outcome_shown(at)
    at.selectbox(key="workshop.phrase.words.rain").set_value("very likely")
    at = press(at, "workshop.phrase.fill.rain")
    after = outcome_shown(at)
    assert after != before
    edited = at.session_state["edited_model"]
    assert edited.spec.node("rain").cpt.rows[0].probabilities["no"] == pytest.approx(0.875)
    # the Forecast tab forecasts with the edited model (only the open tab is drawn)
    at.session_state["workspace_tab"] = "Forecast"
    at = rerun(at)
    forecast_tab = at.table[0].value
    post = edited.posteriors(targets="outcome")
    assert list(forecast_tab["Probability"]) == [percent(p) for p in post["probability"]]
    at.session_state["workspace_tab"] = "Model"
    at = rerun(at)
    at = section(at, "Save")
    assert not frame_with(at, "kind").empty
    at = press(at, "workshop.save.go")
    assert any("Saved" in s.value for s in at.success)
    saved = forecast.load_model(files / "models" / "tiny.yaml")
    assert saved.spec == edited.spec
    text = (files / "models" / "tiny.yaml").read_text()
    assert text.startswith("# A three-node model used by the unit tests")


def test_second_session_save_is_refused_with_a_choice(monkeypatch, files):
    first, second = start(monkeypatch, files), start(monkeypatch, files)
    for at in (first, second):
        at.selectbox(key="workshop.phrase.words.rain").set_value("likely")
    first = press(first, "workshop.phrase.fill.rain")
    second.selectbox(key="workshop.phrase.words.rain").set_value("unlikely")
    second = press(second, "workshop.phrase.fill.rain")
    first = press(section(first, "Save"), "workshop.save.go")
    saved = (files / "models" / "tiny.yaml").read_text()
    second = press(section(second, "Save"), "workshop.save.go")
    assert any("changed on disk" in e.value for e in second.error)
    assert (files / "models" / "tiny.yaml").read_text() == saved
    assert any("Choose" in w.value for w in second.warning)
    second = press(second, "workshop.save.force")
    assert load_spec(files / "models" / "tiny.yaml").node("rain").cpt.rows[0].probabilities[
        "no"
    ] == pytest.approx(0.325)


def test_text_evidence_scenarios_and_renames_in_the_page(monkeypatch, files):
    import json

    at = start(monkeypatch, files)
    at = section(at, "Text")
    keyed(at.text_input, "workshop.t.title.").set_value("A new title")
    at = press(at, "workshop.t.go")
    assert at.session_state["edited_model"].spec.title == "A new title"

    at = section(at, "Evidence")
    at.selectbox(key="workshop.ev.choice").set_value("wet_pavement")
    at = rerun(at)
    keyed(at.number_input, "workshop.ev.w.wet_pavement", ".yes").set_value(3.0)
    at = press(at, "workshop.ev.edit")
    assert any("Updated the evidence item" in s.value for s in at.success)

    at = section(at, "Scenarios")
    at.selectbox(key="workshop.sc.choice").set_value("rainy")
    at = rerun(at)
    box = keyed(at.text_area, "workshop.sc.text.rainy")
    data = json.loads(box.value)
    data["hard"] = {"rain": "maybe"}
    box.set_value(json.dumps(data))
    at = press(at, "workshop.sc.edit")
    assert any("sets node 'rain' to 'maybe'" in e.value for e in at.error)

    at = section(at, "Structure")
    at.selectbox(key="workshop.struct.node").set_value("rain")
    at.text_input(key="workshop.node.rename").set_value("rainfall")
    at = press(at, "workshop.node.rename.go")
    assert "rainfall" in at.session_state["edited_model"].nodes
    at = section(at, "Save")
    at = press(at, "workshop.save.go")
    assert any("Saved" in s.value for s in at.success)
    items = forecast.load_evidence(files / "evidence")
    assert {it.node for it in items} == {"rainfall", "sprinkler"}
    assert next(it for it in items if it.id == "wet_pavement").likelihood["yes"] == 3.0
    assert forecast.load_scenario(files / "evidence" / "scenarios" / "rainy.yaml").hard == {
        "rainfall": "yes"
    }
    assert load_spec(files / "models" / "tiny.yaml").title == "A new title"


def test_the_grid_in_percent_or_probabilities(monkeypatch, files):
    at = start(monkeypatch, files)
    assert frame_with(at, "yes")["no"].tolist() == [70.0]
    at.radio(key="workshop.units").set_value("probabilities")
    at = rerun(at)
    assert frame_with(at, "yes")["no"].tolist() == [0.7]


def test_states_and_sources_act_on_what_was_typed(monkeypatch, files):
    """The typed name is trimmed; rename, delete and the source fields reach the editor."""
    at = start(monkeypatch, files)
    at = section(at, "Structure")
    at.selectbox(key="workshop.struct.node").set_value("rain")
    at = rerun(at)
    at.text_input(key="workshop.state.new").set_value("  drizzle ")
    at = press(at, "workshop.state.add")
    assert at.session_state["edited_model"].spec.node("rain").states == ["no", "yes", "drizzle"]
    at.selectbox(key="workshop.state.which").set_value("drizzle")
    at.text_input(key="workshop.state.rename").set_value(" mist")
    at = press(at, "workshop.state.rename.go")
    assert at.session_state["edited_model"].spec.node("rain").states == ["no", "yes", "mist"]
    at.selectbox(key="workshop.state.which").set_value("mist")
    at = press(at, "workshop.state.delete")
    assert "edited_model" not in at.session_state  # back to the file's model exactly

    at = section(at, "Text")
    for field, value in (("id", " src2 "), ("title", "Almanac"), ("author", "B"), ("date", "2017")):
        at.text_input(key=f"workshop.s.{field}").set_value(value)
    at = press(at, "workshop.s.go")
    source = next(s for s in at.session_state["edited_model"].spec.sources if s.id == "src2")
    assert (source.title, source.author, source.date) == ("Almanac", "B", "2017")
    at.text_input(key="workshop.s.id").set_value("src2")
    at = press(at, "workshop.s.delete")
    assert "edited_model" not in at.session_state

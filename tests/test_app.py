"""The Streamlit workspace driven through Streamlit's AppTest, plus the pure helpers behind it.

Expected probabilities come from the package API (forecast.Model.posteriors),
so these tests check that each control reaches the engine with the right meaning.
"""

import io
import json
import shutil
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import forecast
from forecast.errors import EvidenceError
from forecast.evidence import Scenario, load_scenario, save_scenario
from forecast.export import percent
from forecast.runs import run
from forecast.ui import controls, report
from forecast.ui.controls import NodeControl
from forecast.ui.workspace import UNEXPECTED

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"
DETERMINISTIC = FIXTURES / "deterministic.yaml"
RUSSIA_IRAN = ROOT / "models" / "russia_iran.yaml"


# ------------------------------------------------------------------ helpers


@pytest.fixture
def evidence_dir(tmp_path):
    """A writable copy of the tiny model's evidence folder (items + scenarios)."""
    folder = tmp_path / "evidence"
    shutil.copytree(TINY_EVIDENCE, folder)
    return folder


@pytest.fixture(autouse=True)
def private_journal(monkeypatch, tmp_path):
    """The History tab records into a journal file; keep it inside the test's folder."""
    monkeypatch.setenv("FORECAST_DB", str(tmp_path / "journal.sqlite"))


def start(monkeypatch, *args: str) -> AppTest:
    monkeypatch.setattr(sys, "argv", ["app.py", *args])
    at = AppTest.from_file(str(APP), default_timeout=90)
    return rerun(at)


def start_tiny(monkeypatch, evidence: Path | None = None, *extra: str) -> AppTest:
    folder = evidence if evidence is not None else TINY_EVIDENCE
    return start(monkeypatch, "--model", str(TINY), "--evidence", str(folder), *extra)


def key(model: forecast.Model, *parts: str) -> str:
    return ".".join((model.content_hash[:12], *parts))


def shown(at: AppTest, index: int = 0) -> dict[str, str]:
    """The outcome table number `index` as {state label: probability text}."""
    table = at.table[index].value
    return dict(zip(table.index, table["Probability"], strict=True))


def expected(model: forecast.Model, node: str, **evidence) -> dict[str, str]:
    """What the page should show for `node`, computed with the API."""
    table = model.posteriors(targets=[node], **evidence)
    return {
        model.state_label(node, s): percent(p)
        for s, p in zip(table["state"], table["probability"], strict=True)
    }


def press(at: AppTest, model: forecast.Model, node: str, state: str, where: str = "drv") -> AppTest:
    """Press a state's button: hard evidence (pressed again, it clears)."""
    at.button(key=key(model, where, "state", node, state)).click()
    return rerun(at)


def select_node(at: AppTest, node: str) -> AppTest:
    """Open a node's controls and record, as a click on its title in the network would."""
    at.session_state["selected_node"] = node
    return rerun(at)


def slider(at: AppTest, model: forecast.Model, node: str, state: str, where: str = "drv"):
    return at.slider(key=key(model, where, "pct", node, state))


def open_items(at: AppTest, model: forecast.Model) -> AppTest:
    """Open the Forecast tab's "Evidence items" panel (only the open panel is drawn)."""
    label = next(t.label for t in at.tabs if t.label.startswith("Evidence items"))
    at.session_state[key(model, "side_tab")] = label
    return rerun(at)


def open_tab(at: AppTest, label: str) -> AppTest:
    """Switch tabs as a click would: only the open tab's content is drawn (besides the Forecast tab)."""
    at.session_state["workspace_tab"] = label
    return rerun(at)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    failures = [e.value for e in at.error if e.value.startswith(UNEXPECTED)]
    assert not failures, failures  # the page's last-resort handler caught a bug
    return at


# ------------------------------------------------------------------ the page


def test_page_shows_title_question_and_outcomes(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    assert at.title[0].value == tiny.title
    text = " ".join(m.value for m in at.markdown)
    assert tiny.spec.question.text in text
    assert "31 January 2018" in text
    assert shown(at) == expected(tiny, "outcome")
    assert not at.error
    # labels, never ids: the driver panel names states and nodes by their labels
    labels = [s.label for s in at.slider]
    assert labels == ["No (Rain)", "Yes (Rain)", "Off (Sprinkler)", "On (Sprinkler)"]


def test_default_model_loads_with_all_outcomes(monkeypatch):
    at = start(monkeypatch)
    model = forecast.load_model(RUSSIA_IRAN)
    assert at.title[0].value == model.title
    assert len(at.table) == len(model.outcomes)
    assert not at.error


def test_definite_state_changes_the_outcomes(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    before = shown(at)
    press(at, tiny, "rain", "yes")
    after = shown(at)
    assert after != before
    assert after == expected(tiny, "outcome", hard={"rain": "yes"})
    assert slider(at, tiny, "rain", "no").disabled  # a definite state: the sliders rest
    press(at, tiny, "rain", "yes")  # pressed again: cleared
    assert shown(at) == before


def test_slider_changes_the_outcomes_and_its_partner(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    before = shown(at)
    no, yes = slider(at, tiny, "rain", "no"), slider(at, tiny, "rain", "yes")
    belief = tiny.posteriors(targets="rain")
    # visible from the start, at the current belief (rounded to whole points)
    assert [no.value, yes.value] == controls.round_percents(belief["probability"])
    no.set_value(15)
    rerun(at)
    assert slider(at, tiny, "rain", "yes").value == 85
    after = shown(at)
    assert after != before
    assert after == expected(tiny, "outcome", fixed={"rain": {"no": 0.15, "yes": 0.85}})


def test_sliders_of_a_three_state_node_stay_at_100(monkeypatch):
    model = forecast.load_model(DETERMINISTIC)
    at = start(monkeypatch, "--model", str(DETERMINISTIC), "--evidence", "/nonexistent")
    select_node(at, "c")  # any node, not only drivers
    slider(at, model, "c", "u", "sel").set_value(60)
    rerun(at)
    values = {s: slider(at, model, "c", s, "sel").value for s in "uvw"}
    assert values["u"] == 60 and sum(values.values()) == 100
    table = at.table[1].value  # outcomes default to the leaves b and c
    assert list(table["Probability"]) == list(
        expected(model, "c", fixed={"c": {s: v / 100 for s, v in values.items()}}).values()
    )


def test_toggling_an_item_changes_the_outcomes(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    before = shown(at)
    # the tiny items are dated after the model's as-of date, so none is applied at first
    open_items(at, tiny)
    assert not at.toggle(key=key(tiny, "item", "sprinkler_seen")).value
    at.toggle(key=key(tiny, "item", "sprinkler_seen")).set_value(True)
    rerun(at)
    items = {it.id: it for it in forecast.load_evidence(TINY_EVIDENCE)}
    want = run(tiny, [tiny.evidence(items=[items["sprinkler_seen"]])], targets="outcome")
    after = shown(at)
    assert after != before
    assert after == {
        tiny.state_label("outcome", s): percent(p)
        for s, p in zip(want["state"], want["probability"], strict=True)
    }


def test_switching_items_keeps_every_tab_label(monkeypatch, tiny):
    """Streamlit keeps a tab open only while its label stays the same, so a label that
    counted the applied items sent the analyst back to "Drivers" after every switch."""
    at = start_tiny(monkeypatch)
    before = [t.label for t in at.tabs]
    assert not any("1 of" in c.value for c in at.caption)
    open_items(at, tiny)
    at.toggle(key=key(tiny, "item", "sprinkler_seen")).set_value(True)
    rerun(at)
    assert [t.label for t in at.tabs] == before
    # "apply every item up to" follows the manual switch: it shows that item's day and says
    # the selection is the analyst's own (the earlier item is off)
    assert at.select_slider(key=key(tiny, "asof")).value == "2018-02-15"
    assert any("Your own selection" in c.value for c in at.caption)
    at.select_slider(key=key(tiny, "asof")).set_value("2018-03-01")
    rerun(at)
    assert [t.label for t in at.tabs] == before
    assert any(c.value.startswith("3 of ") and "items applied" in c.value for c in at.caption)
    assert not any("Your own selection" in c.value for c in at.caption)


def test_as_of_date_applies_items_up_to_that_day(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    open_items(at, tiny)
    at.select_slider(key=key(tiny, "asof")).set_value("2018-02-15")
    rerun(at)
    state = {
        i: at.toggle(key=key(tiny, "item", i)).value
        for i in ("wet_pavement", "sprinkler_seen", "forecast_dry")
    }
    assert state == {"wet_pavement": True, "sprinkler_seen": True, "forecast_dry": False}
    at.select_slider(key=key(tiny, "asof")).set_value("none")
    rerun(at)
    assert shown(at) == expected(tiny, "outcome")


def test_default_opens_with_items_known_at_the_as_of_date(monkeypatch, tmp_path, tiny):
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "early.yaml").write_text(
        "id: early\ndate: 2018-01-10\ntitle: Early report\nsource: src1\nnode: rain\n"
        "likelihood: {no: 0.3, 'yes': 1}\n",
        encoding="utf-8",
    )
    (folder / "late.yaml").write_text(
        "id: late\ndate: 2018-06-10\ntitle: Late report\nsource: src1\nnode: rain\nlikelihood: {no: 1, 'yes': 0.1}\n",
        encoding="utf-8",
    )
    at = start_tiny(monkeypatch, folder)
    open_items(at, tiny)
    assert at.toggle(key=key(tiny, "item", "early")).value
    assert not at.toggle(key=key(tiny, "item", "late")).value
    assert shown(at) == expected(tiny, "outcome", likelihood={"rain": {"no": 0.3, "yes": 1.0}})
    # the item's source id is shown as the source's author and year, not as an id
    captions = " ".join(c.value for c in at.caption)
    assert "Someone (2017)" in captions and "src1" not in captions


def test_pinning_shows_the_change_against_the_pinned_settings(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    at.button(key=key(tiny, "pin")).click()
    rerun(at)
    press(at, tiny, "rain", "yes")
    table = at.table[0].value
    column = "Change from pinned settings"
    assert column in table.columns
    assert all(v != "no change" for v in table[column])


def test_impossible_evidence_shows_a_message_not_a_traceback(monkeypatch):
    model = forecast.load_model(DETERMINISTIC)
    at = start(monkeypatch, "--model", str(DETERMINISTIC), "--evidence", "/nonexistent")
    press(at, model, "a", "x")
    good = shown(at)
    select_node(at, "c")
    press(at, model, "c", "w", "sel")
    assert not at.exception
    # the message names the findings that conflict, and the last forecast stays on screen
    message = at.error[0].value
    assert "cannot all be true" in message
    assert f"{model.label('a')} is {model.state_label('a', 'x')}" in message
    assert f"{model.label('c')} is {model.state_label('c', 'w')}" in message
    assert shown(at) == good


def test_model_without_evidence_folder_works(monkeypatch, tmp_path):
    at = start(monkeypatch, "--model", str(TINY), "--evidence", str(tmp_path / "missing"))
    open_items(at, forecast.load_model(TINY))
    assert "no dated evidence items" in " ".join(i.value for i in at.info)
    assert at.table


# ------------------------------------------------------------------ scenarios


def test_save_and_load_a_scenario_round_trips(monkeypatch, tiny, evidence_dir):
    at = start_tiny(monkeypatch, evidence_dir)
    slider(at, tiny, "rain", "no").set_value(25)
    rerun(at)
    press(at, tiny, "sprinkler", "on")
    open_items(at, tiny)
    at.toggle(key=key(tiny, "item", "wet_pavement")).set_value(True)
    rerun(at)
    saved_view = shown(at)
    open_tab(at, "Scenarios")
    at.text_input(key=key(tiny, "save_title")).input("My view of the garden")
    at.text_input(key=key(tiny, "save_name")).input("my_view")
    rerun(at)
    at.button(key=key(tiny, "save")).click()
    rerun(at)
    assert any("My view of the garden" in s.value for s in at.success)
    path = evidence_dir / "scenarios" / "my_view.yaml"
    scenario = load_scenario(path)
    assert scenario.title == "My view of the garden"
    assert scenario.hard == {"sprinkler": "on"}
    assert scenario.fixed == {"rain": {"no": 0.25, "yes": 0.75}}
    assert scenario.items == ["wet_pavement"]

    fresh = start_tiny(monkeypatch, evidence_dir)
    assert shown(fresh) != saved_view
    open_tab(fresh, "Scenarios")
    fresh.selectbox(key=key(tiny, "load_choice")).set_value("my_view")
    rerun(fresh)
    fresh.button(key=key(tiny, "load")).click()
    rerun(fresh)
    assert any("My view of the garden" in s.value for s in fresh.success)
    open_tab(fresh, "Forecast")
    assert shown(fresh) == saved_view
    assert slider(fresh, tiny, "rain", "no").value == 25
    assert fresh.button(key=key(tiny, "drv", "state", "sprinkler", "on")).proto.type == "primary"
    status = " ".join(m.value for m in fresh.markdown)
    assert "Scenario: **My view of the garden**" in status and "modified" not in status
    press(fresh, tiny, "rain", "yes")
    assert "modified" in " ".join(m.value for m in fresh.markdown)
    open_items(fresh, tiny)
    assert fresh.toggle(key=key(tiny, "item", "wet_pavement")).value


def test_loading_a_scenario_with_weights_keeps_them(monkeypatch, tiny, evidence_dir):
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    at.selectbox(key=key(tiny, "load_choice")).set_value("rainy")
    rerun(at)
    at.button(key=key(tiny, "load")).click()
    rerun(at)
    scenario = load_scenario(evidence_dir / "scenarios" / "rainy.yaml")
    open_tab(at, "Forecast")
    assert shown(at) == expected(tiny, "outcome", scenario=scenario)


def test_saving_never_overwrites_without_asking(monkeypatch, tiny, evidence_dir):
    path = evidence_dir / "scenarios" / "rainy.yaml"
    original = path.read_text(encoding="utf-8")
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    at.text_input(key=key(tiny, "save_name")).input("rainy")
    rerun(at)
    replace = at.checkbox(key=key(tiny, "save_replace"))
    assert "already exists" in replace.label
    at.button(key=key(tiny, "save")).click()
    rerun(at)
    assert at.error and "already exists" in at.error[0].value
    assert path.read_text(encoding="utf-8") == original
    at.checkbox(key=key(tiny, "save_replace")).check()
    at.button(key=key(tiny, "save")).click()
    rerun(at)
    assert path.read_text(encoding="utf-8") != original
    assert load_scenario(path).hard == {}


def test_a_bad_scenario_name_is_refused(monkeypatch, tiny, evidence_dir):
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    at.text_input(key=key(tiny, "save_name")).input("../escape")
    rerun(at)
    at.button(key=key(tiny, "save")).click()
    rerun(at)
    assert at.error and "cannot be used as a scenario name" in at.error[0].value
    assert not (evidence_dir / "escape.yaml").exists()
    assert sorted(p.name for p in (evidence_dir / "scenarios").iterdir()) == [
        "analyst_view.yaml",
        "rainy.yaml",
    ]


def test_comparison_table_matches_the_api(monkeypatch, tiny, evidence_dir):
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    table = at.dataframe[0].value  # one row per scenario: every scenario is shown
    assert list(table["Scenario"]) == [
        "Model's belief",
        "Current settings",
        "Analyst view",
        "Rainy",
    ]
    rainy = load_scenario(evidence_dir / "scenarios" / "rainy.yaml")
    want = expected(tiny, "outcome", scenario=rainy)
    row = table.set_index("Scenario").loc["Rainy"]
    assert {c.split(": ", 1)[1]: v for c, v in row.items()} == want
    assert all(c.startswith("Wet grass: ") for c in row.index)


# ------------------------------------------------------------------ uploads


def test_a_bad_upload_shows_the_problems_and_no_exception(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    bad = b"id: broken\nnodes:\n  - id: a\n    states: [x]\n    cpt: {rows: []}\n"
    at.sidebar.file_uploader[0].set_value(("broken.yaml", bad, "application/x-yaml"))
    rerun(at)
    assert at.error and "broken.yaml is not a valid model" in at.error[0].value
    assert at.title[0].value == tiny.title  # the page falls back to the chosen model file


def test_a_non_text_upload_is_refused(monkeypatch):
    at = start_tiny(monkeypatch)
    at.sidebar.file_uploader[0].set_value(("model.yaml", b"\xff\xfe\x00bad", "application/x-yaml"))
    rerun(at)
    assert at.error and "not a UTF-8 text file" in at.error[0].value


def test_a_valid_upload_replaces_the_model(monkeypatch):
    text = TINY.read_text(encoding="utf-8").replace(
        "title: Tiny test model", "title: Uploaded variant"
    )
    at = start_tiny(monkeypatch)
    at.sidebar.file_uploader[0].set_value(("variant.yaml", text.encode(), "application/x-yaml"))
    rerun(at)
    assert at.title[0].value == "Uploaded variant"
    assert not at.error


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_bif_and_xmlbif_models_are_offered_and_can_be_uploaded(monkeypatch, tmp_path, tiny, fmt):
    from forecast.formats import write_model_file

    folder = tmp_path / "models"
    path = write_model_file(tiny, folder / f"exported.{fmt}")
    at = start_tiny(monkeypatch, None, "--models", str(folder))
    assert path.name in at.sidebar.selectbox(key="model_file").options  # shown by file name
    at.sidebar.file_uploader[0].set_value((path.name, path.read_bytes(), "text/plain"))
    rerun(at)
    assert not at.error
    assert at.title[0].value == forecast.load_model(path).title
    assert shown(at) == expected(tiny, "outcome")


# ------------------------------------------------------------------ pure helpers


def test_rebalance_keeps_proportions_and_sums_to_100():
    assert controls.rebalance({"a": 50, "b": 30, "c": 20}, "a", 80) == {"a": 80, "b": 12, "c": 8}
    assert controls.rebalance({"a": 100, "b": 0, "c": 0}, "a", 40) == {"a": 40, "b": 30, "c": 30}
    assert controls.rebalance({"a": 10, "b": 90}, "b", 130) == {"a": 0, "b": 100}
    for value in range(0, 101, 7):
        assert sum(controls.rebalance({"a": 33, "b": 33, "c": 34}, "b", value).values()) == 100
    with pytest.raises(EvidenceError):
        controls.rebalance({"a": 50, "b": 50}, "z", 10)


def test_round_percents_sum_exactly():
    assert controls.round_percents([1 / 3, 1 / 3, 1 / 3]) == [34, 33, 33]
    assert sum(controls.round_percents([0.155, 0.845])) == 100
    assert controls.round_percents([0, 0]) == [50, 50]


def test_labels_are_readable(tiny):
    from forecast.present import humanise

    assert humanise("marriage_of_convenience") == "Marriage of convenience"
    assert humanise("US_led") == "US led"
    assert tiny.state_label("outcome", "good") == "Good"
    assert tiny.source_label("src1") == "Someone (2017)"
    assert tiny.source_label("not_a_source") == "not_a_source"


def test_controls_round_trip_through_a_scenario(tiny):
    items = forecast.load_evidence(TINY_EVIDENCE)
    chosen = {
        "rain": NodeControl(controls.PROBABILITIES, percents={"no": 30, "yes": 70}),
        "sprinkler": NodeControl(controls.STATE, state="off"),
    }
    ev = controls.evidence_from_controls(tiny, chosen, items[:1])
    back, ids, lik = controls.controls_from_scenario(tiny, ev.to_scenario("x"))
    assert back == chosen and ids == [items[0].id] and lik == {}


def test_a_control_replaces_scenario_weights_on_its_node(tiny):
    lik = {"sprinkler": {"off": 0.5, "on": 1.0}, "rain": {"no": 1.0, "yes": 0.2}}
    ev = controls.evidence_from_controls(
        tiny, {"rain": NodeControl(controls.STATE, state="no")}, likelihood=lik
    )
    assert ev.hard == {"rain": "no"} and ev.likelihood == {"sprinkler": {"off": 0.5, "on": 1.0}}


def test_save_scenario_is_atomic_named_and_never_overwrites(tmp_path):
    scenario = Scenario(name="calm", hard={"rain": "no"})
    path = save_scenario(scenario, tmp_path)
    assert path == tmp_path / "calm.yaml" and load_scenario(path).hard == {"rain": "no"}
    with pytest.raises(EvidenceError, match="already exists"):
        save_scenario(Scenario(name="calm"), tmp_path)
    assert load_scenario(path).hard == {"rain": "no"}
    save_scenario(Scenario(name="calm"), tmp_path, overwrite=True)
    assert load_scenario(path).hard == {}
    for bad in ("../up", "a/b", "", ".hidden"):
        with pytest.raises(EvidenceError, match="not allowed"):
            save_scenario(Scenario.model_construct(name=bad), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calm.yaml"]


def test_downloads_are_valid_in_every_format(tiny):
    items = forecast.load_evidence(TINY_EVIDENCE)
    ev = tiny.evidence(hard={"rain": "yes"}, items=items[:1])
    table = report.current_table(tiny, ev, tiny.posteriors())
    assert list(table.columns) == [
        "node",
        "state",
        "probability",
        "words",
        "baseline",
        "delta_probability",
    ]
    assert [fmt for fmt, _ in report.DOWNLOADS.values()] == [
        "docx",
        "xlsx",
        "html",
        "md",
        "csv",
        "json",
    ]
    csv = pd.read_csv(io.BytesIO(report.report_file(tiny, ev, "csv", "A. Analyst")))
    want = table.set_index(["node", "state"])["probability"]
    got = csv.set_index(["node", "state"])["probability"]
    assert got.to_numpy() == pytest.approx(want.reindex(got.index).to_numpy(), abs=1e-6)
    data = json.loads(report.report_file(tiny, ev, "json", "A. Analyst"))
    assert data["issue"]["question"] == tiny.spec.question.text
    assert data["issue"]["author"] == "A. Analyst"
    book = openpyxl.load_workbook(io.BytesIO(report.report_file(tiny, ev, "xlsx")))
    assert {"Report", "Data", "Evidence", "Bibliography"} <= set(book.sheetnames)
    md = report.report_file(tiny, ev, "md").decode()
    assert md.index("## Key judgements") < md.index("## Evidence used")
    page = report.report_file(tiny, ev, "html").decode()
    assert "<svg" in page and "<script" not in page and items[0].title in page
    assert tiny.spec.question.text in page
    assert report.report_file(tiny, ev, "docx").startswith(b"PK")
    # the same file as the API writes (the CLI and the app draw one report model)
    built = forecast.report(tiny, ev, author="A. Analyst")
    assert built.judgements[0].paragraph == data["judgements"][0]["paragraph"]


def test_the_forecast_tab_offers_every_report_format_with_an_author_field(monkeypatch, tiny):
    monkeypatch.setenv("FORECAST_AUTHOR", "Env Analyst")
    at = rerun(start_tiny(monkeypatch))
    labels = [b.proto.label for b in at.main.get("download_button")]
    assert labels[:6] == list(report.DOWNLOADS)  # Word, Excel, HTML, Markdown, CSV, JSON
    field = at.text_input(key=key(tiny, "report_author"))
    assert field.value == "Env Analyst"  # $FORECAST_AUTHOR fills the field


def test_comparison_downloads_carry_the_side_by_side_table(tiny):
    names = ["Model's belief", "Rain"]
    evs = [forecast.Evidence(), tiny.evidence(hard={"rain": "yes"})]
    table = report.comparison(tiny, evs, names)
    wide = report.comparison_display(tiny, table)
    assert list(wide.columns) == ["Node", "State", *names]
    book = openpyxl.load_workbook(
        io.BytesIO(report.report_file(tiny, evs[0], "xlsx", "", evs[1:], names))
    )
    cells = [c.value for row in book["Report"].iter_rows() for c in row]
    assert "Side by side" in cells and "Rain" in cells
    md = report.report_file(tiny, evs[0], "md", "", evs[1:], names).decode()
    assert md.index("## Side by side") < md.index("## Outcomes") and "Wet grass" in md


def test_as_of_matching_finds_the_day_up_to_which_the_items_are_applied():
    items = forecast.load_evidence(
        TINY_EVIDENCE
    )  # wet_pavement 02-01, sprinkler_seen 02-15, forecast_dry 03-01
    assert controls.as_of_matching(items, ["wet_pavement"]) == "2018-02-01"
    assert controls.as_of_matching(items, ["sprinkler_seen", "wet_pavement"]) == "2018-02-15"
    assert controls.as_of_matching(items, [it.id for it in items]) == "2018-03-01"
    assert controls.as_of_matching(items, ["sprinkler_seen"]) is None  # not all items up to a day
    assert controls.as_of_matching(items, []) is None


def test_loading_a_scenario_sets_the_as_of_control_to_its_items(monkeypatch, tiny, evidence_dir):
    scenario = Scenario(name="to_feb", description="", items=("wet_pavement", "sprinkler_seen"))
    save_scenario(scenario, evidence_dir / "scenarios")
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    at.selectbox(key=key(tiny, "load_choice")).set_value("to_feb")
    rerun(at)
    at.button(key=key(tiny, "load")).click()
    rerun(at)
    open_tab(at, "Forecast")
    open_items(at, tiny)
    assert at.select_slider(key=key(tiny, "asof")).value == "2018-02-15"
    assert at.toggle(key=key(tiny, "item", "sprinkler_seen")).value
    assert not at.toggle(key=key(tiny, "item", "forecast_dry")).value


def test_timeline_steps_follow_the_items(tiny):
    items = forecast.load_evidence(TINY_EVIDENCE)
    steps = report.timeline_steps(tiny, items)
    assert steps["step"].max() == len(items)
    first = steps[steps["step"] == 0]
    assert set(first["when"]) == {"Start"}
    last = steps[(steps["step"] == len(items)) & (steps["node"] == "outcome")]
    want = tiny.posteriors(scenario=tiny.evidence(items=items), targets="outcome")
    assert last["probability"].tolist() == pytest.approx(want["probability"].tolist())
    assert set(steps["title"]) >= {it.title for it in items}  # the chart's tooltip field


# ------------------------------------------------------------------ tabs


def test_an_unexpected_failure_shows_a_sentence_not_a_traceback(monkeypatch):
    import forecast.ui.workspace as workspace

    def broken(page):
        raise KeyError("internal detail")

    monkeypatch.setattr(workspace, "_forecast_tab", broken)
    monkeypatch.setattr(
        sys, "argv", ["app.py", "--model", str(TINY), "--evidence", str(TINY_EVIDENCE)]
    )
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception
    assert at.error[0].value.startswith(UNEXPECTED) and "internal detail" not in at.error[0].value


def test_every_tab_opens_without_an_exception(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    for label in ("Scenarios", "Timeline", "Analysis", "History", "Forecast"):
        open_tab(at, label)
        assert not at.exception, label


def test_timeline_tab_replays_the_items(monkeypatch, tiny):
    at = open_tab(start_tiny(monkeypatch), "Timeline")
    items = forecast.load_evidence(TINY_EVIDENCE)
    charts = at.get("vega_lite_chart")
    assert len(charts) == len(tiny.outcomes)  # only the open tab is drawn: one timeline per outcome
    table = at.dataframe[0].value
    assert list(table["Item"]) == ["Before any item"] + [it.title for it in items]
    last = tiny.posteriors(scenario=tiny.evidence(items=items), targets="outcome")
    assert table["Wet grass: Good"].iloc[-1] == pytest.approx(
        100 * last["probability"].iloc[0], abs=0.05
    )


def test_settings_survive_switching_tabs(monkeypatch, tiny, evidence_dir):
    at = start_tiny(monkeypatch, evidence_dir)
    press(at, tiny, "rain", "yes")
    open_tab(at, "Scenarios")
    at.multiselect(key=key(tiny, "compare")).set_value(["baseline", "scenario:rainy"])
    rerun(at)
    open_tab(at, "Timeline")
    open_tab(at, "Forecast")
    assert shown(at) == expected(tiny, "outcome", hard={"rain": "yes"})
    open_tab(at, "Scenarios")
    assert list(at.dataframe[0].value["Scenario"]) == ["Model's belief", "Rainy"]


def test_the_model_can_be_downloaded_for_other_tools(monkeypatch, tiny):
    import numpy as np

    from forecast.formats import model_to_bif, read_model_text

    at = start_tiny(monkeypatch)
    labels = [b.proto.label for b in at.sidebar.get("download_button")]
    assert labels == [
        "Download as BIF",
        "Download as XMLBIF",
        "Download as Hugin NET",
        "Download as GeNIe XDSL",
    ]
    again = forecast.Model(read_model_text(model_to_bif(tiny), "tiny.bif"))
    np.testing.assert_allclose(again.cpt("outcome"), tiny.cpt("outcome"), atol=1e-12)


# ------------------------------------------------------------------ controls that do what they show


def test_opening_a_node_shows_its_sliders_at_the_current_belief_without_changing_anything(
    monkeypatch, tiny
):
    at = start_tiny(monkeypatch)
    press(at, tiny, "rain", "yes")
    before = shown(at)
    select_node(at, "sprinkler")
    assert at.session_state["selected_node"] == "sprinkler"
    assert shown(at) == before  # opening the controls commits nothing
    belief = tiny.posteriors(hard={"rain": "yes"}, targets="sprinkler")
    values = [slider(at, tiny, "sprinkler", s, "sel").value for s in ("off", "on")]
    assert values == controls.round_percents(belief["probability"])
    # its record: rationale, sources and table are on the page
    text = " ".join(m.value for m in at.markdown)
    assert "Sprinkler" in text


def test_a_node_record_shows_rationale_sources_and_table(monkeypatch, tiny):
    at = select_node(start_tiny(monkeypatch), "rain")
    text = " ".join(m.value for m in at.markdown)
    assert "a coin with a bias" in text and "Someone (2017): A source" in text
    assert not at.dataframe  # the table is drawn only while its expander is open
    at.session_state["cpt_open.rain"] = True
    at.run()
    table = at.dataframe[0].value
    assert list(table.columns) == ["No", "Yes"] and list(table.iloc[0]) == ["70.0%", "30.0%"]


def test_switching_between_a_state_and_my_probabilities_keeps_the_values(monkeypatch, tiny):
    at = start_tiny(monkeypatch)
    slider(at, tiny, "rain", "no").set_value(25)
    rerun(at)
    mine = expected(tiny, "outcome", fixed={"rain": {"no": 0.25, "yes": 0.75}})
    assert shown(at) == mine
    press(at, tiny, "rain", "yes")
    assert shown(at) == expected(tiny, "outcome", hard={"rain": "yes"})
    press(at, tiny, "rain", "yes")  # the state undone: back to my probabilities
    assert shown(at) == mine and slider(at, tiny, "rain", "no").value == 25
    at.button(key=key(tiny, "drv", "clear", "rain")).click()
    rerun(at)
    assert shown(at) == expected(tiny, "outcome")  # "clear" restores "not set"
    belief = controls.round_percents(tiny.posteriors(targets="rain")["probability"])
    assert [slider(at, tiny, "rain", s).value for s in ("no", "yes")] == belief


def test_a_click_on_a_state_in_the_network_sets_and_clears_it(monkeypatch, tiny):
    from forecast.ui.network import state_id

    def click(node_id: str, stamp: int) -> dict:
        """What the component reports for a click (it also sends its nodes and edges back)."""
        return {"nodes": [], "edges": [], "selectedId": node_id, "timestamp": stamp}

    at = start_tiny(monkeypatch)
    before = shown(at)
    net = key(tiny, "network")
    at.session_state[net] = click(state_id(tiny, "rain", "yes"), 1)
    rerun(at)
    assert shown(at) == expected(tiny, "outcome", hard={"rain": "yes"})
    assert at.session_state["selected_node"] == "rain"
    rerun(at)  # the same click is not used twice
    assert shown(at) == expected(tiny, "outcome", hard={"rain": "yes"})
    at.session_state[net] = click(state_id(tiny, "rain", "yes"), 2)
    rerun(at)
    assert shown(at) == before


def test_settings_pure_rules():
    chosen = controls.Settings()
    chosen.toggle_state("a", "x")
    assert chosen.control("a") == NodeControl(controls.STATE, state="x")
    chosen.toggle_state("a", "x")
    assert chosen.control("a").mode == controls.UNSET
    chosen.set_percents("a", {"x": 30, "y": 70})
    chosen.toggle_state("a", "y")
    assert chosen.control("a").mode == controls.STATE
    chosen.set_state("a", None)
    assert chosen.control("a") == NodeControl(controls.PROBABILITIES, percents={"x": 30, "y": 70})
    assert controls.shown_percents(chosen, "a", ["x", "y"], {"x": 0.9, "y": 0.1}) == {
        "x": 30,
        "y": 70,
    }
    chosen.clear("a")
    assert chosen.set_nodes() == []
    assert controls.shown_percents(chosen, "a", ["x", "y"], {"x": 0.904, "y": 0.096}) == {
        "x": 90,
        "y": 10,
    }


# ------------------------------------------------------------------ scenarios: rename and delete


def test_a_saved_scenario_can_be_renamed_and_deleted_after_confirmation(
    monkeypatch, tiny, evidence_dir
):
    at = open_tab(start_tiny(monkeypatch, evidence_dir), "Scenarios")
    at.selectbox(key=key(tiny, "load_choice")).set_value("rainy")
    rerun(at)
    at.text_input(key=key(tiny, "retitle", "rainy")).input("A wet week")
    rerun(at)
    at.button(key=key(tiny, "retitle_go", "rainy")).click()
    rerun(at)
    path = evidence_dir / "scenarios" / "rainy.yaml"
    assert load_scenario(path).title == "A wet week"
    assert "A wet week" in at.selectbox(key=key(tiny, "load_choice")).format_func("rainy")
    delete = at.button(key=key(tiny, "delete", "rainy"))
    assert delete.disabled  # not before the confirmation is ticked
    at.checkbox(key=key(tiny, "delete_sure", "rainy")).check()
    rerun(at)
    at.button(key=key(tiny, "delete", "rainy")).click()
    rerun(at)
    assert not path.exists()
    assert "rainy" not in at.selectbox(key=key(tiny, "load_choice")).options


def test_retitle_and_delete_refuse_unknown_scenarios(tmp_path):
    from forecast.evidence import delete_scenario, retitle_scenario

    with pytest.raises(EvidenceError, match="no scenario named"):
        retitle_scenario("missing", "A title", tmp_path)
    with pytest.raises(EvidenceError, match="no scenario named"):
        delete_scenario("../escape", tmp_path)
    save_scenario(Scenario(name="calm", hard={"rain": "no"}), tmp_path)
    with pytest.raises(EvidenceError, match="cannot be empty"):
        retitle_scenario("calm", "   ", tmp_path)
    retitle_scenario("calm", "  Calm   day ", tmp_path)
    assert load_scenario(tmp_path / "calm.yaml").title == "Calm day"
    assert load_scenario(tmp_path / "calm.yaml").hard == {"rain": "no"}

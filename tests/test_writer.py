"""The model writer: only edited lines change, saves are atomic and never clobber a changed file."""

import shutil
import subprocess
from pathlib import Path

import pytest
from row_lines import row_line, shifted, with_values

import forecast
from forecast.evidence import load_evidence, load_scenario
from forecast.spec import load_spec, spec_from_dict
from forecast.writer import (
    Edit,
    FileChangedError,
    WriteError,
    delete_item,
    open_yaml,
    render,
    safe_child,
    save_item,
    save_model,
    save_scenario_file,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "russia_iran.yaml"
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"


def changed_lines(a: Path, b: Path) -> list[str]:
    out = subprocess.run(
        ["diff", str(a), str(b)], capture_output=True, text=True, check=False
    ).stdout
    return [line for line in out.splitlines() if line[:1] in "<>"]


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "models" / "russia_iran.yaml"
    target.parent.mkdir()
    shutil.copy(MODEL, target)
    return target


def edited_first_row(spec, probabilities):
    data = spec.model_dump()
    data["nodes"][0]["cpt"]["rows"][0]["probabilities"] = probabilities
    return spec_from_dict(data)


def test_unchanged_model_is_written_byte_for_byte(copy):
    opened = open_yaml(copy)
    spec = load_spec(copy)
    save_model(spec, copy, Edit(opened))
    assert copy.read_text() == MODEL.read_text()


def test_one_cell_edit_changes_only_that_row(copy):
    opened = open_yaml(copy)
    spec = load_spec(copy)
    node = spec.nodes[0]
    before = MODEL.read_text()
    probabilities = shifted(node.cpt.rows[0].probabilities, 0.05)
    new = edited_first_row(spec, probabilities)
    save_model(new, copy, Edit(opened, spec))
    lines = changed_lines(MODEL, copy)
    old_line = row_line(before, node.id)
    assert lines == ["< " + old_line, "> " + with_values(old_line, probabilities)]
    after = copy.read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in after.splitlines() for c in comments)
    assert load_spec(copy) == new


def test_a_file_changed_on_disk_is_not_overwritten(copy):
    first = open_yaml(copy)
    second = open_yaml(copy)
    spec = load_spec(copy)
    saved = save_model(
        edited_first_row(spec, {"none": 0.6, "limited": 0.3, "broad": 0.1}), copy, Edit(first, spec)
    )
    with pytest.raises(FileChangedError, match="changed on disk"):
        save_model(
            edited_first_row(spec, {"none": 0.2, "limited": 0.7, "broad": 0.1}),
            copy,
            Edit(second, spec),
        )
    assert copy.read_text() == saved.text
    # the second editor may overwrite on purpose
    forced = edited_first_row(spec, {"none": 0.2, "limited": 0.7, "broad": 0.1})
    save_model(forced, copy, Edit(second, spec, overwrite=True))
    assert load_spec(copy) == forced


def test_new_model_file_is_refused_over_an_existing_one(copy):
    with pytest.raises(FileChangedError, match="already exists"):
        save_model(load_spec(TINY), copy)


def test_new_model_laid_out_fresh_reads_back(tmp_path):
    spec = load_spec(TINY)
    target = tmp_path / "new.yaml"
    save_model(spec, target)
    assert load_spec(target) == spec
    assert forecast.load_model(target).posteriors().equals(forecast.load_model(TINY).posteriors())


def test_states_named_like_booleans_are_quoted_in_new_text():
    text = render(None, None, {"states": ["no", "yes"], "p": {"no": 0.5, "yes": 0.5}})
    assert '"no"' in text and '"yes"' in text


def test_unwritable_folder_says_so(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(forecast.ForecastError, match="cannot write"):
        save_model(load_spec(TINY), blocker / "m.yaml")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "", "x" * 101, "a b"])
def test_names_that_escape_the_folder_are_refused(tmp_path, name):
    with pytest.raises(WriteError):
        safe_child(tmp_path, name)


def test_evidence_item_edit_keeps_the_rest_of_its_file(tmp_path):
    folder = tmp_path / "evidence"
    shutil.copytree(ROOT / "evidence", folder)
    item = next(it for it in load_evidence(folder) if it.id == "e2017_01_astana_talks")
    path = folder / "e2017_01_astana_talks.yaml"
    opened = open_yaml(path)
    weaker = min(item.likelihood, key=lambda s: item.likelihood[s])
    likelihood = {**item.likelihood, weaker: round(item.likelihood[weaker] - 0.1, 6)}
    assert 0 < likelihood[weaker] < item.likelihood[weaker]
    edited = item.model_copy(update={"likelihood": likelihood})
    save_item(edited, folder, Edit(opened, item))
    original = (ROOT / "evidence" / path.name).read_text().splitlines()
    old_line = next(line for line in original if line.startswith("likelihood:"))
    assert changed_lines(ROOT / "evidence" / path.name, path) == [
        "< " + old_line,
        "> " + with_values(old_line, likelihood),
    ]
    assert edited in load_evidence(folder)


def test_new_item_and_delete(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    item = forecast.EvidenceItem(
        id="e1", date="2018-01-01", title="T", source="s", node="n", likelihood={"a": 1, "b": 0.5}
    )
    save_item(item, folder)
    assert load_evidence(folder) == [item]
    with pytest.raises(FileChangedError):
        save_item(item, folder)  # a second new item with the same id
    bad = item.model_copy(update={"id": "../../escape"})
    with pytest.raises(WriteError):
        save_item(bad, folder)
    delete_item("e1", folder)
    assert load_evidence(folder) == []


def test_scenario_edit_changes_only_its_lines(tmp_path):
    folder = tmp_path / "evidence"
    shutil.copytree(ROOT / "evidence", folder)
    path = folder / "scenarios" / "managed_assad_exit.yaml"
    scenario = load_scenario(path)
    opened = open_yaml(path)
    edited = scenario.model_copy(update={"hard": {"assad_question": "assad_stays"}})
    save_scenario_file(edited, folder / "scenarios", Edit(opened, scenario))
    assert changed_lines(ROOT / "evidence" / "scenarios" / path.name, path) == [
        "<   assad_question: negotiated_exit",
        ">   assad_question: assad_stays",
    ]
    assert load_scenario(path).hard == {"assad_question": "assad_stays"}


def test_required_empty_text_is_kept(tmp_path):
    item = forecast.EvidenceItem(
        id="e2", date="2018-01-01", title="", source="", node="n", likelihood={"a": 1, "b": 2}
    )
    save_item(item, tmp_path)
    assert load_evidence(tmp_path) == [item]

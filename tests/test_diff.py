"""Semantic diff: what changed and what it does to the outcomes; `forecast diff` on the command line."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from row_lines import row_line, shifted, with_values

import forecast
from forecast.cli import main
from forecast.diff import ISSUED, NO_EVIDENCE, diff_specs, semantic_diff
from forecast.edit import Editor
from forecast.spec import load_spec
from forecast.writer import Edit, open_yaml, save_model

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "russia_iran.yaml"
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
TINY_EV = ROOT / "tests" / "fixtures" / "tiny_evidence"


def git(cwd, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "models").mkdir()
    shutil.copy(MODEL, tmp_path / "models" / "russia_iran.yaml")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def test_one_cell_edit_saved_shows_one_row_in_git_diff_and_in_forecast_diff(repo, capsys):
    path = repo / "models" / "russia_iran.yaml"
    opened = open_yaml(path)
    text = path.read_text()
    ed = Editor(load_spec(path))
    before = ed.spec
    row = before.node("us_russia_detente").cpt.rows[0].probabilities
    probabilities = shifted(row, 0.20)
    ed.set_row("us_russia_detente", {}, probabilities)
    save_model(ed.spec, path, Edit(opened, before))
    patch = git(repo, "diff", "-U0")
    changed = [
        line
        for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    old_line = row_line(text, "us_russia_detente")
    assert changed == ["-" + old_line, "+" + with_values(old_line, probabilities)]
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in path.read_text().splitlines() for c in comments)
    assert path.read_text().startswith("# The Russia–Iran relationship, early 2018")

    # the command line reports the cell and the outcome change of that edit
    git(repo, "show", "HEAD:models/russia_iran.yaml")
    old = repo / "old.yaml"
    old.write_text(git(repo, "show", "HEAD:models/russia_iran.yaml"))
    code = main(["diff", str(old), str(path), "--evidence", str(ROOT / "evidence")])
    out = capsys.readouterr().out
    assert code == 0
    moved = [state for state in row if row[state] != probabilities[state]]
    assert len(moved) == 2
    for state in moved:
        cell = f"P({state}): {round(100 * row[state])}% -> {round(100 * probabilities[state])}%"
        assert f"us_russia_detente: {cell}" in out
    m_old, m_new = forecast.load_model(old), forecast.load_model(path)
    p_old = m_old.posteriors(targets="relationship_outcome")
    p_new = m_new.posteriors(targets="relationship_outcome")
    rupture_change = 100 * (
        p_new.set_index("state").loc["rupture", "probability"]
        - p_old.set_index("state").loc["rupture", "probability"]
    )
    assert abs(rupture_change) > 0.5
    assert f"{rupture_change:+.1f} pts" in out


def test_diff_reads_a_git_revision(repo, capsys, monkeypatch):
    path = repo / "models" / "russia_iran.yaml"
    opened = open_yaml(path)
    ed = Editor(load_spec(path))
    before = ed.spec
    ed.set_node_text("us_russia_detente", label="Détente between Washington and Moscow")
    save_model(ed.spec, path, Edit(opened, before))
    monkeypatch.chdir(repo)
    code = main(
        ["diff", "HEAD:models/russia_iran.yaml", "models/russia_iran.yaml", "--no-evidence"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "us_russia_detente: label: US–Russia détente -> Détente between Washington and Moscow"
        in out
    )
    assert main(["diff", "nosuchrev:models/russia_iran.yaml", "models/russia_iran.yaml"]) == 2
    assert "git cannot show it" in capsys.readouterr().err


def test_diff_tables_no_evidence_issued_and_scenarios():
    items = forecast.load_evidence(TINY_EV)
    scenarios = forecast.load_scenarios(TINY_EV / "scenarios")
    ed = Editor(load_spec(TINY), items, scenarios)
    ed.set_model_text(as_of="2018-12-31")  # the tiny items are dated after the file's as-of
    base = ed.spec
    ed.set_row("rain", {}, {"no": 0.5, "yes": 0.5})
    ed.add_node("wind", ["calm", "gusty"], role="driver")
    ed.add_edge("wind", "outcome")
    ed.set_node_text("outcome", rationale="new reasons")
    result = semantic_diff(base, ed.spec, items, items, scenarios)
    kinds = set(zip(result.changes["kind"], result.changes["detail"], strict=True))
    assert ("node", "added node (driver)") in kinds
    assert ("arrow", "added arrow wind -> outcome") in kinds
    assert ("table", "P(no)") in kinds
    assert ("text", "rationale") in kinds
    evidence = list(dict.fromkeys(result.forecast["evidence"]))
    assert evidence[:2] == [NO_EVIDENCE, ISSUED]
    assert len(evidence) == 2 + len(scenarios)
    row = result.forecast[
        (result.forecast["evidence"] == NO_EVIDENCE) & (result.forecast["state"] == "good")
    ].iloc[0]
    m_old, m_new = forecast.Model(base), forecast.Model(ed.spec)
    good = lambda m: m.posteriors(targets="outcome").set_index("state").loc["good", "probability"]  # noqa: E731
    assert row["before"] == pytest.approx(good(m_old))
    assert row["after"] == pytest.approx(good(m_new))
    assert row["change"] == pytest.approx(good(m_new) - good(m_old))


def test_no_changes_and_json_output(tmp_path, capsys):
    assert diff_specs(load_spec(TINY), load_spec(TINY)).empty
    code = main(["diff", str(TINY), str(TINY), "--format", "json", "--no-evidence"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["changes"] == []
    assert {r["evidence"] for r in data["forecast"]} == {NO_EVIDENCE}


def test_bad_file_is_one_line(tmp_path, capsys):
    assert main(["diff", str(TINY), str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_rename_command_updates_the_model_items_and_scenarios(tmp_path, capsys, monkeypatch):
    (tmp_path / "models").mkdir()
    shutil.copy(TINY, tmp_path / "models" / "tiny.yaml")
    shutil.copytree(TINY_EV, tmp_path / "evidence")
    monkeypatch.chdir(tmp_path)
    assert main(["rename", "models/tiny.yaml", "rain", "rainfall", "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert load_spec(tmp_path / "models" / "tiny.yaml").node("sprinkler").parents == ["rain"]
    assert main(["rename", "models/tiny.yaml", "rain", "rainfall"]) == 0
    out = capsys.readouterr().out
    assert "changed evidence item 'wet_pavement'" in out and "wrote" in out
    assert load_spec(tmp_path / "models" / "tiny.yaml").node("sprinkler").parents == ["rainfall"]
    assert {it.node for it in forecast.load_evidence("evidence")} == {"rainfall", "sprinkler"}
    assert main(["rename", "models/tiny.yaml", "yes", "wet", "--state-of", "rainfall"]) == 0
    assert forecast.load_scenario("evidence/scenarios/rainy.yaml").hard == {"rainfall": "wet"}
    assert main(["rename", "models/tiny.yaml", "rainfall", "bad id"]) == 2
    assert "not a valid id" in capsys.readouterr().err

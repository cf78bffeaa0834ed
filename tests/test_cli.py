"""The `forecast` command line, in-process (forecast.cli.main) plus one run of the installed script."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import TIMELINE_COLUMNS

import forecast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"  # dated items; scenarios/ below

SCENARIOS = TINY_EVIDENCE / "scenarios"


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


# ---------------------------------------------------------------- success


def test_nodes(cli):
    out = cli.ok("nodes", TINY)
    for node in ("rain", "sprinkler", "outcome"):
        assert node in out
    table = read_csv(cli.ok("nodes", TINY, "--format", "csv"))
    assert list(table.columns) == ["node", "label", "role", "states", "parents"]
    assert table["node"].tolist() == ["rain", "sprinkler", "outcome"]
    assert table.loc[2, "parents"] == "rain, sprinkler" and table.loc[0, "states"] == "no, yes"


def test_validate(cli):
    out = cli.ok("validate", TINY)
    assert "valid model 'tiny'" in out and "3 nodes" in out


def test_query_default_is_a_table_of_every_node(cli, tiny):
    out = cli.ok("query", TINY)
    lines = out.strip().splitlines()
    assert lines[0].split() == ["node", "state", "probability", "words"]
    assert len(lines) == 2 + len(tiny.posteriors())
    assert "70.0%" in out and "likely" in out


def test_query_csv_matches_the_api_with_every_evidence_flag(cli, tiny):
    out = cli.ok(
        "query",
        TINY,
        "--hard",
        "sprinkler=on",
        "--likelihood",
        "outcome=good:0.2,bad:1",
        "--fixed",
        "rain=no:0.3,yes:0.7",
        "--format",
        "csv",
    )
    table = read_csv(out)
    expected = tiny.posteriors(
        hard={"sprinkler": "on"},
        likelihood={"outcome": {"good": 0.2, "bad": 1}},
        fixed={"rain": {"no": 0.3, "yes": 0.7}},
    )
    assert list(table.columns) == ["node", "state", "probability", "words"]
    assert table[["node", "state", "words"]].equals(expected[["node", "state", "words"]])
    np.testing.assert_allclose(table["probability"], expected["probability"], atol=1e-15)
    np.testing.assert_allclose(
        table.loc[table.node == "rain", "probability"], [0.3, 0.7], atol=1e-9
    )


def test_query_scenario_with_keyword_override_and_targets(cli, tiny):
    out = cli.ok(
        "query",
        TINY,
        "--scenario",
        SCENARIOS / "rainy.yaml",
        "--hard",
        "rain=no",
        "--target",
        "outcome",
        "--target",
        "rain",
        "--format",
        "csv",
    )
    table = read_csv(out)
    scenario = forecast.load_scenario(SCENARIOS / "rainy.yaml")
    expected = tiny.posteriors(scenario=scenario, hard={"rain": "no"}, targets=["rain", "outcome"])
    assert table["node"].tolist() == ["rain", "rain", "outcome", "outcome"]
    np.testing.assert_allclose(table["probability"], expected["probability"], atol=1e-15)


def test_query_json_and_md(cli):
    data = json.loads(cli.ok("query", TINY, "--hard", "rain=yes", "--format", "json"))
    assert data["metadata"]["model_id"] == "tiny"
    assert [r["node"] for r in data["rows"]][:2] == ["rain", "rain"]
    assert data["rows"][1]["probability"] == pytest.approx(1.0, abs=1e-12)
    md = cli.ok("query", TINY, "--format", "md")
    assert (
        md.startswith("# Tiny test model") and "| Node" in md and "| Wet grass" in md
    )  # labels, not ids


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", ".md", ".html"])
def test_query_output_file(cli, tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    code, out, err = cli("query", TINY, "--hard", "rain=yes", "--output", path)
    assert code == 0 and out == "" and f"wrote {path}" in err
    if suffix == ".csv":
        assert list(pd.read_csv(path).columns) == ["node", "state", "probability", "words"]
    elif suffix == ".xlsx":
        assert openpyxl.load_workbook(path).sheetnames[0] == "Report"
    elif suffix == ".json":
        assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["model_id"] == "tiny"
    else:
        assert "Tiny test model" in path.read_text(encoding="utf-8")


def test_output_format_and_suffix(cli, tmp_path):
    md = tmp_path / "out.md"
    cli.ok("query", TINY, "--format", "table", "--output", md)  # table means "by suffix" for a file
    assert md.read_text(encoding="utf-8").startswith("# Tiny test model")
    txt = tmp_path / "out.txt"
    cli.ok("query", TINY, "--format", "json", "--output", txt)  # an explicit format for any suffix
    assert json.loads(txt.read_text(encoding="utf-8"))["metadata"]["model_id"] == "tiny"
    code, _, err = cli("query", TINY, "--format", "csv", "--output", tmp_path / "out.xlsx")
    assert code == 2 and "does not match" in err and not (tmp_path / "out.xlsx").exists()


def test_run(cli, tiny):
    out = cli.ok(
        "run",
        TINY,
        SCENARIOS / "rainy.yaml",
        SCENARIOS / "analyst_view.yaml",
        "--format",
        "csv",
    )
    table = read_csv(out)
    assert list(table.columns) == ["scenario", "node", "state", "probability", "words"]
    assert list(dict.fromkeys(table["scenario"])) == ["rainy", "analyst_view"]
    view = tiny.posteriors(scenario=forecast.load_scenario(SCENARIOS / "analyst_view.yaml"))
    np.testing.assert_allclose(
        table.loc[table.scenario == "analyst_view", "probability"], view["probability"]
    )


def test_run_to_file(cli, tmp_path):
    path = tmp_path / "runs.csv"
    code, _, _ = cli("run", TINY, SCENARIOS / "rainy.yaml", "--output", path)
    assert code == 0 and pd.read_csv(path)["scenario"].unique().tolist() == ["rainy"]


def test_timeline(cli):
    table = read_csv(cli.ok("timeline", TINY, TINY_EVIDENCE, "--format", "csv"))
    assert list(table.columns) == TIMELINE_COLUMNS
    assert list(dict.fromkeys(table["item"])) == [
        "baseline",
        "wet_pavement",
        "sprinkler_seen",
        "forecast_dry",
    ]
    assert set(table["node"]) == {"outcome"}


def test_describe(cli, tmp_path):
    out = cli.ok("describe", TINY)
    assert out.startswith("# Tiny test model") and "(`outcome`)" in out
    path = tmp_path / "model.md"
    code, _, _ = cli("describe", TINY, "--output", path)
    assert code == 0 and path.read_text(encoding="utf-8") == out


# ---------------------------------------------------------------- bad input


def broken_model(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(
        TINY.read_text(encoding="utf-8").replace("parents: [rain]", "parents: [rainfall]"),
        encoding="utf-8",
    )
    return path


BAD = [
    (["query", "{tiny}", "--hard", "snow=deep"], "unknown node 'snow'"),
    (["query", "{tiny}", "--hard", "rain=maybe"], "no state 'maybe'"),
    (["query", "{tiny}", "--hard", "rain"], "expected NODE="),
    (["query", "{tiny}", "--likelihood", "rain=no:x,yes:1"], "not a number"),
    (["query", "{tiny}", "--likelihood", "rain=no:1"], "no value for state"),
    (["query", "{tiny}", "--likelihood", "rain=no:-1,yes:1"], "negative"),
    (["query", "{tiny}", "--likelihood", "rain=no:nan,yes:1"], "not a finite number"),
    (["query", "{tiny}", "--likelihood", "rain=no1,yes:1"], "expected NODE=STATE:NUMBER"),
    (["query", "{tiny}", "--fixed", "rain=no:0.5,yes:0.6"], "sums to 1.1"),
    (["query", "{tiny}", "--fixed", "rain=no:0.5,no:0.5"], "given twice"),
    (["query", "{tiny}", "--hard", "rain=yes", "--hard", "rain=no"], "names node 'rain' twice"),
    (
        ["query", "{tiny}", "--likelihood", "rain=no:1,yes:2", "--likelihood", "rain=no:2,yes:1"],
        "names node 'rain' twice",
    ),
    (
        ["query", "{tiny}", "--fixed", "rain=no:1,yes:0", "--fixed", "rain=no:0,yes:1"],
        "names node 'rain' twice",
    ),
    (["query", "{tiny}", "--hard", "rain=yes", "--fixed", "rain=no:0.5,yes:0.5"], "hard and fixed"),
    (["query", "{tiny}", "--hard", "rain=yes", "--likelihood", "rain=no:1,yes:0"], "impossible"),
    (["query", "{tiny}", "--target", "snow"], "no node 'snow'"),
    (["query", "{tiny}", "--scenario", "{missing}"], "not found"),
    (["query", "{tiny}", "--output", "{out}.pdf"], "unknown export format"),
    (["query", "{tiny}", "--format", "xlsx"], "invalid choice"),
    (["query", "{tiny}", "--bogus"], "unrecognized arguments"),
    (["query", "{missing}"], "not found"),
    (["query", "{broken}"], "unknown parent 'rainfall'"),
    (["validate", "{broken}"], "unknown parent 'rainfall'"),
    (["nodes", "{broken}"], "unknown parent 'rainfall'"),
    (["run", "{tiny}", "{missing}"], "not found"),
    (["timeline", "{tiny}", "{missing}"], "not found"),
    (["describe", "{missing}"], "not found"),
    (["frobnicate", "{tiny}"], "invalid choice"),
    ([], "required"),
]


@pytest.mark.parametrize(("argv", "problem"), BAD)
def test_bad_input_exits_2_with_one_line(cli, tmp_path, argv, problem):
    names = {
        "tiny": TINY,
        "missing": tmp_path / "missing.yaml",
        "broken": broken_model(tmp_path),
        "out": tmp_path / "out",
    }
    code, out, err = cli(*[a.format(**names) for a in argv])
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("forecast: error: ") or err.startswith("forecast ")
    assert problem in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]  # nothing written


def test_failed_query_does_not_touch_the_output_file(cli, tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("previous report\n", encoding="utf-8")
    code, _, _ = cli("query", TINY, "--hard", "rain=maybe", "--output", path)
    assert code == 2 and path.read_text(encoding="utf-8") == "previous report\n"


# ---------------------------------------------------------------- the installed script


@pytest.mark.slow
def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("forecast")
    if not script.exists():
        pytest.skip("the forecast console script is not installed in this environment")
    good = subprocess.run(
        [script, "query", TINY, "--hard", "rain=yes", "--target", "outcome", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert read_csv(good.stdout)["node"].tolist() == ["outcome", "outcome"]
    bad = subprocess.run(
        [script, "query", TINY, "--hard", "rain=maybe"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert (
        bad.stderr.count("\n") == 1
        and "Traceback" not in bad.stderr
        and "no state 'maybe'" in bad.stderr
    )

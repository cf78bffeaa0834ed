"""`forecast sensitivity | indicators | explain | uncertainty`: output, files, and one-line errors."""

import html
import io
import json
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
TINY_EVIDENCE = FIXTURES / "tiny_evidence"

RAINY = TINY_EVIDENCE / "scenarios" / "rainy.yaml"
ANALYST = TINY_EVIDENCE / "scenarios" / "analyst_view.yaml"


def csv(cli, *argv) -> pd.DataFrame:
    """`forecast ARGV --format csv`, which must succeed, read back as a table."""
    return pd.read_csv(io.StringIO(cli.ok(*argv, "--format", "csv")))


def test_sensitivity_table_and_csv(cli):
    code, out, err = cli("sensitivity", TINY, "--target", "outcome=good")
    assert code == 0, err
    assert out.split("\n")[0].split()[:4] == ["node", "low", "high", "swing"]
    table = csv(cli, "sensitivity", TINY, "--target", "outcome=good", "--hard", "rain=yes")
    assert list(table["node"]) == ["sprinkler"]
    assert list(table.columns[:4]) == ["node", "low", "high", "swing"]


def test_parameter_sensitivity(cli):
    code, out, err = cli(
        "sensitivity",
        TINY,
        "--target",
        "outcome=good",
        "--parameters",
        "--delta",
        "0.05",
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["metadata"]["settings"]["delta"] == 0.05
    assert set(data["rows"][0]) == {
        "node",
        "parent_states",
        "state",
        "value",
        "base",
        "minus",
        "plus",
        "swing",
    }


def test_parameter_sensitivity_top_keeps_the_largest_swings(cli):
    argv = ("sensitivity", TINY, "--target", "outcome=good", "--parameters")
    full = csv(cli, *argv)
    best = csv(cli, *argv, "--top", "2")
    assert len(full) > 2 and len(best) == 2
    assert list(best["swing"]) == list(full["swing"][:2])


def test_indicators(cli):
    table = csv(cli, "indicators", TINY, "--target", "outcome", "--scenario", ANALYST)
    assert list(table.columns) == [
        "node",
        "mutual_information_bits",
        "entropy_share",
        "state",
        "state_probability",
        "outcome=good",
        "outcome=bad",
    ]
    assert table["mutual_information_bits"].is_monotonic_decreasing


def test_explain_and_sequence(cli):
    table = csv(cli, "explain", TINY, "--target", "outcome=good", "--scenario", ANALYST)
    assert list(table["item"]) == ["fixed:rain", "sprinkler_seen"]
    assert {"delta_probability", "delta_log_odds"} <= set(table.columns)
    seq = csv(cli, "explain", TINY, "--target", "outcome=good", "--scenario", RAINY, "--sequence")
    assert list(seq["item"]) == ["prior", "hard:rain", "likelihood:sprinkler"]
    assert {"step", "cumulative_probability"} <= set(seq.columns)


def test_uncertainty_files(cli, tmp_path):
    targets = ("--target", "outcome", "--target", "rain")
    table = csv(cli, "uncertainty", TINY, "--samples", "300", "--seed", "4", *targets)
    assert list(table.columns) == ["node", "state", "probability", "p05", "p50", "p95"]
    assert list(table["node"].unique()) == ["outcome", "rain"]
    report = tmp_path / "u.html"
    code, _, err = cli(
        "uncertainty", TINY, "--samples", "300", "--hard", "rain=no", "--output", report
    )
    assert code == 0 and "wrote" in err
    page = html.unescape(report.read_text())
    assert "<svg" in page and "Uncertainty in the numbers" in page and "Samples: 300" in page
    code, _, _ = cli("uncertainty", TINY, "--samples", "300", "--output", tmp_path / "u.xlsx")
    assert code == 0 and (tmp_path / "u.xlsx").stat().st_size > 0


@pytest.mark.parametrize(
    "argv",
    [
        ["sensitivity", TINY, "--target", "outcome=meh"],
        ["sensitivity", TINY, "--target", "outcome"],
        ["sensitivity", TINY, "--target", "nope=good", "--parameters"],
        ["sensitivity", TINY, "--target", "outcome=good", "--parameters", "--delta", "2"],
        ["sensitivity", TINY, "--target", "outcome=good", "--parameters", "--top", "0"],
        ["indicators", TINY, "--target", "nope"],
        ["explain", TINY, "--target", "outcome=good", "--scenario", "missing.yaml"],
        ["explain", TINY, "--target", "rain=wet", "--scenario", RAINY],
        ["uncertainty", TINY, "--target", "nope"],
        ["uncertainty", TINY, "--samples", "0"],
    ],
)
def test_bad_input_exits_2_with_one_line(cli, argv):
    code, out, err = cli(*argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "error" in err


def test_missing_target_is_an_argument_error(cli):
    code, _, err = cli("sensitivity", TINY)
    assert code == 2 and err.count("\n") == 1


def test_query_with_intervals_adds_interval_columns(cli):
    argv = ("query", TINY, "--target", "outcome", "--intervals", "300", "--seed", "4")
    code, out, err = cli(*argv, "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["node", "state", "probability", "words", "p05", "p50", "p95"]
    assert (table["p05"] <= table["p50"]).all() and (table["p50"] <= table["p95"]).all()
    assert (table["p05"] < table["probability"]).all() and (
        table["probability"] < table["p95"]
    ).all()
    code, again, _ = cli(*argv, "--format", "csv")
    assert again == out  # the seed makes it reproducible
    code, _, err = cli("query", TINY, "--intervals", "0")
    assert code == 2 and err.count("\n") == 1 and "--intervals 0 must be a whole number" in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["query", TINY, "--intervals", "1"], "--intervals 1 must be a whole number of at least 2"),
        (
            ["uncertainty", TINY, "--samples", "1"],
            "--samples 1 must be a whole number of at least 2",
        ),
        (["uncertainty", TINY, "--seed", "-1"], "--seed -1 must be a non-negative whole number"),
    ],
)
def test_out_of_range_settings_name_the_option_typed(cli, argv, said):
    """The library checks the value and the CLI names its own option (it once said "samples")."""
    code, out, err = cli(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert said in err and "samples" not in err.replace("--samples", "")

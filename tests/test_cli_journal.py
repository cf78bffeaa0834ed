"""The journal from the command line: query/run --record, history, resolve, score."""

import datetime as dt
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest

import forecast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
SCENARIOS = FIXTURES / "tiny_evidence" / "scenarios"
TODAY = dt.datetime.now(dt.UTC).date().isoformat()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.sqlite3"


def test_query_record_stores_the_forecast_and_says_where(cli, db):
    code, out, err = cli(
        "query",
        TINY,
        "--hard",
        "rain=yes",
        "--target",
        "rain",
        "--record",
        "--author",
        "Ann",
        "--note",
        "first look",
        "--db",
        db,
    )
    assert code == 0
    assert "rain" in out  # the query's own output is unchanged
    assert err == f"recorded forecast 1 in {db}\n"
    table = forecast.history(db)
    # recorded: the outcome posteriors, whatever --target showed
    expected = forecast.load_model(TINY).posteriors(hard={"rain": "yes"}, targets="outcome")
    assert list(table["node"]) == ["outcome", "outcome"]
    assert list(table["probability"]) == pytest.approx(list(expected["probability"]), abs=1e-12)
    assert set(table["author"]) == {"Ann"} and set(table["note"]) == {"first look"}
    assert table.attrs["forecast_evidence"][1]["hard"] == {"rain": "yes"}


def test_query_without_record_writes_nothing(cli, db, monkeypatch):
    monkeypatch.setenv("FORECAST_DB", str(db))
    code, _, err = cli("query", TINY)
    assert code == 0 and err == "" and not db.exists()


def test_run_record_stores_one_forecast_per_scenario(cli, db):
    code, _, err = cli(
        "run",
        TINY,
        SCENARIOS / "rainy.yaml",
        SCENARIOS / "analyst_view.yaml",
        "--record",
        "--author",
        "Bo",
        "--db",
        db,
    )
    assert code == 0 and err.startswith("recorded forecasts 1, 2 in ")
    table = forecast.history(db)
    assert list(table.drop_duplicates("id")["scenario"]) == ["rainy", "analyst_view"]
    ev = table.attrs["forecast_evidence"]
    assert ev[2]["items"] == ["sprinkler_seen"] and ev[2]["fixed"] == {
        "rain": {"no": 0.4, "yes": 0.6}
    }


def test_forecast_db_is_honoured_and_db_overrides_it(cli, tmp_path, monkeypatch):
    env_db, flag_db = tmp_path / "env.sqlite3", tmp_path / "flag.sqlite3"
    monkeypatch.setenv("FORECAST_DB", str(env_db))
    monkeypatch.setenv("FORECAST_AUTHOR", "Env Author")
    assert cli("query", TINY, "--record")[0] == 0
    assert cli("query", TINY, "--record", "--db", flag_db)[0] == 0
    assert cli("query", TINY, "--record", "--db", flag_db)[0] == 0
    assert forecast.history(env_db)["id"].nunique() == 1
    assert forecast.history(flag_db)["id"].nunique() == 2
    assert set(forecast.history(env_db)["author"]) == {"Env Author"}
    code, out, _ = cli("history", "--format", "csv")
    assert code == 0 and pd.read_csv(io.StringIO(out))["id"].nunique() == 1


def test_history_formats(cli, db, tmp_path):
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    cli(
        "query", TINY, "--hard", "rain=no", "--record", "--author", "b", "--note", "dry", "--db", db
    )
    code, out, _ = cli("history", "--format", "csv", "--db", db)
    assert code == 0
    rows = pd.read_csv(io.StringIO(out))
    assert len(rows) == 4  # one row per forecast and node state
    assert list(rows["id"]) == [1, 1, 2, 2]
    assert {"id", "recorded_at", "model", "author", "node", "state", "probability", "note"} <= set(
        rows.columns
    )
    assert rows.groupby("id")["probability"].sum().tolist() == pytest.approx([1.0, 1.0])

    code, out, _ = cli("history", "--format", "json", "--db", db)
    data = json.loads(out)
    assert code == 0 and len(data["rows"]) == 4 and data["rows"][2]["note"] == "dry"

    code, out, _ = cli("history", "--db", db)
    assert code == 0 and "dry" in out and "56.2%" in out  # a table for people, with percentages

    code, out, _ = cli("history", "--format", "md", "--db", db)
    assert code == 0 and out.startswith("# Forecast journal") and "| recorded_at" in out

    code, out, _ = cli("history", "--model", "other", "--db", db)
    assert code == 0 and "No forecasts recorded" in out
    code, out, _ = cli(
        "history", "--model", TINY, "--format", "csv", "--db", db
    )  # a model file works too
    assert pd.read_csv(io.StringIO(out))["id"].nunique() == 2

    target = tmp_path / "history.csv"
    code, _, err = cli("history", "--output", target, "--db", db)
    assert code == 0 and err == f"wrote {target}\n"
    assert pd.read_csv(target)["id"].nunique() == 2


def test_resolve_then_score(cli, db):
    cli(
        "query",
        TINY,
        "--fixed",
        "outcome=good:0.8,bad:0.2",
        "--record",
        "--author",
        "ann",
        "--db",
        db,
    )
    cli(
        "query",
        TINY,
        "--fixed",
        "outcome=good:0.4,bad:0.6",
        "--record",
        "--author",
        "bob",
        "--db",
        db,
    )
    code, out, _ = cli("score", "--db", db)
    assert code == 0 and "No resolved forecasts" in out
    code, out, _ = cli("resolve", "tiny", "outcome", "good", "--date", TODAY, "--db", db)
    assert (
        code == 0
        and out == f"resolved tiny: outcome = good on {TODAY}; it scores 2 recorded forecasts\n"
    )

    code, out, _ = cli("score", "--format", "csv", "--db", db)
    assert code == 0
    scores = pd.read_csv(io.StringIO(out)).set_index("author")
    assert {"id", "model", "author", "node", "brier", "log_score"} <= set(
        scores.reset_index().columns
    )
    assert scores.loc["ann", "brier"] == pytest.approx(0.08)  # (0.8 - 1)^2 + 0.2^2
    assert scores.loc["bob", "brier"] == pytest.approx(0.72)  # (0.4 - 1)^2 + 0.6^2
    assert scores.loc["bob", "log_score"] == pytest.approx(math.log(0.4))

    code, out, _ = cli("score", "--author", "ann", "--format", "json", "--db", db)
    data = json.loads(out)
    assert [r["author"] for r in data["scores"]] == ["ann"]
    assert data["means"][-1]["brier"] == pytest.approx(0.08)
    assert {r["bin"] for r in data["calibration"]} == {"20%–30%", "80%–90%"}  # 0.2 and 0.8

    code, out, _ = cli("score", "--only", "calibration", "--format", "csv", "--db", db)
    cal = pd.read_csv(io.StringIO(out))
    assert cal["forecasts"].sum() == 4 and list(cal.columns)[:2] == ["bin", "low"]

    code, out, _ = cli("score", "--db", db)
    assert code == 0 and "Means" in out and "Calibration" in out and "0.080" in out


def test_resolving_before_every_recorded_forecast_says_why_none_is_scored(cli, db):
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    code, out, _ = cli("resolve", "tiny", "outcome", "good", "--date", "2019-06-30", "--db", db)
    assert code == 0
    assert out == (
        "resolved tiny: outcome = good on 2019-06-30; it scores 0 recorded forecasts"
        " (only forecasts recorded on or before that date count)\n"
    )


def test_resolve_defaults_to_today_and_accepts_a_model_file(cli, db):
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    code, out, _ = cli("resolve", TINY, "outcome", "bad", "--db", db)
    assert code == 0 and f"on {TODAY}" in out
    assert forecast.score(db).scores["outcome"].tolist() == ["bad"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["resolve", "tiny", "outcome", "meh", "--date", TODAY], "no state 'meh'"),
        (["resolve", "tiny", "outcome", "good", "--date", "31/01/2024"], "YYYY-MM-DD"),
        (["resolve", "tiny", "outcome", "good", "--date", "2999-01-01"], "in the future"),
        (["resolve", "nope", "outcome", "good"], "no recorded forecasts of model 'nope'"),
        (["history", "--output", "out.xlsx"], "unknown format"),
        (["score", "--format", "yaml"], "invalid choice"),
        (["query", str(TINY), "--record", "--author", "x" * 101], "limit is 100"),
    ],
)
def test_journal_errors_are_one_line_with_exit_2(cli, db, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    code, _, err = cli(*args, "--db", db)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "out.xlsx").exists()


def test_damaged_journal_from_the_cli(cli, db):
    db.write_bytes(b"\x00garbage" * 100)
    before = db.read_bytes()
    for args in (
        ["history"],
        ["score"],
        ["query", TINY, "--record"],
        ["resolve", "tiny", "outcome", "good"],
    ):
        code, _, err = cli(*args, "--db", db)
        assert code == 2 and err.count("\n") == 1 and "not an SQLite database" in err
    assert db.read_bytes() == before

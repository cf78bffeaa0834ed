"""The journal from the command line: query/run --record, history, resolve, score."""

import datetime as dt
import io
import json
import math
from pathlib import Path

import numpy as np
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
    table = forecast.history(db=db)
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
    table = forecast.history(db=db)
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
    assert forecast.history(db=env_db)["id"].nunique() == 1
    assert forecast.history(db=flag_db)["id"].nunique() == 2
    assert set(forecast.history(db=env_db)["author"]) == {"Env Author"}
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
    assert list(cal.columns)[:3] == ["kind", "author", "bin"]
    assert cal[cal["author"] == "(all)"]["forecasts"].sum() == 4

    code, out, _ = cli("score", "--db", db)
    assert code == 0 and "Means" in out and "Calibration" in out and "0.080" in out


def test_resolving_before_every_recorded_forecast_says_why_none_is_scored(cli, db):
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    code, _, err = cli("resolve", "tiny", "outcome", "good", "--date", "2019-06-30", "--db", db)
    assert code == 2 and "before the question's horizon 2020-01-31" in err
    code, out, _ = cli(
        "resolve", "tiny", "outcome", "good", "--date", "2019-06-30", "--before-horizon", "--db", db
    )
    assert code == 0
    assert out == (
        "resolved tiny: outcome = good on 2019-06-30; it scores 0 recorded forecasts"
        " (only forecasts issued on or before that date count)\n"
    )


def test_resolve_defaults_to_today_and_accepts_a_model_file(cli, db):
    cli("query", TINY, "--record", "--author", "a", "--db", db)
    code, out, _ = cli("resolve", TINY, "outcome", "bad", "--db", db)
    assert code == 0 and f"on {TODAY}" in out
    assert forecast.score(db=db).scores["outcome"].tolist() == ["bad"]


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


def test_cli_re_resolving_needs_amend_and_reason_and_history_keeps_both(cli, db):
    cli(
        "query",
        TINY,
        "--fixed",
        "outcome=good:0.8,bad:0.2",
        "--record",
        "--author",
        "a",
        "--db",
        db,
    )
    code, out, _ = cli(
        "resolve", TINY, "outcome", "good", "--date", TODAY, "--source", "the paper", "--db", db
    )
    assert code == 0 and out.startswith("resolved tiny")
    code, _, err = cli("resolve", TINY, "outcome", "bad", "--date", TODAY, "--db", db)
    assert code == 2 and "already resolved as 'good'" in err and "--amend --reason" in err
    code, _, err = cli("resolve", TINY, "outcome", "bad", "--date", TODAY, "--amend", "--db", db)
    assert code == 2 and "needs a reason" in err
    code, out, _ = cli(
        "resolve",
        TINY,
        "outcome",
        "bad",
        "--date",
        TODAY,
        "--amend",
        "--reason",
        "retracted",
        "--db",
        db,
    )
    assert code == 0 and out.startswith("amended (version 2) tiny")
    code, out, _ = cli("history", "--db", db)
    assert code == 0 and "Resolutions (every version" in out
    assert "the paper" in out and "retracted" in out
    code, out, _ = cli("resolutions", "--format", "csv", "--db", db)
    versions = pd.read_csv(io.StringIO(out))
    assert list(versions["state"]) == ["good", "bad"] and list(versions["current"]) == [False, True]
    code, out, _ = cli("score", "--db", db)
    assert "1.280" in out  # (0.8 - 0)^2 + (0.2 - 1)^2 against the amended outcome
    assert "the resolution of tiny/outcome was amended" in out


def test_history_shows_the_model_hash_as_of_date_and_kind(cli, db):
    model = forecast.load_model(TINY)
    cli("query", TINY, "--record", "--author", "a", "--as-of", "2018-01-31", "--db", db)
    code, out, _ = cli("history", "--db", db)
    assert code == 0 and model.content_hash[:12] in out
    assert "retrospective" in out and "2018-01-31" in out
    code, out, _ = cli("history", "--format", "csv", "--db", db)
    rows = pd.read_csv(io.StringIO(out))
    assert set(rows["model_hash"]) == {model.content_hash} and set(rows["kind"]) == {
        "retrospective"
    }
    # --as-of is also the query's forecast date (docs/evidence.md), with or without --record
    code, out, _ = cli("query", TINY, "--as-of", "2018-01-31")
    assert code == 0 and "outcome" in out


def test_history_csv_defuses_spreadsheet_formulas(cli, db):
    cli(
        "query",
        TINY,
        "--record",
        "--author",
        '=HYPERLINK("http://x","y")',
        "--note",
        "+1 call",
        "--db",
        db,
    )
    code, out, _ = cli("history", "--format", "csv", "--db", db)
    rows = pd.read_csv(io.StringIO(out))
    assert all(a.startswith("'=") for a in rows["author"])
    assert all(n.startswith("'+") for n in rows["note"])


def test_backtest_on_a_fixture_prints_scores_next_to_the_uniform_and_reference(cli, tmp_path):
    code, out, err = cli(
        "backtest",
        TINY,
        "--resolutions",
        FIXTURES / "tiny_resolutions.yaml",
        "--evidence",
        FIXTURES / "tiny_evidence",
        "--reference",
        FIXTURES / "tiny_reference.yaml",
        "--format",
        "csv",
    )
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    # the model's as-of date and every item date, all before the outcome was known
    assert list(table["as_of"]) == ["2018-01-31", "2018-02-01", "2018-02-15", "2018-03-01", "mean"]
    model = forecast.load_model(TINY)
    items = forecast.load_evidence(FIXTURES / "tiny_evidence")
    for _day, row in table.iloc[:4].iterrows():
        known = [it for it in items if it.date.isoformat() <= row["as_of"]]
        p = model.posteriors(scenario=model.evidence(items=known), targets="outcome")
        good = float(p.set_index("state").loc["good", "probability"])
        assert row["items"] == len(known)
        assert row["model_probability"] == pytest.approx(good, abs=1e-12)
        assert row["model_brier"] == pytest.approx(2 * (1 - good) ** 2)
        assert row["uniform_brier"] == pytest.approx(0.5)
        assert row["reference_brier"] == pytest.approx(0.18)
        assert row["reference_log_score"] == pytest.approx(math.log(0.7))
    mean = table.iloc[-1]
    assert mean["model_brier"] == pytest.approx(table["model_brier"].iloc[:4].mean())
    for fmt in ("table", "md", "json", "html"):
        code, out, _ = cli(
            "backtest",
            TINY,
            "--resolutions",
            FIXTURES / "tiny_resolutions.yaml",
            "--format",
            fmt,
            "--as-of",
            "2018-01-31",
        )
        assert code == 0 and "uniform" in out.lower()
    target = tmp_path / "backtest.xlsx"
    code, _, _ = cli(
        "backtest", TINY, "--resolutions", FIXTURES / "tiny_resolutions.yaml", "-o", target
    )
    assert code == 0 and target.stat().st_size > 0


def test_backtest_of_the_default_model_with_a_test_resolutions_file(cli, tmp_path):
    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "journal.sqlite3"
    code, out, err = cli(
        "backtest",
        root / "models" / "russia_iran.yaml",
        "--resolutions",
        FIXTURES / "russia_iran_resolutions_test.yaml",
        "--evidence",
        root / "evidence",
        "--as-of",
        "2016-01-31",
        "--as-of",
        "2018-01-31",
        "--format",
        "csv",
        "--record",
        "--author",
        "tester",
        "--db",
        db,
    )
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    rows = table[table["as_of"] != "mean"]
    assert set(rows["as_of"]) == {"2016-01-31", "2018-01-31"}
    assert set(rows["node"]) == {"relationship_outcome", "iran_marginalised_in_syria"}
    three = rows[rows["node"] == "relationship_outcome"]
    assert three["uniform_brier"].tolist() == pytest.approx([2 / 3, 2 / 3])  # 3 states
    assert (three["items"].iloc[0] < three["items"].iloc[1]) and three["items"].iloc[1] > 0
    assert np.isfinite(rows[["model_brier", "model_log_score"]].to_numpy()).all()
    # --record: the forecasts as of each date are in the journal as retrospective ones
    history = forecast.history(db=db)
    assert set(history["kind"]) == {"retrospective"}
    assert sorted({d.isoformat() for d in history["as_of"]}) == ["2016-01-31", "2018-01-31"]
    recorded = history[(history["as_of"] == dt.date(2018, 1, 31)) & (history["state"] == "rupture")]
    shown = three[three["as_of"] == "2018-01-31"]
    model = forecast.load_model(root / "models" / "russia_iran.yaml")
    assert "rupture" in model.states("relationship_outcome")
    # the recorded distribution scores as the backtest says
    forecast.resolve(model, "relationship_outcome", "marriage_of_convenience", "2020-01-31", db=db)
    scored = forecast.score(db=db, kind="retrospective").scores
    got = scored[scored["as_of"] == dt.date(2018, 1, 31)]["brier"].iloc[0]
    assert got == pytest.approx(float(shown["model_brier"].iloc[0]), abs=1e-9)
    assert len(recorded) == 1


def test_backtest_refuses_bad_resolution_files(cli, write_yaml):
    for text, message in [
        ("- {node: weather, state: good, known_on: 2020-01-31}\n", "no node 'weather'"),
        ("- {node: outcome, state: great, known_on: 2020-01-31}\n", "no state 'great'"),
        ("- {node: outcome, state: good}\n", "needs 'known_on'"),
        ("- {node: outcome, state: good, known_on: 2020-01-31, extra: 1}\n", "unknown field"),
        ("{}\n", "expected a list"),
    ]:
        path = write_yaml(text, "res.yaml")
        code, _, err = cli("backtest", TINY, "--resolutions", path)
        assert code == 2 and message in err and err.count("\n") == 1


def test_pool_from_the_cli(cli, db):
    for who, p in (("ann", 0.9), ("bob", 0.6)):
        cli(
            "query",
            TINY,
            "--fixed",
            f"outcome=good:{p},bad:{1 - p:.1f}",
            "--record",
            "--author",
            who,
            "--db",
            db,
        )
    cli("journal-setting", TINY, "extremise", "2", "--db", db)
    cli("resolve", TINY, "outcome", "good", "--date", TODAY, "--db", db)
    code, out, _ = cli("pool", "tiny", "--format", "csv", "--db", db)
    assert code == 0
    scores = pd.read_csv(io.StringIO(out)).set_index("forecaster")
    assert scores.loc["linear pool", "probability"] == pytest.approx(0.75)
    assert "mean of log-odds, extremised ×2" in scores.index
    assert scores.loc["ann", "brier"] == pytest.approx(2 * 0.1**2)


def test_monte_carlo_draws_are_bounded_in_the_library_with_a_message(cli, tiny):
    from forecast.analysis import MAX_SAMPLES, uncertainty

    code, _, err = cli("query", TINY, "--intervals", "1000000000")
    assert code == 2 and f"limit of {MAX_SAMPLES:,}" in err and err.count("\n") == 1
    assert "--intervals 1000000000" in err  # the option the user typed, not "samples"
    with pytest.raises(forecast.EvidenceError, match="limit"):
        uncertainty(tiny, MAX_SAMPLES + 1)


def test_the_cli_journal_runs_on_postgresql_from_forecast_db(cli, pg_server, monkeypatch):
    url = pg_server.url()
    monkeypatch.setenv("FORECAST_DB", url)
    code, _, err = cli("query", TINY, "--record", "--author", "pg", "--as-of", "2018-01-31")
    assert code == 0 and err.startswith("recorded forecast 1 in postgresql://postgres@")
    assert "postgresql" in forecast.journal.describe() and "options" not in err
    code, out, _ = cli("resolve", TINY, "outcome", "good", "--date", "2020-01-31")
    assert code == 0 and "it scores 1 recorded forecast" in out
    code, out, _ = cli("score", "--format", "json")
    data = json.loads(out)
    assert [r["kind"] for r in data["scores"]] == ["retrospective"]
    assert forecast.history(db=url)["author"].iloc[0] == "pg"

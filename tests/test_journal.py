"""The forecast journal: recording, history, resolution, scores, calibration, schema and faults."""

import datetime as dt
import hashlib
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast import journal
from forecast.errors import JournalError

UTC = dt.UTC
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """The journal under test: an SQLite file, or a fresh schema on a real PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "journal.sqlite3"
    return request.getfixturevalue("pg_server").url()


@pytest.fixture
def sqlite_db(tmp_path):
    """Tests of the file itself (headers, damage, WAL, permissions) run on SQLite only."""
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def clock(monkeypatch):
    """Set the journal's clock: clock("2024-01-05T10:00")."""

    def set_time(text: str) -> None:
        when = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
        monkeypatch.setattr(journal.storage, "now", lambda: when)

    return set_time


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fixed_outcome(model, good: float):
    """Posteriors whose outcome distribution is exactly (good, 1 - good): fixed evidence is met exactly."""
    return model.posteriors(fixed={"outcome": {"good": good, "bad": 1 - good}})


# ---------------------------------------------------------------- recording


def test_record_stores_outcome_posteriors_evidence_author_and_model(tiny, db):
    fid = forecast.record(tiny, {"hard": {"rain": "yes"}}, note="wet season", author="Ann", db=db)
    table = forecast.history(db=db)
    expected = tiny.posteriors(hard={"rain": "yes"}, targets=["outcome"])
    assert list(table["id"].unique()) == [fid]
    assert list(table["node"]) == ["outcome", "outcome"]  # outcome nodes only
    assert list(table["state"]) == tiny.states("outcome")
    np.testing.assert_allclose(table["probability"], expected["probability"], atol=1e-12)
    row = table.iloc[0]
    assert (row["model"], row["author"], row["note"]) == ("tiny", "Ann", "wet season")
    assert row["model_hash"] == tiny.content_hash
    assert row["recorded_at"].tzinfo is not None
    assert abs(row["recorded_at"] - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=5)
    assert "hard rain: yes" in row["evidence"]
    raw = table.attrs["forecast_evidence"][fid]
    assert raw["hard"] == {"rain": "yes"} and raw["likelihood"] == {} and raw["items"] == []


def test_record_accepts_a_posteriors_table_scenario_evidence_or_nothing(tiny, db):
    scenario = forecast.load_scenario(FIXTURES / "tiny_evidence" / "scenarios" / "rainy.yaml")
    ids = [
        forecast.record(tiny, tiny.posteriors(hard={"rain": "no"}), author="a", db=db),
        forecast.record(tiny, scenario, author="a", db=db),
        forecast.record(tiny, tiny.evidence(scenario), author="a", db=db),
        forecast.record(tiny, None, author="a", db=db),
    ]
    assert ids == sorted(ids) and len(set(ids)) == 4
    table = forecast.history(db=db)
    good = table[table["state"] == "good"].set_index("id")["probability"]
    assert good[ids[0]] == pytest.approx(
        tiny.posteriors(hard={"rain": "no"}, targets="outcome")["probability"].iloc[0], abs=1e-12
    )
    assert good[ids[1]] == pytest.approx(good[ids[2]], abs=1e-12)  # the scenario, evaluated here
    assert good[ids[3]] == pytest.approx(
        tiny.posteriors(targets="outcome")["probability"].iloc[0], abs=1e-12
    )
    scen = table.drop_duplicates("id").set_index("id")["scenario"]
    assert scen[ids[1]] == "rainy"
    assert table.attrs["forecast_evidence"][ids[1]]["likelihood"] == {
        "sprinkler": {"off": 0.5, "on": 1.0}
    }


def test_record_run_writes_one_forecast_per_scenario(tiny, db):
    ids = journal.record_run(
        tiny, [{"hard": {"rain": "yes"}}, {"hard": {"rain": "no"}}], author="a", db=db
    )
    table = forecast.history(db=db)
    assert sorted(table["id"].unique()) == ids and len(table) == 4


def test_record_rejects_what_it_cannot_record(tiny, db, write_yaml):
    other = forecast.load_model(
        write_yaml(TINY.read_text(encoding="utf-8").replace("variance: 0.1", "variance: 0.2"))
    )
    two = forecast.run(
        tiny, [tiny.evidence({"hard": {"rain": "yes"}}), tiny.evidence()], names=["a", "b"]
    )
    bad = tiny.posteriors(targets="outcome")
    bad.loc[0, "probability"] = 0.9
    cases = [
        ("not a model", None, "forecast.Model"),
        (tiny, 42, "posteriors table"),
        (tiny, tiny.posteriors(targets="rain"), "none of the outcome nodes"),
        (tiny, two, "several scenarios"),
        (tiny, other.posteriors(), "different model"),
        (tiny, bad, "sum to"),
        (tiny, pd.DataFrame({"node": ["outcome"]}), "columns"),
    ]
    for model, what, message in cases:
        with pytest.raises(JournalError, match=message):
            forecast.record(model, what, author="a", db=db)
    with pytest.raises(forecast.EvidenceError):
        forecast.record(tiny, {"hard": {"rain": "maybe"}}, db=db)
    with pytest.raises(JournalError, match="single line"):
        forecast.record(tiny, None, author="Ann\nBob", db=db)
    with pytest.raises(JournalError, match="limit"):
        forecast.record(tiny, None, author="a", note="x" * (journal.MAX_NOTE + 1), db=db)
    assert forecast.history(db=db).empty  # nothing was written by any failed call


def test_author_defaults_to_forecast_author(tiny, db, monkeypatch):
    monkeypatch.setenv("FORECAST_AUTHOR", "Dana")
    forecast.record(tiny, None, db=db)
    assert set(forecast.history(db=db)["author"]) == {"Dana"}


def test_forecast_db_environment_variable_sets_the_default_journal(tiny, tmp_path, monkeypatch):
    target = tmp_path / "team" / "shared.sqlite3"
    monkeypatch.setenv("FORECAST_DB", str(target))
    fid = forecast.record(tiny, None, author="a")
    assert target.is_file()
    assert list(forecast.history()["id"].unique()) == [fid]
    other = tmp_path / "mine.sqlite3"
    assert forecast.history(db=other).empty and not other.exists()  # reading creates nothing


def test_default_journal_lives_in_the_user_data_folder(monkeypatch):
    import platformdirs

    monkeypatch.delenv("FORECAST_DB", raising=False)
    path = journal.default_path()
    assert path.name == "journal.sqlite3"
    assert path.parent == type(path)(platformdirs.user_data_dir("forecast", appauthor=False))


def test_a_failed_write_leaves_no_partial_forecasts(tiny, db, monkeypatch):
    forecast.record(tiny, None, author="a", db=db)
    calls = {"n": 0}
    real_now = journal.storage.now

    def failing_now():
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk unplugged")
        return real_now()

    monkeypatch.setattr(journal.storage, "now", failing_now)
    with pytest.raises(OSError):
        journal.record_run(tiny, [None, {"hard": {"rain": "yes"}}, None], author="a", db=db)
    monkeypatch.setattr(journal.storage, "now", real_now)
    table = forecast.history(db=db)
    assert table["id"].nunique() == 1 and len(table) == 2  # the run is all or nothing


# ---------------------------------------------------------------- scoring


def test_brier_and_log_score_follow_the_conventions(tiny, db, clock):
    clock("2024-01-10T09:00")
    a = forecast.record(tiny, fixed_outcome(tiny, 0.8), author="ann", db=db)
    b = forecast.record(tiny, fixed_outcome(tiny, 0.3), author="bob", db=db)
    clock("2024-02-01T12:00")
    assert forecast.resolve("tiny", "outcome", "good", "2024-01-31", db=db) == 2
    result = forecast.score(db=db)
    scores = result.scores.set_index("id")
    # Brier over both states: (0.8 - 1)^2 + (0.2 - 0)^2 = 0.08; (0.3 - 1)^2 + 0.7^2 = 0.98
    assert scores.loc[a, "brier"] == pytest.approx(0.08)
    assert scores.loc[b, "brier"] == pytest.approx(0.98)
    assert scores.loc[a, "log_score"] == pytest.approx(math.log(0.8))
    assert scores.loc[b, "log_score"] == pytest.approx(math.log(0.3))
    assert set(result.scores.columns) >= {"id", "model", "author", "node", "brier", "log_score"}
    assert list(scores["outcome"]) == ["good", "good"]
    means = result.means.set_index("author")
    assert means.loc["(all)", "brier"] == pytest.approx(0.53)
    assert means.loc["(all)", "log_score"] == pytest.approx((math.log(0.8) + math.log(0.3)) / 2)
    assert means.loc["ann", "scored"] == 1 and means.loc["(all)", "scored"] == 2


def test_extreme_forecasts_score_0_and_2_and_stay_finite(tiny, db, clock):
    clock("2024-01-10T09:00")
    forecast.record(tiny, {"hard": {"outcome": "good"}}, author="sure", db=db)
    forecast.resolve("tiny", "outcome", "good", "2024-01-10", db=db)
    scores = forecast.score(db=db).scores.set_index("author")
    assert scores.loc["sure", "brier"] == pytest.approx(0, abs=1e-12)
    assert scores.loc["sure", "log_score"] == pytest.approx(0, abs=1e-12)
    clock("2024-01-11T09:00")
    forecast.resolve(
        "tiny", "outcome", "bad", "2024-01-10", amend=True, reason="misread the report", db=db
    )
    result = forecast.score(db=db)
    scores = result.scores.set_index("author")
    assert scores.loc["sure", "brier"] == pytest.approx(2.0)
    assert scores.loc["sure", "log_score"] == pytest.approx(math.log(journal.LOG_FLOOR))
    assert np.isfinite(result.means[["brier", "log_score"]].to_numpy()).all()
    assert bool(scores.loc["sure", "amended"]) and result.scores.attrs["amended"] == [
        "tiny/outcome"
    ]


def test_a_resolution_scores_forecasts_issued_on_or_before_the_day_it_was_known(tiny, db, clock):
    clock("2024-01-05T08:00")
    early = forecast.record(tiny, fixed_outcome(tiny, 0.6), author="a", db=db)
    clock("2024-02-01T23:59")
    same_day = forecast.record(tiny, fixed_outcome(tiny, 0.7), author="a", db=db)
    clock("2024-03-01T08:00")
    late = forecast.record(tiny, fixed_outcome(tiny, 0.2), author="a", db=db)
    assert forecast.resolve("tiny", "outcome", "good", dt.date(2024, 2, 1), db=db) == 2
    scored = forecast.score(db=db).scores
    assert sorted(scored["id"]) == [early, same_day]  # the March forecast knew the answer
    assert late not in set(scored["id"])
    assert set(scored["kind"]) == {"live"}


def test_re_resolving_needs_an_amendment_with_a_reason_and_keeps_every_version(tiny, db, clock):
    clock("2024-01-05T08:00")
    fid = forecast.record(tiny, fixed_outcome(tiny, 0.6), author="a", db=db)
    clock("2024-02-02T08:00")
    forecast.resolve(tiny, "outcome", "good", "2024-02-01", author="ann", source="Reuters", db=db)
    assert forecast.score(db=db).scores["brier"].iloc[0] == pytest.approx(2 * 0.4**2)
    # the same state and day again changes nothing; another state is refused without amending
    assert forecast.resolve(tiny, "outcome", "good", "2024-02-01", db=db) == 1
    with pytest.raises(JournalError, match="already resolved as 'good'.*amend"):
        forecast.resolve(tiny, "outcome", "bad", "2024-02-01", db=db)
    with pytest.raises(JournalError, match="needs a reason"):
        forecast.resolve(tiny, "outcome", "bad", "2024-02-01", amend=True, db=db)
    assert forecast.score(db=db).scores["brier"].iloc[0] == pytest.approx(2 * 0.4**2)  # untouched
    clock("2024-02-03T08:00")
    done = journal.resolve_version(
        tiny,
        "outcome",
        "bad",
        "2024-02-01",
        amend=True,
        reason="the source was retracted",
        author="bob",
        db=db,
    )
    assert (done.version, done.amended, done.scores) == (2, True, 1)
    versions = journal.resolutions(db=db)
    assert list(versions["version"]) == [1, 2] and list(versions["state"]) == ["good", "bad"]
    assert list(versions["current"]) == [False, True]
    assert list(versions["author"]) == ["ann", "bob"] and versions["source"].iloc[0] == "Reuters"
    assert versions["reason"].iloc[1] == "the source was retracted"
    assert list(journal.resolutions(db=db, current=True)["state"]) == ["bad"]
    scored = forecast.score(db=db).scores.set_index("id")
    assert scored.loc[fid, "outcome"] == "bad" and bool(scored.loc[fid, "amended"])
    assert scored.loc[fid, "brier"] == pytest.approx(2 * 0.6**2)
    with pytest.raises(JournalError, match="no resolution to amend"):
        forecast.resolve(tiny, "rain", "yes", "2024-02-01", amend=True, reason="x", db=db)


def test_resolving_before_the_horizon_needs_saying_so(tiny, db, clock):
    clock("2019-06-01T08:00")
    forecast.record(tiny, None, author="a", db=db)
    with pytest.raises(JournalError, match="before the question's horizon 2020-01-31"):
        forecast.resolve("tiny", "outcome", "good", "2019-06-01", db=db)
    with pytest.raises(JournalError, match="has no node 'weather'"):
        forecast.resolve(tiny, "weather", "good", "2019-06-01", db=db)
    assert (
        forecast.resolve("tiny", "outcome", "good", "2019-06-01", before_horizon=True, db=db) == 1
    )
    assert bool(journal.resolutions(db=db)["before_horizon"].iloc[0])


def test_a_retrospective_forecast_as_of_the_model_date_is_scored_and_kept_apart(tiny, db, clock):
    items = forecast.load_evidence(FIXTURES / "tiny_evidence")
    clock("2026-06-01T10:00")
    live = forecast.record(tiny, tiny.evidence(items=items), author="a", db=db)
    retro = forecast.record(tiny, tiny.evidence(items=items), author="a", as_of="2018-01-31", db=db)
    table = forecast.history(db=db).drop_duplicates("id").set_index("id")
    assert table.loc[retro, "kind"] == "retrospective" and table.loc[live, "kind"] == "live"
    assert table.loc[retro, "as_of"] == dt.date(2018, 1, 31)
    assert table.loc[live, "as_of"] == dt.date(2026, 6, 1)
    assert table.loc[retro, "model_hash"] == tiny.content_hash
    # every item is dated after 2018-01-31: the retrospective forecast is the model's own belief
    raw = forecast.history(db=db).attrs["forecast_evidence"][retro]
    assert raw["items"] == [] and len(raw["items_after_as_of"]) == 3
    good = forecast.history(db=db).query("state == 'good'").set_index("id")["probability"]
    assert good[retro] == pytest.approx(
        tiny.posteriors(targets="outcome")["probability"].iloc[0], abs=1e-12
    )
    assert good[live] != pytest.approx(good[retro])
    assert forecast.resolve(tiny, "outcome", "good", "2020-01-31", db=db) == 1
    result = forecast.score(db=db)
    assert list(result.scores["id"]) == [
        retro
    ]  # the live one was issued after the outcome was known
    assert list(result.scores["kind"]) == ["retrospective"]
    assert set(result.means["kind"]) == {"retrospective"} and set(result.calibration["kind"]) == {
        "retrospective"
    }
    assert forecast.score(db=db, kind="live").scores.empty
    with pytest.raises(JournalError, match="after today"):
        forecast.record(tiny, None, author="a", as_of="2026-06-02", db=db)
    with pytest.raises(JournalError, match="not a computed table"):
        forecast.record(tiny, tiny.posteriors(), author="a", as_of="2018-01-31", db=db)


def test_forecasts_of_different_model_files_under_one_id_are_scored_apart(
    tiny, db, clock, write_yaml
):
    other = forecast.load_model(
        write_yaml(TINY.read_text(encoding="utf-8").replace("variance: 0.1", "variance: 0.2"))
    )
    assert other.id == tiny.id and other.content_hash != tiny.content_hash
    clock("2019-01-10T09:00")
    forecast.record(tiny, fixed_outcome(tiny, 0.8), author="ann", db=db)
    forecast.record(other, fixed_outcome(other, 0.4), author="ann", db=db)
    clock("2020-02-01T09:00")
    forecast.resolve("tiny", "outcome", "good", "2020-01-31", db=db)
    means = forecast.score(db=db).means
    alls = means[means["author"] == "(all)"].set_index("model_hash")
    assert set(alls.index) == {tiny.content_hash, other.content_hash}
    assert alls.loc[tiny.content_hash, "brier"] == pytest.approx(0.08)
    assert alls.loc[other.content_hash, "brier"] == pytest.approx(0.72)
    combined = forecast.score(db=db, combine_versions=True).means
    row = combined[combined["author"] == "(all)"].iloc[0]
    assert row["model_hash"] == "(combined)" and row["scored"] == 2
    assert row["brier"] == pytest.approx(0.4)


def test_resolve_checks_its_input(tiny, db, clock):
    with pytest.raises(JournalError, match="no journal yet"):
        forecast.resolve("tiny", "outcome", "good", "2024-01-01", db=db)
    clock("2024-01-05T08:00")
    forecast.record(tiny, None, author="a", db=db)
    for args, message in [
        (("tiny", "outcome", "great", "2024-01-06"), "no state 'great'"),
        (("tiny", "rain", "yes", "2024-01-06"), "no recorded forecasts of node 'rain'"),
        (("other", "outcome", "good", "2024-01-06"), "no recorded forecasts of model 'other'"),
        (("tiny", "outcome", "good", "2024-13-01"), "YYYY-MM-DD"),
        (("tiny", "outcome", "good", "2024-02-01"), "in the future"),
        (("tiny", "outcome", "good", 20240101), "a date"),
        (("tiny", "", "good", "2024-01-06"), "node"),
    ]:
        with pytest.raises(JournalError, match=message):
            forecast.resolve(*args, db=db)
    assert journal.resolutions(db=db).empty


def test_calibration_bins_forecast_probabilities_against_observed_frequency(tiny, db, clock):
    clock("2024-01-10T09:00")
    for good in (0.85, 0.85, 0.85, 0.85, 0.15):
        forecast.record(tiny, fixed_outcome(tiny, good), author="a", db=db)
    clock("2024-01-12T09:00")
    forecast.resolve("tiny", "outcome", "good", "2024-01-11", db=db)
    cal = forecast.score(db=db).calibration
    assert set(cal["author"]) == {"a", "(all)"} and set(cal["kind"]) == {"live"}
    cal = cal[cal["author"] == "(all)"].set_index("bin")
    # ten forecast probabilities: 0.85 (x4, happened), 0.15 (x4, did not), 0.15 (happened), 0.85 (did not)
    assert list(cal.index) == ["10%–20%", "80%–90%"]
    assert cal.loc["80%–90%", "forecasts"] == 5 and cal.loc[
        "80%–90%", "observed_frequency"
    ] == pytest.approx(0.8)
    assert cal.loc["10%–20%", "forecasts"] == 5 and cal.loc[
        "10%–20%", "observed_frequency"
    ] == pytest.approx(0.2)
    assert cal.loc["80%–90%", "mean_probability"] == pytest.approx(0.85)


def test_score_and_history_filter_by_model_and_author(tiny, deterministic, db, clock):
    clock("2024-01-10T09:00")
    forecast.record(tiny, fixed_outcome(tiny, 0.9), author="ann", db=db)
    forecast.record(tiny, fixed_outcome(tiny, 0.4), author="bob", db=db)
    forecast.record(deterministic, None, author="ann", db=db)
    assert set(forecast.history(db=db, model="tiny")["model"]) == {"tiny"}
    assert set(forecast.history(db=db, model=tiny)["author"]) == {"ann", "bob"}
    assert set(forecast.history(db=db, model=deterministic.id)["model"]) == {deterministic.id}
    clock("2024-01-11T09:00")
    forecast.resolve("tiny", "outcome", "good", "2024-01-10", db=db)
    only_bob = forecast.score(db=db, model="tiny", author="bob")
    assert list(only_bob.scores["author"]) == ["bob"]
    assert only_bob.means.iloc[-1]["brier"] == pytest.approx(2 * 0.6**2)
    assert forecast.score(db=db, author="nobody").scores.empty


def test_empty_journal_scores_nothing(db):
    result = forecast.score(db=db)
    assert result.scores.empty and result.means.empty and result.calibration.empty
    assert isinstance(db, str) or not db.exists()


# ---------------------------------------------------------------- schema and faults


def test_new_journal_uses_wal_and_carries_id_and_version(tiny, sqlite_db):
    db = sqlite_db
    forecast.record(tiny, None, author="a", db=db)
    conn = sqlite3.connect(sqlite_db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == journal.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == journal.SCHEMA_VERSION
    conn.close()
    assert journal.schema_version(db=sqlite_db) == journal.SCHEMA_VERSION


def test_an_old_journal_migrates_forward_keeping_its_forecasts(sqlite_db):
    db = sqlite_db
    conn = sqlite3.connect(sqlite_db)
    conn.executescript(journal.MIGRATIONS[0]["sqlite"])
    conn.execute(f"PRAGMA application_id = {journal.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO forecasts VALUES (1, '2023-05-01T10:00:00+00:00', 'old', 'tiny', 'h', "
        '\'{"name": "legacy", "describe": []}\', \'from v1\')'
    )
    conn.executemany(
        "INSERT INTO posteriors VALUES (1, 'outcome', ?, ?, ?)",
        [("good", 0, 0.25), ("bad", 1, 0.75)],
    )
    conn.executemany(
        "INSERT INTO resolutions VALUES ('tiny', 'outcome', ?, ?, ?)",
        [
            ("2023-06-01", "good", "2023-06-01T10:00:00+00:00"),
            ("2023-07-01", "bad", "2023-07-01T10:00:00+00:00"),
        ],
    )
    conn.commit()
    conn.close()
    table = forecast.history(db=db)
    assert journal.schema_version(db=sqlite_db) == journal.SCHEMA_VERSION == 3
    assert list(table["probability"]) == [0.25, 0.75]
    assert set(table["scenario"]) == {"legacy"} and set(table["note"]) == {"from v1"}
    assert set(table["as_of"]) == {dt.date(2023, 5, 1)} and set(table["kind"]) == {"live"}
    # one resolution per date before: now versions of one resolution, the latest current
    versions = journal.resolutions(db=db)
    assert list(versions["state"]) == ["good", "bad"] and list(versions["current"]) == [False, True]
    assert forecast.score(db=db).scores["outcome"].iloc[0] == "bad"


def test_an_empty_database_of_another_program_is_never_stamped(tiny, sqlite_db):
    conn = sqlite3.connect(sqlite_db)
    conn.execute("PRAGMA user_version = 7")  # no tables, no application id: not ours
    conn.commit()
    conn.close()
    before = digest(sqlite_db)
    for call in (
        lambda: forecast.record(tiny, None, author="a", db=sqlite_db),
        lambda: forecast.history(db=sqlite_db),
    ):
        with pytest.raises(JournalError, match="another program"):
            call()
    assert digest(sqlite_db) == before
    conn = sqlite3.connect(sqlite_db)
    conn.execute("PRAGMA user_version = 0")
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="another program"):
        forecast.record(tiny, None, author="a", db=sqlite_db)


def test_a_postgresql_schema_of_another_program_is_refused_untouched(tiny, pg_server):
    import psycopg

    url = pg_server.url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    with pytest.raises(JournalError, match="another program"):
        forecast.record(tiny, None, author="a", db=url)
    with pytest.raises(JournalError, match="another program"):
        forecast.history(db=url)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    assert tables == [("customers",)]
    forecast.record(tiny, None, author="a", db=pg_server.url())  # a fresh schema becomes a journal
    with pytest.raises(JournalError, match="cannot connect"):
        forecast.history(db="postgresql://nobody@/x?host=/nonexistent-folder&port=1")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is a text file, not a database\n" * 20, "not an SQLite database"),
        (bytes(range(256)) * 16, "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4080, "damaged"),
    ],
    ids=["text", "binary", "corrupt-sqlite"],
)
def test_damaged_journal_gives_a_clear_error_and_is_never_overwritten(
    tiny, sqlite_db, content, message
):
    db = sqlite_db
    db.write_bytes(content)
    before = digest(sqlite_db)
    for call in (
        lambda: forecast.record(tiny, None, author="a", db=db),
        lambda: forecast.history(db=db),
        lambda: forecast.score(db=db),
        lambda: forecast.resolve("tiny", "outcome", "good", "2020-01-01", db=db),
    ):
        with pytest.raises(JournalError, match=message):
            call()
    assert digest(sqlite_db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


def test_a_journal_with_damaged_pages_is_reported_not_rewritten(tiny, sqlite_db):
    db = sqlite_db
    for _ in range(30):
        forecast.record(tiny, None, author="a", note="x" * 500, db=db)
    data = bytearray(db.read_bytes())
    assert len(data) > 8192
    data[4096:] = b"\x17" * (len(data) - 4096)  # keep SQLite's header page, smash the rest
    db.write_bytes(bytes(data))
    before = digest(sqlite_db)
    with pytest.raises(JournalError, match="damaged"):
        forecast.history(db=db)
    with pytest.raises(JournalError, match="damaged"):
        forecast.record(tiny, None, author="a", db=db)
    assert digest(sqlite_db) == before


def test_foreign_sqlite_database_is_refused(tiny, sqlite_db):
    db = sqlite_db
    conn = sqlite3.connect(sqlite_db)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.execute("INSERT INTO customers VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = digest(sqlite_db)
    with pytest.raises(JournalError, match="another program"):
        forecast.record(tiny, None, author="a", db=db)
    with pytest.raises(JournalError, match="another program"):
        forecast.history(db=db)
    assert digest(sqlite_db) == before


def test_journal_from_a_newer_version_is_refused(tiny, sqlite_db):
    db = sqlite_db
    forecast.record(tiny, None, author="a", db=db)
    conn = sqlite3.connect(sqlite_db)
    conn.execute(f"PRAGMA user_version = {journal.SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = digest(sqlite_db)
    with pytest.raises(JournalError, match="newer version"):
        forecast.record(tiny, None, author="a", db=db)
    with pytest.raises(JournalError, match="newer version"):
        forecast.score(db=db)
    assert digest(sqlite_db) == before


def test_journal_path_that_is_a_folder_or_under_a_file(tiny, tmp_path):
    with pytest.raises(JournalError, match="folder"):
        forecast.record(tiny, None, author="a", db=tmp_path)
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot create"):
        forecast.record(tiny, None, author="a", db=blocker / "journal.sqlite3")
    assert blocker.read_text() == "x"


def test_an_empty_file_becomes_a_journal(tiny, sqlite_db):
    db = sqlite_db
    db.touch()
    forecast.record(tiny, None, author="a", db=db)
    assert forecast.history(db=db)["id"].nunique() == 1


# ---------------------------------------------------------------- the app's History tab


def _history_tab(db_path, model_path):
    import forecast
    from forecast.ui.journal import render

    model = forecast.load_model(model_path)
    render(model, {"fixed": {"outcome": {"good": 0.7, "bad": 0.3}}}, db=db_path)


def test_history_tab_records_resolves_and_scores(sqlite_db):
    db = sqlite_db
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(
        _history_tab,
        kwargs={"db_path": str(sqlite_db), "model_path": str(TINY)},
        default_timeout=60,
    ).run()
    assert not app.exception
    assert "No forecasts" in app.info[0].value
    app.button[0].click().run()  # no author yet
    assert "Enter your name" in app.error[0].value and not db.exists()
    app.text_input(key="journal_author").input("Ann")
    app.text_area(key="journal_note").input("from the app")
    app.date_input(key="journal_as_of").set_value(dt.date(2018, 1, 31))
    app.button[0].click().run()
    assert not app.exception and "Recorded forecast 1" in app.success[0].value
    assert "retrospective" in app.success[0].value
    table = forecast.history(db=db)
    assert list(table["probability"]) == pytest.approx([0.7, 0.3])
    assert set(table["note"]) == {"from the app"} and set(table["author"]) == {"Ann"}
    assert set(table["kind"]) == {"retrospective"}
    assert len(app.get("vega_lite_chart")) == 1  # the forecasts-over-time chart
    # "known on" defaults to the question's horizon, shown beside it
    assert app.date_input(key="journal_resolve_date").value == dt.date(2020, 1, 31)
    assert any("Question horizon: 2020-01-31" in c.value for c in app.caption)
    app.selectbox(key="journal_resolve_state").select("good")
    app.button(key="journal_resolve").click().run()
    assert not app.exception and "scores 1" in app.success[0].value

    def frame(column):
        return next(d.value for d in app.dataframe if column in d.value.columns)

    means = frame("Mean Brier score")
    assert means.iloc[-1]["Mean Brier score"] == pytest.approx(0.18)  # (0.7 - 1)^2 + 0.3^2
    assert any("retrospective" in m.value for m in app.markdown)  # scored apart, and labelled
    assert len(app.get("vega_lite_chart")) == 2  # plus the calibration chart
    assert list(frame("Observed frequency")["Forecasts"]) == [1, 1]  # counts per bin
    assert "Reliability (lower is better)" in [c for d in app.dataframe for c in d.value.columns]
    shown = app.dataframe[0].value  # one row per forecast, outcome states by name
    assert list(shown["Wet grass: Good"]) == ["70.0%"] and list(shown["Author"]) == ["Ann"]
    assert list(shown["Kind"]) == ["Retrospective"] and list(shown["Issued as of"]) == [
        "2018-01-31"
    ]
    assert "Wet grass (analyst's probabilities)" in shown["Evidence"].iloc[0]
    assert str(sqlite_db) not in " ".join(
        m.value for m in app.markdown
    )  # the file's path only in "Details"
    assert any(str(sqlite_db) in c.value for c in app.caption)

    # another answer: a warning, a reason and a confirmation before it is amended
    app.selectbox(key="journal_resolve_state").select("bad").run()
    assert "already resolved as Good" in app.warning[0].value
    app.button(key="journal_resolve").click().run()
    assert "amend" in app.error[0].value
    assert list(journal.resolutions(db=db)["state"]) == ["good"]
    app.text_input(key="journal_resolve_reason").input("the report was wrong")
    app.checkbox(key="journal_resolve_amend").check().run()
    app.button(key="journal_resolve").click().run()
    assert not app.exception and app.success[0].value.startswith("Amended")
    versions = journal.resolutions(db=db)
    assert list(versions["state"]) == ["good", "bad"]
    assert versions["reason"].iloc[1] == "the report was wrong"
    assert list(frame("Reason")["Version"]) == [1, 2]
    assert any("was amended" in w.value for w in app.warning)

    # the backtest of the resolved question, with its chart
    app.button(key="journal_backtest").click().run()
    assert not app.exception
    assert len(app.get("vega_lite_chart")) == 3
    assert "uniform_brier" in frame("uniform_brier").columns


def _history_tab_behind_a_switch(db_path, model_path):
    import streamlit as st

    import forecast
    from forecast.ui.journal import render

    if st.toggle("Show the history", value=True, key="show"):
        render(
            forecast.load_model(model_path),
            {"fixed": {"outcome": {"good": 0.7, "bad": 0.3}}},
            db=db_path,
        )


def test_history_fields_survive_switching_tabs(sqlite_db):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(
        _history_tab_behind_a_switch,
        kwargs={"db_path": str(sqlite_db), "model_path": str(TINY)},
        default_timeout=60,
    ).run()
    app.text_input(key="journal_author").input("Ann").run()
    app.text_area(key="journal_note").input("a draft").run()
    app.toggle(key="show").set_value(False).run()  # the tab is closed: its widgets are not drawn
    assert not app.text_input
    app.toggle(key="show").set_value(True).run()
    assert app.text_input(key="journal_author").value == "Ann"
    assert app.text_area(key="journal_note").value == "a draft"
    app.button(key="journal_record").click().run()
    assert "Recorded forecast 1" in app.success[0].value
    assert (
        app.text_area(key="journal_note").value == ""
    )  # the note is not repeated on the next forecast
    assert app.text_input(key="journal_author").value == "Ann"


def test_history_tab_shows_journal_errors(tmp_path):
    from streamlit.testing.v1 import AppTest

    bad = tmp_path / "journal.sqlite3"
    bad.write_text("not a database")
    app = AppTest.from_function(
        _history_tab, kwargs={"db_path": str(bad), "model_path": str(TINY)}, default_timeout=60
    ).run()
    assert not app.exception
    assert "not an SQLite database" in app.error[0].value
    assert bad.read_text() == "not a database"


# ---------------------------------------------------------------- a read-only location

READ_ONLY_PROBE = """
import json, sys
import forecast
model = forecast.load_model(sys.argv[2])
out = {"history": int(forecast.history(db=sys.argv[1] + "/journal.sqlite3")["id"].nunique())}
for key, path in (("record_existing", "/journal.sqlite3"), ("record_new", "/new.sqlite3")):
    try:
        forecast.record(model, None, author="a", db=sys.argv[1] + path)
        out[key] = "recorded"
    except forecast.JournalError as exc:
        out[key] = str(exc)
print(json.dumps(out))
"""


def _run_read_only(folder, argv):
    """Run the probe with `folder` read-only: a read-only bind mount as root (root ignores modes), else chmod."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    cmd = [sys.executable, "-c", READ_ONLY_PROBE, str(folder), *argv]
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("root without unshare: cannot make a read-only folder")
        inner = " ".join(f"'{a}'" for a in cmd[3:])
        script = (
            f"mount --bind '{folder}' '{folder}' && mount -o remount,ro,bind '{folder}' '{folder}' && "
            f"exec '{sys.executable}' -c \"$PROBE\" {inner}"
        )
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PROBE": READ_ONLY_PROBE},
        )
        if proc.returncode != 0 and ("unshare" in proc.stderr or "mount" in proc.stderr):
            pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()[:200]}")
    else:
        folder.chmod(0o555)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        finally:
            folder.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow  # a subprocess under unshare
def test_read_only_location_reads_but_refuses_to_write(tiny, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "journal.sqlite3"
    forecast.record(tiny, None, author="a", db=db)
    forecast.record(tiny, None, author="b", db=db)
    before = digest(db)
    out = _run_read_only(folder, [str(TINY)])
    assert out["history"] == 2
    assert "read-only" in out["record_existing"]
    assert "read-only" in out["record_new"]
    assert digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["journal.sqlite3"]


def test_history_tab_pools_several_authors(sqlite_db, clock):
    from streamlit.testing.v1 import AppTest

    tiny = forecast.load_model(TINY)
    clock("2019-05-01T10:00")
    for who, p in (("ann", 0.9), ("bob", 0.5)):
        forecast.record(tiny, fixed_outcome(tiny, p), author=who, db=sqlite_db)
    clock("2020-02-01T10:00")
    forecast.resolve(tiny, "outcome", "good", "2020-01-31", db=sqlite_db)
    app = AppTest.from_function(
        _history_tab,
        kwargs={"db_path": str(sqlite_db), "model_path": str(TINY)},
        default_timeout=60,
    ).run()
    assert not app.exception
    pooled = next(d.value for d in app.dataframe if "forecaster" in d.value.columns)
    pooled = pooled.set_index("forecaster")
    assert pooled.loc["linear pool", "probability"] == pytest.approx(0.7)
    assert pooled.loc["ann", "brier"] == pytest.approx(2 * 0.1**2)
    # a forecast issued after the outcome was known is recorded, and says it will not count
    app.text_input(key="journal_author").input("Cy")
    app.button(key="journal_record").click().run()
    assert "already known before that day: this forecast will not be scored" in (
        app.success[0].value
    )


def test_postgresql_tests_fail_with_how_to_install_when_the_server_is_missing(tmp_path):
    """A missing PostgreSQL must fail the journal suite loudly, never let it pass by skipping."""
    import os
    import subprocess
    import sys

    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_needs_pg(pg_server):\n    pass\n", encoding="utf-8")
    conftest = Path(__file__).resolve().parent / "conftest.py"
    (tmp_path / "conftest.py").write_text(conftest.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pg.py").write_text(
        (Path(__file__).resolve().parent / "pg.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    empty = tmp_path / "no-postgres"
    empty.mkdir()
    env = {**os.environ, "FORECAST_PG_BIN": str(empty), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            str(probe),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode != 0
    assert "apt-get install -y postgresql" in proc.stdout
    assert "1 error" in proc.stdout and "skipped" not in proc.stdout

"""Pooling, extremising, Murphy's decomposition and out-of-sample recalibration, on both backends."""

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

import forecast
from forecast import journal
from forecast.errors import JournalError

UTC = dt.UTC
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny.yaml"


@pytest.fixture
def clock(monkeypatch):
    def set_time(text: str) -> None:
        when = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
        monkeypatch.setattr(journal.storage, "now", lambda: when)

    return set_time


def fixed(model, good: float):
    return model.posteriors(fixed={"outcome": {"good": good, "bad": 1 - good}})


def test_pooled_and_extremised_forecasts_match_a_direct_computation(tiny, journal_db, clock):
    db = journal_db
    clock("2019-01-10T09:00")
    given = {"ann": 0.9, "bob": 0.6, "cy": 0.3}
    for who, p in given.items():
        forecast.record(tiny, fixed(tiny, 0.5), author=who, db=db)  # superseded below
        forecast.record(tiny, fixed(tiny, p), author=who, db=db)
    journal.set_setting(tiny, "extremise", 2.5, db=db)  # fixed before the outcome is known
    clock("2020-02-01T09:00")
    forecast.resolve(tiny, "outcome", "good", "2020-01-31", db=db)
    clock("2020-02-02T09:00")
    journal.set_setting(tiny, "extremise", 9.0, db=db)  # set after: not used for this question
    pooled = journal.pool(model=tiny, db=db)
    table = pooled.forecasts.query("state == 'good'").set_index("forecaster")["probability"]
    ps = np.array(list(given.values()))
    linear = ps.mean()
    logit = np.log(ps / (1 - ps)).mean()
    assert table["linear pool"] == pytest.approx(linear)
    assert table["mean of log-odds"] == pytest.approx(1 / (1 + math.exp(-logit)))
    ext = 1 / (1 + math.exp(-2.5 * logit))
    assert table["mean of log-odds, extremised ×2.5"] == pytest.approx(ext)
    lin_ext = linear**2.5 / (linear**2.5 + (1 - linear) ** 2.5)
    assert table["linear pool, extremised ×2.5"] == pytest.approx(lin_ext)
    assert table["ann"] == pytest.approx(0.9)  # each author's latest forecast
    scores = pooled.scores.set_index("forecaster")
    assert scores.loc["linear pool", "brier"] == pytest.approx(2 * (1 - linear) ** 2)
    assert scores.loc["mean of log-odds, extremised ×2.5", "log_score"] == pytest.approx(
        math.log(ext)
    )
    assert scores.loc["cy", "brier"] == pytest.approx(2 * 0.7**2)
    assert scores.loc["linear pool", "authors"] == 3
    # three-state pooling: normalised geometric mean, computed by hand
    three = journal.log_odds_pool([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], extremise=1.5)
    g = np.exp(1.5 * np.log([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]).mean(axis=0))
    np.testing.assert_allclose(three, g / g.sum())
    with pytest.raises(JournalError, match="extremising exponent"):
        journal.pool(model=tiny, extremise=0, db=db)
    with pytest.raises(JournalError, match="at most 10"):
        journal.set_setting(tiny, "extremise", 50, db=db)


def test_murphy_decomposition_adds_up(tiny, journal_db, clock):
    db = journal_db
    clock("2019-01-10T09:00")
    for good in (0.85, 0.85, 0.85, 0.85, 0.15):
        forecast.record(tiny, fixed(tiny, good), author="a", db=db)
    clock("2020-02-01T09:00")
    forecast.resolve(tiny, "outcome", "good", "2020-01-31", db=db)
    dec = forecast.score(db=db).decomposition.set_index("author").loc["(all)"]
    # probabilities: 0.85 x5 (4 happened), 0.15 x5 (1 happened); o = 0.5
    rel = (5 * (0.85 - 0.8) ** 2 + 5 * (0.15 - 0.2) ** 2) / 10
    res = (5 * (0.8 - 0.5) ** 2 + 5 * (0.2 - 0.5) ** 2) / 10
    assert dec["reliability"] == pytest.approx(rel)
    assert dec["resolution"] == pytest.approx(res)
    assert dec["uncertainty"] == pytest.approx(0.25)
    assert dec["within_bin"] == pytest.approx(0, abs=1e-12)  # identical forecasts in each bin
    assert dec["brier"] == pytest.approx(rel - res + 0.25)
    mean_brier = forecast.score(db=db).means.set_index("author").loc["(all)", "brier"]
    assert mean_brier == pytest.approx(2 * dec["brier"])  # two states: K times the per-state mean


def test_recalibration_is_fitted_only_on_earlier_questions(tiny, journal_db, clock, write_yaml):
    db = journal_db
    text = TINY.read_text(encoding="utf-8")
    # three questions: three model ids with the same structure, resolved on different days
    models = []
    for k in range(3):
        path = write_yaml(text.replace("id: tiny", f"id: q{k}"), f"q{k}.yaml")
        models.append(forecast.load_model(path))
    clock("2019-01-10T09:00")
    plan = {0: [0.9, 0.8, 0.3], 1: [0.2, 0.35, 0.6], 2: [0.6, 0.8, 0.45]}
    for k, m in enumerate(models):
        for p in plan[k]:
            forecast.record(m, fixed(m, p), author="a", db=db)
    outcomes = ["good", "bad", "good"]
    for k, m in enumerate(models):
        clock(f"2020-0{k + 2}-02T09:00")
        forecast.resolve(m, "outcome", outcomes[k], f"2020-0{k + 2}-01", db=db)
    table = journal.recalibrate(db=db)
    assert set(table["sample"]) == {"out-of-sample"} and table.attrs["out_of_sample"]
    assert set(table["node"]) == {"outcome"}
    # the first question has nothing earlier: not recalibrated at all
    assert sorted(set(table["fitted_on"])) == [1, 2] and len(table) == 6
    scored = {k: [(p, 1 - p) for p in plan[k]] for k in plan}

    def pairs(ks):
        return [(list(d), 0 if outcomes[k] == "good" else 1) for k in ks for d in scored[k]]

    second = table[table["fitted_on"] == 1]
    third = table[table["fitted_on"] == 2]
    a1 = journal.fit_exponent(pairs([0]))
    a2 = journal.fit_exponent(pairs([0, 1]))
    assert second["exponent"].tolist() == pytest.approx([a1] * 3, rel=1e-6)
    assert third["exponent"].tolist() == pytest.approx([a2] * 3, rel=1e-6)
    assert a2 != pytest.approx(journal.fit_exponent(pairs([0, 1, 2])), rel=1e-3)  # not in-sample
    p = second["probability"].iloc[0]
    q = p**a1 / (p**a1 + (1 - p) ** a1)
    assert second["recalibrated"].iloc[0] == pytest.approx(q, rel=1e-9)


RESOLVER = """
import sys, forecast
from forecast import journal
db, model_path, state = sys.argv[1], sys.argv[2], sys.argv[3]
model = forecast.load_model(model_path)
try:
    journal.resolve(model, "outcome", state, "2020-01-31", db=db)
    print("resolved")
except forecast.JournalError as exc:
    print("refused:", exc)
"""


def test_two_analysts_resolving_at_once_give_one_resolution_and_one_clear_refusal(tiny, journal_db):
    import subprocess
    import sys

    db = str(journal_db)
    forecast.record(tiny, None, author="a", as_of="2018-01-31", db=db)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RESOLVER, db, str(TINY), state],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for state in ("good", "bad")
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    lines = sorted(o.strip() for o, _ in outs)
    assert lines[0].startswith("refused:") and "already resolved" in lines[0]
    assert lines[1] == "resolved"
    versions = journal.resolutions(db=db)
    assert list(versions["version"]) == [1]

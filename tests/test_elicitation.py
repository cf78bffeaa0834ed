"""Team elicitation: rounds, hidden answers, feedback, pooling, disagreement, the pooled model."""

from pathlib import Path

import numpy as np
import pytest

import forecast
from forecast import elicitation as el
from forecast.errors import ForecastError

FIXTURES = Path(__file__).resolve().parent / "fixtures"

ANSWERS = {  # round 1: participant -> quantity -> numbers
    "ann": {"driver": [0.2, 0.8], "side": [0.8, 0.1, 0.1], "outcome|driver=high": [0.9, 0.1]},
    "bob": {"driver": [0.6, 0.4], "side": [0.1, 0.1, 0.8], "outcome|driver=high": [0.7, 0.3]},
    "cy": {"driver": [0.9, 0.1], "side": [0.3, 0.4, 0.3], "outcome|driver=high": [0.8, 0.2]},
}
QUANTITIES = ["driver", "side", "outcome|driver=high"]


@pytest.fixture
def model():
    return forecast.load_model(FIXTURES / "elicit.yaml")


@pytest.fixture
def db(journal_db):
    """The journal on each backend (an SQLite file, a PostgreSQL schema)."""
    return journal_db


def _open(model, db):
    return el.open_elicitation(
        model, ["ann", "bob", "cy"], quantities=QUANTITIES, facilitator="fac", db=db
    )


def _round_one(model, db):
    elic = _open(model, db)
    for who, answers in ANSWERS.items():
        el.answer(elic.id, who, answers, reasons={q: f"{who} thinks so" for q in answers}, db=db)
    return elic


def test_first_round_answers_are_hidden_from_others(model, db):
    elic = _open(model, db)
    el.answer(elic.id, "ann", ANSWERS["ann"], db=db)
    # bob's sheet shows the model's own numbers, not ann's
    bob = el.my_answers(elic.id, "bob", db=db)
    driver = bob[bob["quantity"] == "driver"]["value"].tolist()
    assert driver == [0.5, 0.5]
    assert not bob["answered"].any()
    mine = el.my_answers(elic.id, "ann", db=db)
    assert mine[mine["quantity"] == "driver"]["value"].tolist() == [0.2, 0.8]
    with pytest.raises(el.ElicitationError, match="still open"):
        el.feedback(elic.id, "bob", db=db)
    with pytest.raises(el.ElicitationError, match="no closed round 1"):
        el.pool(elic.id, db=db, round=1)


def test_two_rounds_with_feedback(model, db):
    elic = _round_one(model, db)
    with pytest.raises(el.ElicitationError, match="only the facilitator"):
        el.close_round(elic.id, by="ann", db=db)
    after = el.close_round(elic.id, by="fac", db=db)
    assert after.round == 2 and after.status == "open"
    fb = el.feedback(elic.id, "ann", db=db)
    row = fb[(fb["quantity"] == "driver") & (fb["entry"] == "low")].iloc[0]
    assert row["median"] == pytest.approx(0.6)
    assert (row["min"], row["max"]) == (pytest.approx(0.2), pytest.approx(0.9))
    assert row["n"] == 3
    assert row["mine"] == pytest.approx(0.2) and row["position"] == "below the median"
    assert fb.attrs["reasons"]["driver"] == sorted(f"{w} thinks so" for w in ANSWERS)
    assert "ann" not in " ".join(fb.columns)  # no names in the feedback
    # round 2 starts from each participant's round-1 answer; revising changes only round 2
    sheet = el.my_answers(elic.id, "cy", db=db)
    assert sheet[sheet["quantity"] == "driver"]["value"].tolist() == [0.9, 0.1]
    el.answer(elic.id, "cy", {"driver": [70, 30]}, reasons={"driver": "moved"}, db=db)
    assert el.feedback(elic.id, db=db, round=1).query("quantity == 'driver'")["max"].max() == (
        pytest.approx(0.9)
    )
    el.close(elic.id, by="fac", db=db)
    with pytest.raises(el.ElicitationError, match="closed"):
        el.answer(elic.id, "cy", {"driver": [0.5, 0.5]}, db=db)
    fb2 = el.feedback(elic.id, db=db)
    assert fb2.attrs["round"] == 2
    assert fb2.query("quantity == 'driver' and entry == 'low'")["n"].iloc[0] == 1


def test_pooling_both_ways_matches_direct_computation(model, db):
    elic = _round_one(model, db)
    el.close(elic.id, by="fac", db=db)
    for q in QUANTITIES:
        matrix = np.array([ANSWERS[w][q] for w in sorted(ANSWERS)])
        linear = el.pool(elic.id, "linear", db=db).query("quantity == @q")["pooled"].to_numpy()
        np.testing.assert_allclose(linear, matrix.mean(axis=0), atol=1e-12)
        geo = np.prod(matrix, axis=0) ** (1 / 3)
        log = el.pool(elic.id, "log", db=db).query("quantity == @q")["pooled"].to_numpy()
        np.testing.assert_allclose(log, geo / geo.sum(), atol=1e-12)


def test_pooled_model_is_written_and_loads(model, db, tmp_path):
    elic = _round_one(model, db)
    el.close(elic.id, by="fac", db=db)
    path = el.write_pooled_model(model, elic.id, tmp_path / "pooled.yaml", "log", db=db)
    pooled = forecast.load_model(path)
    matrix = np.array([ANSWERS[w]["outcome|driver=high"] for w in sorted(ANSWERS)])
    geo = np.prod(matrix, axis=0) ** (1 / 3)
    np.testing.assert_allclose(pooled.cpt("outcome")[1], geo / geo.sum(), atol=1e-6)
    np.testing.assert_allclose(pooled.cpt("outcome")[0], model.cpt("outcome")[0])  # not elicited
    assert elic.id in pooled.node("driver").rationale
    assert model.path.read_text() == (FIXTURES / "elicit.yaml").read_text()  # original untouched
    with pytest.raises(el.ElicitationError, match="new file"):
        el.write_pooled_model(model, elic.id, model.path, db=db)
    with pytest.raises(ForecastError, match="already exists"):  # never replaces a file
        el.write_pooled_model(model, elic.id, path, db=db)
    assert forecast.load_model(path).cpt("outcome")[1] == pytest.approx(pooled.cpt("outcome")[1])


def test_disagreement_ranks_what_moves_the_outcome_first(model, db):
    elic = _round_one(model, db)
    el.close(elic.id, by="fac", db=db)
    table = el.disagreement(model, elic.id, db=db)
    assert table["quantity"].tolist()[0] == "driver"
    side = table.set_index("quantity").loc["side"]
    assert side["spread"] == pytest.approx(70.0)  # they disagree a lot on `side` ...
    assert side["swing"] == pytest.approx(0.0, abs=1e-9)  # ... and it does not matter
    assert table.set_index("quantity").loc["driver", "swing"] > 10
    # the swing is the range of the outcome over each participant's number, others pooled
    pooled_high = np.mean([ANSWERS[w]["outcome|driver=high"][0] for w in ANSWERS])
    goods = [
        (1 - ANSWERS[w]["driver"][1]) * 0.2 + ANSWERS[w]["driver"][1] * pooled_high for w in ANSWERS
    ]
    assert table.set_index("quantity").loc["driver", "swing"] == pytest.approx(
        100 * (max(goods) - min(goods))
    )


def test_integrity_rules(model, db):
    elic = _open(model, db)
    with pytest.raises(el.ElicitationError, match="not a participant"):
        el.answer(elic.id, "mallory", {"driver": [0.5, 0.5]}, db=db)
    with pytest.raises(el.ElicitationError, match="sum to"):
        el.answer(elic.id, "ann", {"driver": [0.5, 0.6]}, db=db)
    with pytest.raises(el.ElicitationError, match="does not ask about"):
        el.answer(elic.id, "ann", {"nope": [0.5, 0.5]}, db=db)
    with pytest.raises(el.ElicitationError, match="negative"):
        el.answer(elic.id, "ann", {"driver": [-0.5, 1.5]}, db=db)
    with pytest.raises(el.ElicitationError, match="no answers yet"):
        el.close_round(elic.id, by="fac", db=db)
    with pytest.raises(el.ElicitationError, match="named twice"):
        el.open_elicitation(model, ["a", "a"], quantities=["driver"], db=db)
    with pytest.raises(ForecastError, match="no quantity"):
        el.open_elicitation(model, ["a"], quantities=["outcome|driver=nope"], db=db)
    with pytest.raises(el.ElicitationError, match="no elicitation"):
        el.get("missing", db=db)


def test_default_quantities_come_from_sensitivity(model):
    ids = [q.id for q in el.suggested_quantities(model)]
    assert "side" not in ids  # it cannot move the outcome
    assert ids[0] in {"driver", "outcome|driver=low", "outcome|driver=high"}


def test_cli_walks_through_a_round(model, db, tmp_path, cli):
    out = cli(
        "elicit",
        "open",
        str(model.path),
        "--participant",
        "ann",
        "--participant",
        "bob",
        "--quantity",
        "driver",
        "--facilitator",
        "fac",
        "--db",
        str(db),
    )
    assert out.code == 0, out.err
    eid = out.out.split()[2]
    sheet = tmp_path / "sheet.yaml"
    assert (
        cli("elicit", "sheet", eid, "--participant", "ann", "-o", str(sheet), "--db", str(db)).code
        == 0
    )
    sheet.write_text(sheet.read_text().replace("0.5", "0.25", 1).replace("0.5", "0.75", 1))
    res = cli(
        "elicit", "answer", eid, "--participant", "ann", "--answers", str(sheet), "--db", str(db)
    )
    assert res.code == 0, res.err
    res = cli("elicit", "feedback", eid, "--db", str(db))
    assert res.code == 2 and "still open" in res.err
    assert cli("elicit", "close-round", eid, "--by", "fac", "--finish", "--db", str(db)).code == 0
    res = cli("elicit", "pool", str(model.path), eid, "--format", "csv", "--db", str(db))
    assert res.code == 0 and "0.25" in res.out
    pooled = tmp_path / "pooled.yaml"
    assert cli("elicit", "pool", str(model.path), eid, "-o", str(pooled), "--db", str(db)).code == 0
    assert forecast.load_model(pooled).cpt("driver").tolist() == pytest.approx([0.25, 0.75])

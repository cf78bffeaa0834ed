"""The Team tab (AppTest): a participant answers, the facilitator closes the round, feedback shows."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from forecast import elicitation as el

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _script(model_path: str, db: str) -> None:
    import forecast
    from forecast.ui import elicitation as tab

    tab.render(forecast.load_model(model_path), None, db=db)


@pytest.fixture
def app(tmp_path):
    db = str(tmp_path / "journal.sqlite3")
    at = AppTest.from_function(
        _script, args=(str(FIXTURES / "elicit.yaml"), db), default_timeout=60
    )
    return at, db


def _set_name(at, name):
    at.text_input(key="team_name").set_value(name).run()


def test_participant_and_facilitator_walk_through_a_round(app):
    import forecast

    at, db = app
    model = forecast.load_model(FIXTURES / "elicit.yaml")
    elic = el.open_elicitation(
        model, ["ann", "bob"], quantities=["driver"], facilitator="fac", db=db
    )
    at.run()
    _set_name(at, "ann")
    assert not at.exception
    assert any("Your answers, round 1" in s.value for s in at.subheader)
    at.text_input(key=f"team_reason_{elic.id}_1_driver").set_value("base rate")
    save = next(b for b in at.button if b.label == "Save my answers")
    save.click().run()  # the model's own numbers, unchanged, as ann's answer
    assert any("Saved your answers" in s.value for s in at.success), [e.value for e in at.error]
    assert el.my_answers(elic.id, "ann", db=db)["answered"].all()
    el.answer(elic.id, "bob", {"driver": [0.9, 0.1]}, reasons={"driver": "strong signal"}, db=db)
    _set_name(at, "fac")
    assert any("Facilitator" in s.value for s in at.subheader)
    at.button(key="team_next").click().run()
    assert el.get(elic.id, db=db).round == 2
    _set_name(at, "ann")
    assert any("The group in round 1" in m.value for m in at.markdown)
    texts = " ".join(t.value for t in at.text)
    assert "strong signal" in texts and "base rate" in texts


def test_a_stranger_is_told_who_takes_part(app):
    import forecast

    at, db = app
    model = forecast.load_model(FIXTURES / "elicit.yaml")
    el.open_elicitation(model, ["ann"], quantities=["driver"], facilitator="fac", db=db)
    at.run()
    _set_name(at, "zed")
    assert any("not a participant" in i.value for i in at.info)

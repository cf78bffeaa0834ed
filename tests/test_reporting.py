"""forecast.reporting: the report model built from a model, a scenario and dated items."""

import datetime as dt

import pytest
from conftest import FIXTURES

import forecast


@pytest.fixture(scope="module")
def items():
    return forecast.load_evidence(FIXTURES / "tiny_evidence" / "items.yaml")


def _outcome(tiny, ev):
    post = tiny.posteriors(scenario=ev)
    return post[post["node"] == "outcome"].set_index("state")["probability"]


def test_items_added_to_a_scenario_keep_its_interventions_and_forecast_date(tiny, items):
    """report(items=...) once rebuilt the scenario's Evidence and dropped `do` and `as_of`."""
    as_of = dt.date(2018, 2, 20)  # after one of the two reports on rain, before the other
    on_rain = sorted((it for it in items if it.node == "rain"), key=lambda it: it.date)
    assert [it.date < as_of for it in on_rain] == [True, False]
    scenario = tiny.evidence(do={"sprinkler": "on"}, as_of=as_of)
    rep = forecast.report(tiny, scenario, items=on_rain)

    assert [(r["node"], r["state"]) for r in rep.evidence if r["kind"] == "do"] == [
        ("sprinkler", "on")
    ]
    (j,) = rep.judgements
    outcome = _outcome(tiny, tiny.evidence(scenario, items=on_rain))
    assert j.state == outcome.idxmax()
    assert j.probability == pytest.approx(outcome.max())
    # without the intervention, or aged to the model's own date, the forecast differs
    no_do = _outcome(tiny, tiny.evidence(items=on_rain, as_of=as_of))
    no_date = _outcome(tiny, tiny.evidence(items=on_rain, do={"sprinkler": "on"}))
    for other in (no_do, no_date):
        assert other[j.state] != pytest.approx(j.probability, abs=1e-6)

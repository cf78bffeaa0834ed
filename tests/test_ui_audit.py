"""The app's Audit tab (forecast/ui/audit.py) in Streamlit's AppTest: claims, checks, weights, do."""

import pytest
from test_app import RUSSIA_IRAN, TINY, TINY_EVIDENCE, open_tab, rerun, start

import forecast


@pytest.fixture(autouse=True)
def private_journal(monkeypatch, tmp_path):
    monkeypatch.setenv("FORECAST_DB", str(tmp_path / "journal.sqlite"))


def test_audit_tab_on_the_default_model(monkeypatch):
    evidence = RUSSIA_IRAN.parents[1] / "evidence"
    at = open_tab(
        start(monkeypatch, "--model", str(RUSSIA_IRAN), "--evidence", str(evidence)), "Audit"
    )
    model = forecast.load_model(RUSSIA_IRAN)
    audited = forecast.audit(model)
    assert any(f"{len(audited)} claims, {len(audited)} pass, 0 fail" in s.value for s in at.success)
    claims = at.dataframe[0].value
    assert list(claims["claim"]) == list(audited["claim"])
    # the forecast opens with every item up to the as-of date applied: their weights are listed
    weights = at.dataframe[1].value
    items = [it for it in forecast.load_evidence(evidence) if it.date <= model.spec.as_of]
    assert list(weights["item"]) == [it.id for it in items]
    assert weights["weight"].max() <= 1 and weights["weight"].min() < 0.5  # 2015 items are aged


def test_audit_tab_without_claims_and_the_intervention_mode(monkeypatch):
    tiny = forecast.load_model(TINY)
    at = open_tab(
        start(monkeypatch, "--model", str(TINY), "--evidence", str(TINY_EVIDENCE)), "Audit"
    )
    assert any("no claims file" in i.value for i in at.info)
    suffix = tiny.content_hash[:12]
    at.selectbox(key=f"audit_do_node_{suffix}").set_value("sprinkler")
    rerun(at)
    at.selectbox(key=f"audit_do_state_{suffix}_sprinkler").set_value("on")
    rerun(at)
    table = at.dataframe[-1].value
    done = tiny.posteriors(do={"sprinkler": "on"}, targets="outcome")["probability"].to_numpy()
    seen = tiny.posteriors(hard={"sprinkler": "on"}, targets="outcome")["probability"].to_numpy()
    assert table["if set (do)"].to_numpy() == pytest.approx(done)
    assert table["if observed"].to_numpy() == pytest.approx(seen)

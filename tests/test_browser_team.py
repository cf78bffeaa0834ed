"""A participant walks through an elicitation round in the real app (headless Chromium)."""

from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, require_browser, serve_app, settle

import forecast
from forecast import elicitation as el

require_browser()
from playwright import sync_api  # noqa: E402

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_participant_answers_and_sees_the_group_after_the_round(tmp_path):
    model_path = FIXTURES / "elicit.yaml"
    db = tmp_path / "journal.sqlite3"
    model = forecast.load_model(model_path)
    elic = el.open_elicitation(
        model, ["ann", "bob"], quantities=["driver"], facilitator="fac", db=db
    )
    el.answer(elic.id, "bob", {"driver": [0.9, 0.1]}, reasons={"driver": "bob's reason"}, db=db)
    args = ["--model", str(model_path), "--evidence", str(tmp_path / "none")]
    with (
        serve_app(tmp_path, args, env={"FORECAST_DB": str(db)}) as url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        page.goto(url, wait_until="domcontentloaded")
        settle(page)
        page.get_by_role("tab", name="Team").click()
        settle(page)
        name = page.get_by_label("Your name")
        name.fill("ann")
        name.press("Enter")
        settle(page)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "Your answers, round 1" in text
        assert "bob's reason" not in text  # an open round shows nobody else's answers
        page.get_by_label("Reason (one line)").fill("a coin toss")
        page.get_by_role("button", name="Save my answers").click()
        settle(page)
        assert (
            "Saved your answers for round 1" in page.locator('[data-testid="stMain"]').inner_text()
        )
        assert el.my_answers(elic.id, "ann", db=db)["answered"].all()
        el.close_round(elic.id, by="fac", db=db)
        page.reload(wait_until="domcontentloaded")
        settle(page)
        page.get_by_role("tab", name="Team").click()
        settle(page)
        name = page.get_by_label("Your name")
        name.fill("ann")
        name.press("Enter")
        text = settle(page)
        assert "Your answers, round 2" in text
        assert "The group in round 1" in text
        assert "below the median" in text  # ann's 0.5 for 'low' against the median 0.7
        browser.close()

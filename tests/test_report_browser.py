"""The exported HTML report in headless Chromium: judgements on top, a timeline that agrees with the table, no remote loads."""

import http.server
import re
import threading
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, require_browser

import forecast
from forecast.writers import write_report

pytestmark = pytest.mark.browser
require_browser()

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTPUT = ROOT / "test-output" / "browser"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _last_point(page, state: str) -> float:
    """The timeline's last point for `state`, read from the chart's own SVG (its aria labels)."""
    labels = page.eval_on_selector_all(
        "figure.chart svg [aria-label^='at:']",
        "els => els.map(e => e.getAttribute('aria-label'))",
    )
    points = [
        (m.group(1), float(m.group(2)))
        for text in labels
        if (m := re.match(rf"at: (.*?); probability: ([\d.]+)%; state: {re.escape(state)};", text))
    ]
    assert points, labels[:3]
    return points[-1][1] / 100


def test_html_report_shows_judgements_first_and_a_timeline_that_agrees(browser, tmp_path):
    model = forecast.load_model(FIXTURES / "tiny.yaml")
    items = forecast.load_evidence(FIXTURES / "tiny_evidence" / "items.yaml")
    driver = {"hard": {"sprinkler": "on"}}
    rep = forecast.report(model, driver, items=items, author="A. Analyst")
    path = write_report(rep, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(path.as_uri())
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "report_top.png"))
    # the judgements are the first thing on the page, inside the first screen
    first = page.locator(".judgement").first
    box = first.bounding_box()
    assert box is not None and box["y"] + 40 < 900
    assert first.inner_text().splitlines()[-1].strip() == rep.judgements[0].paragraph
    headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
    assert headings[0] == "Key judgements"
    # the table's number for the judged state
    row = (
        page.locator("table tr", has_text="Wet grass")
        .filter(has_text=rep.judgements[0].state_label)
        .first
    )
    table_p = float(row.locator("td").nth(2).inner_text().rstrip("%")) / 100
    assert table_p == pytest.approx(rep.judgements[0].probability, abs=0.0006)
    # the timeline ends where the table is, under the same driver setting
    chart_p = _last_point(page, rep.judgements[0].state_label)
    assert chart_p == pytest.approx(table_p, abs=0.0006)
    without_driver = forecast.timeline(model, items)  # the old report's timeline ignored drivers
    old = without_driver[
        (without_driver["node"] == "outcome") & (without_driver["state"] == rep.judgements[0].state)
    ]
    assert (
        abs(float(old["probability"].iloc[-1]) - chart_p) > 0.01
    )  # so this test can tell them apart
    page.close()


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        _Beacon.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_exported_report_makes_no_remote_request(browser, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        text = (FIXTURES / "tiny.yaml").read_text(encoding="utf-8")
        text = text.replace(
            "label: Rain", f'label: "Rain ![x]({url}/md.png) <img src={url}/img.png>"'
        ).replace(
            "text: Will the outcome be good by 2020?",
            f'text: "Good? <link rel=stylesheet href={url}/css> <script src={url}/js></script>"',
        )
        model = forecast.model_from_text(text, "beacon.yaml")
        items = forecast.load_evidence(FIXTURES / "tiny_evidence" / "items.yaml")
        rep = forecast.report(model, {"hard": {"sprinkler": "on"}}, items=items)
        pages = [
            write_report(rep, tmp_path / "report.html"),
            forecast.export(model.posteriors(), tmp_path / "table.html"),
        ]
        for path in pages:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r, seen=requests: seen.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_timeout(500)
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
            assert "Rain ![x]" in page.inner_text("body")  # shown as text
            page.close()
        assert _Beacon.hits == []
    finally:
        server.shutdown()

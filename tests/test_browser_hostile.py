"""Hostile input in a real browser (issue 17): no remote requests, and one upload cannot freeze the page.

- A model, evidence item and scenario full of Markdown images, links and HTML
  pointing at a beacon served on 127.0.0.1: the page (every tab) and an exported
  HTML report opened in headless Chromium make no request to it, nor to any
  address but the app's own.
- An upload of the regex-bomb BIF file in one session leaves the page
  responsive for a second session and the health probe answering.

Uses the Streamlit/Chromium harness of tests/browser_support.py.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from browser_support import (
    ROOT,
    chromium,
    open_sidebar,
    require_browser,
    serve_app,
    settle,
)
from conftest import write_hostile_workspace

import forecast

pytestmark = pytest.mark.browser

require_browser()

from forecast.ui.workspace import TABS  # noqa: E402


class Beacon:
    """An HTTP server on 127.0.0.1 that counts the requests it receives."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        beacon = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                beacon.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def beacon():
    b = Beacon()
    yield b
    b.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, beacon):
    folder = tmp_path_factory.mktemp("hostile_browser")
    return {**write_hostile_workspace(folder, beacon.url), "folder": folder}


def _serve(model: Path, evidence: Path, work: Path):
    """The app on `model` and `evidence` (the journal in `work`), as a context giving its URL."""
    args = ["--model", str(model), "--evidence", str(evidence), "--models", str(model.parent)]
    env = {"PYTHONPATH": str(ROOT), "FORECAST_DB": str(work / "journal.sqlite")}
    return serve_app(work, args, env)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _watch(page, allowed: tuple[str, ...]) -> list[str]:
    """Every request the page makes to anywhere but `allowed` prefixes (and data:/blob: URLs)."""
    foreign: list[str] = []

    def check(request) -> None:
        url = request.url
        if not url.startswith(("data:", "blob:", "about:", *allowed)):
            foreign.append(url)

    page.on("request", check)
    return foreign


@pytest.mark.timeout(600)
def test_the_page_makes_no_remote_request_for_hostile_text(browser, workspace, beacon):
    with _serve(workspace["model"], workspace["evidence"], workspace["folder"]) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        foreign = _watch(page, (url,))
        page.goto(url, wait_until="domcontentloaded")
        settle(page, 90)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "![beacon](" in text  # the text is shown, as written
        for label, _draw in TABS:
            page.get_by_role("tab", name=label, exact=True).click()
            settle(page, 90)
        page.get_by_role("tab", name="Forecast").click()
        settle(page, 90)
        page.wait_for_timeout(1500)  # late image loads would arrive here
        context.close()
    assert beacon.paths == [], beacon.paths
    assert foreign == [], foreign


@pytest.mark.timeout(300)
def test_an_exported_html_report_makes_no_remote_request(browser, workspace, beacon, tmp_path):
    model = forecast.load_model(workspace["model"])
    items = forecast.load_evidence(workspace["evidence"])
    table = model.posteriors(items=items)
    path = forecast.export(table, tmp_path / "report.html")
    before = list(beacon.paths)
    context = browser.new_context()
    page = context.new_page()
    foreign = _watch(page, ("file://",))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(1500)
    shown = page.locator("body").inner_text()
    context.close()
    assert beacon.paths == before, beacon.paths
    assert foreign == [], foreign
    assert "beacon" in shown  # the hostile text is in the report, as text


def _regex_bomb(folder: Path) -> Path:
    path = folder / "bomb.bif"
    path.write_text(
        "network hostile {\n}\n"
        "variable a {\n  type discrete [ 2 ] { s0, s1 };\n}\n"
        "probability ( a ) {\n  table " + "(" * 1_000_000 + "\n}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.timeout(600)
def test_a_regex_bomb_upload_leaves_the_page_responsive_for_others(browser, tmp_path):
    tiny = ROOT / "tests" / "fixtures" / "tiny.yaml"
    bomb = _regex_bomb(tmp_path)
    with _serve(tiny, ROOT / "tests" / "fixtures" / "tiny_evidence", tmp_path) as url:
        first = browser.new_context(viewport={"width": 1400, "height": 1000})
        a = first.new_page()
        a.goto(url, wait_until="domcontentloaded")
        settle(a, 120)
        open_sidebar(a)  # the model upload lives in the sidebar, which starts collapsed
        a.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bomb))
        time.sleep(1.0)  # the upload is being read now
        started = time.monotonic()
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
            assert r.status == 200
        second = browser.new_context(viewport={"width": 1400, "height": 1000})
        b = second.new_page()
        b.goto(url, wait_until="domcontentloaded")
        settle(b, 60)
        elapsed = time.monotonic() - started
        assert "Tiny test model" in b.locator("h1").first.inner_text()
        # the second visitor's page came up while the first one's upload was worked on
        assert elapsed < 60, elapsed
        # ... and the first session got an answer: a refusal, not a frozen page
        a.get_by_text("is not a valid model").first.wait_for(timeout=90_000)
        second.close()
        first.close()

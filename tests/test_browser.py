"""End-to-end: the workspace served by `streamlit run` on localhost, driven in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); without it
these tests skip and say why.  The full-page screenshot lands in
test-output/browser/ (git-ignored) for a person to look at.
"""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import forecast

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_MODEL = ROOT / "models" / "russia_iran.yaml"
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does this)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Playwright for Python"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free localhost port, stopped when the module's tests are done."""
    model = DEFAULT_MODEL if DEFAULT_MODEL.exists() else ROOT / "tests" / "fixtures" / "tiny.yaml"
    evidence = (
        ROOT / "evidence"
        if model == DEFAULT_MODEL
        else ROOT / "tests" / "fixtures" / "tiny_evidence"
    )
    work = tmp_path_factory.mktemp("browser")
    scenarios = work / "scenarios"
    if (evidence / "scenarios").is_dir():
        shutil.copytree(
            evidence / "scenarios", scenarios
        )  # the app may write here; keep the project's copy safe
    port = free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    env = {
        **os.environ,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "FORECAST_DB": str(work / "journal.sqlite"),
    }
    log = open(work / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(streamlit),
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",  # files edited while the tests run must not reload the app mid-test
            "--",
            "--model",
            str(model),
            "--evidence",
            str(evidence),
            "--scenarios",
            str(scenarios),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "streamlit did not start:\n" + (work / "server.log").read_text()[-2000:]
                )
            time.sleep(0.3)
        yield {"url": url, "model": forecast.load_model(model)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.goto(server["url"], wait_until="domcontentloaded")
    settle(pg)
    yield pg
    context.close()


def settle(pg, timeout: float = 60.0) -> str:
    """Wait until Streamlit has finished the run and the page's text has stopped changing."""
    deadline = time.monotonic() + timeout
    pg.wait_for_selector("h1", timeout=timeout * 1000)
    last, stable = None, 0
    while time.monotonic() < deadline:
        busy = pg.locator('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]').count()
        text = pg.locator('[data-testid="stMain"]').inner_text()
        if not busy and text == last:
            stable += 1
            if stable >= 3:
                return text
        else:
            stable = 0
        last = text
        time.sleep(0.4)
    raise AssertionError("the page did not settle")


def outcome_text(pg) -> str:
    return pg.locator('[data-testid="stTable"]').first.inner_text()


def test_page_loads_with_question_and_outcomes(page, server):
    model = server["model"]
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert model.title in page.locator("h1").first.inner_text().replace("\n", " ")
    assert " ".join(model.spec.question.text.split()) in " ".join(text.split())
    for node in model.outcomes:
        assert model.label(node) in text
    assert "%" in outcome_text(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    # the network is drawn, one box per node
    graph = page.locator('[data-testid="stGraphVizChart"] svg g.node')
    graph.first.wait_for(timeout=30000)
    assert graph.count() == len(model.nodes)


def test_moving_a_slider_changes_a_displayed_percentage(page, server):
    model = server["model"]
    first = model.drivers[0] if model.drivers else model.nodes[0]
    before = outcome_text(page)
    group = page.get_by_role("radiogroup", name=f"How to set {model.label(first)}")
    group.get_by_role("radio", name="My probabilities").click()
    settle(page)
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.wait_for(timeout=30000)
    sliders = page.locator('[data-testid="stSlider"] input[type="range"]')
    start = [sliders.nth(i).input_value() for i in range(len(model.states(first)))]
    thumb.focus()
    started = time.perf_counter()
    for _ in range(10):  # ten steps of one percentage point, at a person's pace
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(60)
    page.wait_for_function(
        "(old) => { const t = document.querySelector('[data-testid=\"stTable\"]'); return t && t.innerText !== old; }",
        arg=before,
        timeout=60000,
    )
    seconds = time.perf_counter() - started
    settle(page)
    after_values = [int(sliders.nth(i).input_value()) for i in range(len(model.states(first)))]
    assert after_values != [int(v) for v in start]
    assert sum(after_values) == 100  # the node's sliders stay consistent
    assert outcome_text(page) != before
    print(f"outcome table updated {seconds:.2f} s after the first key press")


def test_a_download_produces_a_valid_csv(page, server, tmp_path):
    model = server["model"]
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV").first
    with page.expect_download(timeout=30000) as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".csv"
    table = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")))
    assert {"node", "state", "probability", "words"} <= set(table.columns)
    assert set(table["node"]) == set(model.nodes)
    sums = table.groupby("node")["probability"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)


def test_full_page_screenshot(page):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.locator('[data-testid="stGraphVizChart"] svg g.node').first.wait_for(timeout=30000)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    settle(page)
    shot = OUTPUT / "workspace.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000

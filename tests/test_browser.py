"""End-to-end: the forecast page served by `streamlit run` on localhost, driven in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); without it
these tests skip and say why.  Screenshots land in test-output/browser/
(git-ignored) for a person to look at.  Timings are measured in
benchmarks/browser.py, never here.
"""

import io
import shutil
import time

import pandas as pd
import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    require_browser,
    serve_app,
    settle,
)

import forecast

require_browser()
from playwright import sync_api  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEFAULT_MODEL = ROOT / "models" / "russia_iran.yaml"
OUTPUT = ROOT / "test-output" / "browser"
FRAME = 'iframe[title="streamlit_flow.streamlit_flow"]'
OUTCOME_JS = (
    "() => { const t = document.querySelector('[data-testid=stTable]'); "
    "return t ? t.textContent : ''; }"
)
# Elements whose text must never be cut: buttons, widget labels, tabs, the outcome chart's neighbours.
TRUNCATED_JS = """() => {
  const out = [];
  const seen = new Set();
  for (const el of document.querySelectorAll(
      'button, [data-testid=stWidgetLabel], [data-baseweb=tab], [data-testid=stMarkdownContainer] p')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;  // hidden (a closed tab or expander)
    for (const e of [el, ...el.querySelectorAll('*')]) {
      if (seen.has(e)) continue;
      seen.add(e);
      const style = getComputedStyle(e);
      if (style.overflow === 'visible' && style.textOverflow !== 'ellipsis') continue;
      if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
        out.push({text: (el.innerText || '').slice(0, 60), scroll: e.scrollWidth, client: e.clientWidth});
        break;
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a free localhost port, with a scratch copy of the scenarios it may write."""
    work = tmp_path_factory.mktemp("browser")
    scenarios = work / "scenarios"
    shutil.copytree(ROOT / "evidence" / "scenarios", scenarios)
    args = [
        "--model",
        str(DEFAULT_MODEL),
        "--evidence",
        str(ROOT / "evidence"),
        "--scenarios",
        str(scenarios),
    ]
    with serve_app(work, args, env={"FORECAST_DB": str(work / "journal.sqlite")}) as url:
        yield {"url": url, "model": forecast.load_model(DEFAULT_MODEL), "scenarios": scenarios}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, server, width: int = 1280, height: int = 900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    pg = context.new_page()
    pg.goto(server["url"], wait_until="domcontentloaded")
    settle(pg)
    return context, pg


@pytest.fixture
def page(browser, server):
    context, pg = open_page(browser, server)
    yield pg
    context.close()


def outcomes(pg) -> str:
    return str(pg.evaluate(OUTCOME_JS))


def wait_outcomes_change(pg, before: str) -> str:
    pg.wait_for_function(
        f"(old) => {{ const t = ({OUTCOME_JS})(); return t !== '' && t !== old; }}",
        arg=before,
        timeout=60000,
    )
    settle(pg)
    return outcomes(pg)


def network(pg):
    """The network component's frame, once it has drawn its nodes."""
    pg.wait_for_selector(FRAME, timeout=60000)
    frame = pg.query_selector(FRAME).content_frame()
    frame.wait_for_selector(".fc-node", timeout=60000)
    return frame


def test_page_opens_with_question_outcomes_and_a_box_per_node(page, server):
    model = server["model"]
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert model.title in page.locator("h1").first.inner_text().replace("\n", " ")
    assert " ".join(model.spec.question.text.split()) in " ".join(text.split())
    for node in model.outcomes:
        assert model.label(node) in text
    assert "%" in outcomes(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    frame = network(page)
    assert frame.locator(".fc-node").count() == len(model.nodes)
    assert frame.locator(".fc-row").count() == sum(len(model.states(n)) for n in model.nodes)
    # zoom, pan and fit are the drawing's own controls
    assert frame.locator(".react-flow__controls button").count() >= 3


def test_clicking_a_state_in_the_network_changes_the_outcome_and_clicking_again_clears_it(page):
    before = outcomes(page)
    frame = network(page)
    row = frame.locator(".fc-node.fc-driver").first  # a driver's box...
    state = frame.locator(".fc-row").first  # ...and its first state
    assert row.count() == 1
    state.click()
    after = wait_outcomes_change(page, before)
    assert after != before
    frame = network(page)
    frame.wait_for_selector(".fc-row.fc-on", timeout=30000)  # the set state is highlighted
    frame.locator(".fc-row").first.click()
    # clearing restores the forecast exactly; wait for that number (a loaded machine can
    # pause a rerun long enough for the page to look settled half-way)
    page.wait_for_function(f"(want) => ({OUTCOME_JS})() === want", arg=before, timeout=60000)
    assert outcomes(page) == before
    assert network(page).locator(".fc-row.fc-on").count() == 0


def test_a_driver_slider_moves_the_outcome_straight_after_opening(page, server):
    model = server["model"]
    before = outcomes(page)
    first = model.driver_nodes[0]
    thumb = page.get_by_role(
        "slider", name=f"{model.state_label(first, model.states(first)[0])} ({model.label(first)})"
    )
    if thumb.count() == 0:  # react-aria names the range input, not the group, in some versions
        thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    start = thumb.first.input_value()
    thumb.first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    after = wait_outcomes_change(page, before)
    assert after != before
    # the sliders are redrawn after the rerun: wait (a bounded time) for the moved value
    deadline = time.monotonic() + 30
    while int(thumb.first.input_value()) <= int(start) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    sliders = page.locator('[data-testid="stSlider"] input[type="range"]')
    values = [int(sliders.nth(i).input_value()) for i in range(len(model.states(first)))]
    assert values[0] > int(start) and sum(values) == 100


def test_opening_a_nodes_controls_does_not_change_the_forecast(page, server):
    model = server["model"]
    before = outcomes(page)
    frame = network(page)
    node = next(n for n in model.nodes if model.node(n).role == "intermediate")
    frame.locator(f'.react-flow__node[data-id="{node}"] .fc-title').click()
    page.get_by_text(f"{model.label(node)}", exact=False).first.wait_for(timeout=30000)
    settle(page)
    # its controls ("my probabilities" sliders at the current belief) and its record are open
    label = f"{model.state_label(node, model.states(node)[0])} ({model.label(node)})"
    assert page.get_by_label(label).count() >= 1
    assert "probability table" in page.locator('[data-testid="stMain"]').inner_text()
    assert outcomes(page) == before


def test_loading_a_scenario_shows_its_title(page, server):
    model = server["model"]
    scenarios = model.fitting_scenarios(forecast.load_scenarios(ROOT / "evidence" / "scenarios"))
    scenario = scenarios[-1]
    page.get_by_role("tab", name="Scenarios").click()
    settle(page)
    page.get_by_label("Scenario", exact=True).click()
    page.get_by_role("option", name=scenario.display, exact=True).click()
    settle(page)
    page.get_by_role("button", name="Load into the controls").click()
    page.get_by_text(f"Loaded “{scenario.display}” into the controls").first.wait_for(timeout=30000)
    assert scenario.name not in page.locator('[data-testid="stMain"]').inner_text().split()
    page.get_by_role("tab", name="Forecast").click()
    settle(page)
    assert f"Scenario: {scenario.display}" in page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("width", [800, 1280])
def test_no_label_is_cut_at_800_and_1280_pixels(browser, server, width):
    context, pg = open_page(browser, server, width=width, height=1000)
    try:
        network(pg)
        settle(pg)
        cut = pg.evaluate(TRUNCATED_JS)
        OUTPUT.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(OUTPUT / f"forecast-{width}.png"), full_page=True)
        assert cut == [], cut
        # the outcome charts keep a usable size
        for chart in pg.locator('[data-testid="stVegaLiteChart"]').all():
            box = chart.bounding_box()
            assert box is not None and box["width"] >= 220 and box["height"] >= 60
    finally:
        context.close()


def test_a_download_produces_a_valid_csv(page, server, tmp_path):
    model = server["model"]
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="CSV").first
    with page.expect_download(timeout=30000) as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".csv"
    table = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")))
    assert {"node", "state", "probability"} <= set(table.columns)
    assert set(table["node"]) == set(model.nodes)
    # probabilities are rounded to six decimals in the file: a node's sum is 1 within that
    sums = table.groupby("node")["probability"].sum().to_numpy()
    assert sums == pytest.approx(1.0, abs=5e-6)


def test_the_page_works_offline(browser, server):
    """Every request outside the server is refused, and the page and its network still draw."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def gate(route):
        if route.request.url.startswith(server["url"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    try:
        pg = context.new_page()
        pg.goto(server["url"], wait_until="domcontentloaded")
        settle(pg)
        assert network(pg).locator(".fc-node").count() > 0
        assert "%" in outcomes(pg)
    finally:
        context.close()
    assert [u for u in outside if not u.startswith(("data:", "blob:", "about:"))] == []

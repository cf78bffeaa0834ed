"""End-to-end in headless Chromium: build a model from nothing in the Model tab, save it, reload it.

Two drivers, a mechanism (ranked) and an outcome; one table edited in the grid;
an evidence item added; the forecast shown on the page must equal
`forecast.load_model` on the saved file with the saved evidence.  The server
works on temporary copies of the model and evidence folders.
"""

import re
import shutil
import time

import pytest
from browser_support import ROOT, chromium, require_browser, serve_app, settle

import forecast
from forecast.diff import issued_items

pytestmark = pytest.mark.browser

TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
TINY_EV = ROOT / "tests" / "fixtures" / "tiny_evidence"
OUTPUT = ROOT / "test-output" / "browser"

require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("workshop")
    (work / "models").mkdir()
    shutil.copy(TINY, work / "models" / "tiny.yaml")
    shutil.copytree(TINY_EV, work / "evidence")
    model, evidence, models = work / "models" / "tiny.yaml", work / "evidence", work / "models"
    args = ["--model", str(model), "--evidence", str(evidence), "--models", str(models)]
    with serve_app(work, args, {"FORECAST_DB": str(work / "journal.sqlite")}) as url:
        yield {"url": url, "work": work}


@pytest.fixture
def page(server):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        pg = context.new_page()
        pg.goto(server["url"], wait_until="domcontentloaded")
        settle(pg)
        yield pg
        OUTPUT.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(OUTPUT / "workshop.png"), full_page=True)


def main(pg):
    return pg.locator('[data-testid="stMain"]')


def no_problem(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def fill(pg, label: str, value: str) -> None:
    box = main(pg).get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Tab")
    settle(pg)


def choose(pg, label: str, option: str) -> None:
    combo = main(pg).get_by_role("combobox", name=label, exact=True)
    if combo.input_value() == option:
        return
    select = (
        main(pg)
        .locator("[data-testid=stSelectbox]")
        .filter(has=pg.get_by_role("combobox", name=label, exact=True))
    )
    # centred first, so its list opens inside the window (a box at the window's bottom edge opens none)
    select.evaluate("e => e.scrollIntoView({block: 'center'})")
    select.get_by_role("button", name="Open").click()
    pg.get_by_role("option", name=option, exact=True).click()
    settle(pg)
    assert combo.input_value() == option


def press(pg, name: str) -> None:
    main(pg).get_by_role("button", name=name, exact=True).click()
    settle(pg)
    no_problem(pg)


def section(pg, name: str) -> None:
    main(pg).get_by_text(name, exact=True).locator("xpath=..").click()
    settle(pg)


def add_node(pg, label: str, node_id: str, states: str, role: str) -> None:
    fill(pg, "Label", label)
    fill(pg, "Id (letters, digits, _)", node_id)
    fill(pg, "States (comma-separated)", states)
    choose(pg, "Role", role)
    press(pg, "Add the node")


def add_arrow(pg, parent: str, child_option: str, child: str) -> None:
    choose(pg, "Node to change", child_option)
    choose(pg, "Add an arrow from", parent)
    press(pg, f"Add the arrow into {child}")


def forecast_shown(pg) -> dict[str, float]:
    """{state: probability} from the Model tab's forecast table."""
    rows = pg.locator(".st-key-workshop_forecast table tbody tr")
    out = {}
    for i in range(rows.count()):
        cells = [c.inner_text().strip() for c in rows.nth(i).locator("th, td").all()]
        out[cells[1]] = float(cells[2].rstrip("%")) / 100
    return out


def edit_cell(pg, column: int, value: str, columns: int) -> None:
    grid = pg.locator(".st-key-workshop_grid [data-testid=stDataFrame]").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    width = box["width"] / columns
    pg.mouse.dblclick(box["x"] + width * (column + 0.5), box["y"] + 35 + 17)
    editor = pg.locator("#portal input, #portal textarea").first
    editor.wait_for(timeout=10000)
    editor.fill(value)
    pg.keyboard.press("Enter")
    time.sleep(0.8)
    settle(pg)


def test_build_a_model_from_nothing_save_it_and_reload_it(page, server):
    pg = page
    work = server["work"]
    pg.get_by_role("tab", name="Model").click()
    settle(pg)
    main(pg).get_by_text("Start a new model").click()
    fill(pg, "Model id", "built")
    fill(pg, "Question", "Will the result be yes by 2030?")
    fill(pg, "Outcome node id", "result")
    fill(pg, "Its states (comma-separated)", "no, yes")
    press(pg, "Start the new model")
    assert "Started the model 'built'" in main(pg).inner_text()

    add_node(pg, "Driver A", "a", "low, high", "driver")
    add_node(pg, "Driver B", "b", "low, high", "driver")
    add_node(pg, "Mechanism", "m", "weak, strong", "intermediate")
    add_arrow(pg, "a", "Mechanism (m)", "m")
    add_arrow(pg, "b", "Mechanism (m)", "m")
    add_arrow(pg, "m", "result (result)", "result")

    # one ranked node (the mechanism), one table edited in the grid (driver A)
    section(pg, "Node")
    choose(pg, "Node", "Mechanism (m)")
    press(pg, "Use a ranked form")
    assert "Ranked node" in main(pg).inner_text()
    choose(pg, "Node", "result (result)")
    press(pg, "Use a ranked form")
    choose(pg, "Node", "Driver A (a)")
    edit_cell(pg, 0, "80", 2)
    edit_cell(pg, 1, "20", 2)
    press(pg, "Apply the table")
    before = forecast_shown(pg)

    # an evidence item on driver B moves the forecast
    section(pg, "Evidence")
    fill(pg, "Id", "rep1")
    fill(pg, "Title", "A report that B is high")
    choose(pg, "Node it bears on", "b")
    fill(pg, "high", "3")
    press(pg, "Add the item")
    after = forecast_shown(pg)
    assert after != before
    assert after["yes"] > before["yes"]

    section(pg, "Save")
    press(pg, "Save")
    assert "Saved" in main(pg).inner_text()
    saved = work / "models" / "built.yaml"
    model = forecast.load_model(saved)
    assert model.spec.node("a").cpt.rows[0].probabilities == {"low": 0.8, "high": 0.2}
    assert model.spec.node("m").cpt.type == "ranked"
    items = issued_items(model.spec, forecast.load_evidence(work / "evidence"))
    assert [it.id for it in items] == ["rep1"]
    post = model.posteriors(scenario={"items": items}, targets="result")
    for state, p in zip(post["state"], post["probability"], strict=True):
        assert after[state] == pytest.approx(p, abs=0.0005 + 1e-9)
    assert re.search(r"^question:", saved.read_text(), re.M)

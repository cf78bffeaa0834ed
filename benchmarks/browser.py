"""Browser latencies of the forecast page, measured in headless Chromium (Playwright).

Serves the app on a free localhost port with the default model and times, in the
browser, what an analyst waits for:

- first load: page opened -> outcome numbers on screen, and -> network drawn;
- a driver slider moved with the keyboard -> new outcome numbers;
- a state clicked in the network -> new outcome numbers, and -> the network redrawn;
- a scenario loaded -> its confirmation on screen.

Each action is repeated; the report gives median, min and max (the machine is
shared, so the spread is part of the result).  Run: `python benchmarks/browser.py
[--repeat N]` (`make bench` runs it).  Targets from issue 13: outcome numbers
<= 300 ms median, network redrawn <= 500 ms, scenario loaded <= 1 s, first load <= 5 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, serve_app, settle  # noqa: E402

TARGETS = {
    "first load: outcome numbers": 5.0,
    "first load: network drawn": 5.0,
    "slider move: outcome numbers": 0.3,
    "network click: outcome numbers": 0.3,
    "network click: network redrawn": 0.5,
    "scenario load: confirmation": 1.0,
}
OUTCOME_JS = "() => { const t = document.querySelector('[data-testid=stTable]'); return t ? t.textContent : ''; }"
FRAME = 'iframe[title="streamlit_flow.streamlit_flow"]'


def outcome_text(pg) -> str:
    return str(pg.evaluate(OUTCOME_JS))


def wait_outcome_change(pg, before: str, timeout: float = 30.0) -> None:
    pg.wait_for_function(
        f"(old) => ({OUTCOME_JS})() !== old && ({OUTCOME_JS})() !== ''",
        arg=before,
        timeout=timeout * 1000,
        polling="raf",
    )


def network_frame(pg):
    """The Playwright Frame of the network component (waits until it has drawn its nodes)."""
    pg.wait_for_selector(FRAME, timeout=60000)
    handle = pg.query_selector(FRAME)
    frame = handle.content_frame()
    frame.wait_for_selector(".fc-node", timeout=60000)
    return frame


def timed(action: Callable[[], None], wait: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    wait()
    return time.perf_counter() - start


def scenario_titles() -> list[str]:
    import forecast

    model = forecast.load_model(ROOT / "models" / "russia_iran.yaml")
    scenarios = forecast.load_scenarios(ROOT / "evidence" / "scenarios")
    return [s.display for s in model.fitting_scenarios(scenarios)][::-1]


def first_load(browser, url: str, results: dict[str, list[float]]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    start = time.perf_counter()
    pg.goto(url, wait_until="commit")
    pg.wait_for_function(f"() => ({OUTCOME_JS})().includes('%')", timeout=60000, polling="raf")
    results["first load: outcome numbers"].append(time.perf_counter() - start)
    network_frame(pg)
    results["first load: network drawn"].append(time.perf_counter() - start)
    context.close()


def interactions(browser, url: str, repeat: int, results: dict[str, list[float]]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.goto(url)
    settle(pg)
    frame = network_frame(pg)

    thumb = pg.locator('[data-testid="stSlider"] input[type="range"]').first
    for i in range(repeat):
        before = outcome_text(pg)
        thumb.focus()
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        results["slider move: outcome numbers"].append(
            timed(lambda k=key: pg.keyboard.press(k), lambda b=before: wait_outcome_change(pg, b))
        )
        settle(pg)

    row = frame.locator(".fc-row").first
    for _ in range(repeat):
        before = outcome_text(pg)
        was_on = "fc-on" in (row.get_attribute("class") or "")
        row.scroll_into_view_if_needed()
        start = time.perf_counter()
        row.dispatch_event("click")  # no actionability waits inside the timing
        wait_outcome_change(pg, before)
        results["network click: outcome numbers"].append(time.perf_counter() - start)
        frame = network_frame(pg)
        frame.wait_for_function(
            "(was) => { const r = document.querySelector('.fc-row'); return r && r.classList.contains('fc-on') !== was; }",
            arg=was_on,
            timeout=30000,
            polling="raf",
        )
        results["network click: network redrawn"].append(time.perf_counter() - start)
        settle(pg)
        row = frame.locator(".fc-row").first

    pg.get_by_role("tab", name="Scenarios").click()
    settle(pg)
    titles = scenario_titles()
    for i in range(repeat):
        title = titles[i % len(titles)]
        pg.get_by_label("Scenario", exact=True).click()  # the scenario list
        pg.get_by_role("option", name=title, exact=True).click()
        settle(pg)
        start = time.perf_counter()
        pg.get_by_role("button", name="Load into the controls").click()
        pg.get_by_text(f"Loaded “{title}” into the controls").first.wait_for(timeout=30000)
        results["scenario load: confirmation"].append(time.perf_counter() - start)
        settle(pg)
    context.close()


def report(results: dict[str, list[float]]) -> str:
    lines = [
        "| action | median | min | max | runs | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in results.items():
        if not values:
            continue
        med = statistics.median(values)
        target = TARGETS[name]
        mark = "ok" if med <= target else "SLOWER"
        lines.append(
            f"| {name} | {1000 * med:.0f} ms | {1000 * min(values):.0f} ms | "
            f"{1000 * max(values):.0f} ms | {len(values)} | ≤ {1000 * target:.0f} ms ({mark}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="times each action is repeated")
    parser.add_argument("--loads", type=int, default=3, help="first loads (fresh browser contexts)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"browser benchmark skipped: no Chromium at {CHROMIUM}")
        return 0
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {name: [] for name in TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "evidence" / "scenarios", work / "scenarios")
        app_args = [
            "--model",
            str(ROOT / "models" / "russia_iran.yaml"),
            "--evidence",
            str(ROOT / "evidence"),
            "--scenarios",
            str(work / "scenarios"),
        ]
        with (
            serve_app(work, app_args, env={"FORECAST_DB": str(work / "journal.sqlite")}) as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for _ in range(args.loads):
                first_load(browser, url, results)
            interactions(browser, url, args.repeat, results)
            browser.close()
    print("Forecast page in headless Chromium (default model, 1280 x 900):")
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

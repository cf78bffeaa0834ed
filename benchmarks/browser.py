"""Browser latencies of the forecast page, measured in headless Chromium (Playwright).

Serves the app on a free localhost port with the default model and times, in the
browser, what an analyst waits for:

- first load: page opened -> outcome numbers on screen, and -> network drawn
  (in a fresh browser context each time; the server's very first page, which
  also pays for imports and compiling the model, is reported apart);
- a driver slider moved with the keyboard -> new outcome numbers;
- a state clicked in the network -> new outcome numbers, and -> the network redrawn;
- a scenario loaded -> its confirmation on screen.

Times are taken inside the browser (performance.timeOrigin + performance.now(),
one clock for the page and the network's frame): from the input event (the key
press, the click on a state, the button click; for a first load, the start of
the navigation) to the moment the page's DOM shows the change (a MutationObserver
sees new outcome numbers, the clicked state's highlight, the confirmation).  So
Playwright's own round trips are not counted; painting the frame is (under 20 ms).

Each action is repeated; the report gives median, min and max (the machine is
shared, so the spread is part of the result).  Run: `python benchmarks/browser.py
[--repeat N]` (`make bench` runs it).  Targets from issue 13: outcome numbers
<= 300 ms median, network redrawn <= 500 ms, scenario loaded <= 1 s, first load <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, serve_app, settle  # noqa: E402

TARGETS: dict[str, float | None] = {
    "server's first page: outcome numbers": None,  # imports, model compiled: not a target
    "server's first page: network drawn": None,
    "first load: outcome numbers": 5.0,
    "first load: network drawn": 5.0,
    "slider move: outcome numbers": 0.3,
    "network click: outcome numbers": 0.3,
    "network click: network redrawn": 0.5,
    "scenario load: confirmation": 1.0,
}
OUTCOME_JS = "() => { const t = document.querySelector('[data-testid=stTable]'); return t ? t.textContent : ''; }"
FRAME = 'iframe[title="streamlit_flow.streamlit_flow"]'
# predicates (JavaScript source, one argument) for `watch`
NUMBERS_CHANGED = f"(old) => {{ const t = ({OUTCOME_JS})(); return t !== '' && t !== old; }}"
STATE_FLIPPED = (
    "(was) => { const r = document.querySelector('.fc-row'); "
    "return !!r && r.classList.contains('fc-on') !== was; }"
)
TEXT_SHOWN = "(want) => document.body.textContent.includes(want)"
NOW = "performance.timeOrigin + performance.now()"

# From the page's start: the first moment outcome numbers exist, and the first
# moment the network's boxes do (React Flow has measured and shown them; watched
# from the top page on the frame's document once it has loaded: the frame's own
# window starts as about:blank); and the time of the latest key press and click.
FIRST_SEEN = f"""(() => {{
  if (window !== window.top) return;
  const seen = (doc, name, test) => {{
    const check = () => {{ if (window[name] === undefined && test(doc)) window[name] = {NOW}; }};
    new MutationObserver(check).observe(doc, {{subtree: true, childList: true, characterData: true, attributes: true}});
    check();
  }};
  seen(document, '__fc_numbers', () => ({OUTCOME_JS})().includes('%'));
  new MutationObserver(() => {{
    const f = document.querySelector('{FRAME}');
    if (!f || f.__fc) return;
    f.__fc = true;
    f.addEventListener('load', () => seen(f.contentDocument, '__fc_boxes',
      (d) => [...d.querySelectorAll('.fc-node')].some(n => n.style.visibility !== 'hidden')));
  }}).observe(document, {{subtree: true, childList: true}});
  document.addEventListener('keydown', () => {{ window.__fc_key = {NOW}; }}, true);
  document.addEventListener('click', () => {{ window.__fc_click = {NOW}; }}, true);
}})()"""

WATCH_JS = f"""([name, pred, arg]) => {{
  window.__fc = window.__fc || {{}};
  delete window.__fc[name];
  const test = new Function('arg', 'return (' + pred + ')(arg);');
  const obs = new MutationObserver(() => check());
  const check = () => {{ if (window.__fc[name] === undefined && test(arg)) {{ window.__fc[name] = {NOW}; obs.disconnect(); }} }};
  obs.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
}}"""


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


def watch(doc, name: str, predicate: str, arg: object) -> None:
    """Start recording (in the browser) the first moment `predicate(arg)` holds in `doc`."""
    doc.evaluate(WATCH_JS, [name, predicate, arg])


def seen(doc, name: str, timeout: float = 30.0) -> float:
    """The browser's time (ms) at which the watched change happened (waits for it)."""
    doc.wait_for_function(
        f"() => (window.__fc || {{}})[{name!r}] !== undefined", timeout=timeout * 1000
    )
    return float(doc.evaluate(f"() => window.__fc[{name!r}]"))


def scenario_titles() -> list[str]:
    import forecast

    model = forecast.load_model(ROOT / "models" / "russia_iran.yaml")
    scenarios = forecast.load_scenarios(ROOT / "evidence" / "scenarios")
    return [s.display for s in model.fitting_scenarios(scenarios)][::-1]


def first_load(
    browser, url: str, results: dict[str, list[float]], label: str = "first load"
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(FIRST_SEEN)
    pg = context.new_page()
    pg.goto(url, wait_until="commit")
    pg.wait_for_function("() => window.__fc_numbers !== undefined", timeout=60000)
    pg.wait_for_function("() => window.__fc_boxes !== undefined", timeout=60000)
    origin = float(pg.evaluate("() => performance.timeOrigin"))
    results[f"{label}: outcome numbers"].append(
        (float(pg.evaluate("() => window.__fc_numbers")) - origin) / 1000
    )
    results[f"{label}: network drawn"].append(
        (float(pg.evaluate("() => window.__fc_boxes")) - origin) / 1000
    )
    context.close()


def interactions(browser, url: str, repeat: int, results: dict[str, list[float]]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(FIRST_SEEN)
    pg = context.new_page()
    pg.goto(url)
    settle(pg)
    frame = network_frame(pg)

    thumb = pg.locator('[data-testid="stSlider"] input[type="range"]').first
    for i in range(repeat):
        watch(pg, "numbers", NUMBERS_CHANGED, outcome_text(pg))
        thumb.focus()
        pg.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        done = seen(pg, "numbers")
        results["slider move: outcome numbers"].append(
            (done - float(pg.evaluate("() => window.__fc_key"))) / 1000
        )
        settle(pg)

    for _ in range(repeat):
        frame = network_frame(pg)
        was_on = bool(frame.evaluate(f"() => !({STATE_FLIPPED})(true)"))
        watch(pg, "numbers", NUMBERS_CHANGED, outcome_text(pg))
        watch(frame, "flipped", STATE_FLIPPED, was_on)
        # the click as the browser gets it (no actionability waits inside the timing)
        start = float(
            frame.evaluate(
                f"() => {{ const t = {NOW}; document.querySelector('.fc-row')"
                ".dispatchEvent(new MouseEvent('click', {bubbles: true})); return t; }"
            )
        )
        results["network click: outcome numbers"].append((seen(pg, "numbers") - start) / 1000)
        results["network click: network redrawn"].append((seen(frame, "flipped") - start) / 1000)
        settle(pg)

    pg.get_by_role("tab", name="Scenarios").click()
    settle(pg)
    titles = scenario_titles()
    for i in range(repeat):
        title = titles[i % len(titles)]
        pg.get_by_label("Scenario", exact=True).click()  # the scenario list
        pg.get_by_role("option", name=title, exact=True).click()
        settle(pg)
        watch(pg, "loaded", TEXT_SHOWN, f"Loaded “{title}” into the controls")
        pg.get_by_role("button", name="Load into the controls").click()
        done = seen(pg, "loaded")
        results["scenario load: confirmation"].append(
            (done - float(pg.evaluate("() => window.__fc_click"))) / 1000
        )
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
        aim = (
            "(for information)"
            if target is None
            else f"≤ {1000 * target:.0f} ms ({'ok' if med <= target else 'SLOWER'})"
        )
        lines.append(
            f"| {name} | {1000 * med:.0f} ms | {1000 * min(values):.0f} ms | "
            f"{1000 * max(values):.0f} ms | {len(values)} | {aim} |"
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
    load_before = os.getloadavg()
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
            # the server's very first page pays for imports and compiling the model once
            first_load(browser, url, results, label="server's first page")
            for _ in range(args.loads):
                first_load(browser, url, results)
            interactions(browser, url, args.repeat, results)
            browser.close()
    load_after = os.getloadavg()
    print(
        "Forecast page in headless Chromium (default model, 1280 x 900); load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after ({os.cpu_count()} cores):"
    )
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared pieces for browser tests: the app served on a free localhost port, Chromium, settling.

Imported by the browser test modules (not a test module itself).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def require_browser() -> None:
    """Skip the module with the reason when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does this)",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(work: Path, app_args: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py -- APP_ARGS` on a free port; yields its URL, stops it afterwards."""
    port = free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    full_env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    log_path = work / f"server-{port}.log"
    with open(log_path, "w") as log:
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
                "none",
                "--",
                *app_args,
            ],
            cwd=ROOT,
            env=full_env,
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
                    pytest.fail("streamlit did not start:\n" + log_path.read_text()[-2000:])
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's, with CHROMIUM_ARGS) launched by Playwright; closed afterwards."""
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(pg: object, timeout: float = 60.0) -> str:
    """Wait until Streamlit has finished the run and the page's text has stopped changing."""
    deadline = time.monotonic() + timeout
    pg.wait_for_selector("h1", timeout=timeout * 1000)  # type: ignore[attr-defined]
    last, stable = None, 0
    while time.monotonic() < deadline:
        busy = pg.locator(  # type: ignore[attr-defined]
            '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'
        ).count()
        text = pg.locator('[data-testid="stMain"]').inner_text()  # type: ignore[attr-defined]
        if not busy and text == last:
            stable += 1
            if stable >= 3:
                return str(text)
        else:
            stable = 0
        last = text
        time.sleep(0.4)
    raise AssertionError("the page did not settle")


def open_sidebar(pg: object) -> None:
    """Open the sidebar (it starts collapsed), as a user clicking its arrow would."""
    expand = pg.locator('[data-testid="stExpandSidebarButton"]')  # type: ignore[attr-defined]
    if expand.count() and expand.first.is_visible():
        expand.first.click()
        expand.first.wait_for(state="hidden", timeout=30000)
    pg.locator('[data-testid="stSidebarUserContent"]').wait_for(  # type: ignore[attr-defined]
        state="visible", timeout=30000
    )

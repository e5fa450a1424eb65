"""Helpers to drive the real app: `streamlit run` on a free port, headless Debian Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Debian chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_app(
    source: Path | str,
    timeout: float = 60,
    root: Path = ROOT,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[str]:
    """Serve ``root``/app.py with `streamlit run` on 127.0.0.1; yields its base URL."""
    with served_process(source, timeout, root, env, args, port) as (url, _):
        yield url


@contextlib.contextmanager
def served_process(
    source: Path | str,
    timeout: float = 60,
    root: Path = ROOT,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``served_app`` that also yields the server process (to watch its memory). ``args`` are
    more `streamlit run` options (e.g. ``--secrets.files``); ``port`` a chosen port (default: a
    free one). The server's output goes to a file (a pipe nobody reads would fill up and stall
    it), shown if it fails to start."""
    port = port or free_port()
    environment = dict(
        os.environ, HARM_INSIGHTS_SOURCE=str(source), HARM_INSIGHTS_BASE_URL=f"http://127.0.0.1:{port}", **(env or {})
    )
    command = [
        sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
        *args,
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        log.seek(0)
                        output = log.read().decode(errors="replace")[-3000:]
                        raise RuntimeError(f"streamlit did not start: {output}") from None
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium driven by Playwright (never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the page's script (no running indicator, no
    element left over from the previous run)."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]') && !document.querySelector('[data-stale=true]')",
        timeout=timeout,
    )


def navigate(page, title: str, path: str, timeout: float = 60_000) -> None:
    """Open another page through the sidebar navigation (the same session, as a user would) and
    wait for its script to finish. ``path``: the page's URL path ("" for the default page)."""
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=title, exact=True).click()
    page.wait_for_function(
        "(p) => p ? location.pathname.endsWith('/' + p) : location.pathname === '/'", arg=path, timeout=timeout
    )
    wait_for_app(page, timeout)


def add_to_review_deck(page) -> None:
    """Click "Add to review deck" and wait for the rerun that lists the view."""
    page.get_by_role("button", name="Add to review deck").click()
    page.get_by_role("button", name="Update in review deck").wait_for(timeout=30_000)
    wait_for_app(page)


def warm_up(browser, url: str) -> None:
    """Open the app's root once after the server starts.

    Streamlit runs the first script run of a process in its legacy ``pages/``-directory mode
    (``st.navigation`` switches that off for good); a deep link as the very first request
    would show a "page not found" notice before app.py takes over.
    """
    page = browser.new_page()
    page.goto(url)
    wait_for_app(page)
    first_chart_visible(page)
    page.close()


#: A Plotly chart with data drawn (a trace's SVG group): KPI numbers and empty charts do not count.
DRAWN_CHART = ".js-plotly-plot g.trace path"


def first_chart_visible(page, timeout: float = 60_000) -> None:
    """Wait for the first Plotly chart with data to be drawn."""
    page.wait_for_selector(DRAWN_CHART, timeout=timeout, state="attached")

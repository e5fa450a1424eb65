"""The app shell: AppTest (in-process) and a real headless Chromium against `streamlit run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from insights.kpis import kpi_cards
from tests.conftest import ROOT, unavailable

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture()
def app(sample_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def shown(at: AppTest) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for m in at.metric:
        values.setdefault(m.label, []).append(m.value)
    return values


def test_overview_shows_kpi_cards_for_the_core_harm_areas(app, sample_cube):
    at = app.run()
    assert not at.exception
    _, cards = kpi_cards(sample_cube, ["actions"], by="harm_area", grain="week")
    expected = {c.key: f"{c.value:,.0f}" for c in cards}
    headings = [m.value for m in at.markdown if "■" in m.value]
    assert ["Violent extremism" in headings[0], "Hateful behavior" in headings[1]] == [True, True]
    assert shown(at)["Actions"] == [expected[h] for h in ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]]


def test_harm_area_filter_changes_the_cards_and_the_url(app, sample_cube):
    at = app.run()
    at.multiselect(key="f_harm_area").set_value(["spam"]).run()
    assert not at.exception
    _, cards = kpi_cards(sample_cube, ["actions"], by="harm_area", filters={"harm_area": ["spam"]}, grain="week")
    assert shown(at)["Actions"] == [f"{cards[0].value:,.0f}"]
    assert at.query_params["harm_area"] in ("spam", ["spam"])


def test_url_state_round_trips(app):
    app.query_params["harm_area"] = ["child_safety", "self_harm"]
    at = app.run()
    assert at.multiselect(key="f_harm_area").value == ["child_safety", "self_harm"]
    assert len(shown(at)["Actions"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_app(sample_dir):
    """`streamlit run app.py` on a free local port, serving the sample data."""
    port = _free_port()
    env = dict(os.environ, HARM_INSIGHTS_SOURCE=str(sample_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"streamlit did not start: {process.stdout.read().decode()[-2000:]}")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        unavailable("no chromium on PATH (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield instance
        instance.close()


def test_overview_in_a_real_browser(browser, served_app, sample_cube):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(served_app + "/?harm_area=violent_extremism&harm_area=self_harm")
    page.get_by_text("Violent extremism").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    _, cards = kpi_cards(sample_cube, ["actions"], by="harm_area", filters={"harm_area": ["violent_extremism"]}, grain="week")
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert f"{cards[0].value:,.0f}" in values
    assert "Mental health / self-harm" in page.content()
    assert "Hateful behavior" not in page.locator('[data-testid="stMain"]').inner_text()

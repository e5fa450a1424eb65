"""The dashboard in a real headless Chromium: every page at 1440, 1024 and 390 px (screenshots in
test-artifacts/screens/, no horizontal overflow, no error), Back undoing a drill, random view
states, readable contrast, and the dark theme."""

from __future__ import annotations

import os
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.browser import first_chart_visible, served_app, wait_for_app, warm_up
from tests.app.test_browser import PAGES, app_url, browser, query  # noqa: F401  (fixtures)
from tests.app.test_view_states import urls
from tests.conftest import ROOT

SCREENS = ROOT / "test-artifacts" / "screens"
WIDTHS = (1440, 1024, 390)
VIEW = "harm_area=violent_extremism&harm_area=self_harm&harm_area=hateful_behavior&harm_area=human_exploitation"


def open_page(browser, url: str, width: int, dark: bool = False):  # noqa: F811
    """A fresh tab at ``width`` px that has finished running the page at ``url``."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light", accept_downloads=True
    )
    page = context.new_page()
    page.goto(url)
    wait_for_app(page)
    return context, page


def screenshot(page, path) -> None:
    """The whole page (Streamlit scrolls inside its main area, so the viewport is made as tall as it)."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": max(900, min(int(height) + 40, 12_000))})
    page.wait_for_timeout(300)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def assert_clean(page) -> None:
    """No exception, no error dialog, no traceback, the sidebar's filters present."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stDialog"]').count() == 0
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_at_every_width(browser, app_url, name, width):  # noqa: F811
    extra = "&p_baseline=2026-06-01..2026-06-14&p_current=2026-06-15..2026-06-28" if name == "root_cause" else ""
    context, page = open_page(browser, f"{app_url}/{PAGES[name]}?{VIEW}{extra}", width)
    try:
        if name == "data":
            page.get_by_text("Rows read").first.wait_for(timeout=60_000)
        else:
            first_chart_visible(page)
        look_at(page, SCREENS / f"{name}-{width}.png", width)
    finally:
        context.close()


def assert_no_sideways_scroll(page, width: int) -> None:
    """Neither the document nor the main area scrolls sideways."""
    overflow = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=stMain]');"
        " return [document.documentElement.scrollWidth - window.innerWidth, main.scrollWidth - main.clientWidth]; }"
    )
    assert max(overflow) <= 1, f"the page scrolls sideways at {width} px by {overflow} px"


#: Each shown text of a chart (titles, ticks, labels) that reaches past the chart's box, where it is cut.
CUT_TEXTS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((plot) => {
  const box = plot.getBoundingClientRect();
  return [...plot.querySelectorAll('svg text')].map((text) => {
    const r = text.getBoundingClientRect();
    const past = Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
    return r.width && text.textContent.trim() && past > 1 ? `${text.textContent} (${Math.round(past)} px)` : null;
  }).filter(Boolean);
})"""


def assert_no_cut_chart_text(page, width: int) -> None:
    """No chart's title, tick or label reaches past its chart, where it would be cut."""
    cut = page.evaluate(CUT_TEXTS)
    assert not cut, f"chart text cut at {width} px: {cut}"


def look_at(page, path, width: int) -> None:
    """Let the drawn page settle, keep its screenshot at ``path``, and check it: clean (``assert_clean``),
    not scrolling sideways at ``width`` px and no chart text cut."""
    wait_for_app(page)
    page.wait_for_timeout(500)
    screenshot(page, path)
    assert_clean(page)
    assert_no_sideways_scroll(page, width)
    assert_no_cut_chart_text(page, width)


#: The exposure views: prevalence beside enforcement, prevalence over time, the enforcement /
#: exposure split, the map per views.
EXPOSED_VIEWS = {
    "overview": "",
    "trends": "&p_metric=prevalence&grain=quarter",
    "root_cause": "&p_metric=actions_per_million_views",
    "regional": "&p_metric=actions&p_per=views",
}


@pytest.fixture(scope="module")
def exposed_app_url(sample_dir, browser):  # noqa: F811
    """The app on the sample with its exposure and view sample beside the events."""
    with served_app(sample_dir.parent) as url:
        warm_up(browser, url)
        yield url


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(EXPOSED_VIEWS))
def test_exposure_views_at_every_width(browser, exposed_app_url, name, width):  # noqa: F811
    url = f"{exposed_app_url}/{PAGES[name]}?{VIEW}{EXPOSED_VIEWS[name]}"
    context, page = open_page(browser, url, width)
    try:
        first_chart_visible(page)
        look_at(page, SCREENS / f"exposed-{name}-{width}.png", width)
    finally:
        context.close()


def test_back_undoes_a_chip_and_a_tree_drill(browser, app_url):  # noqa: F811
    context, page = open_page(browser, f"{app_url}/trends?harm_area=self_harm&region=Europe", 1440)
    try:
        first_chart_visible(page)
        page.get_by_role("button", name="Region: Europe").click()
        page.wait_for_function("() => !location.search.includes('region=')", timeout=30_000)
        wait_for_app(page)
        page.go_back()
        page.wait_for_function("() => location.search.includes('region=Europe')", timeout=30_000)
        wait_for_app(page)
        page.get_by_role("button", name="Region: Europe").wait_for(timeout=30_000)
        assert query(page)["region"] == ["Europe"]

        page.goto(
            f"{app_url}/root_cause?harm_area=self_harm&p_baseline=2026-06-01..2026-06-14"
            "&p_current=2026-06-15..2026-06-28"
        )
        wait_for_app(page)
        page.get_by_role("button", name="Live stream:").first.click()
        page.wait_for_function("() => location.search.includes('p_node=')", timeout=30_000)
        wait_for_app(page)
        page.get_by_role("button", name="Portuguese:").first.wait_for(timeout=30_000)
        page.go_back()
        page.wait_for_function("() => !location.search.includes('p_node=')", timeout=30_000)
        wait_for_app(page)
        page.get_by_role("button", name="Live stream:").first.wait_for(timeout=30_000)
    finally:
        context.close()


def test_axis_text_is_readable_in_light_and_dark(browser, app_url):  # noqa: F811
    for dark in (False, True):
        context, page = open_page(browser, f"{app_url}/trends?harm_area=self_harm", 1440, dark=dark)
        try:
            first_chart_visible(page)
            page.wait_for_timeout(500)
            ratios = page.evaluate(CONTRAST)
            assert ratios and min(ratios) >= 4.5, (dark, ratios)
            screenshot(page, SCREENS / f"trends-{'dark' if dark else 'light'}.png")
        finally:
            context.close()


#: The contrast ratio of every axis tick label against the chart's background (WCAG 2 formula).
CONTRAST = """() => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratios = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const back = getComputedStyle(plot.querySelector('.main-svg')).backgroundColor;
    for (const t of plot.querySelectorAll('.xtick text, .ytick text')) {
      const a = lum(getComputedStyle(t).fill), b = lum(back);
      ratios.push((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
    }
  }
  return ratios;
}"""


@settings(
    max_examples=int(os.environ.get("BROWSER_VIEW_STATES", "4")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(url=urls(), page_name=st.sampled_from(list(PAGES)))
def test_random_view_states_in_the_browser(browser, app_url, url, page_name):  # noqa: F811
    context, page = open_page(browser, f"{app_url}/{PAGES[page_name]}?{urlencode(url, doseq=True)}", 1024)
    try:
        page.locator('[data-testid="stSidebar"] [data-testid="stDateInput"]').wait_for(timeout=60_000)
        assert_clean(page)
    finally:
        context.close()

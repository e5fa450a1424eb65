"""End to end in a real headless Chromium against `streamlit run`: every page, a filter change,
a click that drills, and the deck downloaded and read back. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlparse

import pytest
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE

from insights.kpis import kpi_cards
from pages.chart_element import FULL_BUILD, STATIC
from tests.app.browser import (
    add_to_review_deck,
    chromium,
    chromium_path,
    first_chart_visible,
    navigate,
    served_app,
    wait_for_app,
    warm_up,
)
from tests.conftest import ROOT, unavailable

ARTIFACTS = ROOT / "test-artifacts"
PAGES = {
    "overview": "",
    "regional": "regional",
    "trends": "trends",
    "root_cause": "root_cause",
    "impact": "impact",
    "deep_dive": "deep_dive",
    "data": "data",
}


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("no chromium on PATH (Debian package 'chromium')")
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def app_url(sample_dir, browser):
    with served_app(sample_dir) as url:
        warm_up(browser, url)
        yield url


@pytest.fixture()
def chart_builds() -> None:
    """The chart builds the pages load (``make static/.builds``)."""
    if not (STATIC / FULL_BUILD).is_file():
        unavailable("the chart builds are not made (make static/.builds)")


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    yield context.new_page()
    context.close()


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_without_an_error(page, app_url, name):
    page.goto(f"{app_url}/{PAGES[name]}")
    wait_for_app(page)
    if name == "data":
        page.get_by_text("What was loaded").wait_for(timeout=60_000)
    else:
        first_chart_visible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stDialog"]').count() == 0, page.locator(
        '[data-testid="stDialog"]'
    ).all_inner_texts()
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()


#: The Plotly builds each page's charts are drawn with (pages/chart_element.py): lines and bars,
#: maps, and the full build only for a WebGL scatter (Impact).
BUILDS = {
    "overview": {"plotly-basic.min.js", "plotly-geo.min.js"},
    "regional": {"plotly-basic.min.js", "plotly-geo.min.js"},
    "trends": {"plotly-basic.min.js"},
    "root_cause": {"plotly-basic.min.js"},
    "impact": {"plotly-basic.min.js", "plotly.min.js"},
    "deep_dive": {"plotly-basic.min.js"},
}


@pytest.mark.parametrize("name", list(BUILDS))
def test_a_page_draws_every_chart_loading_only_the_builds_they_need(page, app_url, chart_builds, name):
    fetched: set[str] = set()
    page.on("request", lambda r: fetched.add(r.url.rsplit("/", 1)[-1]) if "/app/static/" in r.url else None)
    page.goto(f"{app_url}/{PAGES[name]}")
    wait_for_app(page)
    first_chart_visible(page)
    page.wait_for_function(  # every chart on the page drawn (Plotly marks the box it drew in)
        "() => { const charts = [...document.querySelectorAll('.harm-insights-chart')];"
        " return charts.length >= 2 && charts.every(chart => chart.classList.contains('js-plotly-plot')); }",
        timeout=60_000,
    )
    assert fetched == BUILDS[name]


def test_a_chart_library_that_fails_to_load_is_said_and_the_next_rerun_draws(page, app_url, chart_builds):
    page.route("**/app/static/plotly-basic.min.js", lambda route: route.abort())
    page.goto(f"{app_url}/trends")
    wait_for_app(page)
    page.get_by_text("This chart could not be drawn").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.unroute("**/app/static/plotly-basic.min.js")
    page.locator("[data-testid=stSidebar]").get_by_text("Month", exact=True).click()
    first_chart_visible(page)
    page.wait_for_function("() => !document.querySelector('.harm-insights-chart-error')", timeout=60_000)


def test_a_filter_change_updates_the_numbers_and_the_url(page, app_url, sample_cube):
    page.goto(f"{app_url}/?harm_area=violent_extremism&harm_area=self_harm")
    wait_for_app(page)
    first_chart_visible(page)
    _, cards = kpi_cards(
        sample_cube, ["actions"], by="harm_area", filters={"harm_area": ["violent_extremism"]}, grain="week"
    )
    shows_value = "(v) => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === v)"
    page.wait_for_function(shows_value, arg=f"{cards[0].value:,.0f}")
    page.locator("[data-testid=stSidebar]").get_by_text("Month", exact=True).click()
    wait_for_app(page)
    page.wait_for_function("() => location.search.includes('grain=month')")
    _, monthly = kpi_cards(
        sample_cube, ["actions"], by="harm_area", filters={"harm_area": ["violent_extremism"]}, grain="month"
    )
    page.wait_for_function(shows_value, arg=f"{monthly[0].value:,.0f}")
    assert query(page)["grain"] == ["month"]
    assert query(page)["harm_area"] == ["violent_extremism", "self_harm"]


def test_a_copied_link_reopens_the_same_view(page, app_url):
    page.goto(f"{app_url}/trends?harm_area=hateful_behavior&grain=month&p_metric=proactive_rate&p_by=detection_source")
    wait_for_app(page)
    first_chart_visible(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Proactive rate by detection source, per month" in text
    assert query(page)["p_metric"] == ["proactive_rate"]


def test_clicking_a_bar_drills_into_that_value(page, app_url):
    page.goto(f"{app_url}/regional?harm_area=violent_extremism")
    wait_for_app(page)
    first_chart_visible(page)
    bars = page.locator(".js-plotly-plot").nth(1).locator("g.point path")
    page.locator(".js-plotly-plot").nth(1).scroll_into_view_if_needed()
    box = bars.first.bounding_box()  # plotly's drag layer sits on top: point and click where a user would
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)  # plotly picks the clicked point from the hover
    page.mouse.click(x, y)
    page.wait_for_function("() => location.search.includes('region=')", timeout=30_000)
    # the region chart now shows just the clicked region, and the map just its countries
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot')[1].querySelectorAll('g.point').length === 1",
        timeout=30_000,
    )
    assert len(query(page)["region"]) == 1
    sidebar = page.locator("[data-testid=stSidebar]").inner_text()
    assert "Leadership" in sidebar and "common" not in sidebar, "the rerun went through app.py's navigation"
    page.screenshot(path=str(ARTIFACTS / "drill-region.png"), full_page=True)


def test_deck_downloads_and_reads_back(page, app_url):
    page.goto(f"{app_url}/?harm_area=violent_extremism&harm_area=self_harm")
    wait_for_app(page)
    first_chart_visible(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Export deck").click(timeout=90_000)
    deck = Presentation(io.BytesIO(download.value.path().read_bytes()))
    slides = list(deck.slides)
    assert len(slides) == 2 + 2  # title, KPIs, map (image), top countries (native bar)
    kinds = [shape.chart.chart_type for s in slides for shape in s.shapes if shape.has_chart]
    assert kinds == [XL_CHART_TYPE.BAR_CLUSTERED]
    notes = slides[0].notes_slide.notes_text_frame.text
    assert "harm_area=violent_extremism" in notes
    kpi_text = " ".join(sh.text_frame.text for sh in slides[1].shapes if sh.has_text_frame)
    assert "Actions · Violent extremism" in kpi_text


def test_filters_survive_switching_pages(page, app_url):
    page.goto(f"{app_url}/regional?harm_area=self_harm&grain=month&region=Europe")
    wait_for_app(page)
    first_chart_visible(page)
    for title, path in (("Trends", "trends"), ("Overview", ""), ("Regional", "regional")):
        navigate(page, title, path)
        first_chart_visible(page)
        assert (query(page)["harm_area"], query(page)["grain"], query(page)["region"]) == (
            ["self_harm"],
            ["month"],
            ["Europe"],
        ), title


def charts_on_page(page) -> int:
    """The number of charts in this page's deck, from its "Export deck (N charts)" button."""
    return int(page.get_by_role("button", name="Export deck (").inner_text().split("(")[1].split()[0])


def test_review_deck_collects_views_from_several_pages(page, app_url):
    page.goto(f"{app_url}/regional?harm_area=self_harm")
    wait_for_app(page)
    first_chart_visible(page)
    regional = charts_on_page(page)
    add_to_review_deck(page)
    navigate(page, "Trends", "trends")
    first_chart_visible(page)
    trends = charts_on_page(page)
    add_to_review_deck(page)
    button = page.get_by_role("button", name="Export review deck")
    assert f"2 views, {regional + trends} charts" in button.inner_text()
    with page.expect_download(timeout=60_000) as download:
        button.click()
    slides = list(Presentation(io.BytesIO(download.value.path().read_bytes())).slides)
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in slides]
    assert texts[1].startswith("Regional") and "Mental health / self-harm" in texts[1]
    assert texts[2 + regional].startswith("Trends")
    assert len(slides) == 1 + (1 + regional) + (1 + trends)
    assert "/regional?" in slides[2].notes_slide.notes_text_frame.text
    assert "/trends?" in slides[-1].notes_slide.notes_text_frame.text

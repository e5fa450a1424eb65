"""The Impact page in a real headless Chromium: the program story of the sample at 1440, 1024 and
390 px (screenshots in test-artifacts/screens/impact-story-<width>.png, no sideways scrolling, no
error), its deck (every impact chart as a picture, the numbers, the sentence; the download in the
audit log; kept as test-artifacts/impact-deck.pptx), and the Trends page's "Estimate impact" link
opening it on the annotated launch."""

from __future__ import annotations

import io
import json

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from insights.audit import AuditLog
from tests.app.browser import first_chart_visible, wait_for_app
from tests.app.test_browser import ARTIFACTS, app_url, browser, query  # noqa: F401  (fixtures)
from tests.app.test_browser_views import SCREENS, WIDTHS, assert_clean, look_at, open_page

STORY = "harm_area=human_exploitation&p_dimension=country&p_treated=BR%7CMX%7CCO&p_launch=2026-01-19&p_metric=actions"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_program_story_at_every_width(browser, app_url, width):  # noqa: F811
    context, page = open_page(browser, f"{app_url}/impact?{STORY}", width)
    try:
        first_chart_visible(page)
        page.get_by_text("Placebos in space:").first.wait_for(timeout=120_000)
        look_at(page, SCREENS / f"impact-story-{width}.png", width)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "After the launch on 19 Jan 2026" in text and "Brazil, Mexico and Colombia" in text
    finally:
        context.close()


def test_the_deck_carries_every_impact_chart(browser, app_url, audit_log_of_the_run):  # noqa: F811
    context, page = open_page(browser, f"{app_url}/impact?{STORY}", 1440)
    try:
        page.get_by_text("Placebos in space:").first.wait_for(timeout=120_000)
        wait_for_app(page)
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="Export deck (5 charts)").click(timeout=60_000)
        made = download.value.path().read_bytes()
    finally:
        context.close()
    (ARTIFACTS / "impact-deck.pptx").write_bytes(made)
    slides = list(Presentation(io.BytesIO(made)).slides)
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in slides]
    assert "Actions: effect per week" in texts[1] and "90% interval" in texts[1]
    charts = [i for i, s in enumerate(slides) if any(sh.shape_type == MSO_SHAPE_TYPE.PICTURE for sh in s.shapes)]
    titles = [texts[i] for i in charts]
    for start in ("Actions in Brazil, Mexico and Colombia", "The effect per period", "What the counterfactual",
                  "Placebo in time", "Placebos in space"):  # fmt: skip
        assert any(t.startswith(start) for t in titles), (start, titles)
    assert "After the launch on 19 Jan 2026" in slides[1].notes_slide.notes_text_frame.text
    decks = AuditLog(f"sqlite:///{audit_log_of_the_run}").records(action="deck")
    assert any(json.loads(w)["title"] == "Impact" for w in decks["what"]), "the deck is in the audit log"


def test_trends_estimate_impact_opens_the_launch(browser, app_url):  # noqa: F811
    trends = f"{app_url}/trends?harm_area=human_exploitation&country=BR&country=MX&country=CO"
    context, page = open_page(browser, trends, 1440)
    try:
        first_chart_visible(page)
        page.get_by_text("Estimate the impact of an annotated event").click()
        page.get_by_role("link", name="upload classifier").click()
        page.wait_for_function("() => location.pathname.endsWith('/impact')", timeout=60_000)
        wait_for_app(page, timeout=120_000)
        page.get_by_text("After the launch on 19 Jan 2026").first.wait_for(timeout=120_000)
        found = query(page)
        assert found["p_launch"] == ["2026-01-19"] and found["p_treated"] == ["BR|MX|CO"]
        assert "country" not in found
        assert_clean(page)
    finally:
        context.close()

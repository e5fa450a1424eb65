"""Sign-in end to end in headless Chromium: `streamlit run` with ``[auth]`` pointing at a local
OpenID provider on this machine. Nothing shows before sign-in; a user sees their scope only; an
account the policy does not name sees nothing; signing out ends it; and eight users signed in at
once, each with another scope, never see each other's data."""

from __future__ import annotations

import pytest

from insights.labels import label
from tests.app.browser import chromium, chromium_path, first_chart_visible, navigate, wait_for_app
from tests.app.signin import SESSION_GROUPS, SESSION_POLICY, SESSION_USERS, concurrent_sessions, sign_in, signed_in_app
from tests.conftest import unavailable

USERS = {
    "ana": {"email": "ana@example.com"},
    "mallory": {"email": "mallory@elsewhere.org"},
}
POLICY = """
[groups.extremism_europe]
harm_areas = ["violent_extremism"]
regions = ["Europe"]

[[members]]
email = "ana@example.com"
groups = ["extremism_europe"]
"""
HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation", "child_safety", "bullying"]


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("no chromium on PATH (Debian package 'chromium')")
    with chromium() as instance:
        yield instance


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    context.close()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_sign_in_scope_and_sign_out_in_a_real_browser(sample_dir, tmp_path, page):
    with signed_in_app(sample_dir, USERS, POLICY, tmp_path) as (url, _):
        page.goto(f"{url}/trends?harm_area=self_harm")
        wait_for_app(page)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.locator(".js-plotly-plot").count() == 0
        assert "Self-harm" not in main_text(page) and page.locator("[data-testid=stSidebarNav]").count() == 0

        sign_in(page, url, "ana")
        first_chart_visible(page)
        text = main_text(page)
        assert label("harm_area", "violent_extremism") in text
        assert not [label("harm_area", h) for h in HARM_AREAS[1:] if label("harm_area", h) in text]
        assert page.get_by_text("Signed in as ana@example.com").count() == 1

        navigate(page, "Data", "data")
        assert page.get_by_text("Path on the server").count() == 0

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="End session").click(timeout=60_000)  # the provider's page
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() == 0


def test_an_account_the_policy_does_not_name_sees_nothing(sample_dir, tmp_path, page):
    with signed_in_app(sample_dir, USERS, POLICY, tmp_path) as (url, _):
        sign_in(page, url, "mallory")
        page.get_by_text("not granted access").wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() == 0


def test_eight_signed_in_sessions_at_once_see_only_their_own_scopes(sample_dir, tmp_path):
    if not chromium_path():
        unavailable("no chromium on PATH (Debian package 'chromium')")
    with signed_in_app(sample_dir, SESSION_USERS, SESSION_POLICY, tmp_path) as (url, _):
        runs = concurrent_sessions(url, {"Overview": "", "Regional": "regional"})
    assert [r.errors for r in runs] == [[] for _ in runs]
    allowed = {
        "extremism": {"violent_extremism"},
        "hate_europe": {"hateful_behavior"},
        "self_harm_americas": {"self_harm"},
        "exploitation_asia": {"human_exploitation"},
        "two_countries": {"violent_extremism", "hateful_behavior"},
        "child_safety": {"child_safety"},
    }
    for run, group in zip(runs, SESSION_GROUPS, strict=True):
        text = "\n".join(run.text.values())
        if group in allowed:
            shown = {h for h in HARM_AREAS if label("harm_area", h) in text}
            assert shown <= allowed[group], (run.user, group, shown)
        if group in ("hate_europe", "exploitation_asia", "africa", "two_countries"):
            assert "United States" not in text, (run.user, group)
        if group == "two_countries":
            assert "Germany" not in text and "Nigeria" not in text

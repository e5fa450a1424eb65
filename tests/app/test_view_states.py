"""No view state breaks a page: random URLs (unknown values, empty lists, reversed or impossible
dates, unknown grains and metrics, hostile strings) and random sequences of sidebar changes, on
every page, always give content or a clear empty state, never an exception, and the sidebar is
always drawn.

The number of examples is a Hypothesis profile: ``HYPOTHESIS_PROFILE=thorough`` runs ten times more.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.app.test_app import PAGES
from tests.conftest import ROOT

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HOSTILE = [
    "",
    " ",
    "all",
    "'; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "[Session expired - sign in again](http://evil.example)",
    "**bold** _x_",
    "x" * 300,
    "ZZ",
    "EU",
    "../../etc/passwd",
    "%00",
    "🙂",
]
CODES = {
    "harm_area": ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation", "spam", "child_safety"],
    "region": ["Europe", "Oceania", "Africa", "Americas", "Asia"],
    "country": ["FR", "BR", "US", "NZ", "IN", "DE"],
    "language": ["pt", "en", "fr"],
    "content_type": ["live", "video", "comment"],
    "detection_source": ["user_report", "automated"],
    "policy": ["hate_speech", "dangerous_challenges"],
    "action": ["remove", "warn"],
}
METRICS = [
    "actions",
    "proactive_rate",
    "overturn_rate",
    "within_24h_rate",
    "appeal_rate",
    "uploads",
    "bogus",
    "prevalence",
    "actions_per_million_views",
    "removal_rate",
]
DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2027, 12, 31))
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))


def period_text() -> st.SearchStrategy[str]:
    """'start..end' values, often reversed or broken."""
    return st.one_of(st.tuples(DAYS, DAYS).map(lambda d: f"{d[0]}..{d[1]}"), TEXT)


@st.composite
def urls(draw) -> dict[str, list[str]]:
    """A query string: some of every parameter the app reads, valid or not."""
    query: dict[str, list[str]] = {}
    for dimension, codes in CODES.items():
        if draw(st.booleans()):
            query[dimension] = draw(st.lists(st.one_of(st.sampled_from(codes), TEXT), max_size=4))
    if draw(st.booleans()):
        day = st.one_of(DAYS.map(str), DAYS.map(str), DAYS.map(str), TEXT)  # mostly dates, in and out of the data
        query["start"], query["end"] = [draw(day)], [draw(day)]
    if draw(st.booleans()):
        query["grain"] = [draw(st.sampled_from(["day", "week", "month", "quarter", "year", "fortnight", ""]))]
    for name, values in {
        "p_metric": st.sampled_from(METRICS),
        "p_by": st.sampled_from([*CODES, "date", "bogus"]),
        "p_baseline": period_text(),
        "p_current": period_text(),
        "p_node": st.one_of(st.just("content_type:live|language:pt"), TEXT),
        "p_compare": st.sampled_from(["1", "0", "yes"]),
        "p_slice": st.sampled_from(["region", "country", "bogus"]),
        "p_a": TEXT,
        "p_dimension": st.sampled_from(["country", "region", "harm_area", "content_type", "date", "bogus"]),
        "p_treated": st.one_of(st.sampled_from(["BR|MX|CO", "live", "hateful_behavior", "Africa", "BR||FR"]), TEXT),
        "p_donors": st.one_of(st.sampled_from(["US|IN", "US", "BR", "FR|DE|GB|IT|ES"]), TEXT),
        "p_launch": st.one_of(DAYS.map(str), TEXT),
        "p_method": st.sampled_from(["auto", "synthetic", "augmented", "structural", "did", "bogus"]),
        "p_per": st.one_of(st.sampled_from(["views", "uploads", ""]), TEXT),
    }.items():
        if draw(st.booleans()):
            query[name] = [draw(values)]
    return {k: v for k, v in query.items() if v}


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["harm_area", "region", "country", "language", "dates", "grain", "page"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=3,
)


def sidebar_drawn(at: AppTest) -> bool:
    """The shared filters are on the page (the user can always recover)."""
    return bool(at.sidebar.date_input) and bool(at.sidebar.segmented_control)


def act(at: AppTest, action: str, seed: int) -> AppTest:
    """One sidebar change, chosen among the values the widget offers."""
    if action == "page":
        return at.switch_page(f"pages/{PAGES[seed % len(PAGES)]}_page.py")
    if action == "dates":
        box = at.sidebar.date_input(key="f_dates")
        first, last = box.min, box.max
        span = max(0, (last - first).days)
        start = first + dt.timedelta(days=seed % (span + 1))
        end = min(last, start + dt.timedelta(days=seed % 97))
        return box.set_value((start,) if seed % 5 == 0 else (start, end))
    if action == "grain":
        control = at.sidebar.segmented_control(key="f_grain")
        return control.set_value(control.options[seed % len(control.options)])
    found = [m for m in at.sidebar.multiselect if m.key == f"f_{action}"]
    if not found:
        return at
    options = found[0].options
    chosen = [o for i, o in enumerate(options) if (seed >> (i % 12)) & 1][:3] if seed % 4 else []
    return found[0].set_value(chosen)


@pytest.mark.parametrize("page", PAGES)
@given(url=urls(), actions=ACTIONS)
@example(url={"harm_area": ["self_harm"], "region": ["Oceania"], "country": ["BR"]}, actions=[])  # the repro
@example(url={"start": ["2027-01-01"], "end": ["2027-02-01"]}, actions=[])  # dates after the data
@example(url={"start": ["2023-01-01"], "end": ["2023-01-01"], "p_current": ["2025-03-01..2025-09-01"]}, actions=[])
@example(url={"start": ["2026-03-01"], "end": ["2026-01-01"]}, actions=[("harm_area", 0)])  # reversed, then none
@example(url={"grain": ["fortnight"], "p_metric": ["bogus"], "p_current": ["2026-02-30..2026-01-01"]}, actions=[])
@example(url={"p_metric": ["prevalence"], "grain": ["day"], "harm_area": ["spam"]}, actions=[("grain", 3)])
@example(url={"p_metric": ["proactive_rate"], "p_per": ["views"], "country": ["NZ"]}, actions=[("page", 4)])
def test_no_view_state_breaks_a_page(sample_dir, monkeypatch, page, url, actions):
    # the sample with its exposure and view sample beside the events: every page's per-exposure
    # and prevalence views are reachable from the URL
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir.parent))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(url)
    at = at.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, (url, [e.value for e in at.exception])
    assert sidebar_drawn(at), url
    for action, seed in actions:
        at = act(at, action, seed).run()
        assert not at.exception, (url, actions, [e.value for e in at.exception])
        assert sidebar_drawn(at), (url, actions)

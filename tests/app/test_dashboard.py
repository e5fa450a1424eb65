"""A dashboard leaders can be handed: the repros of what broke, drills in the URL that Back undoes,
Root cause opening on the story, numbers and codes in words (AppTest, in-process)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from insights.periods import Period, latest_complete_period, previous_period
from insights.rootcause import suggest_periods
from insights.viewstate import period_param
from tests.app.drawn import drawn, figures
from tests.conftest import ROOT

MALFORMED = ROOT / "tests" / "data" / "malformed"
SELF_HARM_SPIKE = {"p_baseline": "2026-06-01..2026-06-14", "p_current": "2026-06-15..2026-06-28"}


@pytest.fixture()
def app(sample_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def url(at: AppTest) -> dict[str, list[str]]:
    """The query string the app wrote, as lists."""
    return {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def sidebar_drawn(at: AppTest) -> bool:
    return bool(at.sidebar.date_input) and bool(at.sidebar.segmented_control)


# ---- the repros ------------------------------------------------------------------------------


def test_clearing_every_harm_area_shows_all_of_them_and_keeps_the_sidebar(app):
    at = app.run()
    at.multiselect(key="f_harm_area").set_value([]).run()
    assert not at.exception and sidebar_drawn(at)
    headings = [m.value for m in at.markdown if "■" in m.value]
    assert len(headings) == 1 and "All harm areas" in headings[0]
    assert url(at)["harm_area"] == ["all"], "an empty choice is kept in the link"
    at.switch_page("pages/root_cause_page.py").run()
    assert not at.exception and sidebar_drawn(at)


def test_filters_that_match_nothing_say_so_on_every_page(app):
    app.query_params.update({"harm_area": ["self_harm"], "country": ["NZ"], "language": ["pt"]})
    for page in ["overview", "regional", "trends", "root_cause", "deep_dive"]:
        at = app.switch_page(f"pages/{page}_page.py").run()
        assert not at.exception, (page, at.exception)
        assert sidebar_drawn(at), page
        assert any("No data for these filters" in i.value for i in at.info), page
        assert not drawn(at), f"{page}: no empty axes"


def test_the_regional_repro_drops_a_country_outside_the_chosen_region(app):
    app.query_params.update({"harm_area": ["self_harm"], "region": ["Oceania"], "country": ["BR"]})
    at = app.switch_page("pages/regional_page.py").run()
    assert not at.exception and sidebar_drawn(at)
    assert at.multiselect(key="f_country").value == []
    assert at.multiselect(key="f_country").options == ["Australia", "New Zealand"], "countries follow the region"


@pytest.mark.parametrize("name", ["wrong_types.csv", "duplicate_ids.csv"])
def test_loading_another_source_fits_the_filters_to_it(app, name):
    at = app.run()
    at.date_input(key="f_dates").set_value((dt.date(2026, 1, 1), dt.date(2026, 11, 1))).run()
    at.session_state["source"] = str(MALFORMED / name)
    at.switch_page("pages/data_page.py").run()
    assert not at.exception, at.exception
    at.switch_page("pages/overview_page.py").run()
    assert not at.exception, at.exception
    first, last = at.date_input(key="f_dates").min, at.date_input(key="f_dates").max
    start, end = at.date_input(key="f_dates").value
    assert first <= start <= end <= last


def test_a_cards_details_link_opens_the_deep_dive_of_that_harm_area_with_the_other_filters(app):
    app.query_params.update({"harm_area": ["violent_extremism", "self_harm"], "region": ["Europe"]})
    at = app.run()
    links = [link.proto for link in at.get("page_link") if link.proto.label == "Details"]
    query = parse_qs(links[1].query_string)
    assert query["harm_area"] == ["self_harm"] and query["region"] == ["Europe"]
    at.query_params.clear()
    at.query_params.update(query)
    at.switch_page("pages/deep_dive_page.py").run()
    assert at.title[0].value == "Deep dive: Mental health / self-harm"
    assert at.multiselect(key="f_region").value == ["Europe"]


# ---- drills are URL changes ------------------------------------------------------------------


def test_back_undoes_a_drill(app):
    app.query_params.update({"harm_area": ["self_harm"]})
    at = app.switch_page("pages/regional_page.py").run()
    before = url(at)
    at.session_state["f_country"] = ["BR"]  # what a click on Brazil does
    at.run()
    assert url(at)["country"] == ["BR"]
    assert [b.label for b in at.button if b.key == "chip_country"] == ["Country: Brazil"], "the drill shows as a chip"
    at.query_params.clear()
    at.query_params.update(before)  # the browser's Back button: the earlier URL
    at.run()
    assert at.multiselect(key="f_country").value == [] and "country" not in url(at)


def test_a_chip_clears_its_filter_in_one_click(app):
    app.query_params.update({"harm_area": ["self_harm"], "region": ["Europe"]})
    at = app.switch_page("pages/trends_page.py").run()
    at.button(key="chip_region").click().run()
    assert at.multiselect(key="f_region").value == [] and "region" not in url(at)


def test_tree_drills_are_in_the_url_and_a_copied_link_reopens_them(app, sample_dir, monkeypatch):
    app.query_params.update({"harm_area": ["self_harm"], **SELF_HARM_SPIKE})
    at = app.switch_page("pages/root_cause_page.py").run()
    at.button(key="rc_child_live").click().run()
    assert url(at)["p_node"] == ["content_type:live"]
    copied = url(at)
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    fresh.query_params.update(copied)
    fresh.switch_page("pages/root_cause_page.py").run()
    children = [b.label for b in fresh.button if b.key and b.key.startswith("rc_child_")]
    assert children[0].startswith("Portuguese:"), "the copied link reopens the tree one level down"
    fresh.query_params.clear()
    fresh.query_params.update({k: v for k, v in copied.items() if k != "p_node"})  # Back
    fresh.run()
    first_child = next(b.label for b in fresh.button if b.key and b.key.startswith("rc_child_"))
    assert first_child.startswith("Live stream:")


def test_the_chosen_metric_travels_between_pages(app):
    app.query_params.update({"harm_area": ["self_harm"], "p_metric": "overturn_rate"})
    at = app.switch_page("pages/trends_page.py").run()
    at.switch_page("pages/regional_page.py").run()
    assert at.selectbox(key="p_metric").value == "overturn_rate"
    at.switch_page("pages/root_cause_page.py").run()
    assert at.selectbox(key="p_metric").value == "overturn_rate"


def test_lines_on_time_charts_can_be_clicked_to_drill(app):
    app.query_params.update({"harm_area": ["self_harm", "spam"], "grain": "month"})
    at = app.switch_page("pages/trends_page.py").run()
    lines = [
        t for t in figures(at)["Actions by harm area, per month"]["data"] if t.get("name") == "Spam & fake engagement"
    ]
    assert lines[0]["mode"] == "lines+markers" and set(lines[0]["customdata"]) == {"spam"}
    at.session_state["f_harm_area"] = ["spam"]  # what a click on the spam line does
    at.run()
    assert url(at)["harm_area"] == ["spam"]


# ---- root cause starts where the story is ----------------------------------------------------


def test_root_cause_opens_on_the_latest_real_change_and_says_why(app, sample_cube):
    app.query_params.update({"harm_area": ["self_harm"]})
    at = app.switch_page("pages/root_cause_page.py").run()
    want = suggest_periods(sample_cube, "actions", grain="week", filters={"harm_area": ["self_harm"]})
    assert want.kind != "latest"
    assert url(at)["p_current"] == [period_param(want.current)] and url(at)["p_baseline"] == [
        period_param(want.baseline)
    ]
    assert any(c.value.startswith("Opened on ") and want.reason in c.value for c in at.caption)
    at.button(key="rc_last").click().run()
    last = latest_complete_period(sample_cube.provenance.as_of, "week")
    assert url(at)["p_current"] == [period_param(last)]
    assert url(at)["p_baseline"] == [period_param(previous_period(last, "week"))]


def test_a_rate_tree_shows_the_volume_moving_from_user_reports_to_the_classifier(app):
    app.query_params.update(
        {
            "harm_area": ["hateful_behavior"],
            "p_metric": "proactive_rate",
            "p_baseline": "2026-02-02..2026-03-01",
            "p_current": "2026-03-02..2026-03-29",
        }
    )
    at = app.switch_page("pages/root_cause_page.py").run()
    children = {b.key: b.label for b in at.button if b.key and b.key.startswith("rc_child_")}
    user = children["rc_child_user_report"]
    before, after = (int(x) for x in re.match(r"User report: (\d+)% → (\d+)% of actions", user).groups())
    assert after < before * 0.7, user
    assert "mostly volume" in user


# ---- readable everywhere ---------------------------------------------------------------------


def test_p_values_and_codes_reach_users_as_words(app):
    app.query_params.update({"harm_area": ["self_harm"], **SELF_HARM_SPIKE})
    at = app.switch_page("pages/root_cause_page.py").run()
    shown = [
        e.value
        for kind in ("markdown", "info", "caption", "warning", "button")
        for e in getattr(at, kind)
        if isinstance(e.value, str)
    ] + [b.label for b in at.button]
    assert not any(re.search(r"\d\.?\d*e-\d+", text) for text in shown), "no scientific notation"
    assert not any(re.search(r"\bp [=<] ", text) for text in shown), "p-values only on hover"
    segments = at.dataframe[1].value if len(at.dataframe) > 1 else None
    assert segments is not None and "Segment" in segments.columns
    assert not any("=" in s or "_" in s for s in segments["Segment"].to_list()), "segments in words"
    assert any("Portuguese" in s for s in segments["Segment"].to_list())
    assert any(text == "More than noise?" for text in at.metric.values) or at.metric


def test_periods_from_the_url_outside_the_data_fall_back(app):
    app.query_params.update(
        {"harm_area": ["self_harm"], "p_baseline": "1999-01-01..1999-01-07", "p_current": "2026-03-01..2026-02-01"}
    )
    at = app.switch_page("pages/root_cause_page.py").run()
    assert not at.exception and sidebar_drawn(at)
    first = at.date_input(key="f_dates").min
    assert all(Period(*at.date_input(key=k).value).start >= first for k in ("p_baseline", "p_current"))

"""Every page in-process with AppTest: renders on the sample data, filters change the numbers
correctly, and the view state round-trips through the URL."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from insights.kpis import kpi_cards
from tests.app.drawn import figures, plotted
from tests.conftest import ROOT

PAGES = ["overview", "regional", "trends", "root_cause", "impact", "deep_dive", "data"]


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
    assert shown(at)["Actions"] == [
        expected[h] for h in ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
    ]


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


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_sample_data(app, page):
    at = app.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title, "each page has a title"


def test_trends_follow_the_filters_and_the_url(app, sample_cube):
    app.query_params.update(
        {"harm_area": ["self_harm"], "grain": "month", "p_metric": "overturn_rate", "p_by": "content_type"}
    )
    at = app.switch_page("pages/trends_page.py").run()
    assert not at.exception
    assert (
        plotted(at, 0)["layout"]["title"]["text"]
        == "Overturn rate, per month: expected band, anomalies and change points"
    )
    figure = plotted(at, 1)
    assert figure["layout"]["title"]["text"] == "Overturn rate by content type, per month"
    want = sample_cube.query("overturn_rate", by=["content_type"], filters={"harm_area": ["self_harm"]}, grain="month")
    live = next(t for t in figure["data"] if t.get("name") == "Live stream")
    expected = want.filter(want["content_type"] == "live")["overturn_rate"].to_list()
    assert live["y"] == pytest.approx(expected)
    at.multiselect(key="f_region").set_value(["Africa"]).run()
    africa = sample_cube.query(
        "overturn_rate", by=["content_type"], filters={"harm_area": ["self_harm"], "region": ["Africa"]}, grain="month"
    )
    live = next(t for t in plotted(at, 1)["data"] if t.get("name") == "Live stream")
    assert live["y"] == pytest.approx(africa.filter(africa["content_type"] == "live")["overturn_rate"].to_list())
    assert at.query_params["region"] in ("Africa", ["Africa"])
    assert at.query_params["p_metric"] in ("overturn_rate", ["overturn_rate"])


def test_regional_map_matches_the_cube(app, sample_cube):
    app.query_params.update({"harm_area": ["violent_extremism"]})
    at = app.switch_page("pages/regional_page.py").run()
    figure = plotted(at)
    values = dict(zip(figure["data"][0]["customdata"], figure["data"][0]["z"], strict=True))
    want = dict(sample_cube.query("actions", by=["country"], filters={"harm_area": ["violent_extremism"]}).rows())
    assert values == want


def test_regional_small_multiples_mark_global_events_everywhere_and_regional_ones_in_their_region(app):
    app.query_params.update({"harm_area": ["violent_extremism"], "grain": "month"})
    at = app.switch_page("pages/regional_page.py").run()
    assert not at.exception
    figure = figures(at)["Actions by region, per month"]
    panels = {t["name"]: t["xaxis"] for t in figure["data"] if t["mode"] == "lines"}
    assert sorted(panels) == ["Africa", "Americas", "Asia", "Europe", "Oceania"]

    def drawn(title: str) -> list[str]:
        return sorted(t["xaxis"] for t in figure["data"] if t["mode"] == "markers" and t["name"] == title)

    assert drawn("Quarterly moderation staffing change") == sorted(panels.values())
    assert drawn("Attack in Western Europe") == [panels["Europe"]]
    assert drawn("Trusted-flagger programme launches in Africa") == [], "another harm area's event"
    europe_lines = [s for s in figure["layout"]["shapes"] if s["x0"].startswith("2025-10-06")]
    assert [s["xref"] for s in europe_lines] == [panels["Europe"]]


def test_deep_dive_breakdowns_follow_a_date_range(app, sample_cube):
    app.query_params.update({"harm_area": ["human_exploitation"], "start": "2026-01-01", "end": "2026-03-31"})
    at = app.switch_page("pages/deep_dive_page.py").run()
    assert at.title[0].value == "Deep dive: Human exploitation"
    sources = plotted(at, 1)
    got = dict(zip(sources["data"][0]["customdata"], sources["data"][0]["x"], strict=True))
    want = dict(
        sample_cube.query(
            "actions",
            by=["detection_source"],
            filters={"harm_area": ["human_exploitation"]},
            start="2026-01-01",
            end="2026-03-31",
        ).rows()
    )
    assert got == want


def test_deep_dive_time_to_action_shares_match_the_cube(app, sample_cube):
    app.query_params.update({"harm_area": ["self_harm", "spam"], "start": "2026-01-01", "end": "2026-03-31"})
    at = app.switch_page("pages/deep_dive_page.py").run()
    assert not at.exception
    figure = figures(at)["Time to action by harm area"]
    speed = ["within_1h_rate", "within_24h_rate", "within_7d_rate"]
    want = sample_cube.query(
        speed, by=["harm_area"], filters={"harm_area": ["self_harm", "spam"]}, start="2026-01-01", end="2026-03-31"
    )
    got = {t["customdata"][0]: t["x"] for t in figure["data"]}
    assert got == {row["harm_area"]: pytest.approx([row[m] for m in speed]) for row in want.iter_rows(named=True)}
    assert [t["name"] for t in figure["data"]] == ["Mental health / self-harm", "Spam & fake engagement"]
    assert not at.get("progress"), "the shares are a chart now, not progress bars"


def test_data_page_shows_provenance(app, sample_cube):
    at = app.switch_page("pages/data_page.py").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows read"] == f"{sample_cube.provenance.rows_read:,}"
    assert metrics["Rows rejected"] == "0"


def test_trends_compare_two_slices_side_by_side(app, sample_cube):
    app.query_params.update(
        {"harm_area": ["hateful_behavior"], "p_compare": "1", "p_slice": "region", "p_a": "Europe", "p_b": "Asia"}
    )
    at = app.switch_page("pages/trends_page.py").run()
    assert not at.exception
    titles = [plotted(at, i)["layout"]["title"]["text"] for i in (1, 2)]
    assert titles == ["Actions by harm area, per week · Europe", "Actions by harm area, per week · Asia"]
    asia = sample_cube.query(
        "actions", by=["harm_area"], filters={"harm_area": ["hateful_behavior"], "region": ["Asia"]}, grain="week"
    )
    assert plotted(at, 2)["data"][0]["y"] == asia["actions"].to_list()


def test_trends_band_flags_the_self_harm_spike_and_names_its_event(app):
    app.query_params.update({"harm_area": ["self_harm"], "grain": "week"})
    at = app.switch_page("pages/trends_page.py").run()
    band = plotted(at, 0)
    anomalies = next(t for t in band["data"] if t.get("name") == "Anomaly")
    assert any(x.startswith(("2026-06-15", "2026-06-22")) for x in anomalies["x"])
    table = at.dataframe[0].value
    assert "Viral self-harm challenge on live streams" in table["title"].to_list()


def test_root_cause_names_the_story_and_drills_one_level_per_click(app):
    app.query_params.update(
        {"harm_area": ["self_harm"], "p_baseline": "2026-06-01..2026-06-14", "p_current": "2026-06-15..2026-06-28"}
    )
    at = app.switch_page("pages/root_cause_page.py").run()
    assert not at.exception
    concentrated = next(m.value for m in at.markdown if m.value.startswith("- "))  # "Where it is concentrated"
    assert "**Content type** Live stream" in concentrated and "**Language** Portuguese" in concentrated
    assert "Viral self-harm challenge on live streams" in at.info[0].value
    first = [b.label for b in at.button if b.key and b.key.startswith("rc_child_")]
    assert first[0].startswith("Live stream:")
    at.button(key="rc_child_live").click().run()
    second = [b.label for b in at.button if b.key and b.key.startswith("rc_child_")]
    assert second[0].startswith("Portuguese:")
    assert at.query_params["p_current"] in ("2026-06-15..2026-06-28", ["2026-06-15..2026-06-28"])


def test_root_cause_charts_carry_the_numbers_of_explain_change(app, sample_cube):
    import datetime as dt

    from insights.model import DIMENSION_LABELS
    from insights.periods import Period
    from insights.rootcause import explain_change

    app.query_params.update(
        {
            "harm_area": ["hateful_behavior"],
            "p_metric": "proactive_rate",
            "p_baseline": "2026-01-05..2026-03-01",
            "p_current": "2026-03-02..2026-04-26",
        }
    )
    at = app.switch_page("pages/root_cause_page.py").run()
    assert not at.exception, at.exception
    want = explain_change(
        sample_cube,
        "proactive_rate",
        baseline=Period(dt.date(2026, 1, 5), dt.date(2026, 3, 1)),
        current=Period(dt.date(2026, 3, 2), dt.date(2026, 4, 26)),
        filters={"harm_area": ["hateful_behavior"]},
    )
    cards = {m.label: m.value for m in at.metric}
    assert (cards["Baseline"], cards["Current"]) == (
        f"{want.headline.baseline_value:.1%}",
        f"{want.headline.value:.1%}",
    )
    assert cards["More than noise?"] == ("Yes" if want.headline.significant else "No")
    shown = figures(at)
    (power,) = shown["Which dimensions explain the change in proactive rate"]["data"]
    assert power["y"] == [DIMENSION_LABELS[d] for d in want.dimensions["dimension"]]
    assert power["x"] == pytest.approx(want.dimensions["explanatory_power"].to_list())
    rate, mix = shown["Proactive rate: mix or rate?"]["data"]
    assert [rate["name"], mix["name"]] == ["Rates within values moved", "Volume moved between values"]
    assert rate["y"] == [DIMENSION_LABELS[d] for d in want.mix_rate["dimension"]]
    assert rate["x"] == pytest.approx(want.mix_rate["rate_effect"].to_list(), abs=1e-12)
    assert mix["x"] == pytest.approx(want.mix_rate["mix_effect"].to_list(), abs=1e-12)
    assert at.dataframe[0].value["explanatory_power"].to_list() == pytest.approx(
        want.dimensions["explanatory_power"].to_list()
    )


def test_root_cause_without_a_denominator_in_one_period_explains_instead_of_failing(app):
    app.query_params.update(
        {
            "harm_area": ["violent_extremism"],
            "p_metric": "overturn_rate",
            "country": ["NZ"],
            "p_baseline": "2025-01-06..2025-01-06",
            "p_current": "2025-01-07..2025-01-07",
        }
    )
    at = app.switch_page("pages/root_cause_page.py").run()
    assert not at.exception, at.exception


def test_overview_cards_say_whether_a_change_is_more_than_noise(app, sample_cube):
    from insights.periods import latest_complete_period, previous_period
    from insights.trends import compare

    app.query_params.update(
        {"harm_area": ["self_harm", "violent_extremism"], "end": "2026-06-21", "start": "2024-11-18"}
    )
    at = app.run()
    assert not at.exception
    current = latest_complete_period(sample_cube.provenance.as_of.replace(month=6, day=21), "week")
    want = compare(
        sample_cube,
        "actions",
        current=current,
        baseline=previous_period(current, "week"),
        by=["harm_area"],
        filters={"harm_area": ["self_harm", "violent_extremism"]},
    )
    flags = dict(zip(want["harm_area"], want["significant"], strict=True))
    assert flags["self_harm"] is True, "the self-harm spike week is a real change"
    actions = [m for m in at.metric if m.label == "Actions"]
    described = [m.proto.delta_description for m in actions]
    assert described == ["significant" if flags[a] else "within noise" for a in ["self_harm", "violent_extremism"]]


def test_a_half_chosen_period_asks_for_its_end_and_keeps_the_sidebar(app):
    app.query_params.update({"harm_area": ["self_harm"], "grain": "month"})
    at = app.switch_page("pages/root_cause_page.py").run()
    at.date_input(key="p_current").set_value((at.date_input(key="p_current").value[0],)).run()
    assert not at.exception, at.exception
    assert "Pick the last day of the current period." in [i.value for i in at.info]
    assert at.multiselect(key="f_harm_area").value == ["self_harm"]
    assert at.segmented_control(key="f_grain").value == "month"


def root_cause_session(current: str) -> AppTest:
    """A new session on Root cause for self-harm, its current period ``current`` (its baseline the two
    weeks before 15 June 2026)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"harm_area": ["self_harm"], "p_baseline": "2026-06-01..2026-06-14", "p_current": current})
    return at.switch_page("pages/root_cause_page.py").run()


def test_root_cause_explains_a_view_once_for_every_session_until_the_data_is_reloaded(sample_dir, monkeypatch):
    """A second reader of the same view gets the explanation computed for the first; a reload of
    the data computes it again, and another view is explained on its own."""
    import insights.rootcause
    from pages.common import _reload

    computed: list[str] = []
    original = insights.rootcause.explain_change

    def counted(*args, **kwargs):
        computed.append(kwargs["current"].label())
        return original(*args, **kwargs)

    monkeypatch.setattr(insights.rootcause, "explain_change", counted)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    _reload()
    first = root_cause_session("2026-06-15..2026-06-28")
    second = root_cause_session("2026-06-15..2026-06-28")
    assert not first.exception and not second.exception
    assert len(computed) == 1
    assert [m.value for m in second.markdown] == [m.value for m in first.markdown]
    root_cause_session("2026-06-08..2026-06-21")
    assert len(computed) == 2
    _reload()
    root_cause_session("2026-06-15..2026-06-28")
    assert len(computed) == 3
    _reload()


def test_a_shared_answer_computed_while_its_questions_showed_cancel_serves_the_next_session(sample_dir, monkeypatch):
    """Every question of the first session shows its time and Cancel button (as a slow one does)
    while the explanation is computed; the next session gets the explanation and no error."""
    import pages.common
    from insights.engines.watch import Watched

    monkeypatch.setattr(pages.common, "SLOW_QUESTION", 0.0)
    monkeypatch.setattr(Watched.__init__, "__defaults__", (0.001,))
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    pages.common._reload()
    first = root_cause_session("2026-06-15..2026-06-28")
    second = root_cause_session("2026-06-15..2026-06-28")
    assert not first.exception, first.exception
    assert not second.exception, second.exception
    assert [m.value for m in second.markdown] == [m.value for m in first.markdown]
    pages.common._reload()

"""The app shell: AppTest (in-process) and a real headless Chromium against `streamlit run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from insights.kpis import kpi_cards
from tests.conftest import ROOT



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

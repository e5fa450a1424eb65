"""Everything built on the cube runs on a suppressing sample cube, whatever the threshold and the
slice, and shows nothing under the threshold: trends, KPI cards, narratives with events, regions at
every level, root cause, charts and decks."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights import charts, export, regional
from insights.disclosure import Suppression, withheld_column
from insights.kpis import kpi_cards
from insights.narrative import narrate
from insights.periods import Period
from insights.rootcause import decomposition_tree, explain_change
from insights.trends import trend
from insights.trends.events import read_events
from tests.conftest import ROOT

CURRENT = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))  # the hate-speech classifier launch
BASELINE = Period(dt.date(2026, 2, 23), dt.date(2026, 3, 1))
SLICES = [None, {"harm_area": "hateful_behavior"}, {"harm_area": "child_safety"}, {"country": "FR"}]


def _no_small_shown(frame: pl.DataFrame, column: str, threshold: int) -> None:
    """No value of ``column`` is a count under ``threshold`` (a shown count is 0 or at least it)."""
    small = frame.filter((pl.col(column) > 0) & (pl.col(column) < threshold))
    assert small.is_empty(), f"{column} shows counts under {threshold}: {small}"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    threshold=st.sampled_from([10, 100, 1000, 5000]),
    filters=st.sampled_from(SLICES),
    metric=st.sampled_from(["actions", "proactive_rate", "overturn_rate"]),
)
def test_every_consumer_runs_on_suppressed_answers(sample_cube, threshold, filters, metric):
    cube = sample_cube.with_suppression(Suppression(threshold, {"child_safety": threshold * 2}))
    events = read_events(ROOT / "sample_data" / "events.csv")

    series = trend(cube, metric, "week", filters)
    weekly = cube.query(metric, by=["harm_area"], grain="week", filters=filters)
    _, cards = kpi_cards(cube, [metric], by="harm_area", filters=filters, as_of=CURRENT.end)
    story = narrate(cube, metric, current=CURRENT, baseline=BASELINE, filters=filters, events=events)
    assert story.sentences and all(card.change.value_text() for card in cards)
    if metric == "actions":
        _no_small_shown(series.series, "actions", threshold)
        _no_small_shown(weekly, "actions", threshold)
        assert all(not (0 < (c.value or 0) < threshold) for c in cards)

    for level in ("country", "region", "subregion", "company_region"):
        ranked = regional.ranking(cube, metric, level, filters=filters, start=CURRENT.start, end=CURRENT.end)
        _no_small_shown(ranked, "numerator", threshold)
        regional.movers(cube, metric, current=CURRENT, baseline=BASELINE, level=level, filters=filters)
    regional.choropleth_frame(cube, metric, filters=filters, start=CURRENT.start, end=CURRENT.end)

    explanation = explain_change(cube, metric, current=CURRENT, baseline=BASELINE, filters=filters)
    decomposition_tree(cube, metric, current=CURRENT, baseline=BASELINE, filters=filters)
    if metric == "actions":
        for column in ("before", "after"):
            _no_small_shown(explanation.contributors, column, threshold)

    by_area = cube.query(metric, by=["harm_area"], filters=filters, start=CURRENT.start, end=CURRENT.end)
    figures = [
        charts.trend(weekly, metric, by="harm_area", events=events),
        charts.breakdown(by_area, "harm_area", metric),
        charts.expected_band(series),
        charts.small_multiples(weekly, metric, "harm_area"),
    ]
    for chart in figures:
        text = export.csv_bytes(chart).decode()
        assert "__withheld" not in text
        if metric == "actions" and withheld_column(metric) in chart.data.columns:
            hidden = chart.data.filter(pl.col(withheld_column(metric)).is_not_null())
            assert hidden[metric].null_count() == len(hidden), "a withheld value is gone from the chart's data"
    deck = export.Deck("Suppressed", "", [export.Section("View", figures[:2], narrative=story.text)])
    assert export.build_deck(deck)[:2] == b"PK"

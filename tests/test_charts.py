"""Chart functions of insights.charts: what each figure draws, checked on its traces and shapes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from insights import charts
from insights.cube import Caveat

REGIONS = ["Africa", "Americas", "Europe", "Asia"]
MONDAYS = [dt.date(2025, 9, 1) + dt.timedelta(weeks=w) for w in range(8)]
GLOBAL_DAY, EUROPE_DAY, CAVEAT_DAY = dt.date(2025, 9, 15), dt.date(2025, 10, 6), dt.date(2025, 10, 13)


@pytest.fixture(scope="module")
def multiples() -> charts.Chart:
    """Weekly actions in four regions, a global event, a European one and a dated caveat."""
    frame = pl.DataFrame(
        {"period": MONDAYS * len(REGIONS), "region": [r for r in REGIONS for _ in MONDAYS], "actions": list(range(len(MONDAYS) * len(REGIONS)))},
        schema_overrides={"actions": pl.Int64},
    )
    events = pl.DataFrame(
        {"date": [GLOBAL_DAY, EUROPE_DAY], "title": ["Staffing change", "Attack in Western Europe"],
         "kind": ["operations", "world_event"], "harm_area": [None, "violent_extremism"], "region": [None, "Europe"]},
        schema_overrides={"harm_area": pl.String, "region": pl.String},
    )
    caveats = [Caveat("Detection model recalibrated", date=CAVEAT_DAY), Caveat("No date, so not on a time axis")]
    return charts.small_multiples(frame, "actions", "region", events=events, caveats=caveats)


def panel_axes(chart: charts.Chart) -> dict[str, str]:
    """Each panel's name → its x axis ('x', 'x2', …), read from the panel's line."""
    return {t.name: t.xaxis for t in chart.figure.data if t.mode == "lines"}


def lines_at(chart: charts.Chart, day: dt.date) -> dict[str, dict]:
    """The vertical markers drawn at ``day``: x axis → the line's style."""
    return {s.xref: s.line.to_plotly_json() for s in chart.figure.layout.shapes if s.type == "line" and s.x0 == day == s.x1}


def hover_markers(chart: charts.Chart, text: str) -> list[str]:
    """The x axes of the hover markers named ``text``."""
    return sorted(t.xaxis for t in chart.figure.data if t.mode == "markers" and t.name == text)


def test_small_multiples_draw_a_global_event_in_every_panel(multiples):
    axes = panel_axes(multiples)
    assert sorted(axes) == sorted(REGIONS)
    drawn = lines_at(multiples, GLOBAL_DAY)
    assert sorted(drawn) == sorted(axes.values())
    assert all(line == {"color": "#7B8794", "dash": "dot", "width": 1.5} for line in drawn.values())
    assert hover_markers(multiples, "Staffing change") == sorted(axes.values())
    marker = next(t for t in multiples.figure.data if t.name == "Staffing change")
    assert marker.hovertemplate == "15 Sep 2025: Staffing change<extra></extra>" and marker.showlegend is False


def test_small_multiples_draw_a_regional_event_only_in_its_regions_panel(multiples):
    europe = panel_axes(multiples)["Europe"]
    assert list(lines_at(multiples, EUROPE_DAY)) == [europe]
    assert hover_markers(multiples, "Attack in Western Europe") == [europe]


def test_small_multiples_draw_dated_caveats_in_every_panel(multiples):
    axes = panel_axes(multiples)
    drawn = lines_at(multiples, CAVEAT_DAY)
    assert sorted(drawn) == sorted(axes.values())
    assert all(line == {"color": "#B7791F", "dash": "dash", "width": 1.5} for line in drawn.values())
    assert hover_markers(multiples, "Detection model recalibrated") == sorted(axes.values())
    assert not hover_markers(multiples, "No date, so not on a time axis")
    # four panels × (global event + caveat) + the European event
    assert len(multiples.figure.layout.shapes) == 4 * 2 + 1


def test_small_multiples_by_another_facet_draw_regional_events_everywhere():
    frame = pl.DataFrame({"period": MONDAYS * 2, "content_type": ["video"] * 8 + ["live"] * 8, "actions": list(range(16))})
    events = pl.DataFrame({"date": [EUROPE_DAY], "title": ["Attack in Western Europe"], "region": ["Europe"]})
    chart = charts.small_multiples(frame, "actions", "content_type", events=events)
    assert sorted(lines_at(chart, EUROPE_DAY)) == ["x", "x2"]


def test_trend_markers_stay_on_the_single_axes():
    frame = pl.DataFrame({"period": MONDAYS, "actions": list(range(8))})
    events = pl.DataFrame({"date": [GLOBAL_DAY], "title": ["Staffing change"]})
    chart = charts.trend(frame, "actions", events=events, caveats=[Caveat("Recalibrated", date=CAVEAT_DAY)])
    assert [(s.xref, s.x0) for s in chart.figure.layout.shapes] == [("x", GLOBAL_DAY), ("x", CAVEAT_DAY)]
    assert [(t.name, t.x[0]) for t in chart.figure.data if t.mode == "markers"] == [("Staffing change", GLOBAL_DAY), ("Recalibrated", CAVEAT_DAY)]

"""Trend series and period comparisons keep a withheld value unknown, never 0."""

from __future__ import annotations

import datetime as dt

import polars as pl

from insights.disclosure import Suppression, Withheld
from insights.periods import Period
from insights.trends import trend
from insights.trends.deltas import compare
from insights.trends.series import trend_series
from tests.disclosure.cubes import CELLS, WEEK_1, WEEK_2, cube_of

WEEK = dt.timedelta(days=6)
SPAM = {"harm_area": "spam"}


def test_compare_keeps_withheld_sums_unknown_and_says_why():
    cube = cube_of(CELLS).with_suppression(Suppression())
    frame = compare(cube, "actions", current=Period(WEEK_2, WEEK_2 + WEEK), baseline=Period(WEEK_1, WEEK_1 + WEEK),
                    by=["country"], filters=SPAM)  # fmt: skip
    france = frame.filter(pl.col("country") == "FR").row(0, named=True)
    assert (france["value"], france["numerator"], france["change"]) == (None, None, None)
    assert Withheld.of(france, "value") == Withheld(10, "count")
    assert france["baseline_value"] == 40 and Withheld.of(france, "baseline_value") is None


def test_a_trend_series_has_gaps_where_values_are_withheld():
    cube = cube_of(CELLS).with_suppression(Suppression())
    series = trend_series(cube, "actions", "week", {"harm_area": "spam", "country": "FR"})
    assert series["actions"].to_list() == [None, None], "week 1 (40) would give week 2 away against the total"
    assert [Withheld.of(r, "actions") for r in series.iter_rows(named=True)] == [
        Withheld(10, "complement"),
        Withheld(10, "count"),
    ]
    assert trend(cube, "actions", "week", {"harm_area": "spam", "country": "FR"}).series["anomaly"].to_list() == [
        False,
        False,
    ]

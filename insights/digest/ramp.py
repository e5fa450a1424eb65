"""Ramp: a count that built up over weeks, too slowly for any one week to differ from the one before.

A trusted-flagger programme that adds a little more every week never moves a week beyond the
noise of the week before it, and a level shift in a small segment takes a few weeks to outweigh
that noise; both are plain once the recent weeks are set against as many weeks some time
earlier. For a watched count (actions, appeals …), :func:`ramp_change` compares

* the **recent** ``RAMP_PERIODS`` periods (the digest's period and the ones just before it: four
  weeks ending with the digest's week) with
* the **earlier** ``RAMP_PERIODS`` periods that end ``RAMP_GAP`` periods before the recent ones
  start (the four weeks two months earlier),

as totals of windows of equal length, so the numbers read like every other comparison in the
product and ``explain_change`` explains them as it explains a week against the week before.

Two months is long enough for a slice to move on its own: it grows, and its level wanders more
over weeks than from one week to the next. So the test is against the slice's **own history of
the same comparison** (:func:`usual_growth`): every pair of windows this far apart in its series
so far gives a ratio; their median is the slice's usual growth over the gap, and the robust spread
of the ratios around it (standardised by their counts, :func:`insights.significance.robust_dispersion`)
its dispersion. The recent total is then tested by the library's conditional test of counts
(:class:`insights.significance.Noise`) against the earlier total grown by the usual growth, with
that dispersion. A ramp is thus what moved beyond how the slice usually moves over two months.
Rates are left to the week-against-week comparison (their ramps are not what a reader watches
for, and the proportion test has no such offset); a slice with fewer than ``MIN_HISTORY`` past
comparisons gets no ramp test.

A digest runs the rule on the followed slice and on the segments its drill-down examines, next to
the comparison with the period before, and shares its level with it (see
:mod:`insights.digest.content` and :mod:`insights.digest.drilldown`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.filters import Filters
from insights.metrics import metric
from insights.periods import Period, grain_of, shift
from insights.significance import Noise, noise_kind, robust_dispersion
from insights.trends import Trend, compare
from insights.trends.deltas import covered_days

#: Which comparison found a change: the period against the one before ("week" at week grain, the
#: digest's first comparison) or a ramp.
Rule = Literal["week", "ramp"]
#: Periods in each window a ramp compares (four weeks at week grain).
RAMP_PERIODS = 4
#: Periods between the earlier window's end and the recent window's start (four weeks): the time a
#: ramp has to build up, so the windows' centres are two months apart at week grain.
RAMP_GAP = 4
#: The fewest past pairs of windows a slice's usual growth is measured on (a quarter's worth of
#: weekly comparisons: 24 weeks of data before the recent window).
MIN_HISTORY = 13


def ramp_periods(current: Period) -> tuple[Period, Period]:
    """The recent window (``RAMP_PERIODS`` periods ending with ``current``) and the earlier one
    (as many periods, ending ``RAMP_GAP`` periods before the recent one starts), at the grain of
    ``current``."""
    grain = grain_of(current)
    recent = Period(shift(current.start, grain, -(RAMP_PERIODS - 1)), current.end)
    earlier_start = shift(recent.start, grain, -(RAMP_GAP + RAMP_PERIODS))
    earlier = Period(earlier_start, shift(earlier_start, grain, RAMP_PERIODS) - dt.timedelta(days=1))
    return recent, earlier


@dataclass(frozen=True)
class Growth:
    """How a slice's count usually moves between two windows ``RAMP_GAP`` periods apart: the median
    ``factor`` (recent over earlier, per day) and the ``noise`` around it (its dispersion measured
    on the slice's own past comparisons, at the slice's ``reference`` events per day), from
    ``history`` past comparisons."""

    factor: float
    noise: Noise
    history: int


def usual_growth(fitted: Trend, current: Period) -> Growth | None:
    """The slice's usual growth over a ramp's gap, from every pair of ramp windows in ``fitted``'s
    complete periods before the recent window of ``current`` (the past, not what is judged; None
    for a rate, or with fewer than ``MIN_HISTORY`` pairs)."""
    if noise_kind(metric(fitted.metric)) != "count":
        return None
    recent, _ = ramp_periods(current)
    known = fitted.series.filter(pl.col("complete") & (pl.col("period") < recent.start))
    lag = RAMP_PERIODS + RAMP_GAP
    windows = known.select(
        events=pl.col("numerator").cast(pl.Float64).rolling_sum(RAMP_PERIODS),
        days=pl.col("days").cast(pl.Float64).rolling_sum(RAMP_PERIODS),
    ).with_columns(earlier_events=pl.col("events").shift(lag), earlier_days=pl.col("days").shift(lag))
    pairs = windows.drop_nulls().filter((pl.col("events") > 0) & (pl.col("earlier_events") > 0))
    if len(pairs) < MIN_HISTORY:
        return None
    events, days, earlier_events, earlier_days = (
        pairs[c].to_numpy() for c in ("events", "days", "earlier_events", "earlier_days")
    )
    ratio = np.log((events / days) / (earlier_events / earlier_days))
    usual = float(np.median(ratio))
    spread = (ratio - usual) / np.sqrt(1 / events + 1 / earlier_events)
    noise = Noise("count", robust_dispersion(spread), fitted.noise.reference)
    return Growth(float(np.exp(usual)), noise, len(pairs))


def ramp_compare(
    cube: Cube,
    growth: Growth,
    name: str,
    *,
    current: Period,
    filters: Filters,
    by: Sequence[str] = (),
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``insights.trends.compare`` of the count ``name`` between the ramp's windows of ``current``,
    for every combination of ``by``, with p-values against ``growth``: the earlier window's total
    grown by the usual factor, at its dispersion."""
    recent, earlier = ramp_periods(current)
    rows = compare(cube, name, current=recent, baseline=earlier, by=by, filters=filters, noise=growth.noise)
    exposure = np.ones(len(rows))
    p_values = growth.noise.p_values(
        rows["numerator"].fill_null(0.0).cast(pl.Float64).to_numpy(),
        exposure * covered_days(cube, recent) * growth.factor,  # as many days' worth at the grown rate
        rows["baseline_numerator"].fill_null(0.0).cast(pl.Float64).to_numpy(),
        exposure * covered_days(cube, earlier),
    )
    found = pl.Series(p_values, dtype=pl.Float64).fill_nan(None)
    return rows.with_columns(p_value=found).with_columns(significant=pl.col("p_value").fill_null(1.0) < alpha)


def ramp_change(
    cube: Cube, fitted: Trend, current: Period, filters: Filters, *, first_day: dt.date, alpha: float = 0.05
) -> Change | None:
    """The change of ``fitted``'s count on the slice ``filters`` from the earlier window to the
    recent one (:func:`ramp_periods` of ``current``), tested at ``alpha`` against the slice's
    :func:`usual_growth`; None for a rate, when the data does not reach back to the earlier window,
    or when the slice has too little history."""
    recent, earlier = ramp_periods(current)
    growth = usual_growth(fitted, current)
    if earlier.start < first_day or growth is None:
        return None
    row = ramp_compare(cube, growth, fitted.metric, current=current, filters=filters, alpha=alpha).row(0, named=True)
    return Change.from_row(
        row, fitted.metric, current=recent, baseline=earlier, filters=filters, noise=growth.noise, alpha=alpha
    )


__all__ = [
    "MIN_HISTORY",
    "RAMP_GAP",
    "RAMP_PERIODS",
    "Growth",
    "Rule",
    "ramp_change",
    "ramp_compare",
    "ramp_periods",
    "usual_growth",
]

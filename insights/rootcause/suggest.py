"""Where the story is: the most recent change of a slice that is more than noise, as two periods
to explain (Root cause opens on it instead of on last week, which is usually noise)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from insights.cube import Cube
from insights.filters import Filters
from insights.metrics import Metric, as_metric
from insights.periods import Grain, Period, latest_complete_period, previous_period
from insights.significance import Noise
from insights.trends.anomalies import trend
from insights.trends.deltas import data_as_of

#: How many periods of a new level are compared with as many before it, at most.
SPAN = 4

Kind = Literal["change_point", "anomaly", "period_over_period", "latest"]


@dataclass(frozen=True)
class PeriodSuggestion:
    """Two periods to compare and why they were picked (``kind``; ``reason`` in words)."""

    current: Period
    baseline: Period
    kind: Kind
    reason: str


def suggest_periods(
    cube: Cube,
    metric: str | Metric,
    *,
    grain: Grain = "week",
    filters: Filters | None = None,
    start: object = None,
    as_of: dt.date | None = None,
    alpha: float = 0.05,
) -> PeriodSuggestion:
    """The most recent change of ``metric`` on the slice that is more than noise, among the
    complete periods of ``grain`` from ``start`` to ``as_of`` (default: the data's as-of date):

    * a **change point** of the slice's trend (``insights.trends.trend``): up to ``SPAN`` periods
      from it against as many periods just before it;
    * an **anomaly**: a period outside the trend's expected band, against the period before (at
      day grain, the same weekday a week before, so the weekly rhythm is not the story);
    * a **period** whose change against the one before is significant at ``alpha`` against the
      slice's own period-to-period noise (the test of ``insights.trends.compare``; not at day
      grain, where weekdays differ by design).

    The latest wins (a change point before an anomaly on the same period). Without any, the last
    complete period against the one before (``kind="latest"``), and the reason says so.
    """
    wanted = as_metric(metric)
    last = latest_complete_period(data_as_of(cube, as_of), grain)
    fitted = trend(cube, wanted, grain, filters, start=start, end=last.end)
    series = fitted.series.filter(pl.col("complete"))
    periods = [Period(s, e) for s, e in series.select("period", "period_end").iter_rows()]
    step = dt.timedelta(days=7) if grain == "day" else None
    found: list[PeriodSuggestion] = []
    shifts = [p for p in periods[1:] if p.start in fitted.change_points]
    if shifts:
        found.append(_around_shift(periods, shifts[-1], grain))
    anomalous = [i for i, flag in enumerate(series["anomaly"].to_list()) if flag and i > 0]
    if anomalous:
        index = anomalous[-1]
        baseline = Period(periods[index].start - step, periods[index].end - step) if step else periods[index - 1]
        found.append(
            PeriodSuggestion(
                periods[index], baseline, "anomaly",
                f"{_name(periods[index], grain)} fell outside the range this slice's recent past predicts",
            )
        )  # fmt: skip
    significant = _significant_steps(series, fitted.noise, wanted.is_ratio, alpha) if grain != "day" else []
    if significant:
        index = significant[-1]
        found.append(
            PeriodSuggestion(
                periods[index], periods[index - 1], "period_over_period",
                f"{_name(periods[index], grain)} moved more than this slice's usual variation against the {grain} "
                "before",
            )
        )  # fmt: skip
    if not found:
        return PeriodSuggestion(
            last, previous_period(last, grain), "latest",
            f"no change beyond this slice's usual variation in {len(periods)} {grain}s, so the last complete "
            f"{grain} against the one before",
        )  # fmt: skip
    order: list[Kind] = ["period_over_period", "anomaly", "change_point"]
    return max(found, key=lambda s: (s.current.start, order.index(s.kind)))


def _name(period: Period, grain: Grain) -> str:
    """'the week of 2026-06-15 – 2026-06-21', 'the day 2026-06-15'."""
    return f"the day {period.start:%Y-%m-%d}" if grain == "day" else f"the {grain} of {period.label()}"


def _around_shift(periods: list[Period], shift: Period, grain: Grain) -> PeriodSuggestion:
    """Up to ``SPAN`` periods from a change point against as many just before it."""
    index = periods.index(shift)
    length = min(SPAN, len(periods) - index, index)
    current = Period(periods[index].start, periods[index + length - 1].end)
    baseline = Period(periods[index - length].start, periods[index - 1].end)
    return PeriodSuggestion(
        current, baseline, "change_point",
        f"the trend changed level on {shift.start:%Y-%m-%d} (a change point): {length} {grain}"
        f"{'s' if length > 1 else ''} from it against as many before it",
    )  # fmt: skip


def _significant_steps(series: pl.DataFrame, noise: Noise, is_ratio: bool, alpha: float) -> list[int]:
    """Indices ``i`` of the periods whose change from period ``i - 1`` is significant."""
    if len(series) < 2:
        return []
    counts = series["numerator"].cast(pl.Float64).to_numpy()
    exposure = (series["denominator"] if is_ratio else series["days"]).cast(pl.Float64).to_numpy()
    p_values = noise.p_values(counts[1:], exposure[1:], counts[:-1], exposure[:-1])
    return [int(i) + 1 for i in np.flatnonzero(np.nan_to_num(p_values, nan=1.0) < alpha)]

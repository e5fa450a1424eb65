"""Trend series: one metric per period for any slice, with the sums behind it and how much of
each period the data covers.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from insights.cube import Cube
from insights.filters import Filters
from insights.metrics import Metric, as_metric
from insights.periods import Grain, as_date, period_end


def coverage(cube: Cube, start: object = None, end: object = None) -> tuple[dt.date, dt.date] | None:
    """First and last day the cube has data for, clipped to ``start`` / ``end`` (None: no data)."""
    dates = cube.date_range
    if dates is None:
        return None
    first = dates[0]
    last = pl.select(period_end(pl.lit(dates[1]), cube.time_grain)).item()
    if start is not None:
        first = max(first, as_date(start, "start"))
    if end is not None:
        last = min(last, as_date(end, "end"))
    return first, last


def trend_series(
    cube: Cube,
    metric: str | Metric,
    grain: Grain = "week",
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
) -> pl.DataFrame:
    """A metric for one slice, one row per period, every period of the data present.

    Columns: ``period`` (start), ``period_end``, ``days`` (days of the period the data and the
    asked range cover), ``complete`` (the whole period is covered), ``numerator`` and
    ``denominator`` (the sums behind the metric; denominator null for counts) and the metric,
    named after it. A period in which the data has cells but none in the slice counts 0
    (events that did not happen); periods in which the source has no data at all are absent.
    """
    wanted = as_metric(metric)
    span = coverage(cube, start, end)
    sums = cube.sums(wanted, filters=filters, grain=grain, start=start, end=end)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "period": pl.Date,
        "period_end": pl.Date,
        "days": pl.Int64,
        "complete": pl.Boolean,
        "numerator": sums.schema["numerator"],
        "denominator": sums.schema["denominator"],
        wanted.name: pl.Float64,
    }
    if span is None:
        return pl.DataFrame(schema=schema)
    first, last = span
    periods = pl.LazyFrame({"period": cube.periods(grain, start=first, end=last)}, schema={"period": pl.Date})
    filled = pl.col("numerator", "denominator").fill_null(0) if wanted.is_ratio else pl.col("numerator").fill_null(0)
    ends = period_end(pl.col("period"), grain)
    covered_from = pl.max_horizontal(pl.col("period"), pl.lit(first))
    covered_to = pl.min_horizontal(ends, pl.lit(last))
    return (
        periods.join(sums.lazy().drop(wanted.name), on="period", how="left")
        .with_columns(filled)
        .select(
            "period",
            period_end=ends,
            days=((covered_to - covered_from).dt.total_days() + 1).cast(pl.Int64),
            complete=(pl.col("period") >= first) & (ends <= last),
            numerator="numerator",
            denominator="denominator",
            **{wanted.name: wanted.from_sums(pl.col("numerator"), pl.col("denominator")).cast(pl.Float64)},
        )
        .sort("period")
        .collect()
    )


def rolling(series: pl.DataFrame, metric: str | Metric, periods: int) -> pl.DataFrame:
    """Add ``rolling``: the metric over the last ``periods`` periods (this one included).

    A count is averaged per period; a rate is the ratio of the window's sums (never a mean of
    rates). Null until the window is full. ``series`` is a ``trend_series`` frame.
    """
    if periods < 1:
        raise ValueError("a rolling window needs at least one period")
    wanted = as_metric(metric)
    numerator = pl.col("numerator").rolling_sum(periods)
    value = (
        wanted.from_sums(numerator, pl.col("denominator").rolling_sum(periods))
        if wanted.is_ratio
        else numerator / periods
    )
    return series.with_columns(rolling=value.cast(pl.Float64))

"""Period-over-period changes of a metric, with a significance test suited to counts and rates.

A change is *significant* when the test of ``insights.significance`` rejects "same rate
in both periods" at ``alpha``: a conditional (beta-)binomial test of the daily rate for counts,
a two-proportion test with a beta-binomial design effect for proportions. The noise is measured
on the slice's own series at the periods' grain (``Trend.noise``), so a wobble that the series
shows every week is not reported as change, and neither is a handful of events in a low-volume
harm area. The noise is measured between *adjacent* periods; against a year earlier it does not
include the slow drift of a year, so read year-over-year significance as "not noise", not as
"not trend".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.disclosure import withheld_column, withheld_of, zero_unless_withheld
from insights.filters import Filters
from insights.metrics import Metric, as_metric
from insights.periods import (
    Against,
    Grain,
    Period,
    baseline_period,
    grain_of,
    latest_complete_period,
)
from insights.significance import Noise
from insights.trends.anomalies import trend
from insights.trends.series import coverage


def slice_noise(
    cube: Cube, metric: str | Metric, grain: Grain, filters: Filters | None = None, end: object = None
) -> Noise:
    """The period-to-period noise of a slice at a grain, measured on its series up to ``end``."""
    return trend(cube, metric, grain, filters, end=end).noise


def covered_days(cube: Cube, period: Period) -> int:
    """Days of ``period`` the cube has data for (the exposure of a count)."""
    span = coverage(cube, period.start, period.end)
    return 0 if span is None else max(0, (span[1] - span[0]).days + 1)


def compare(
    cube: Cube,
    metric: str | Metric,
    *,
    current: Period,
    baseline: Period,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    noise: Noise | None = None,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """A metric in two periods for every combination of ``by``, with the change and its test.

    Columns: the ``by`` keys, ``value``, ``baseline_value``, ``change``, ``pct_change``,
    ``p_value``, ``significant``, and the sums behind them (``numerator``, ``denominator``,
    ``baseline_numerator``, ``baseline_denominator``). A combination present in one period only
    counts 0 in the other. ``noise`` defaults to the slice's own, measured at the grain of
    ``current`` (``slice_noise``); sub-slices share it through the model's shape parameter.
    """
    wanted = as_metric(metric)
    if noise is None:
        noise = slice_noise(cube, wanted, grain_of(current), filters, end=current.end)
    keys = [by] if isinstance(by, str) else list(by)
    now, before = (
        cube.sums(wanted, by=keys, filters=filters, start=p.start, end=p.end).drop(wanted.name)
        for p in (current, baseline)
    )
    days = (covered_days(cube, current), covered_days(cube, baseline))
    return compare_sums(wanted, current=now, baseline=before, keys=keys, days=days, noise=noise, alpha=alpha)


def compare_sums(
    metric: Metric,
    *,
    current: pl.DataFrame,
    baseline: pl.DataFrame,
    keys: Sequence[str],
    days: tuple[int, int],
    noise: Noise,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``compare`` on already-summed frames (``keys``, ``numerator``, ``denominator`` per period).

    ``days`` are the current and baseline periods' lengths in days: the exposure of a count.
    Rows are sorted by the keys. Sums withheld by small-cell suppression (answers of a suppressing
    cube carry ``<column>__withheld`` companions) stay unknown, never 0; the result then carries
    ``value__withheld`` and ``baseline_value__withheld`` (see ``insights.disclosure``).
    """
    own = ["numerator", "denominator"]
    companions = [withheld_column(c) for c in own if withheld_column(c) in current.columns]
    parts = [frame.select(*keys, *own, *companions) for frame in (current, baseline)]
    renamed = parts[1].rename({c: f"baseline_{c}" for c in parts[1].columns if c not in keys})
    sums = ["numerator", "baseline_numerator"] + (["denominator", "baseline_denominator"] if metric.is_ratio else [])
    joined = (
        parts[0].join(renamed, on=list(keys), how="full", coalesce=True, nulls_equal=True)
        if keys
        else pl.concat([parts[0], renamed], how="horizontal")
    )
    joined = joined.with_columns(zero_unless_withheld(s, joined.columns) for s in sums)
    joined = joined.with_columns(
        value=metric.from_sums(pl.col("numerator"), pl.col("denominator")).cast(pl.Float64),
        baseline_value=metric.from_sums(pl.col("baseline_numerator"), pl.col("baseline_denominator")).cast(pl.Float64),
    ).with_columns(change=pl.col("value") - pl.col("baseline_value"))
    values = {"value": sums[0::2], "baseline_value": sums[1::2]}
    withheld = [withheld_of(name, sources) for name, sources in values.items()] if companions else []
    exposure = (
        (pl.col("denominator"), pl.col("baseline_denominator"))
        if metric.is_ratio
        else (pl.lit(days[0]), pl.lit(days[1]))
    )
    arrays = (
        joined.select(
            pl.col("numerator"), exposure[0].alias("e1"), pl.col("baseline_numerator"), exposure[1].alias("e0")
        )
        .cast(pl.Float64)
        .to_numpy()
        .T
    )
    p_values = noise.p_values(*arrays) if len(joined) else np.array([])
    ordered = joined.select(
        *keys,
        "value",
        "baseline_value",
        "change",
        pct_change=pl.when(pl.col("baseline_value") != 0).then(pl.col("change") / pl.col("baseline_value")),
        p_value=pl.Series(p_values, dtype=pl.Float64).fill_nan(None),
        numerator="numerator",
        denominator="denominator",
        baseline_numerator="baseline_numerator",
        baseline_denominator="baseline_denominator",
    ).with_columns(significant=pl.col("p_value").fill_null(1.0) < alpha)
    ordered = ordered.hstack(joined.select(withheld)) if withheld else ordered
    return ordered.sort(keys, nulls_last=True) if keys else ordered


def measure_change(
    cube: Cube,
    metric: str | Metric,
    *,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    noise: Noise | None = None,
    alpha: float = 0.05,
) -> Change:
    """The change of a metric for one slice between two periods, tested (see ``compare``)."""
    wanted = as_metric(metric)
    if noise is None:
        noise = slice_noise(cube, wanted, grain_of(current), filters, end=current.end)
    row = compare(cube, wanted, current=current, baseline=baseline, filters=filters, noise=noise, alpha=alpha)
    return Change.from_row(
        row.row(0, named=True),
        wanted.name,
        current=current,
        baseline=baseline,
        filters=filters,
        noise=noise,
        alpha=alpha,
    )


def period_over_period(
    cube: Cube,
    metric: str | Metric,
    grain: Grain = "week",
    against: Against = "previous",
    as_of: dt.date | None = None,
    filters: Filters | None = None,
    alpha: float = 0.05,
) -> Change:
    """The latest complete ``grain`` (ending on or before ``as_of``, default the data's as-of
    date) against the one before it or the same dates a year earlier, tested."""
    current = latest_complete_period(data_as_of(cube, as_of), grain)
    baseline = baseline_period(current, grain, against)
    return measure_change(cube, metric, current=current, baseline=baseline, filters=filters, alpha=alpha)


def period_changes(
    cube: Cube,
    metric: str | Metric,
    filters: Filters | None = None,
    as_of: dt.date | None = None,
    grains: Sequence[Grain] = ("week", "month", "quarter"),
    against: Sequence[Against] = ("previous", "year_ago"),
    alpha: float = 0.05,
) -> list[Change]:
    """Week-, month- and quarter-over-period and year-over-year changes of a metric for one slice
    (every grain × comparison asked for), each tested against the slice's noise at its grain."""
    as_of = data_as_of(cube, as_of)
    found = []
    for grain in grains:
        current = latest_complete_period(as_of, grain)
        noise = slice_noise(cube, metric, grain, filters, end=current.end)
        found += [
            measure_change(
                cube,
                metric,
                current=current,
                baseline=baseline_period(current, grain, a),
                filters=filters,
                noise=noise,
                alpha=alpha,
            )
            for a in against
        ]
    return found


def data_as_of(cube: Cube, as_of: dt.date | None = None) -> dt.date:
    """``as_of`` if given, else the data's as-of date (ValueError for a cube without data)."""
    as_of = as_of or cube.provenance.as_of
    if as_of is None:
        raise ValueError("the cube has no data, so there is no period to compare")
    return as_of

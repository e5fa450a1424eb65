"""Period-over-period changes of a metric, with a significance test suited to counts and rates.

A change is *significant* when the test of ``insights.trends.significance`` rejects "same rate
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
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from insights.cube import Cube, Filters, Grain
from insights.kpis import Period, change_text, latest_complete_period, previous_period, year_earlier
from insights.metrics import Metric
from insights.trends.anomalies import trend
from insights.trends.series import as_metric, coverage
from insights.trends.significance import Noise

Against = Literal["previous", "year_ago"]

#: Typical length in days of each grain, to tell the grain of an arbitrary period.
GRAIN_DAYS: dict[str, float] = {"day": 1, "week": 7, "month": 30.44, "quarter": 91.3, "year": 365.25}


@dataclass(frozen=True)
class Delta:
    """A metric in ``current`` against ``baseline`` for one slice, with the test of the change."""

    metric: str
    current: Period
    baseline: Period
    value: float | None
    baseline_value: float | None
    numerator: float | None
    denominator: float | None
    baseline_numerator: float | None
    baseline_denominator: float | None
    p_value: float | None
    alpha: float = 0.05
    filters: dict = field(default_factory=dict)

    @property
    def change(self) -> float | None:
        """Absolute change (in the metric's unit; a rate's change is in proportion points)."""
        return None if self.value is None or self.baseline_value is None else self.value - self.baseline_value

    @property
    def pct_change(self) -> float | None:
        """Relative change (None when the baseline is 0 or unknown)."""
        return None if self.change is None or not self.baseline_value else self.change / self.baseline_value

    @property
    def significant(self) -> bool:
        """True when the change is unlikely to be noise (p < alpha)."""
        return self.p_value is not None and self.p_value < self.alpha

    @property
    def direction(self) -> Literal["up", "down", "flat"]:
        """'up' or 'down' for a significant change, else 'flat'."""
        if not self.significant or not self.change:
            return "flat"
        return "up" if self.change > 0 else "down"

    def change_text(self) -> str | None:
        """The change as on a KPI card: '+12.3%' for counts, '+1.2 pp' for rates."""
        return change_text(self.metric, self.change, self.pct_change)


def grain_of(period: Period) -> Grain:
    """The grain whose typical length is closest to the period's (a week for 7 days…)."""
    days = (period.end - period.start).days + 1
    return min(GRAIN_DAYS, key=lambda g: abs(np.log(days / GRAIN_DAYS[g])))  # type: ignore[return-value]


def slice_noise(cube: Cube, of: str | Metric, grain: Grain, filters: Filters | None = None, end: object = None) -> Noise:
    """The period-to-period noise of a slice at a grain, measured on its series up to ``end``."""
    return trend(cube, of, grain, filters, end=end).noise


def covered_days(cube: Cube, period: Period) -> int:
    """Days of ``period`` the cube has data for (the exposure of a count)."""
    span = coverage(cube, period.start, period.end)
    return 0 if span is None else max(0, (span[1] - span[0]).days + 1)


def compare(
    cube: Cube,
    of: str | Metric,
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
    wanted = as_metric(of)
    if noise is None:
        noise = slice_noise(cube, wanted, grain_of(current), filters, end=current.end)
    keys = [by] if isinstance(by, str) else list(by)
    now, before = (
        cube.sums(wanted, by=keys, filters=filters, start=p.start, end=p.end).drop(wanted.name) for p in (current, baseline)
    )
    return compare_sums(
        now, before, keys, wanted, (covered_days(cube, current), covered_days(cube, baseline)), noise, alpha
    )


def compare_sums(
    current: pl.DataFrame,
    baseline: pl.DataFrame,
    keys: Sequence[str],
    wanted: Metric,
    days: tuple[int, int],
    noise: Noise,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``compare`` on already-summed frames (``keys``, ``numerator``, ``denominator`` per period).

    ``days`` are the two periods' lengths in days: the exposure of a count. Rows are sorted by
    the keys.
    """
    renamed = baseline.rename({"numerator": "baseline_numerator", "denominator": "baseline_denominator"})
    sums = ["numerator", "baseline_numerator"] + (["denominator", "baseline_denominator"] if wanted.is_ratio else [])
    joined = (
        current.join(renamed, on=list(keys), how="full", coalesce=True, nulls_equal=True)
        if keys
        else pl.concat([current, renamed], how="horizontal")
    ).with_columns(pl.col(sums).fill_null(0))
    joined = joined.with_columns(
        value=wanted.from_sums(pl.col("numerator"), pl.col("denominator")).cast(pl.Float64),
        baseline_value=wanted.from_sums(pl.col("baseline_numerator"), pl.col("baseline_denominator")).cast(pl.Float64),
    ).with_columns(change=pl.col("value") - pl.col("baseline_value"))
    exposure = (
        (pl.col("denominator"), pl.col("baseline_denominator"))
        if wanted.is_ratio
        else (pl.lit(days[0]), pl.lit(days[1]))
    )
    arrays = joined.select(
        pl.col("numerator"), exposure[0].alias("e1"), pl.col("baseline_numerator"), exposure[1].alias("e0")
    ).cast(pl.Float64).to_numpy().T
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
    return ordered.sort(keys, nulls_last=True) if keys else ordered


def delta(
    cube: Cube,
    of: str | Metric,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    noise: Noise | None = None,
    alpha: float = 0.05,
) -> Delta:
    """The change of a metric for one slice between two periods, tested (see ``compare``)."""
    wanted = as_metric(of)
    row = compare(cube, wanted, current, baseline, filters=filters, noise=noise, alpha=alpha).row(0, named=True)
    return Delta(
        metric=wanted.name,
        current=current,
        baseline=baseline,
        value=row["value"],
        baseline_value=row["baseline_value"],
        numerator=row["numerator"],
        denominator=row["denominator"],
        baseline_numerator=row["baseline_numerator"],
        baseline_denominator=row["baseline_denominator"],
        p_value=row["p_value"],
        alpha=alpha,
        filters=dict(filters or {}),
    )


def baseline_period(current: Period, grain: Grain, against: Against) -> Period:
    """The period ``current`` is compared with: the one before, or the same dates a year earlier."""
    if against == "previous":
        return previous_period(current, grain)
    if against == "year_ago":
        return year_earlier(current)
    raise ValueError(f"against must be 'previous' or 'year_ago', not {against!r}")


def period_over_period(
    cube: Cube,
    of: str | Metric,
    grain: Grain = "week",
    against: Against = "previous",
    as_of: dt.date | None = None,
    filters: Filters | None = None,
    alpha: float = 0.05,
) -> Delta:
    """The latest complete ``grain`` (ending on or before ``as_of``, default the data's as-of
    date) against the one before it or the same dates a year earlier, tested."""
    current = latest_complete_period(_as_of(cube, as_of), grain)
    return delta(cube, of, current, baseline_period(current, grain, against), filters, alpha=alpha)


def period_deltas(
    cube: Cube,
    of: str | Metric,
    filters: Filters | None = None,
    as_of: dt.date | None = None,
    grains: Sequence[Grain] = ("week", "month", "quarter"),
    against: Sequence[Against] = ("previous", "year_ago"),
    alpha: float = 0.05,
) -> list[Delta]:
    """Week-, month- and quarter-over-period and year-over-year deltas of a metric for one slice
    (every grain × comparison asked for), each tested against the slice's noise at its grain."""
    as_of = _as_of(cube, as_of)
    found = []
    for grain in grains:
        current = latest_complete_period(as_of, grain)
        noise = slice_noise(cube, of, grain, filters, end=current.end)
        found += [delta(cube, of, current, baseline_period(current, grain, a), filters, noise, alpha) for a in against]
    return found


def _as_of(cube: Cube, as_of: dt.date | None) -> dt.date:
    as_of = as_of or cube.provenance.as_of
    if as_of is None:
        raise ValueError("the cube has no data, so there is no period to compare")
    return as_of

"""A metric's trend with its expected band, anomaly flags, change points and noise model.

The expected value of a period is what the slice's recent past predicts for it:

* at **day** grain, weekly seasonality is taken out first: a multiplicative weekday profile
  (each weekday's total over the total of the centred 7-day means on those days, normalised
  to average 1 — a ratio of sums, so zeros and spikes cannot collapse it) divides the series;
  at coarser grains each period is divided by the mean weekday factor of its days, and a count
  also by its length (months have 28 to 31 days, and some have five weekends);
* the **robust level** is the median of the previous ``WINDOWS[grain]`` periods (28 days, 8 weeks,
  6 months, 4 quarters, 3 years), moved forward by the **robust trend**: the growth per period
  between the medians of the two halves of the year before (``TREND_WINDOWS``). Medians keep a
  spike from lifting the baseline until it fills half the window; measuring growth over a year
  keeps a short spike from tilting it. After a change point (see the end of this
  docstring) the level window stays inside the new segment as soon as that has
  half a window of its own, so a level shift is flagged while it is news, not for a whole
  window. Counts that average under ``LOW_COUNT`` events per period use the window's mean
  level instead, since the median of a sparse count is biased to zero;
* the weekday (or length) factor is put back. Incomplete periods get no expectation.

The band is the central ``level`` interval of the count distribution around that expectation
(``insights.significance.Noise.interval``), with the dispersion φ measured robustly (MAD)
on the series' own standardised residuals — so it includes the uncertainty of the baseline and
only what the series has not seen before falls outside. A period outside its band is an anomaly.
This runs twice: the periods flagged the first time are pulled back to the edge of their band
before the baselines of later segments are fitted again (the cleaning of robust Holt–Winters
filters; Gelper, Fried & Croux 2010), so a long spike lifts the baseline of the periods after
it — and makes them look like dips — far less.

The trend also carries the slice's period-to-period noise: φ from the robust spread of
successive (deseasonalised, standardised) differences, the variance a change between two
adjacent periods is judged against. The period-over-period tests of ``insights.trends.deltas``
use it. Change points are found by ``count_change_points`` on the daily counts themselves
(weekday seasonality, Poisson-like noise, spikes set aside) for a count at day grain, and by
``change_points`` on the deseasonalised series otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import polars as pl

from insights.cube import Cube
from insights.filters import Filters, normalise_filters
from insights.metrics import Metric, as_metric
from insights.periods import Grain, period_start
from insights.significance import Kind, Noise, noise_kind, robust_dispersion, unit_variance
from insights.trends.changepoints import change_points, count_change_points
from insights.trends.series import trend_series

#: Periods of recent past the expected value is fitted on, per grain.
WINDOWS: dict[str, int] = {"day": 28, "week": 8, "month": 6, "quarter": 4, "year": 3}
#: Periods the trend (growth) is measured over, per grain: about a year.
TREND_WINDOWS: dict[str, int] = {"day": 364, "week": 52, "month": 12, "quarter": 8, "year": 4}
#: Below this mean count per period, a count's baseline is the window's mean, not its median.
LOW_COUNT = 5.0


@dataclass(frozen=True)
class Trend:
    """A metric's series for one slice with expected values, bands, anomalies and change points.

    ``series`` has the columns of ``trend_series`` plus ``expected``, ``lower`` and ``upper`` (the
    band), ``score`` (standardised distance from expected: > 0 above) and ``anomaly`` (outside
    the band; never for incomplete periods or before there is enough past). ``noise`` is the
    slice's period-to-period noise model, ``band_dispersion`` the φ the band is drawn with.
    """

    metric: str
    grain: str
    filters: dict
    series: pl.DataFrame
    noise: Noise
    band_dispersion: float
    level: float
    change_points: list[dt.date] = field(default_factory=list)

    @property
    def anomalies(self) -> pl.DataFrame:
        """The anomalous periods, most extreme first."""
        return self.series.filter(pl.col("anomaly")).sort(pl.col("score").abs(), descending=True)

    def moments(self) -> pl.DataFrame:
        """Anomalies and change points as one frame: ``start``, ``end``, ``kind`` (spike, dip or
        change point) and ``score`` (null for change points), in time order."""
        anomalies = self.anomalies.select(
            start="period",
            end="period_end",
            kind=pl.when(pl.col("score") > 0).then(pl.lit("spike")).otherwise(pl.lit("dip")),
            score="score",
        )
        shifts = self.series.filter(pl.col("period").is_in(self.change_points)).select(
            start="period", end="period_end", kind=pl.lit("change point"), score=pl.lit(None, pl.Float64)
        )
        return pl.concat([anomalies, shifts]).sort("start", "kind")


def trend(
    cube: Cube,
    metric: str | Metric,
    grain: Grain = "week",
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
    level: float = 0.99,
) -> Trend:
    """The trend of a metric for one slice: series, expected band, anomalies, change points.

    ``metric`` is a registry metric name (or a ``Metric``); ``filters``, ``start`` and ``end`` are as
    for ``Cube.query``. ``level`` is the band's coverage: with the default 0.99 a period of pure
    noise falls outside about once in a hundred.
    """
    wanted = as_metric(metric)
    kind = noise_kind(wanted)
    series = trend_series(cube, wanted, grain, filters, start, end)
    complete = series["complete"].to_numpy()
    values = np.where(complete, series[wanted.name].fill_null(np.nan).to_numpy(), np.nan)
    size = series["denominator"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    calendar = grain != "week" and cube.time_grain == "day"
    daily = series if grain == "day" else trend_series(cube, wanted, "day", filters, start, end) if calendar else None
    seasonal = _seasonal_factors(kind, grain, series, daily, wanted.name)
    deseasonalised = values / seasonal
    breaks = _change_points(kind, grain, series, deseasonalised, complete)
    segments = np.searchsorted(np.flatnonzero(complete)[breaks], np.arange(len(values)), side="right")
    baseline = partial(
        trailing_baseline, deseasonalised, WINDOWS[grain], TREND_WINDOWS[grain], kind == "count", segments
    )
    judged = partial(_band, Noise(kind), values, seasonal, size, complete, level, wanted.scale)
    first = judged(baseline())
    cleaned = np.where(first.anomaly, np.clip(values, first.lower, first.upper), values)
    band = judged(baseline(cleaned / seasonal))
    variance = band.variance / seasonal**2
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.diff(deseasonalised) / np.sqrt(variance[1:] + variance[:-1])
    noise = Noise(kind, robust_dispersion(steps), _reference(kind, series))
    return Trend(
        metric=wanted.name,
        grain=grain,
        filters=normalise_filters(filters),
        series=series.with_columns(
            expected=pl.Series(band.expected).fill_nan(None),
            lower=pl.Series(band.lower).fill_nan(None),
            upper=pl.Series(band.upper).fill_nan(None),
            score=pl.Series(band.score).fill_nan(None),
            anomaly=pl.Series(band.anomaly),
        ),
        noise=noise,
        band_dispersion=band.dispersion,
        level=level,
        change_points=series.filter(pl.col("complete"))["period"].gather(breaks).to_list(),
    )


def _change_points(
    kind: Kind, grain: str, series: pl.DataFrame, deseasonalised: np.ndarray, complete: np.ndarray
) -> list[int]:
    """Positions of the change points among the complete periods.

    A count at day grain is segmented as counts (``count_change_points``: Poisson-like noise,
    the weekday as its season, one-day spikes left to the anomaly band); any other series by
    the generic ``change_points`` on its deseasonalised values.
    """
    if not complete.any():
        return []
    if kind == "count" and grain == "day":
        known = series.filter(pl.col("complete"))
        return count_change_points(known["numerator"].cast(pl.Float64), seasons=known["period"].dt.weekday())
    return change_points(deseasonalised[complete])


@dataclass(frozen=True)
class _Band:
    """Expected values, their band and the verdicts, for one baseline."""

    expected: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    anomaly: np.ndarray
    dispersion: float


def _band(
    pure: Noise,
    values: np.ndarray,
    seasonal: np.ndarray,
    size: np.ndarray,
    complete: np.ndarray,
    level: float,
    scale: float,
    baseline: np.ndarray,
) -> _Band:
    """Judge ``values`` against a (deseasonalised) ``baseline``: φ from the standardised residuals,
    the band of the count distribution, the score and the anomaly flags."""
    expected = np.where(complete, baseline * seasonal, np.nan)
    if pure.kind == "proportion":
        expected = np.clip(expected, 0.0, 1.0)
    variance = unit_variance(pure.kind, expected, size, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        dispersion = robust_dispersion((values - expected) / np.sqrt(variance))
        score = (values - expected) / np.sqrt(dispersion * variance)
    lower, upper = Noise(pure.kind, dispersion).interval(expected, size, level, scale)
    anomaly = np.isfinite(score) & np.nan_to_num((values < lower) | (values > upper), nan=False).astype(bool)
    return _Band(expected, variance, lower, upper, score, anomaly, dispersion)


def _seasonal_factors(
    kind: Kind, grain: str, series: pl.DataFrame, daily: pl.DataFrame | None, name: str
) -> np.ndarray:
    """What each period is divided by before the trend is fitted: its weekday factor at day
    grain; at coarser grains the mean weekday factor of its days (a month with five weekends is
    not an anomaly) and, for counts, its length (months have 28 to 31 days)."""
    factors = np.ones(len(series))
    if daily is not None:
        profile = weekday_profile(daily[name].fill_null(np.nan).to_numpy(), daily["period"].dt.weekday().to_numpy())
        if grain == "day":
            return profile
        per_period = (
            daily.select(period=period_start(pl.col("period"), grain), factor=pl.Series(profile))
            .group_by("period")
            .agg(pl.col("factor").mean())
        )
        factors = series.join(per_period, on="period", how="left")["factor"].fill_null(1.0).to_numpy()
    if kind == "count":
        days = series["days"].to_numpy().astype(float)
        factors = factors * days / np.median(days)
    return factors


def weekday_profile(values: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Multiplicative weekday factor of every day (1 everywhere when it cannot be estimated).

    ``weekdays`` are 1 (Monday) … 7. Each weekday's factor is the sum of its values over the sum
    of the centred 7-day means on those days; the seven factors are scaled to average 1.
    """
    centred = pl.Series(values).fill_nan(None).rolling_mean(7, center=True).fill_null(np.nan).to_numpy()
    usable = np.isfinite(values) & np.isfinite(centred)
    totals = np.bincount(weekdays[usable] - 1, weights=values[usable], minlength=7)
    levels = np.bincount(weekdays[usable] - 1, weights=centred[usable], minlength=7)
    if not (levels > 0).all() or not (totals > 0).all():
        return np.ones(len(values))
    factors = totals / levels
    return (factors / factors.mean())[weekdays - 1]


def trailing_baseline(
    values: np.ndarray,
    window: int,
    trend_window: int,
    sparse_counts: bool,
    segments: np.ndarray | None = None,
    cleaned: np.ndarray | None = None,
) -> np.ndarray:
    """Each period's value as predicted by the periods before it (NaN without enough of them).

    The median of the previous ``window`` periods (at least half of them, and 3, known), moved
    forward by the trend over the ``trend_window`` periods before: the difference between the
    medians of that window's later and earlier halves, per period, times the distance from the
    level window's centre. With ``sparse_counts``, windows averaging fewer than ``LOW_COUNT``
    use their mean as the level instead.

    ``segments`` (a segment number per period, from change points) keeps the level window
    inside the period's own segment once that has enough periods, so a level shift is learnt
    as soon as it can be measured; until then, and for the trend, the earlier periods count
    with their ``cleaned`` values (default: as they are).
    """
    half = trend_window // 2
    enough = lambda size: min(size, max(3, size // 2))  # noqa: E731  (a short window: all of it)
    frame = pl.DataFrame(
        {
            "value": values,
            "cleaned": values if cleaned is None else cleaned,
            "segment": np.zeros(len(values), dtype=np.int64) if segments is None else segments,
        },
        schema={"value": pl.Float64, "cleaned": pl.Float64, "segment": pl.Int64},
    ).with_columns(pl.col("value", "cleaned").fill_nan(None).shift(1))
    level = lambda how, column: getattr(pl.col(column), f"rolling_{how}")(window, min_samples=enough(window))  # noqa: E731
    later = pl.col("cleaned").rolling_median(half, min_samples=enough(half))
    fitted = frame.select(
        median=level("median", "value").over("segment").fill_null(level("median", "cleaned")),
        mean=level("mean", "value").over("segment").fill_null(level("mean", "cleaned")),
        slope=((later - later.shift(half)) / half).fill_null(0.0),
    )
    chosen = pl.when(pl.col("mean") < LOW_COUNT).then("mean").otherwise("median") if sparse_counts else pl.col("median")
    return fitted.select(chosen + pl.col("slope") * (window + 1) / 2).to_series().fill_null(np.nan).to_numpy()


def _reference(kind: Kind, series: pl.DataFrame) -> float:
    """The size φ was measured at: events per day (counts), per unit of denominator (rates), or
    the mean denominator per period (proportions), over the complete periods."""
    known = series.filter(pl.col("complete"))
    if not len(known):
        return 1.0
    numerator, denominator = float(known["numerator"].sum()), float(known["denominator"].fill_null(0).sum())
    if kind == "count":
        reference = numerator / float(known["days"].sum())
    elif kind == "rate":
        reference = numerator / max(denominator, 1.0)
    else:
        reference = denominator / len(known)
    return float(reference) if reference else 1.0

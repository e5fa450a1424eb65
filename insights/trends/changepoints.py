"""Offline change-point detection on a univariate series.

Model: the series is split into segments; each segment is a straight line
(level and, when it pays for itself, a slope) plus Gaussian noise with its
own variance. The best segmentation minimises the negative log-likelihood
plus a BIC penalty, found exactly by optimal partitioning with PELT pruning
(Killick, Fearnhead & Eckley 2012).

Two choices keep this honest on real data, which is trending, seasonal and
autocorrelated rather than i.i.d.:

* The series is standardised by the residual scale of the *no-change* model
  (one straight line over the whole series), so all costs are measured in
  units of the noise that the null hypothesis has to explain.
* A segment's noise variance is the maximum-likelihood estimate, but never
  below that null noise level. Variance increases are detected (a variance
  change always has a noisier side), while smooth or autocorrelated stretches
  cannot buy a huge likelihood gain by fitting a near-zero variance, which is
  what makes the plain mean-and-variance cost over-segment.

On the TCPD benchmark (van den Burg & Williams 2020; ``bench/tcpd.py``) these
defaults beat every published default method.

Counts: ``count_change_points``
-------------------------------
A daily count of enforcement actions is not a generic series: its noise is
(at least) Poisson, so it grows with the level; it has a weekly rhythm; it
drifts slowly; and it has one-day spikes (a raid, a viral post) that are
anomalies, not new levels. The generic model above measures everything in
units of the no-change residual, which a large shift or a slow wave inflates
(so smaller shifts are missed), and it splits a curved trend at high volumes,
where the Poisson noise is tiny next to any curvature. ``count_change_points``
models the counts directly:

* **Spikes are not segments.** Counts are compared with counts of the same
  ``seasons`` label only (like with like: no seasonal profile needed, so a
  spike is found before it can bend one). A count further than
  ``SPIKE_THRESHOLD`` robust standard deviations (at least Poisson's, on
  Anscombe's scale) from the running median of the ``SPIKE_WINDOW`` nearest
  such counts, and from the medians of the three before and the three after
  it, is replaced by that running median before segmentation. A median
  follows a level shift but not an excursion of up to three periods; the
  one-sided medians keep the first days of a new level from being taken for
  spikes when a centred window tips over.
* **Seasonality.** Counts sharing a label (the weekday) share a
  multiplicative factor ``f``: the label's total over the total of the
  centred moving mean on its periods (a ratio of sums, so zeros cannot
  collapse it). Next to a level shift that moving mean is a ramp, so once
  shifts are found the factors are measured again within segments and the
  segmentation is repeated until it stands (``PASSES``).
* **Variance stabilised.** ``x = 2·sqrt(y + 3/8) / sqrt(f)`` (Anscombe's
  transform of the count, divided by the root of its seasonal factor) has
  variance ``φ / f`` for Poisson-like counts whatever the level. The
  dispersion ``φ`` is measured robustly from the first differences (median
  absolute deviation), and never below 1: counts vary at least as much as
  Poisson counts (conservative below about two events a period, where the
  transform's variance is under 1).
* **Segments are smooth trends.** Within a segment the stabilised level is an
  integrated random walk (a local linear trend whose slope drifts; the
  state-space form of a cubic smoothing spline) observed with noise. Its slope
  innovations have standard deviation ``TREND_CURVATURE`` times the local
  level (on the stabilised scale, ``d²x ≈ sqrt(λ)·d²log λ``), i.e. a trend's
  *relative* growth may bend by about that much per period², whatever the
  volume: a wave over months is a trend, a step from one day to the next is
  a change. At low volumes this is a straight line per segment; at tens of
  thousands a day it follows the slow waves that Poisson noise would
  otherwise call changes.
* **Cost and penalty.** A segment costs its generalised residual sum of
  squares with its initial level and slope profiled out (Kalman filter
  prediction errors from an exact two-point start), in units of the noise;
  one more segment costs a BIC penalty of ``3·log(n)`` (location, level and
  slope). Optimal partitioning with PELT pruning finds the exact minimum:
  giving a segment's second part a free start never costs more, so the
  pruning constant is 0. Segments are at least ``min_size`` periods long
  (a week by default: shorter excursions are anomalies).

Assumptions: counts (non-negative, roughly Poisson or over-dispersed), a
seasonal pattern that is multiplicative and stable over the series, and
noise that is independent from period to period (strong autocorrelation
reads as small changes). On ``bench/daily_changepoints.py`` (daily series of
180–730 days, 3 to 30,000 events a day) it finds level shifts of ×0.8 or
×1.25 and more with an F1 near 0.97, while one-day spikes of ×2–4 are
almost never taken for changes.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from insights.significance import MAD_TO_SD

__all__ = ["change_points", "count_change_points"]

#: Relative curvature a slow trend may have, per period² (growth rates drift, levels do not jump).
TREND_CURVATURE = 1e-4
#: A point this many robust standard deviations from its running median is a spike.
SPIKE_THRESHOLD = 4.0
#: Periods (of the same season) in the running median a spike is measured against: it follows
#: a level shift, but not an excursion of up to three periods.
SPIKE_WINDOW = 7
#: Segmentations at most (each measures the seasonality within the segments of the last).
PASSES = 3
#: Periods of the running median that sets the local level the trend curvature scales with.
LEVEL_WINDOW = 29


def change_points(values, *, penalty: float | None = None, min_size: int = 3) -> list[int]:
    """Find the change points of a univariate series.

    Args:
        values: list, numpy array or polars Series of numbers. Missing values
            (None / NaN / inf) are filled by linear interpolation between their
            neighbours (held constant at the ends), so indices keep referring
            to positions in ``values``.
        penalty: cost of one extra segment, in units of -2 log-likelihood.
            Default: BIC, ``3 * log(n)`` (a location, a level and a noise
            variance per new segment); a segment with a trend pays another
            ``log(n)`` for its slope.
        min_size: minimum number of observations in a segment (default 3,
            the number of parameters of a segment: level, slope, variance).

    Returns:
        Sorted indices ``i`` such that ``values[i]`` is the first observation
        of a new segment (never 0 and never ``len(values)``). Series shorter
        than ``2 * min_size`` or without noise around a straight line give
        ``[]``.
    """
    if min_size < 2:
        raise ValueError("min_size must be at least 2")
    x = _fill_missing(_as_float_array(values))
    n = len(x)
    if n < 2 * min_size:
        return []
    z = _standardise(x)
    if z is None:
        return []
    beta = 3.0 * np.log(n) if penalty is None else float(penalty)
    return _pelt(_SegmentCost(z, slope_penalty=np.log(n)), n, beta, min_size)


def _as_float_array(values) -> np.ndarray:
    if hasattr(values, "to_numpy"):  # polars / pandas Series
        values = values.to_numpy()
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError("change_points expects a univariate (1-d) series")
    return x


def _fill_missing(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if not ok.any():
        return x[:0]
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])


def _standardise(x: np.ndarray) -> np.ndarray | None:
    """Centre and scale by the residual s.d. of one straight-line fit; None if there is no noise."""
    n = len(x)
    t = np.arange(n, dtype=float)
    slope, intercept = np.polyfit(t, x, 1)
    sigma = np.sqrt(np.mean((x - intercept - slope * t) ** 2))
    if not sigma > 1e-12 * max(1.0, np.max(np.abs(x))):
        return None
    return (x - x.mean()) / sigma


class _SegmentCost:
    """-2 log-likelihood of segments ``z[s:t]`` from cumulative sums, O(1) per segment."""

    def __init__(self, z: np.ndarray, slope_penalty: float):
        t = np.arange(len(z)) - (len(z) - 1) / 2  # centred for numerical accuracy
        columns = np.cumsum([t, t * t, z, z * z, t * z], axis=1)
        self.sums = np.hstack([np.zeros((5, 1)), columns])
        self.slope_penalty = slope_penalty

    def __call__(self, s: np.ndarray, t: int) -> np.ndarray:
        m = (t - s).astype(float)
        st, stt, sz, szz, stz = self.sums[:, [t]] - self.sums[:, s]
        var_t = stt - st * st / m
        cov_tz = stz - st * sz / m
        rss_level = np.maximum(szz - sz * sz / m, 0.0)
        explained = np.divide(cov_tz * cov_tz, var_t, out=np.zeros_like(m), where=var_t > 0)
        rss_line = np.maximum(rss_level - explained, 0.0)
        return np.minimum(
            self._gaussian(rss_level, m),
            self._gaussian(rss_line, m) + self.slope_penalty,
        )

    @staticmethod
    def _gaussian(rss: np.ndarray, m: np.ndarray) -> np.ndarray:
        # Profile over the variance v >= 1 (the null noise level): v = max(rss / m, 1).
        v = np.maximum(rss / m, 1.0)
        return m * np.log(v) + rss / v


def _pelt(cost: _SegmentCost, n: int, beta: float, min_size: int) -> list[int]:
    """Exact penalised segmentation (optimal partitioning with PELT pruning).

    Splitting a segment can raise its cost by at most the slope penalty
    (both halves may pay for a slope), which is the pruning constant. A
    candidate found dominated at time t is dropped only once t itself becomes
    an admissible candidate (min_size later), which keeps the search exact.
    """
    best = np.full(n + 1, np.inf)
    best[0] = -beta
    last = np.zeros(n + 1, dtype=int)
    candidates = np.array([0])
    expires = np.full(n + 1, n + 1)  # time from which a candidate is dominated
    for t in range(min_size, n + 1):
        candidates = candidates[expires[candidates] > t]
        s = candidates[candidates <= t - min_size]
        totals = best[s] + cost(s, t)
        i = int(np.argmin(totals))
        best[t] = totals[i] + beta
        last[t] = s[i]
        dominated = s[totals - cost.slope_penalty > best[t]]
        expires[dominated] = np.minimum(expires[dominated], t + min_size)
        candidates = np.append(candidates, t)
    cps, t = [], n
    while t > 0:
        t = int(last[t])
        if t > 0:
            cps.append(t)
    return sorted(cps)


def count_change_points(counts, seasons=None, *, penalty: float | None = None, min_size: int = 7) -> list[int]:
    """Find the level shifts of a count series (events per period), e.g. daily actions.

    The model (see the module docstring): counts are Poisson-like with a multiplicative seasonal
    factor per ``seasons`` label; on Anscombe's variance-stabilised scale each segment is a smooth
    trend whose relative curvature is about ``TREND_CURVATURE`` per period²; one-day spikes are
    set aside before segmentation, so they stay anomalies and do not become change points.

    Args:
        counts: list, numpy array or polars Series of non-negative counts. Missing values
            (None / NaN / inf) are filled by linear interpolation between their neighbours, so
            indices keep referring to positions in ``counts``.
        seasons: optional label per count (e.g. the weekday, 1…7). Counts sharing a label share
            a multiplicative factor, estimated robustly from the series. None: no seasonality.
        penalty: cost of one extra segment, in units of -2 log-likelihood. Default: BIC,
            ``3 * log(n)`` (a location, a level and a slope per new segment).
        min_size: minimum number of periods in a segment (default 7: at day grain a level
            must hold for a week to be a change; shorter excursions are anomalies). At least 3.

    Returns:
        Sorted indices ``i`` such that ``counts[i]`` is the first count of a new level (never 0
        and never ``len(counts)``). Series shorter than ``2 * min_size`` give ``[]``.
    """
    if min_size < 3:
        raise ValueError("min_size must be at least 3")
    y = _fill_missing(_as_float_array(counts))
    n = len(y)
    if n < 2 * min_size:
        return []
    if np.any(y < 0):
        raise ValueError("count_change_points expects non-negative counts")
    labels = None if seasons is None else _as_labels(seasons, n)
    beta = 3.0 * np.log(n) if penalty is None else float(penalty)
    cleaned = _without_spikes(y, labels)
    # Next to a level shift a centred moving mean is a ramp, not a level, so seasonal factors
    # measured against it are off by many Poisson s.d. at high volumes: once the shifts are
    # known, the factors are measured again within segments, and the segmentation is repeated
    # until it stands (at most ``PASSES`` times).
    breaks: list[int] = []
    for _ in range(PASSES if labels is not None else 1):
        segments = np.searchsorted(np.asarray(breaks, dtype=int), np.arange(n), side="right")
        factor = _seasonal_factors(cleaned, labels, segments)
        x = _anscombe(cleaned, factor)
        observation_variance = _dispersion(x, factor) / factor
        slope_variance = (TREND_CURVATURE * _running_median(x, LEVEL_WINDOW) / 2) ** 2
        found = _pelt_smooth_trends(x, observation_variance, slope_variance, beta, min_size)
        if found == breaks:
            break
        breaks = found
    return breaks


def _as_labels(seasons, n: int) -> np.ndarray:
    labels = seasons.to_numpy() if hasattr(seasons, "to_numpy") else np.asarray(seasons)
    if labels.shape != (n,):
        raise ValueError("seasons needs one label per count")
    return np.unique(labels, return_inverse=True)[1]


def _without_spikes(y: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """The counts with each spike replaced by its typical value.

    Counts are compared with counts of the same season label only (like with like needs no
    seasonal profile, so a spike is found before it can bend one). A count's typical value is
    the running median of the ``SPIKE_WINDOW`` nearest of them, itself included: a median
    follows a level shift but not an excursion of up to ``SPIKE_WINDOW // 2`` periods. It is a
    spike when it lies further than ``SPIKE_THRESHOLD`` robust s.d. (at least Poisson's), on
    Anscombe's scale, from that median *and* from the medians of the ``SPIKE_WINDOW // 2``
    counts before it and after it: next to a level shift a centred median can tip over to the
    other level, but the first count of a new level still agrees with the counts after it.
    """
    side = SPIKE_WINDOW // 2
    frame = pl.DataFrame({"y": y, "season": np.zeros(len(y), dtype=np.int64) if labels is None else labels})
    medians = frame.select(
        centred=pl.col("y").rolling_median(SPIKE_WINDOW, center=True, min_samples=1).over("season"),
        before=pl.col("y").shift(1).rolling_median(side, min_samples=1).over("season"),
        after=pl.col("y").reverse().shift(1).rolling_median(side, min_samples=1).reverse().over("season"),
    )
    # Residuals on Anscombe's scale; a missing median (the ends of the series) is NaN.
    residuals = 2.0 * (np.sqrt(y + 3 / 8) - np.sqrt(medians.to_numpy().T + 3 / 8))
    centred = residuals[0]
    spread = max(1.0, MAD_TO_SD * float(np.median(np.abs(centred - np.median(centred)))))
    within = np.abs(residuals) <= SPIKE_THRESHOLD * spread  # False where a median is missing
    spikes = ~within.any(axis=0)
    return np.where(spikes, medians["centred"].to_numpy(), y)


def _running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median (shorter windows at the ends; NaNs ignored)."""
    return pl.Series(x, dtype=pl.Float64).fill_nan(None).rolling_median(window, center=True, min_samples=1).to_numpy()


def _seasonal_factors(y: np.ndarray, labels: np.ndarray | None, segments: np.ndarray) -> np.ndarray:
    """Each count's multiplicative seasonal factor (mean 1 over the labels; 1 without labels).

    A label's factor is its total over the total of the centred moving mean (one full cycle
    wide, inside the count's segment) on its periods: a ratio of sums, so zeros cannot
    collapse it.
    """
    if labels is None:
        return np.ones(len(y))
    cycle = int(labels.max()) + 1
    centred = (
        pl.DataFrame({"y": y, "segment": segments})
        .select(pl.col("y").rolling_mean(cycle, center=True).over("segment"))
        .to_series()
        .fill_null(np.nan)
        .to_numpy()
    )
    usable = np.isfinite(centred)
    totals = np.bincount(labels[usable], weights=y[usable], minlength=cycle)
    levels = np.bincount(labels[usable], weights=centred[usable], minlength=cycle)
    if cycle < 2 or not (totals > 0).all() or not (levels > 0).all():
        return np.ones(len(y))
    factors = totals / levels
    return (factors / factors.mean())[labels]


def _anscombe(y: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Anscombe's transform of the counts, deseasonalised: variance about ``1 / factor``."""
    return 2.0 * np.sqrt(y + 3 / 8) / np.sqrt(factor)


def _dispersion(x: np.ndarray, factor: np.ndarray) -> float:
    """Noise variance on the stabilised scale, from the robust spread of first differences; at least 1."""
    steps = np.diff(x) / np.sqrt(1 / factor[1:] + 1 / factor[:-1])
    spread = MAD_TO_SD * float(np.median(np.abs(steps - np.median(steps))))
    return max(1.0, spread**2)


def _pelt_smooth_trends(
    x: np.ndarray, observation_variance: np.ndarray, slope_variance: np.ndarray, beta: float, min_size: int
) -> list[int]:
    """Optimal partitioning of ``x`` into smooth-trend segments, with PELT pruning.

    One Kalman filter per candidate segment start runs forward (all of them at once, as the
    columns of one array); the filter of start ``s`` begins exactly at ``s + 1`` from the first
    two observations (level ``x[s+1]``, slope ``x[s+1] - x[s]``), so its summed squared
    standardised prediction errors up to ``t`` are the cost of segment ``[s, t)`` with its
    initial state profiled out. Giving the rest of a segment a free start never raises that
    cost, so a start dominated at ``t`` can be dropped once ``t`` is an admissible start itself.
    """
    n = len(x)
    best = np.full(n + 1, np.inf)
    best[0] = -beta
    last = np.zeros(n + 1, dtype=int)
    expires = np.full(n + 1, n + 1)
    # Rows: level, slope, P11, P12, P22 (state covariance), cost. Columns: open starts, the
    # first ``k`` in use (dropped starts are compacted away now and then).
    bank = np.empty((6, n))
    starts = np.empty(n, dtype=int)
    k = 0
    h = observation_variance
    for u in range(1, n):
        if k:  # predict u from u - 1, then update with x[u]
            level, slope, p11, p12, p22, cost = bank[:, :k]
            level += slope
            p11 += 2 * p12 + p22
            p12 += p22
            p22 += slope_variance[u - 1]
            error = x[u] - level
            f = p11 + h[u]
            gain_level, gain_slope = p11 / f, p12 / f
            level += gain_level * error
            slope += gain_slope * error
            p22 -= gain_slope * p12
            p12 *= 1 - gain_level
            p11 *= 1 - gain_level
            cost += error * error / f
        s = u - 1
        if s == 0 or s >= min_size:  # a segment may start at s: open its filter at u
            bank[:, k] = (x[u], x[u] - x[s], h[u], h[u], h[u] + h[s] + slope_variance[s], 0.0)
            starts[k] = s
            k += 1
        t = u + 1
        if t < min_size:
            continue
        ready = starts[:k] <= t - min_size
        totals = best[starts[:k]] + bank[5, :k]
        totals[~ready] = np.inf
        i = int(np.argmin(totals))
        if np.isfinite(totals[i]):
            best[t] = totals[i] + beta
            last[t] = starts[i]
            dominated = starts[:k][totals > best[t]]
            dominated = dominated[np.isfinite(totals[totals > best[t]])]
            expires[dominated] = np.minimum(expires[dominated], t + min_size)
        if t % min_size == 0:
            keep = expires[starts[:k]] > t
            kept = int(keep.sum())
            bank[:, :kept] = bank[:, :k][:, keep]
            starts[:kept] = starts[:k][keep]
            k = kept
    cps, t = [], n
    while t > 0:
        t = int(last[t])
        if t > 0:
            cps.append(t)
    return sorted(cps)

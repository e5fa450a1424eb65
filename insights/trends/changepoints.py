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
"""

from __future__ import annotations

import numpy as np

__all__ = ["change_points"]


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

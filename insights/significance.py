"""Noise models for counts and rates: significance of a change between two periods, and the
interval a value is expected in.

Every metric is a sum or a ratio of sums of events, so its noise is that of counts:

* **count** (a metric without denominator, e.g. actions): events arrive in time. Pure noise is
  Poisson with mean proportional to the period's days; real enforcement volumes vary more from
  day to day than that (news, raids, outages), which we model as a gamma-distributed daily
  intensity: the count is negative binomial with variance ``φ·μ``.
* **proportion** (a percent metric whose numerator counts a subset of the denominator, e.g. the
  proactive rate): binomial in the denominator; extra variation of the underlying share from
  period to period makes it beta-binomial with variance ``n·p·(1−p)·φ``.
* **rate** (any other ratio, e.g. actions per 10k uploads, views per action): the numerator is a
  Poisson count with the denominator as its exposure, overdispersed as for counts.

``φ`` (the *dispersion*, 1 for pure Poisson/binomial noise) is measured on the slice's own series
(see ``insights.trends.anomalies``) at a reference size: the events per unit of exposure (counts,
rates) or the denominator per period (proportions). For a sub-slice (a country of the slice) it is
carried over through the model's shape parameter, which assumes the shocks are common to the
sub-slices — a negative binomial whose shape grows with exposure, and a beta-binomial with a common
intra-period correlation.

Tests of "did the metric change between two periods" on the sums ``x`` over ``n``:

* counts and rates: the **conditional test** of equal rates per unit of exposure (days, or the
  denominator): given ``x1 + x0``, ``x1`` is binomial with ``p = e1 / (e1 + e0)`` under pure
  Poisson noise (Przyborowski & Wilenski 1940), and beta-binomial ``(a, b) = (r·e1, r·e0)`` under
  the gamma-Poisson model with shape ``r`` per unit of exposure. Exact (the beta-binomial up to
  ``EXACT_EVENTS`` events, normal beyond), so a handful of events in a low-volume harm area is
  never reported as a change.
* proportions: the **two-proportion z-test** with pooled variance, each side's variance inflated by
  its beta-binomial design effect ``1 + (n − 1)·ρ`` (Rao & Scott's correction; plain z-test at ρ=0).

Two-sided p-values of the discrete tests are twice the smaller tail, capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from insights.metrics import Metric

Kind = Literal["count", "proportion", "rate"]

#: Scale factor from a median absolute deviation to a standard deviation (normal noise).
MAD_TO_SD = 1.4826


def noise_kind(wanted: Metric) -> Kind:
    """How a metric's noise is modelled: ``count``, ``proportion`` (percent ratios) or ``rate``."""
    if not wanted.is_ratio:
        return "count"
    return "proportion" if wanted.format == "percent" else "rate"


def unit_variance(kind: Kind, expected: np.ndarray, size: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Variance of a metric's value under pure Poisson / binomial noise.

    ``expected`` is the metric's expected value; ``size`` is the denominator (ignored for counts,
    whose value is the count itself).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "count":
            return np.asarray(expected, dtype=float)
        if kind == "proportion":
            return expected * (1 - expected) / size
        return expected * scale / size


def robust_dispersion(standardised: np.ndarray) -> float:
    """``φ`` from residuals standardised by their pure-noise s.d.: a robust variance (MAD), at least 1."""
    finite = standardised[np.isfinite(standardised)]
    if len(finite) < 3:
        return 1.0
    spread = MAD_TO_SD * np.median(np.abs(finite - np.median(finite)))
    return max(1.0, float(spread) ** 2)


#: Beta-binomial tails are summed exactly up to this many events, normal-approximated above.
EXACT_EVENTS = 20_000


def _beta_binomial_tails(x: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smaller of P(X ≤ x) and P(X ≥ x) for X ~ BetaBinomial(n, a, b), element-wise.

    scipy sums the probabilities term by term, which is slow for large ``n``; there the
    distribution is normal to within far less than any test level, so its mean and variance
    are used (with a continuity correction).
    """
    tails = np.empty(len(x))
    small = n <= EXACT_EVENTS
    exact = stats.betabinom(n[small], a[small], b[small])
    tails[small] = np.minimum(exact.cdf(x[small]), exact.sf(x[small] - 1))
    big = ~small
    n, a, b, x = n[big], a[big], b[big], x[big]
    mean = n * a / (a + b)
    sd = np.sqrt(n * a * b * (a + b + n) / ((a + b) ** 2 * (a + b + 1)))
    tails[big] = stats.norm.sf((np.abs(x - mean) - 0.5) / sd)
    return tails


@dataclass(frozen=True)
class Noise:
    """The noise model of one metric on one slice, as measured on its series.

    ``dispersion`` is φ at ``reference``: events per unit of exposure (per day for counts, per
    unit of denominator for rates) or the denominator per period (proportions).
    """

    kind: Kind
    dispersion: float = 1.0
    reference: float = 1.0

    def p_values(self, x1: np.ndarray, e1: np.ndarray, x0: np.ndarray, e0: np.ndarray) -> np.ndarray:
        """Two-sided p-values of "no change" between two periods, element-wise.

        ``x`` are the numerator sums; ``e`` the exposures: days (counts) or denominator sums.
        NaN where a side has no exposure.
        """
        x1, e1, x0, e0 = (np.asarray(a, dtype=float) for a in (x1, e1, x0, e0))
        valid = (e1 > 0) & (e0 > 0) & np.isfinite(x1) & np.isfinite(x0)
        x1, x0 = np.where(valid, x1, 0.0), np.where(valid, x0, 0.0)
        e1, e0 = np.where(valid, e1, 1.0), np.where(valid, e0, 1.0)
        test = self._proportion_test if self.kind == "proportion" else self._conditional_test
        return np.where(valid, test(x1, e1, x0, e0), np.nan)

    def _conditional_test(self, x1, e1, x0, e0) -> np.ndarray:
        x1, x0 = np.rint(x1).astype(np.int64), np.rint(x0).astype(np.int64)
        total = x1 + x0
        if self.dispersion <= 1.0:
            null = stats.binom(total, e1 / (e1 + e0))
            tails = np.minimum(null.cdf(x1), null.sf(x1 - 1))
        else:
            shape = self.reference / (self.dispersion - 1.0)
            tails = _beta_binomial_tails(x1, total, shape * e1, shape * e0)
        return np.where(total > 0, np.minimum(1.0, 2.0 * tails), 1.0)

    def _proportion_test(self, x1, n1, x0, n0) -> np.ndarray:
        rho = np.clip((self.dispersion - 1.0) / max(self.reference - 1.0, 1.0), 0.0, 1.0)
        pooled = (x1 + x0) / (n1 + n0)
        variance = pooled * (1 - pooled) * ((1 + (n1 - 1) * rho) / n1 + (1 + (n0 - 1) * rho) / n0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (x1 / n1 - x0 / n0) / np.sqrt(variance)
        return np.where(variance > 0, 2.0 * stats.norm.sf(np.abs(z)), 1.0)

    def interval(
        self, expected: np.ndarray, size: np.ndarray, level: float, scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central ``level`` interval of a value whose expectation is ``expected``, with variance
        ``dispersion × unit_variance`` (this model's φ at every point: the band of one series).

        Quantiles of the count distribution itself, so low volumes get the asymmetric, whole-event
        bands they should: Poisson / negative binomial for counts and rates; for proportions the
        binomial of the effective size ``n / φ`` (Kish), which has the beta-binomial's mean and
        variance and, unlike it, fast quantiles.
        """
        expected = np.asarray(expected, dtype=float)
        size = np.asarray(size, dtype=float)
        tails = np.array([(1 - level) / 2, (1 + level) / 2])[:, None]
        phi = self.dispersion
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "proportion":
                effective = np.floor(size / phi)
                counts = stats.binom.ppf(tails, effective, np.clip(expected, 0.0, 1.0))
                bounds = counts / effective
            else:
                mean = np.maximum(expected if self.kind == "count" else expected * size / scale, 1e-9)
                counts = (
                    stats.poisson.ppf(tails, mean)
                    if phi <= 1.0
                    else stats.nbinom.ppf(tails, mean / (phi - 1.0), 1.0 / phi)
                )
                bounds = counts if self.kind == "count" else counts * scale / size
        bad = ~np.isfinite(expected) | (~np.isfinite(size) | (size <= 0) if self.kind != "count" else False)
        bounds = np.where(bad, np.nan, bounds)
        return bounds[0], bounds[1]

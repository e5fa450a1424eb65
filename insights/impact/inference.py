"""Conformal inference for a counterfactual fitted from donors (Chernozhukov, Wüthrich & Zhu 2021).

Why this interval: a launch has one treated slice, so there is no sampling distribution to lean
on, and a placebo-in-space interval needs many donors that behave alike. The conformal test
needs neither: under a null hypothesis about the effect, subtract it from the treated series,
refit the counterfactual on *all* periods (pre and post, so post-launch residuals are in-sample
like the pre-launch ones), and compare the post-launch residuals with the pre-launch ones by
permuting time. If the residuals are exchangeable (or, for moving blocks, stationary and weakly
dependent) the test is exact (or approximately so) whatever the estimator; the interval is the set
of effects the test does not reject. Its coverage is measured in ``bench/impact_coverage.py``.

* Per period ``t``: the data are the pre-launch periods plus ``t``; the statistic is ``|û_t|``
  ranked among all ``|û_s|`` (the moving-block permutations of one post period).
* Average over the post period: the null is a constant effect ``θ``; the statistic is
  ``|Σ_post û|``, compared with its value under random reorderings of the residuals in time (iid
  permutations; CWZ's alternative, moving blocks, is available and measured: on simulated weekly
  counts its intervals were about twice as wide, over-covering, because the refit on all periods
  absorbs a constant shift into a smooth residual pattern that cyclic shifts reproduce). At
  ``θ = 0`` this is the test of no effect at all, whose p-value the estimate reports.

Residuals are scaled by ``√period_weight`` first (a rate's noise shrinks with its denominator).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Literal, Protocol

import numpy as np

#: Grid (in multiples of the pre-launch residual spread) on which the test is first inverted.
GRID = np.linspace(-12.0, 12.0, 49)
#: Times the grid is widened (×4 each) while the accepted set reaches its ends.
WIDENINGS = 4
#: Random permutations of the residuals for the average effect's test.
IID_DRAWS = 999

Permutations = Literal["iid", "blocks"]

#: Bisection steps that sharpen each end of an interval.
BISECTIONS = 10


class Estimator(Protocol):
    """Anything that fits a counterfactual of the treated series from donors on some periods."""

    def counterfactual(self, treated: np.ndarray, donors: np.ndarray, fit: np.ndarray) -> np.ndarray:
        """The counterfactual over every period, fitted on the periods where ``fit`` is true."""
        ...


def period_pvalue(
    estimator: Estimator,
    treated: np.ndarray,
    donors: np.ndarray,
    launch: int,
    t: int,
    effect: float,
    weights: np.ndarray | None = None,
) -> float:
    """p-value of "the effect in post-launch period ``t`` is ``effect``" (conformal, one period)."""
    use = np.zeros(len(treated), dtype=bool)
    use[:launch] = True
    use[t] = True
    adjusted = treated.copy()
    adjusted[t] -= effect
    residual = (adjusted - estimator.counterfactual(adjusted, donors, use)) * _root(weights, len(treated))
    kept = np.abs(residual[use])
    return float(np.mean(kept >= abs(residual[t]) - 1e-12 * (1 + abs(residual[t]))))


def average_pvalue(
    estimator: Estimator,
    treated: np.ndarray,
    donors: np.ndarray,
    launch: int,
    effect: float,
    weights: np.ndarray | None = None,
    permutations: Permutations = "iid",
) -> float:
    """p-value of "the effect is ``effect`` in every post-launch period" (conformal).

    ``permutations``: ``iid`` (random reorderings of the residuals in time, a fixed seeded set, so
    the p-value is a deterministic function of ``effect``) or ``blocks`` (cyclic shifts, robust to
    serially dependent residuals but with little power when the refit absorbs part of the effect).
    """
    adjusted = treated.copy()
    adjusted[launch:] -= effect
    use = np.ones(len(treated), dtype=bool)
    residual = (adjusted - estimator.counterfactual(adjusted, donors, use)) * _root(weights, len(treated))
    n = len(residual)
    if permutations == "blocks":
        reordered = np.stack([np.roll(residual, k) for k in range(n)])
    else:
        reordered = np.vstack([residual[None, :], residual[_orders(n)]])
    stats = np.abs(reordered[:, launch:].sum(axis=1))
    return float(np.mean(stats >= stats[0] - 1e-12 * (1 + stats[0])))


@cache
def _orders(n: int) -> np.ndarray:
    """``IID_DRAWS`` random permutations of ``n`` periods (seeded: the same for every call)."""
    rng = np.random.default_rng(n)
    return np.stack([rng.permutation(n) for _ in range(IID_DRAWS)])


def invert(pvalue: Callable[[float], float], center: float, spread: float, alpha: float) -> tuple[float, float]:
    """The set of effects whose p-value exceeds ``alpha``, as an interval (its hull).

    Evaluated on a grid of ``center ± 12·spread`` (widened while its ends are still accepted; an
    unbounded set gives infinite ends), then each end sharpened by bisection between the last
    accepted and the first rejected point. Returns NaN ends when no effect on the grid is accepted:
    then no *constant* effect is compatible with the data (the effect changes over time).
    """
    spread = spread if spread > 0 and np.isfinite(spread) else max(abs(center), 1.0) * 0.1
    for _ in range(WIDENINGS):
        grid = center + spread * GRID
        accepted = np.array([pvalue(float(x)) > alpha for x in grid])
        if not (accepted[0] or accepted[-1]):
            break
        spread *= 4
    else:
        return (-np.inf if accepted[0] else float(grid[0])), (np.inf if accepted[-1] else float(grid[-1]))
    if not accepted.any():
        return float("nan"), float("nan")
    first, last = int(np.argmax(accepted)), len(grid) - 1 - int(np.argmax(accepted[::-1]))
    lower = _edge(pvalue, alpha, inside=grid[first], outside=grid[first - 1])
    upper = _edge(pvalue, alpha, inside=grid[last], outside=grid[last + 1])
    return lower, upper


def _edge(pvalue: Callable[[float], float], alpha: float, inside: float, outside: float) -> float:
    """Bisection for the boundary of the accepted set between an accepted and a rejected point."""
    for _ in range(BISECTIONS):
        middle = (inside + outside) / 2
        if pvalue(middle) > alpha:
            inside = middle
        else:
            outside = middle
    return float(inside)


def period_intervals(
    estimator: Estimator,
    treated: np.ndarray,
    donors: np.ndarray,
    launch: int,
    level: float,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Conformal interval of the effect in each post-launch period: (lower, upper) arrays."""
    pre = np.zeros(len(treated), dtype=bool)
    pre[:launch] = True
    fitted = estimator.counterfactual(treated, donors, pre)
    spread = _spread(treated[:launch] - fitted[:launch])
    lower, upper = [], []
    for t in range(launch, len(treated)):

        def pvalue(effect: float, t: int = t) -> float:
            return period_pvalue(estimator, treated, donors, launch, t, effect, weights)

        lo, hi = invert(pvalue, center=float(treated[t] - fitted[t]), spread=spread, alpha=1 - level)
        lower.append(lo)
        upper.append(hi)
    return np.array(lower), np.array(upper)


def average_interval(
    estimator: Estimator,
    treated: np.ndarray,
    donors: np.ndarray,
    launch: int,
    level: float,
    weights: np.ndarray | None = None,
    permutations: Permutations = "iid",
) -> tuple[float, float]:
    """Conformal interval of a constant effect over the post-launch periods."""
    pre = np.zeros(len(treated), dtype=bool)
    pre[:launch] = True
    fitted = estimator.counterfactual(treated, donors, pre)
    w = _root(weights, len(treated)) ** 2
    post = slice(launch, len(treated))
    center = float(np.sum(w[post] * (treated[post] - fitted[post])) / np.sum(w[post]))
    spread = _spread(treated[:launch] - fitted[:launch])
    return invert(
        lambda effect: average_pvalue(estimator, treated, donors, launch, effect, weights, permutations),
        center=center,
        spread=spread,
        alpha=1 - level,
    )


def _spread(residuals: np.ndarray) -> float:
    """A scale for the search grid: the pre-launch residuals' root mean square."""
    return float(np.sqrt(np.mean(residuals**2))) if len(residuals) else 1.0


def _root(weights: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if weights is None else np.sqrt(np.asarray(weights, dtype=float))

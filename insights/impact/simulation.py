"""Simulated launches with a known effect: panels to measure an estimator's coverage and power.

Donor series are Poisson counts around a level with common factors (a trend and slow cycles, with
unit-specific loadings) and a shared seasonal profile. The treated series has the mean of a convex
combination of donors' means (so a synthetic control exists), its own Poisson noise, and after
the launch a known additive effect. ``effect`` is in percent of the treated mean level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insights.impact.panel import Panel


@dataclass(frozen=True)
class SimulatedLaunch:
    """A simulated panel and the true effect per post-launch period (in the outcome's units)."""

    panel: Panel
    effect: float
    true_weights: np.ndarray


def simulated_launch(
    rng: np.random.Generator,
    *,
    donors: int = 20,
    pre: int = 40,
    post: int = 8,
    effect: float = 0.0,
    level: float = 500.0,
    factors: int = 2,
    season: int = 13,
    active_donors: int = 4,
) -> SimulatedLaunch:
    """A panel of ``donors`` donor series and one treated series over ``pre + post`` periods.

    ``season`` is the length of the seasonal cycle in periods (13 weeks: a quarter). The treated
    mean is a convex combination of ``active_donors`` donors' means; ``effect`` (percent of its mean
    level) is added after the launch.
    """
    periods = pre + post
    t = np.arange(periods)
    common = [t / periods] + [
        np.sin(2 * np.pi * (k + 1) * t / periods + rng.uniform(0, 2 * np.pi)) for k in range(factors - 1)
    ]
    loading = rng.normal(0.0, 0.25, (donors, len(common)))
    seasonal = 1 + 0.15 * np.sin(2 * np.pi * t / season)
    levels = level * rng.lognormal(0.0, 0.4, donors)
    means = levels[:, None] * np.exp(loading @ np.vstack(common)) * seasonal[None, :]
    chosen = rng.choice(donors, size=min(active_donors, donors), replace=False)
    weights = np.zeros(donors)
    weights[chosen] = rng.dirichlet(np.ones(len(chosen)))
    treated_mean = weights @ means
    shift = effect / 100 * float(treated_mean.mean())
    treated = rng.poisson(treated_mean).astype(float)
    treated[pre:] += shift
    outcome = np.vstack([treated, rng.poisson(means).astype(float)])
    units = ("treated", *(f"donor {i + 1}" for i in range(donors)))
    panel = Panel(
        units=units, periods=tuple(range(periods)), outcome=outcome, treated="treated", launch=pre, kind="count"
    )
    return SimulatedLaunch(panel=panel, effect=shift, true_weights=weights)

"""A Bayesian structural time-series check for few donors: local level plus regression on donors.

The treated series is modelled as ``y_t = μ_t + x_tᵀβ + ε_t`` with a random-walk level
``μ_{t+1} = μ_t + η_t`` and static coefficients ``β`` on the (standardised) donor series, with a
proper Gaussian prior ``β ~ N(0, τ² I)`` (a ridge-like shrinkage; ``τ²`` is the pre-launch
variance of the treated series). The two noise variances are set by maximum likelihood with the
Kalman filter on the pre-launch periods; the post-launch counterfactual is the filter's forecast,
whose covariance (level drift, the coefficients' remaining uncertainty and the observation noise)
gives the intervals. This is the structure of Brodersen et al. (2015) without the spike-and-slab
selection (donors are few here) and with plug-in variances instead of their posterior, so its
intervals ignore the variances' own uncertainty (measured coverage: ``bench/impact_coverage.py``).
Periods are not weighted by a rate's denominator here (the observation noise is one variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

#: With more donors than this, the ones most correlated with the treated series are used.
MAX_REGRESSORS = 5


@dataclass(frozen=True)
class StructuralForecast:
    """The counterfactual over every period (pre: one-step-ahead fit; post: forecast) and the
    forecast covariance of the post-launch periods."""

    counterfactual: np.ndarray
    covariance: np.ndarray
    regressors: tuple[int, ...]
    level_variance: float
    noise_variance: float


def choose_regressors(treated_pre: np.ndarray, donors_pre: np.ndarray, limit: int = MAX_REGRESSORS) -> list[int]:
    """Indices of the donors most correlated with the treated series before the launch (at most ``limit``)."""
    if donors_pre.shape[0] <= limit:
        return list(range(donors_pre.shape[0]))
    corr = [abs(np.corrcoef(treated_pre, d)[0, 1]) if d.std() > 0 else 0.0 for d in donors_pre]
    return [int(i) for i in np.argsort(np.nan_to_num(corr, nan=0.0))[::-1][:limit]]


def _filter(
    y: np.ndarray, x: np.ndarray, noise: float, level: float, prior: float
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Kalman filter over the observed ``y`` (T0) with regressors ``x`` (T × k, T ≥ T0).

    Returns the log-likelihood (first observation excluded: the level's start is diffuse), the
    one-step-ahead predictions of ``y``, and the filtered state mean and covariance after the last
    observation.
    """
    k = x.shape[1]
    a = np.zeros(k + 1)
    a[0] = y[0]
    p = np.diag([1e6 * max(prior, 1e-12), *([prior] * k)])
    q = np.zeros((k + 1, k + 1))
    q[0, 0] = level
    loglik = 0.0
    predicted = np.empty(len(y))
    for t in range(len(y)):
        z = np.concatenate([[1.0], x[t]])
        predicted[t] = z @ a
        f = z @ p @ z + noise
        v = y[t] - predicted[t]
        if t > 0:
            loglik -= 0.5 * (np.log(2 * np.pi * f) + v * v / f)
        gain = p @ z / f
        a = a + gain * v
        p = p - np.outer(gain, gain) * f
        if t < len(y) - 1:
            p = p + q
    return loglik, predicted, a, p


def structural_forecast(treated: np.ndarray, donors: np.ndarray, launch: int) -> StructuralForecast:
    """Fit the local level + regression model on periods before ``launch`` and forecast the rest."""
    pre = treated[:launch]
    chosen = choose_regressors(pre, donors[:, :launch])
    x = donors[chosen].T  # T × k
    mean, sd = x[:launch].mean(axis=0), x[:launch].std(axis=0)
    sd[sd == 0] = 1.0
    x = (x - mean) / sd
    prior = float(np.var(pre)) or 1.0
    scale = float(np.var(np.diff(pre))) if launch > 2 else prior
    scale = scale or prior

    def negative_loglik(theta: np.ndarray) -> float:
        return -_filter(pre, x, scale * np.exp(theta[0]), scale * np.exp(theta[1]), prior)[0]

    best = min(
        (
            optimize.minimize(negative_loglik, start, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6})
            for start in (np.array([-1.0, -3.0]), np.array([-3.0, -1.0]))
        ),
        key=lambda r: r.fun,
    )
    noise, level = scale * np.exp(best.x[0]), scale * np.exp(best.x[1])
    _, fitted, a, p = _filter(pre, x, noise, level, prior)
    horizon = len(treated) - launch
    z = np.column_stack([np.ones(horizon), x[launch:]])
    forecast = z @ a
    steps = np.arange(1, horizon + 1)
    covariance = np.empty((horizon, horizon))
    for i in range(horizon):
        for j in range(horizon):
            state = p.copy()
            state[0, 0] += min(steps[i], steps[j]) * level
            covariance[i, j] = z[i] @ state @ z[j]
    covariance += noise * np.eye(horizon)
    return StructuralForecast(
        counterfactual=np.concatenate([fitted, forecast]),
        covariance=covariance,
        regressors=tuple(chosen),
        level_variance=float(level),
        noise_variance=float(noise),
    )

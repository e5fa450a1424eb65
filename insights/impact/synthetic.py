"""Synthetic control: a weighted average of donors that tracks the treated series before the launch.

* ``simplex_weights``: weights ≥ 0 summing to 1 that minimise the (period-weighted) squared gap
  to a target — non-negative least squares with the sum-to-one condition added as a heavily
  weighted extra row, then renormalised. Robust (an active-set method, no starting point) and
  fast enough to refit hundreds of times for conformal inference.
* ``predictor_weights``: the papers' nested fit (Abadie, Diamond & Hainmueller 2010): the donor
  weights match standardised predictors under a diagonal importance ``V``, and ``V`` is chosen to
  minimise the pre-launch error of the outcome.
* ``ridge_augmentation``: the augmented synthetic control (Ben-Michael, Feller & Rothstein 2021):
  a ridge regression of donors' outcomes on their pre-launch outcomes corrects what the weights
  leave unmatched. It folds into the weights (which then may be negative, still summing to 1),
  so the augmented counterfactual is again a weighted average of donors.

``SyntheticControl`` bundles one of these fits as an estimator: given the treated series, the
donor matrix and which periods to fit on, it returns the counterfactual over every period.
The conformal inference (``insights.impact.inference``) refits it under each null hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

#: Weight of the sum-to-one row relative to the (unit-normed) least-squares rows.
SUM_TO_ONE_WEIGHT = 1e3


def simplex_weights(target: np.ndarray, donors: np.ndarray, row_weights: np.ndarray | None = None) -> np.ndarray:
    """Weights ``w`` (≥ 0, summing to 1) minimising ``Σ_r row_weights_r (target_r − donors_r · w)²``.

    ``target`` has one value per row (period or predictor); ``donors`` is rows × donors.
    """
    a = np.asarray(donors, dtype=float)
    b = np.asarray(target, dtype=float)
    if row_weights is not None:
        root = np.sqrt(np.asarray(row_weights, dtype=float))
        a, b = a * root[:, None], b * root
    if a.shape[1] == 1:
        return np.ones(1)
    # The Frobenius norm without BLAS: numpy's ``norm`` calls a threaded ``dot``, which on a busy
    # machine costs milliseconds per call, and the conformal inference refits thousands of times.
    norm = float(np.sqrt(np.einsum("ij,ij->", a, a))) or 1.0
    a, b = a / norm, b / norm
    augmented = np.vstack([a, np.full((1, a.shape[1]), SUM_TO_ONE_WEIGHT)])
    rhs = np.append(b, SUM_TO_ONE_WEIGHT)
    w, _ = optimize.nnls(augmented, rhs, maxiter=50 * a.shape[1])
    total = w.sum()
    return w / total if total > 0 else np.full(a.shape[1], 1 / a.shape[1])


def standardise_predictors(treated: np.ndarray, donors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictors divided by their standard deviation over all units (treated first), so that
    ``V`` weighs them on a common scale. Predictors missing for some unit are not usable and must
    be dropped before."""
    stacked = np.vstack([treated[None, :], donors])
    sd = stacked.std(axis=0)
    sd[sd == 0] = 1.0
    return treated / sd, donors / sd


def predictor_weights(
    treated_predictors: np.ndarray,
    donor_predictors: np.ndarray,
    treated_pre: np.ndarray,
    donors_pre: np.ndarray,
    starts: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Donor weights matching predictors under the importance ``V`` that minimises pre-launch error.

    ``treated_predictors`` (k) and ``donor_predictors`` (donors × k) are the covariates;
    ``treated_pre`` (T0) and ``donors_pre`` (donors × T0) the pre-launch outcomes. ``V`` is a
    point of the simplex (parametrised by a softmax), searched by Nelder-Mead from equal
    importances, from importances proportional to each predictor's regression fit, and from a few
    random points; the best is kept. Returns (donor weights, V).
    """
    x1, x0 = standardise_predictors(treated_predictors, donor_predictors)
    k = len(x1)

    def weights_for(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.exp(theta - theta.max())
        v /= v.sum()
        return simplex_weights(x1, x0.T, row_weights=v), v

    def loss(theta: np.ndarray) -> float:
        w, _ = weights_for(theta)
        return float(np.mean((treated_pre - donors_pre.T @ w) ** 2))

    rng = np.random.default_rng(seed)
    fit = np.array(
        [abs(np.corrcoef(x0[:, j], donors_pre.mean(axis=1))[0, 1]) if x0[:, j].std() > 0 else 0.0 for j in range(k)]
    )
    candidates = [np.zeros(k), np.log(np.nan_to_num(fit, nan=0.0) + 1e-3)]
    candidates += [rng.normal(0, 1.5, k) for _ in range(max(0, starts - 2))]
    best: tuple[float, np.ndarray] | None = None
    for theta0 in candidates:
        result = optimize.minimize(
            loss, theta0, method="Nelder-Mead", options={"maxiter": 150 * k, "xatol": 1e-4, "fatol": 1e-10}
        )
        if best is None or result.fun < best[0]:
            best = (float(result.fun), result.x)
    assert best is not None
    return weights_for(best[1])


def ridge_augmentation(
    target_pre: np.ndarray,
    donors_pre: np.ndarray,
    weights: np.ndarray,
    penalty: float,
    row_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The ridge correction of synthetic-control weights (augmented SCM), folded into the weights.

    The ridge regression of each period's donor outcomes on their (donor-centred) pre-launch
    outcomes predicts the treated outcome from its pre-launch gap to the synthetic control; in
    weight form that adds ``a − mean(a)`` with ``a = X̃ (X̃ᵀX̃ + λ I)⁻¹ (x₁ − X₀ᵀ w)``. Returns the
    augmented weights (they sum to 1 and may be negative).
    """
    x = np.asarray(donors_pre, dtype=float)  # donors × T0
    if row_weights is not None:
        root = np.sqrt(row_weights)
        x, target_pre = x * root[None, :], target_pre * root
    centred = x - x.mean(axis=0, keepdims=True)
    gap = target_pre - x.T @ weights
    gram = centred.T @ centred + penalty * np.eye(x.shape[1])
    a = centred @ np.linalg.solve(gram, gap)
    return weights + (a - a.mean())


def choose_ridge_penalty(target_pre: np.ndarray, donors_pre: np.ndarray, holdout: int | None = None) -> float:
    """The ridge penalty of the augmented fit, chosen by forecasting the last pre-launch periods.

    The weights and the correction are fitted on the earlier pre-launch periods and judged on the
    ``holdout`` last ones (default: a quarter of them, at least one). The grid spans 1 % to 10 times
    the largest squared singular value of the centred donor matrix: a weaker penalty lets the
    correction absorb any post-launch shift when the conformal test refits it on all periods, so
    that no effect could ever be rejected (measured: unbounded intervals below about 1 %).
    """
    t0 = len(target_pre)
    holdout = holdout or max(1, t0 // 4)
    fit, test = slice(0, t0 - holdout), slice(t0 - holdout, t0)
    centred = donors_pre - donors_pre.mean(axis=0, keepdims=True)
    top = float(np.linalg.norm(centred, 2) ** 2) or 1.0
    grid = top * np.logspace(-2, 1, 13)
    if t0 - holdout < 2:
        return float(grid[len(grid) // 2])
    w = simplex_weights(target_pre[fit], donors_pre[:, fit].T)
    errors = []
    for penalty in grid:
        augmented = ridge_augmentation(target_pre[fit], donors_pre[:, fit], w, penalty)
        errors.append(np.mean((target_pre[test] - donors_pre[:, test].T @ augmented) ** 2))
    return float(grid[int(np.argmin(errors))])


@dataclass(frozen=True)
class SyntheticControl:
    """A synthetic-control estimator: ``counterfactual(treated, donors, fit)`` fits the weights on
    the periods where ``fit`` is true and returns the counterfactual over every period with the weights.

    ``ridge`` (a penalty, None for plain SC) adds the augmented-SCM correction. ``fixed_weights``
    skips the fit (the predictor-based weights, which do not depend on the outcome periods).
    ``period_weights`` weigh the periods of the fit (a rate's denominators).
    """

    ridge: float | None = None
    fixed_weights: np.ndarray | None = None
    period_weights: np.ndarray | None = None

    def weights(self, treated: np.ndarray, donors: np.ndarray, fit: np.ndarray) -> np.ndarray:
        """Donor weights fitted on the periods ``fit`` (a boolean mask over periods)."""
        if self.fixed_weights is not None:
            return self.fixed_weights
        rows = None if self.period_weights is None else self.period_weights[fit]
        w = simplex_weights(treated[fit], donors[:, fit].T, row_weights=rows)
        if self.ridge is not None:
            w = ridge_augmentation(treated[fit], donors[:, fit], w, self.ridge, row_weights=rows)
        return w

    def counterfactual(self, treated: np.ndarray, donors: np.ndarray, fit: np.ndarray) -> np.ndarray:
        """The counterfactual series over every period (weights fitted on ``fit``)."""
        return donors.T @ self.weights(treated, donors, fit)

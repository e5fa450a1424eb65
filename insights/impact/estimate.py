"""The impact of a launch on one treated slice, from a panel of treated and donor series.

``estimate_panel_impact`` runs on any ``Panel`` (a cube's slices or a paper's replication file):

1. **Scaling.** Counts of different slices differ mostly in scale (a large and a small market),
   so a count is also fitted on its *shape*: each series divided by its own pre-launch mean, the
   counterfactual scaled back by the treated pre-launch mean. ``auto`` takes the shape fit when the
   treated slice is outside the donors' range in most pre-launch periods, else whichever of the
   level and shape fits tracks the treated series better before the launch (the post-launch
   periods are not looked at). Rates and published outcomes are fitted as they are.
2. **Method.** ``synthetic`` (weights ≥ 0 summing to 1; with the panel's predictors when it has
   them), ``augmented`` (ridge-augmented, for a poor pre-launch fit), ``structural`` (a local level
   plus regression on donors, for few donors). ``auto`` picks the structural check below
   ``MIN_DONORS`` donors, else the synthetic control, switching to the augmented one when the
   synthetic control's pre-launch fit is poor.
3. **Intervals.** Conformal (see ``insights.impact.inference``) for the synthetic controls; the
   Kalman forecast covariance for the structural check.
4. **Placebos.** In space (every donor as if treated; rank of the post/pre RMSPE ratio) and in time
   (a fake launch before the real one, on pre-launch data only).
5. **Warnings** about the design, in words.

**Rates are ratios of sums.** A rate is fitted as the rate (each unit's and period's
``sum(numerator) / sum(denominator)``), each period weighted by the treated slice's denominator
(its noise variance falls with it), rather than by fitting numerator and denominator separately:
a ratio of two separately fitted counterfactuals compounds both errors and can leave the range
of rates the donors show, while a weighted average of donors' rates cannot. The effect over the
post-launch periods is pooled as a ratio of sums: the actual pooled rate ``Σ num / Σ den`` minus
the counterfactual's ``Σ cf_t·den_t / Σ den``, i.e. the denominator-weighted mean of the period
effects — not their plain mean. The cumulative effect of a rate is the change in its numerator
count (``Σ effect_t·den_t / scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from insights.errors import DataError
from insights.formatting import day_text
from insights.impact.bsts import structural_forecast
from insights.impact.inference import average_interval, average_pvalue, period_intervals
from insights.impact.panel import Panel
from insights.impact.result import Effect, ImpactEstimate, PlaceboInSpace, PlaceboInTime, PreFit
from insights.impact.synthetic import SyntheticControl, choose_ridge_penalty, predictor_weights

Method = Literal["auto", "synthetic", "augmented", "structural"]
Scaling = Literal["auto", "level", "index"]

#: Below this many donors, ``auto`` uses the structural check instead of a synthetic control.
MIN_DONORS = 4
#: Fewer donors than this gets a warning.
FEW_DONORS = 5
#: A pre-launch fit explaining less than this share of the treated series' variance is poor
#: (when its error is also well above the pure sampling noise).
POOR_R2 = 0.8
#: A donor whose placebo post/pre RMSPE ratio exceeds this (and twice the donors' median)
#: behaves as if it had its own launch.
BREAK_RATIO = 3.0
#: A donor needs at least this weight for its break to matter.
BREAK_WEIGHT = 0.05


@dataclass(frozen=True)
class _Fit:
    """One method's answer on a (scaled) panel, in its units."""

    counterfactual: np.ndarray
    weights: np.ndarray
    period_lower: np.ndarray | None
    period_upper: np.ndarray | None
    average: float
    average_lower: float
    average_upper: float
    p_value: float


def estimate_panel_impact(
    panel: Panel,
    *,
    method: Method = "auto",
    level: float = 0.9,
    scaling: Scaling = "auto",
    placebos: bool = True,
    metric: str | None = None,
    numerator_unit: str = "",
) -> ImpactEstimate:
    """Estimate the launch's effect on the panel's treated unit (see the module's docstring).

    ``level`` is the intervals' coverage; ``placebos=False`` skips both placebo studies (they refit
    once per donor). ``metric`` names the outcome in the result; ``numerator_unit`` what a rate's
    cumulative effect counts.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    if len(panel.donors) < 1:
        raise DataError("no donor: the estimate needs at least one untreated unit")
    notes: list[str] = []
    scaling = _choose_scaling(panel, scaling)
    if scaling == "index":
        notes.append("each series was scaled to its pre-launch mean and the fit matched shapes (then scaled back)")
    work = _scaled(panel, scaling)
    work = _usable_predictors(work, notes)
    chosen = _choose_method(work, method, notes)
    factor = _treated_scale(panel, scaling)
    fit = _fit(work, chosen, level, with_periods=True)
    if chosen == "synthetic" and method == "auto" and _poor(panel, fit.counterfactual * factor):
        notes.append("the synthetic control's pre-launch fit is poor, so it was augmented with a ridge correction")
        chosen = "augmented"
        fit = _fit(work, chosen, level, with_periods=True)
    series = _series(panel, fit, factor)
    pre_fit = _pre_fit(panel, series["counterfactual"].to_numpy())
    average, cumulative = _effects(panel, fit, factor, numerator_unit)
    space = _placebo_space(work, chosen, panel, scaling) if placebos and len(work.donors) >= 2 else None
    timing = _placebo_time(work, chosen, level, factor) if placebos else None
    weights = pl.DataFrame(
        {"donor": list(work.donors), "weight": fit.weights.tolist()}, schema={"donor": pl.String, "weight": pl.Float64}
    )
    estimate = ImpactEstimate(
        method=chosen,
        metric=metric,
        treated=panel.treated,
        launch=panel.periods[panel.launch],
        level=level,
        series=series,
        average=average,
        cumulative=cumulative,
        p_value=fit.p_value,
        fit=pre_fit,
        weights=weights,
        placebo_space=space,
        placebo_time=timing,
        notes=tuple(notes),
        scaling=scaling,
    )
    return replace(estimate, warnings=tuple(design_warnings(panel, estimate)))


# ---- scaling and method -------------------------------------------------------------------------


def _outside_share(panel: Panel) -> float:
    """Share of pre-launch periods in which the treated value is above every donor or below every donor."""
    donors = panel.donor_matrix[:, panel.pre]
    treated = panel.treated_series[panel.pre]
    return float(np.mean((treated > donors.max(axis=0)) | (treated < donors.min(axis=0))))


def _choose_scaling(panel: Panel, scaling: Scaling) -> Literal["level", "index"]:
    if scaling != "auto":
        return scaling
    if panel.kind != "count":
        return "level"
    if _outside_share(panel) > 0.5:
        return "index"
    errors = {}
    for candidate in ("level", "index"):
        work = _scaled(panel, candidate)
        fitted = _point(replace(work, predictors=None), "synthetic") * _treated_scale(panel, candidate)
        errors[candidate] = float(np.mean((panel.treated_series[panel.pre] - fitted[panel.pre]) ** 2))
    return "index" if errors["index"] < errors["level"] else "level"


def _scaled(panel: Panel, scaling: str) -> Panel:
    """Each unit's series divided by its pre-launch mean (``index``), or the panel as it is."""
    if scaling == "level":
        return panel
    means = panel.outcome[:, panel.pre].mean(axis=1, keepdims=True)
    usable = (means[:, 0] > 0) | (np.arange(len(panel.units)) == panel.row)
    if means[panel.row, 0] <= 0:
        raise DataError(f"the treated slice {panel.treated!r} has no events before the launch")
    keep = [u for u, ok in zip(panel.units, usable, strict=True) if not ok]
    scaled = replace(panel, outcome=panel.outcome / np.where(means > 0, means, 1.0))
    return scaled.without(keep) if keep else scaled


def _treated_scale(panel: Panel, scaling: str) -> float:
    return float(panel.treated_series[panel.pre].mean()) if scaling == "index" else 1.0


def _usable_predictors(panel: Panel, notes: list[str]) -> Panel:
    """The panel without predictors that some unit lacks (they cannot be matched)."""
    if panel.predictors is None:
        return panel
    ok = ~np.isnan(panel.predictors).any(axis=0)
    if not ok.all():
        dropped = [n for n, good in zip(panel.predictor_names, ok, strict=True) if not good]
        notes.append(f"predictor(s) {', '.join(dropped)} are missing for some unit and were not used")
    if not ok.any():
        return replace(panel, predictors=None, predictor_names=())
    names = tuple(n for n, good in zip(panel.predictor_names, ok, strict=True) if good)
    return replace(panel, predictors=panel.predictors[:, ok], predictor_names=names)


def _choose_method(panel: Panel, method: Method, notes: list[str]) -> str:
    if method not in ("auto", "synthetic", "augmented", "structural"):
        raise ValueError(f"method must be auto, synthetic, augmented, structural or did, not {method!r}")
    if method != "auto":
        return method
    if len(panel.donors) < MIN_DONORS:
        notes.append(f"only {len(panel.donors)} donor(s), so the structural time-series check was used")
        return "structural"
    return "synthetic"


def _noise_floor(panel: Panel) -> float:
    """The pre-launch sampling noise of the treated series (Poisson / binomial), 0 when unknown."""
    pre = panel.treated_series[panel.pre]
    if panel.kind == "count":
        return float(np.sqrt(max(pre.mean(), 0.0)))
    if panel.kind == "rate" and panel.denominator is not None:
        den = panel.denominator[panel.row, panel.pre]
        return float(np.sqrt(np.mean(np.maximum(pre, 0) * panel.scale / den)))
    return 0.0


def _poor(panel: Panel, counterfactual: np.ndarray) -> bool:
    fit = _pre_fit(panel, counterfactual)
    return fit.r2 < POOR_R2 and fit.rmspe > 2 * _noise_floor(panel)


# ---- fitting ------------------------------------------------------------------------------------


def _estimator(panel: Panel, method: str) -> SyntheticControl:
    """The synthetic-control estimator for a (scaled) panel."""
    y, donors = panel.treated_series, panel.donor_matrix
    weights = panel.period_weights if panel.kind == "rate" else None
    fixed = None
    if panel.predictors is not None:
        assert panel.donor_predictors is not None
        fixed, _ = predictor_weights(
            panel.predictors[panel.row], panel.donor_predictors, y[panel.pre], donors[:, panel.pre]
        )
    ridge = choose_ridge_penalty(y[panel.pre], donors[:, panel.pre]) if method == "augmented" else None
    return SyntheticControl(ridge=ridge, fixed_weights=fixed, period_weights=weights)


def _fit(panel: Panel, method: str, level: float, with_periods: bool) -> _Fit:
    """Counterfactual, intervals and p-value of one method on a (scaled) panel."""
    y, donors, launch = panel.treated_series, panel.donor_matrix, panel.launch
    weights = panel.period_weights if panel.kind == "rate" else None
    post_weights = (weights if weights is not None else np.ones(len(y)))[launch:]
    if method == "structural":
        forecast = structural_forecast(y, donors, launch)
        effect = y[launch:] - forecast.counterfactual[launch:]
        z = float(stats.norm.ppf(0.5 + level / 2))
        sd = np.sqrt(np.diag(forecast.covariance))
        share = post_weights / post_weights.sum()
        average = float(share @ effect)
        average_sd = float(np.sqrt(share @ forecast.covariance @ share))
        chosen = np.zeros(len(panel.donors))
        return _Fit(
            counterfactual=forecast.counterfactual,
            weights=chosen,
            period_lower=effect - z * sd,
            period_upper=effect + z * sd,
            average=average,
            average_lower=average - z * average_sd,
            average_upper=average + z * average_sd,
            p_value=float(2 * stats.norm.sf(abs(average) / average_sd)) if average_sd > 0 else 0.0,
        )
    estimator = _estimator(panel, method)
    pre = np.arange(len(y)) < launch
    w = estimator.weights(y, donors, pre)
    counterfactual = donors.T @ w
    effect = y[launch:] - counterfactual[launch:]
    lower = upper = None
    if with_periods:
        lower, upper = period_intervals(estimator, y, donors, launch, level, weights)
    average_lower, average_upper = average_interval(estimator, y, donors, launch, level, weights)
    return _Fit(
        counterfactual=counterfactual,
        weights=w,
        period_lower=lower,
        period_upper=upper,
        average=float(post_weights @ effect / post_weights.sum()),
        average_lower=average_lower,
        average_upper=average_upper,
        p_value=average_pvalue(estimator, y, donors, launch, 0.0, weights),
    )


def _point(panel: Panel, method: str) -> np.ndarray:
    """Only the counterfactual of a method on a (scaled) panel (for placebos)."""
    if method == "structural":
        return structural_forecast(panel.treated_series, panel.donor_matrix, panel.launch).counterfactual
    pre = np.arange(len(panel.periods)) < panel.launch
    return _estimator(panel, method).counterfactual(panel.treated_series, panel.donor_matrix, pre)


# ---- results in the metric's units --------------------------------------------------------------


def _series(panel: Panel, fit: _Fit, factor: float) -> pl.DataFrame:
    actual = panel.treated_series
    counterfactual = fit.counterfactual * factor
    effect = actual - counterfactual
    n, launch = len(actual), panel.launch
    effect_lower = np.full(n, np.nan)
    effect_upper = np.full(n, np.nan)
    if fit.period_lower is not None and fit.period_upper is not None:
        effect_lower[launch:] = fit.period_lower * factor
        effect_upper[launch:] = fit.period_upper * factor
    return pl.DataFrame(
        {
            "period": list(panel.periods),
            "post": np.arange(n) >= launch,
            "actual": actual,
            "counterfactual": counterfactual,
            "lower": actual - effect_upper,
            "upper": actual - effect_lower,
            "effect": effect,
            "effect_lower": effect_lower,
            "effect_upper": effect_upper,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


def _percent(effect: float, actual: float) -> float | None:
    """The effect in percent of the counterfactual ``actual − effect`` (None where that is ≤ 0)."""
    base = actual - effect
    return effect / base * 100 if base > 0 and np.isfinite(effect) else None


def _effects(panel: Panel, fit: _Fit, factor: float, numerator_unit: str) -> tuple[Effect, Effect]:
    """Average and cumulative effects with intervals, in the metric's units and in percent."""
    post = panel.post
    actual = panel.treated_series[post]
    if panel.kind == "rate" and panel.denominator is not None:
        den = panel.denominator[panel.row, post]
        pooled_actual = float(actual @ den / den.sum())
        total, unit = float(den.sum()) / panel.scale, numerator_unit
    else:
        pooled_actual = float(actual.mean())
        total, unit = float(len(actual)), ""
    value, lower, upper = fit.average * factor, fit.average_lower * factor, fit.average_upper * factor
    percents = (_percent(value, pooled_actual), _percent(lower, pooled_actual), _percent(upper, pooled_actual))
    average = Effect(value, lower, upper, *percents)
    cumulative = Effect(value * total, lower * total, upper * total, *percents, unit=unit)
    return average, cumulative


def _pre_fit(panel: Panel, counterfactual: np.ndarray) -> PreFit:
    pre = panel.pre
    y = panel.treated_series[pre]
    w = panel.period_weights[pre] if panel.kind == "rate" else np.ones(len(y))
    gap = y - counterfactual[pre]
    mean = float(w @ y / w.sum())
    total = float(w @ (y - mean) ** 2)
    residual = float(w @ gap**2)
    return PreFit(
        rmspe=float(np.sqrt(residual / w.sum())), r2=1 - residual / total if total > 0 else float("nan"), periods=len(y)
    )


# ---- placebos -----------------------------------------------------------------------------------


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gap**2))) if len(gap) else float("nan")


def _placebo_space(work: Panel, method: str, panel: Panel, scaling: str) -> PlaceboInSpace:
    """Every donor as if treated, the real treated unit dropped; the treated unit's own row first."""
    rows, gaps = [], []
    for unit in (work.treated, *work.donors):
        placebo = work if unit == work.treated else work.as_treated(unit)
        gap = placebo.treated_series - _point(placebo, method)
        original = panel.outcome[panel.units.index(unit)]
        level = float(original[panel.pre].mean())
        factor = level if scaling == "index" else 1.0
        gaps.append(
            pl.DataFrame(
                {
                    "unit": unit,
                    "period": list(work.periods),
                    "gap": gap * factor,
                    "relative_gap": gap * factor / level if level else np.full(len(gap), np.nan),
                }
            )
        )
        pre, post = _rmspe(gap[work.pre]), _rmspe(gap[work.post])
        rows.append(
            (
                unit,
                pre * factor,
                post * factor,
                post / pre if pre > 0 else float("inf"),
                float(gap[work.post].mean()) * factor,
            )
        )
    results = pl.DataFrame(rows, schema=["unit", "pre_rmspe", "post_rmspe", "ratio", "average_effect"], orient="row")
    ratios = results["ratio"].to_numpy()
    rank = int(1 + np.sum(ratios[1:] > ratios[0]))
    gap_frame = pl.concat(gaps, how="vertical_relaxed").with_columns(pl.col("relative_gap").fill_nan(None))
    return PlaceboInSpace(results=results, rank=rank, p_value=rank / len(ratios), gaps=gap_frame)


def _placebo_time(work: Panel, method: str, level: float, factor: float) -> PlaceboInTime | None:
    """A fake launch ``h`` periods before the real one (``h``: the post-launch length, at most a
    third of the pre-launch periods), estimated on the pre-launch data only."""
    shift = max(1, min(len(work.periods) - work.launch, work.launch // 3))
    if work.launch - shift < 3:
        return None
    fake = work.until(work.launch, work.launch - shift)
    fit = _fit(fake, method, level, with_periods=False)
    actual = float(fake.treated_series[fake.post].mean()) * factor
    value, lower, upper = fit.average * factor, fit.average_lower * factor, fit.average_upper * factor
    effect = Effect(value, lower, upper, _percent(value, actual), _percent(lower, actual), _percent(upper, actual))
    return PlaceboInTime(launch=fake.periods[fake.launch], average=effect, p_value=fit.p_value)


# ---- warnings -----------------------------------------------------------------------------------


def design_warnings(panel: Panel, estimate: ImpactEstimate) -> list[str]:
    """Problems of the design that the reader of an estimate must know, in words."""
    found: list[str] = []
    t0, t1 = panel.launch, len(panel.periods) - panel.launch
    fit = estimate.fit
    if fit.r2 < POOR_R2 and fit.rmspe > 2 * _noise_floor(panel):
        found.append(
            f"Poor pre-launch fit: the counterfactual explains {max(fit.r2, 0):.0%} of the treated series' variation "
            f"before the launch (RMSPE {fit.rmspe:.4g}); the effect may be the gap that was already there."
        )
    donors = len(panel.donors)
    if donors < FEW_DONORS:
        found.append(
            f"Only {donors} donor(s): the counterfactual rests on very few series "
            "and the placebo test has little power."
        )
    outside = _outside_share(panel)
    if outside > 0.5:
        combined = panel.kind == "count" and bool(
            np.all(panel.treated_series[panel.pre] > panel.donor_matrix[:, panel.pre].sum(axis=0))
        )
        where = "larger than all donors combined" if combined else "outside the range of the donors"
        found.append(
            f"The treated slice is {where} in {outside:.0%} of the pre-launch periods (outside their convex hull): "
            + (
                "the fit matched shapes (each series scaled to its pre-launch mean) rather than levels."
                if estimate.scaling == "index"
                else "no weighted average of donors can match its level."
            )
        )
    needed = max(int(np.ceil(1 / (1 - estimate.level))), 2 * t1, 8)
    if t0 < needed:
        found.append(
            f"Short pre-launch period: {t0} period(s) before the launch for {t1} after it; the fit and the conformal "
            f"interval need at least twice as many periods before the launch as after it (here {needed})."
        )
    space = estimate.placebo_space
    if space is not None and len(space.results) > 2:
        placebo = space.results.slice(1)
        median = float(placebo["ratio"].median())  # type: ignore[arg-type]
        weight = dict(zip(estimate.weights["donor"], estimate.weights["weight"], strict=True))
        for unit, ratio in zip(placebo["unit"], placebo["ratio"], strict=True):
            if ratio > max(BREAK_RATIO, 2 * median) and abs(weight.get(unit, 0.0)) >= BREAK_WEIGHT:
                found.append(
                    f"Donor {unit} (weight {weight[unit]:.2f}) changes after the launch as if it had its own launch or "
                    f"break (post/pre RMSPE ratio {ratio:.1f}); consider leaving it out of the donors."
                )
    timing = estimate.placebo_time
    if timing is not None and timing.average.significant:
        found.append(
            f"A fake launch on {day_text(timing.launch)} (before the real one) already shows an effect of "
            f"{estimate.amount_text(timing.average.value)}: "
            "the series moves apart without a launch, so part of the estimate may not be due to it."
        )
    return found

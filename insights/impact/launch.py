"""``estimate_impact``: did a launch move a metric of a cube, and by more than noise?

The treated slice is one or more values of one dimension (``{"country": ["BR", "MX", "CO"]}``,
``{"content_type": "live"}``); every other value of that dimension is a donor. One launch date
for the whole slice gives a synthetic-control style estimate on the pooled slice
(``insights.impact.estimate``); a launch date per treated value (a staggered roll-out) gives the
staggered difference-in-differences (``insights.impact.did``) with the never-launched values as
controls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import cast, get_args

import numpy as np
import polars as pl

from insights.cube import Cube
from insights.errors import DataError
from insights.filters import Filters
from insights.impact.did import StaggeredEstimate, staggered_did
from insights.impact.estimate import FEW_DONORS, Method, estimate_panel_impact
from insights.impact.panel import Slices, launch_index, panel_from_cube, slices_from_cube, treated_values
from insights.impact.result import Effect, ImpactEstimate, PlaceboInTime, PreFit
from insights.metrics import metric as registry_metric
from insights.periods import Grain, as_date

Launch = dt.date | str
Treated = Mapping[str, str | Sequence[str]]


def estimate_impact(
    cube: Cube,
    *,
    metric: str,
    treated: Treated,
    launch: Launch | Mapping[str, Launch],
    grain: Grain = "week",
    filters: Filters | None = None,
    donors: Sequence[str] | None = None,
    method: Method | str = "auto",
    level: float = 0.9,
    start: object = None,
    end: object = None,
) -> ImpactEstimate:
    """What the metric would have been without the launch, and whether the difference is more than noise.

    ``metric``: a registry metric name. ``treated``: one dimension and its launched value(s).
    ``launch``: the launch date, or a date per treated value for a staggered roll-out (then the
    method is the staggered difference-in-differences). ``donors``: the untreated values to
    compare with (default: every other value of the dimension). ``filters``: other dimensions
    restricting the slice (e.g. a harm area). ``grain``: the period the series are formed at;
    partial periods at the ends of the data are dropped. ``method``: ``auto``, ``synthetic``,
    ``augmented``, ``structural`` or ``did``. ``level``: the intervals' coverage.

    Returns an ``ImpactEstimate`` (see ``insights.impact.result``).
    """
    dimension, values = treated_values(treated)
    if dimension not in cube.dimensions:
        raise DataError(f"cannot compare slices of {dimension!r}: this cube's dimensions are {list(cube.dimensions)}")
    wanted = registry_metric(metric)
    if isinstance(launch, Mapping) or method == "did":
        launches = dict(launch) if isinstance(launch, Mapping) else dict.fromkeys(values, launch)
        unknown = [v for v in launches if v not in values]
        if unknown or set(values) - set(launches):
            raise ValueError(
                f"give one launch date per treated value of {dimension}: treated {values}, launches {list(launches)}"
            )
        data = slices_from_cube(
            cube, metric=wanted, dimension=dimension, grain=grain, filters=filters, start=start, end=end
        )
        return _staggered(data, {v: as_date(d, "launch") for v, d in launches.items()}, donors, level)
    panel, notes = panel_from_cube(
        cube,
        metric=wanted,
        dimension=dimension,
        treated_values=values,
        launch=launch,
        grain=grain,
        filters=filters,
        donors=donors,
        start=start,
        end=end,
    )
    if method not in get_args(Method):
        raise ValueError(f"method must be one of {', '.join(get_args(Method))} or did, not {method!r}")
    estimate = estimate_panel_impact(
        panel, method=cast(Method, method), level=level, metric=wanted.name, numerator_unit=wanted.numerator
    )
    return _with_notes(estimate, notes)


def _with_notes(estimate: ImpactEstimate, notes: list[str]) -> ImpactEstimate:
    from dataclasses import replace

    return replace(estimate, notes=(*notes, *estimate.notes))


def _staggered(
    data: Slices, launches: dict[str, dt.date], donors: Sequence[str] | None, level: float
) -> ImpactEstimate:
    """The staggered difference-in-differences on a cube's slices, as an ``ImpactEstimate``."""
    wanted = data.metric
    treated = list(launches)
    missing = [v for v in treated if v not in data.values]
    if missing:
        raise DataError(f"treated value(s) {missing} of {data.dimension!r} have no data for {wanted.name!r}")
    controls = [v for v in (donors if donors is not None else data.values) if v in data.values and v not in launches]
    rows = data.rows([*treated, *controls])
    cohorts = np.array([launch_index(data.periods, launches[v]) for v in treated] + [-1] * len(controls))
    if (cohorts[: len(treated)] == 0).any():
        raise DataError("a treated value launches in the first period of the data: it has no pre-launch period")
    first = int(cohorts[: len(treated)].min())
    num = data.numerator[rows]
    notes: list[str] = []
    if data.denominator is None:
        level_before = num[:, :first].mean(axis=1)
        usable = level_before > 0
        outcome = num / np.where(level_before > 0, level_before, 1.0)[:, None]
        weights = level_before
    else:
        den = data.denominator[rows]
        usable = (den > 0).all(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            outcome = num / den * wanted.scale
        weights = den[:, :first].sum(axis=1)
    if not usable[: len(treated)].all():
        raise DataError(
            f"a treated value has no {wanted.numerator if data.denominator is None else wanted.denominator} "
            "before the launches"
        )
    dropped = [u for u, ok in zip([*treated, *controls], usable, strict=True) if not ok]
    if dropped:
        notes.append(f"control(s) {', '.join(dropped)} have no usable data before the launches and were left out")
    keep = np.flatnonzero(usable)
    outcome, cohorts, weights, num = outcome[keep], cohorts[keep], weights[keep], num[keep]
    den_kept = None if data.denominator is None else data.denominator[rows][keep]
    controls = [c for c in controls if c not in set(dropped)]
    result = staggered_did(outcome, cohorts, weights, level=level)
    series, average, cumulative = _staggered_effects(data, result, cohorts, weights, num, den_kept)
    timing = _staggered_placebo(data, outcome, cohorts, weights, level, first)
    pre_trends = result.group_time.filter(pl.col("event_time") < 0)["att"].to_numpy()
    factor = 1.0 if data.denominator is not None else float(weights[cohorts > 0].mean())
    fit = PreFit(
        rmspe=float(np.sqrt(np.mean(pre_trends**2))) * factor if len(pre_trends) else float("nan"),
        r2=float("nan"),
        periods=first,
    )
    control_weights = weights[cohorts < 0]
    warnings = _staggered_warnings(controls, cohorts, first, timing)
    event_study = result.event_study.with_columns(pl.col("att", "lower", "upper") * factor)
    return ImpactEstimate(
        method="did",
        metric=wanted.name,
        treated="+".join(treated),
        launch=min(launches.values()),
        level=level,
        series=series,
        average=average,
        cumulative=cumulative,
        p_value=result.p_value,
        fit=fit,
        weights=pl.DataFrame(
            {"donor": controls, "weight": (control_weights / control_weights.sum()).tolist()},
            schema={"donor": pl.String, "weight": pl.Float64},
        ),
        placebo_space=None,
        placebo_time=timing,
        warnings=tuple(warnings),
        notes=tuple(notes),
        scaling="index" if data.denominator is None else "level",
        event_study=event_study,
    )


def _staggered_effects(
    data: Slices,
    result: StaggeredEstimate,
    cohorts: np.ndarray,
    weights: np.ndarray,
    num: np.ndarray,
    den: np.ndarray | None,
) -> tuple[pl.DataFrame, Effect, Effect]:
    """The calendar series of the launched units and the average / cumulative effects in the metric's units.

    Counts: per launched unit and period (the relative effect times the launched units' pre-launch
    volume), cumulative = extra events over all launched unit-periods. Rates: the pooled rate of the
    launched units; cumulative = the change in the numerator count.
    """
    wanted = data.metric
    periods = len(data.periods)
    launched = (cohorts[:, None] > 0) & (np.arange(periods)[None, :] >= cohorts[:, None])
    ever = cohorts > 0
    actual = np.empty(periods)
    effect = np.full(periods, np.nan)
    lower = np.full(periods, np.nan)
    upper = np.full(periods, np.nan)
    calendar = {int(p): (a, lo, hi) for p, a, lo, hi in result.calendar.iter_rows()}
    for t in range(periods):
        units = launched[:, t] if launched[:, t].any() else ever
        if den is None:
            actual[t] = num[units, t].mean()
            factor = weights[units].sum() / units.sum()
        else:
            actual[t] = num[units, t].sum() / den[units, t].sum() * wanted.scale
            factor = 1.0
        if t in calendar:
            effect[t], lower[t], upper[t] = (v * factor for v in calendar[t])
    post = launched.any(axis=0)
    series = pl.DataFrame(
        {
            "period": list(data.periods),
            "post": post,
            "actual": actual,
            "counterfactual": actual - effect,
            "lower": actual - upper,
            "upper": actual - lower,
            "effect": effect,
            "effect_lower": lower,
            "effect_upper": upper,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    if den is None:
        cells = float(launched.sum())
        total_actual = float(num[launched].sum())
        bounds = (result.att * result.cells, result.lower * result.cells, result.upper * result.cells)
        percents = (
            _percent(bounds[0], total_actual),
            _percent(bounds[1], total_actual),
            _percent(bounds[2], total_actual),
        )
        per_cell = Effect(bounds[0] / cells, bounds[1] / cells, bounds[2] / cells, *percents)
        return series, per_cell, Effect(*bounds, *percents)
    pooled = float(num[launched].sum() / den[launched].sum() * wanted.scale)
    values = (result.att, result.lower, result.upper)
    percents = (_percent(values[0], pooled), _percent(values[1], pooled), _percent(values[2], pooled))
    total = float(den[launched].sum()) / wanted.scale
    cumulative = Effect(values[0] * total, values[1] * total, values[2] * total, *percents, unit=wanted.numerator)
    return series, Effect(*values, *percents), cumulative


def _percent(effect: float, actual: float) -> float | None:
    base = actual - effect
    return effect / base * 100 if base > 0 and np.isfinite(effect) else None


def _staggered_placebo(
    data: Slices, outcome: np.ndarray, cohorts: np.ndarray, weights: np.ndarray, level: float, first: int
) -> PlaceboInTime | None:
    """Every launch moved ``h`` periods earlier, on the data before the first real launch."""
    shift = max(1, first // 3)
    if first - shift < 2:
        return None
    fake = np.where(cohorts > 0, np.maximum(cohorts - shift, 1), -1)
    fake = np.where((cohorts > 0) & (fake >= first), first - 1, fake)
    result = staggered_did(outcome[:, :first], fake, weights, level=level)
    factor = 1.0 if data.denominator is not None else float(weights[cohorts > 0].mean())
    average = Effect(result.att * factor, result.lower * factor, result.upper * factor, None, None, None)
    return PlaceboInTime(launch=data.periods[int(fake[fake > 0].min())], average=average, p_value=result.p_value)


def _staggered_warnings(
    controls: list[str], cohorts: np.ndarray, first: int, timing: PlaceboInTime | None
) -> list[str]:
    found = []
    if len(controls) < FEW_DONORS:
        found.append(f"Only {len(controls)} never-launched control(s): the comparison rests on very few series.")
    if first < 8:
        found.append(f"Short pre-launch period: {first} period(s) before the first launch.")
    sizes = np.unique(cohorts[cohorts > 0], return_counts=True)[1]
    if (sizes == 1).any():
        found.append(
            "Some launch cohorts have a single unit: the bootstrap of units cannot see their own variation, "
            "so the interval may be too narrow."
        )
    if timing is not None and timing.average.significant:
        found.append(
            f"Pre-trends: launches moved to before the real ones already show an effect ({timing.average.value:.4g}); "
            "the parallel-trends assumption is in doubt."
        )
    return found

"""The panel an impact estimate is fitted on: one treated series and the donor series, by period.

A panel is plain data (units × periods), so the estimators run the same on a cube's slices and on
the published replication files of the synthetic-control papers. ``panel_from_cube`` forms it
from a cube: the treated values of one dimension are pooled into one treated slice and every
other value of that dimension is a donor. ``panel_from_frame`` forms it from a long table (one
row per unit and period), optionally with the papers' predictors.

Rates are ratios of sums throughout: the treated slice's rate is the sum of its values'
numerators over the sum of their denominators, and the panel keeps each unit's denominator so
that the fit can weigh each period by it and the post-period effect can be pooled as a ratio of
sums (see ``insights.impact.estimate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from insights.cube import Cube
from insights.errors import DataError
from insights.filters import Filters
from insights.metrics import Metric, as_metric
from insights.periods import Grain, as_date, period_end
from insights.trends.series import coverage


@dataclass(frozen=True)
class Predictor:
    """A covariate as the synthetic-control papers use one: the mean of ``column`` over the
    periods ``start``..``end`` (inclusive), over the values the unit has there."""

    column: str
    start: int | float | dt.date
    end: int | float | dt.date

    @property
    def name(self) -> str:
        """A readable label, e.g. ``cigsale 1988`` or ``beer 1984-1988``."""
        return f"{self.column} {self.start}" if self.start == self.end else f"{self.column} {self.start}-{self.end}"


@dataclass(frozen=True)
class Panel:
    """Outcome series by unit and period, with the treated unit and the first post-launch period.

    ``outcome`` is units × periods; row ``units.index(treated)`` is the treated unit. ``launch``
    is the index of the first post-launch period. ``denominator`` (same shape) is the exposure
    behind a rate (None for counts and plain outcomes); ``scale`` the rate's scale factor.
    ``predictors`` (units × k) are optional covariates, named by ``predictor_names``.
    ``kind`` tells the noise: ``count``, ``rate`` or ``plain`` (a published outcome).
    """

    units: tuple[str, ...]
    periods: tuple[object, ...]
    outcome: np.ndarray
    treated: str
    launch: int
    denominator: np.ndarray | None = None
    scale: float = 1.0
    predictors: np.ndarray | None = None
    predictor_names: tuple[str, ...] = ()
    kind: str = "plain"

    def __post_init__(self) -> None:
        if self.outcome.shape != (len(self.units), len(self.periods)):
            raise ValueError(f"outcome is {self.outcome.shape}, expected {(len(self.units), len(self.periods))}")
        if self.treated not in self.units:
            raise ValueError(f"treated unit {self.treated!r} is not among the units")
        if not 0 < self.launch < len(self.periods):
            raise DataError(
                f"the launch must leave at least one period before and one after it; it is period {self.launch} of "
                f"{len(self.periods)}"
            )

    @property
    def row(self) -> int:
        """Index of the treated unit's row."""
        return self.units.index(self.treated)

    @property
    def donors(self) -> tuple[str, ...]:
        """The untreated units, in panel order."""
        return tuple(u for u in self.units if u != self.treated)

    @property
    def treated_series(self) -> np.ndarray:
        """The treated unit's outcome over every period."""
        return self.outcome[self.row]

    @property
    def donor_matrix(self) -> np.ndarray:
        """Donors' outcomes, donors × periods."""
        return np.delete(self.outcome, self.row, axis=0)

    @property
    def donor_predictors(self) -> np.ndarray | None:
        """Donors' predictors, donors × k (None without predictors)."""
        return None if self.predictors is None else np.delete(self.predictors, self.row, axis=0)

    @property
    def period_weights(self) -> np.ndarray:
        """How much each period of the treated series counts in a fit: its denominator relative to
        the mean (a rate's noise variance is inversely proportional to it); 1 for counts."""
        if self.denominator is None:
            return np.ones(len(self.periods))
        den = np.asarray(self.denominator[self.row], dtype=float)
        return den / den.mean()

    @property
    def pre(self) -> slice:
        """The pre-launch periods."""
        return slice(0, self.launch)

    @property
    def post(self) -> slice:
        """The post-launch periods."""
        return slice(self.launch, len(self.periods))

    def as_treated(self, unit: str) -> Panel:
        """The same panel with ``unit`` as the treated one and the real treated unit dropped
        (a placebo in space: the real treated unit is no donor of its placebos)."""
        keep = [i for i, u in enumerate(self.units) if u != self.treated]
        return self._rows(keep, treated=unit)

    def without(self, units: Sequence[str]) -> Panel:
        """The panel without the given donors."""
        keep = [i for i, u in enumerate(self.units) if u not in set(units) or u == self.treated]
        return self._rows(keep, treated=self.treated)

    def until(self, periods: int, launch: int) -> Panel:
        """The first ``periods`` periods, with the launch moved to ``launch`` (a placebo in time)."""
        return replace(
            self,
            periods=self.periods[:periods],
            outcome=self.outcome[:, :periods],
            denominator=None if self.denominator is None else self.denominator[:, :periods],
            launch=launch,
        )

    def _rows(self, keep: list[int], treated: str) -> Panel:
        return replace(
            self,
            units=tuple(self.units[i] for i in keep),
            outcome=self.outcome[keep],
            denominator=None if self.denominator is None else self.denominator[keep],
            predictors=None if self.predictors is None else self.predictors[keep],
            treated=treated,
        )


def launch_index(periods: Sequence[object], launch: object) -> int:
    """Index of the first period starting on or after ``launch``, or containing it.

    A period that contains the launch day counts as post-launch (the effect may start in it).
    """
    ordered = list(periods)
    for i, period in enumerate(ordered):
        if period >= launch:  # type: ignore[operator]
            if period == launch or i == 0:
                return i
            return i - 1 if _contains(ordered, i - 1, launch) else i
    raise DataError(f"the launch {launch} is after the last period of the data ({ordered[-1]})")


def _contains(periods: list[object], i: int, launch: object) -> bool:
    """True when period ``i`` (which starts before ``launch``) runs past the launch day."""
    return isinstance(launch, dt.date) and periods[i] < launch < periods[i + 1]  # type: ignore[operator]


def panel_from_frame(
    frame: pl.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    launch: object,
    donors: Sequence[str] | None = None,
    predictors: Sequence[Predictor] = (),
) -> Panel:
    """A panel from a long table with one row per unit and period (e.g. a paper's replication file).

    ``launch`` is the first post-launch period (a value of the ``time`` column, e.g. 1989).
    ``donors`` limits the donors (default: every other unit); units with a missing outcome in any
    period are not usable as donors and are dropped. ``predictors`` are averaged per unit over
    their periods and standardised later by the fit.
    """
    wide = frame.pivot(on=time, index=unit, values=outcome, aggregate_function="first").sort(unit)
    periods = sorted(c for c in frame[time].unique().to_list())
    wide = wide.select(pl.col(unit).cast(pl.String), *[pl.col(str(p)).cast(pl.Float64) for p in periods])
    names = wide[unit].to_list()
    if treated not in names:
        raise DataError(f"treated unit {treated!r} is not in column {unit!r}")
    wanted = [u for u in names if u == treated or donors is None or u in set(donors)]
    values = wide.filter(pl.col(unit).is_in(wanted)).drop(unit).to_numpy()
    wanted_names = [u for u in names if u in set(wanted)]
    complete = ~np.isnan(values).any(axis=1)
    if not complete[wanted_names.index(treated)]:
        raise DataError(f"treated unit {treated!r} has missing {outcome!r} values")
    kept = [u for u, ok in zip(wanted_names, complete, strict=True) if ok]
    matrix = values[complete]
    covariates = None
    if predictors:
        covariates = np.column_stack([_predictor_values(frame, unit, time, p, kept) for p in predictors])
    return Panel(
        units=tuple(kept),
        periods=tuple(periods),
        outcome=matrix,
        treated=treated,
        launch=launch_index(periods, launch),
        predictors=covariates,
        predictor_names=tuple(p.name for p in predictors),
    )


def _predictor_values(frame: pl.DataFrame, unit: str, time: str, predictor: Predictor, units: list[str]) -> np.ndarray:
    """Each unit's mean of a predictor column over the predictor's periods (NaN where none)."""
    means = (
        frame.filter(pl.col(time).is_between(predictor.start, predictor.end))
        .group_by(pl.col(unit).cast(pl.String))
        .agg(pl.col(predictor.column).cast(pl.Float64).drop_nans().mean())
    )
    lookup = dict(zip(means[unit].to_list(), means[predictor.column].to_list(), strict=True))
    return np.array([np.nan if lookup.get(u) is None else lookup[u] for u in units], dtype=float)


@dataclass(frozen=True)
class Slices:
    """A metric's sums for every value of one dimension, by period: ``numerator`` and
    ``denominator`` are values × periods (denominator None for counts; 0 where a covered period
    has no cell: no events)."""

    metric: Metric
    dimension: str
    values: tuple[str, ...]
    periods: tuple[dt.date, ...]
    numerator: np.ndarray
    denominator: np.ndarray | None

    def rows(self, values: Sequence[str]) -> list[int]:
        """Row indices of the given values."""
        return [self.values.index(v) for v in values]


def slices_from_cube(
    cube: Cube,
    *,
    metric: str | Metric,
    dimension: str,
    grain: Grain = "week",
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
) -> Slices:
    """Every value of ``dimension`` as a series of the metric's sums, from one cube query.

    Periods that the data covers only in part (a week cut by the start or end of the data) are
    dropped, since a partial period would read as a drop in a count. Filters on ``dimension``
    itself are ignored (its values are the units).
    """
    wanted = as_metric(metric)
    other_filters = {k: v for k, v in (filters or {}).items() if k != dimension}
    sums = cube.sums(wanted, by=[dimension], filters=other_filters or None, grain=grain, start=start, end=end)
    sums = sums.drop_nulls(dimension).filter(_complete_periods(cube, grain, start, end))
    if sums.is_empty():
        raise DataError(f"no data for {wanted.name!r} by {dimension} in the asked range (complete {grain}s only)")
    periods = sorted(sums["period"].unique().to_list())
    values = sorted(sums[dimension].unique().to_list())
    grid = pl.DataFrame({"period": periods}).join(pl.DataFrame({dimension: values}), how="cross")
    cells = grid.join(sums, on=["period", dimension], how="left").rename({dimension: "unit"})
    numerator = np.nan_to_num(_wide(cells, "numerator", values, periods), nan=0.0)
    denominator = np.nan_to_num(_wide(cells, "denominator", values, periods), nan=0.0) if wanted.is_ratio else None
    return Slices(wanted, dimension, tuple(values), tuple(periods), numerator, denominator)


def panel_from_cube(
    cube: Cube,
    *,
    metric: str | Metric,
    dimension: str,
    treated_values: Sequence[str],
    launch: object,
    grain: Grain = "week",
    filters: Filters | None = None,
    donors: Sequence[str] | None = None,
    start: object = None,
    end: object = None,
) -> tuple[Panel, list[str]]:
    """A panel from a cube: the treated values of ``dimension`` pooled into one slice, the others donors.

    The pooled slice sums its values' numerators (and denominators), so a rate stays a ratio of
    sums. A donor whose rate is undefined in some period (no denominator) is dropped, as are
    donors without any event before the launch. Returns the panel and notes on what was dropped,
    in words.
    """
    data = slices_from_cube(
        cube, metric=metric, dimension=dimension, grain=grain, filters=filters, start=start, end=end
    )
    wanted = data.metric
    treated_values = list(treated_values)
    missing = [v for v in treated_values if v not in data.values]
    if missing:
        raise DataError(f"treated value(s) {missing} of {dimension!r} have no data for {wanted.name!r}")
    notes: list[str] = []
    if donors is None:
        donor_values = [v for v in data.values if v not in set(treated_values)]
    else:
        donor_values = [d for d in donors if d in data.values and d not in set(treated_values)]
        unknown = [d for d in donors if d not in data.values]
        if unknown:
            notes.append(f"donor(s) {', '.join(unknown)} have no data and were left out")
    launch_at = launch_index(data.periods, as_date(launch, "launch"))
    treated_rows = data.rows(treated_values)
    quiet = (
        []
        if wanted.is_ratio
        else [d for d in donor_values if data.numerator[data.values.index(d), :launch_at].sum() <= 0]
    )
    if quiet:
        notes.append(f"donor(s) {', '.join(quiet)} have no {wanted.numerator} before the launch and were left out")
        donor_values = [d for d in donor_values if d not in set(quiet)]
    name = "+".join(treated_values)
    units = [name, *donor_values]
    donor_rows = data.rows(donor_values)
    num = np.vstack([data.numerator[treated_rows].sum(axis=0), data.numerator[donor_rows]])
    if data.denominator is None:
        return Panel(tuple(units), data.periods, num, name, launch_at, kind="count"), notes
    den = np.vstack([data.denominator[treated_rows].sum(axis=0), data.denominator[donor_rows]])
    if (den[0] <= 0).any():
        raise DataError(
            f"the treated slice has periods without any {wanted.denominator!r}: its {wanted.name} is undefined there"
        )
    usable = np.asarray((den > 0).all(axis=1), dtype=bool)
    dropped = [u for u, ok in zip(units, usable.tolist(), strict=True) if not ok]
    if dropped:
        notes.append(f"donor(s) {', '.join(dropped)} have periods without any {wanted.denominator} and were left out")
    keep = np.flatnonzero(usable)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = num / den * wanted.scale
    return (
        Panel(
            units=tuple(units[i] for i in keep),
            periods=data.periods,
            outcome=rate[keep],
            treated=name,
            launch=launch_at,
            denominator=den[keep],
            scale=wanted.scale,
            kind="rate",
        ),
        notes,
    )


def _wide(cells: pl.DataFrame, column: str, units: list[str], periods: list[object]) -> np.ndarray:
    """One measure as a units × periods array (NaN where the cell is absent)."""
    wide = cells.pivot(on="period", index="unit", values=column, aggregate_function="first")
    order = {u: i for i, u in enumerate(wide["unit"].to_list())}
    values = wide.select([pl.col(str(p)).cast(pl.Float64) for p in periods]).to_numpy()
    return np.vstack([values[order[u]] for u in units])


def _complete_periods(cube: Cube, grain: Grain, start: object, end: object) -> pl.Expr:
    """Periods that the data (within ``start``..``end``) covers from their first to their last day."""
    span = coverage(cube, start, end)
    if span is None:
        return pl.lit(False)
    return (pl.col("period") >= span[0]) & (period_end(pl.col("period"), grain) <= span[1])


def treated_values(treated: Mapping[str, str | Sequence[str]]) -> tuple[str, list[str]]:
    """The dimension and its treated values from ``{"country": ["BR", "MX"]}`` or ``{"content_type": "live"}``."""
    if len(treated) != 1:
        raise ValueError(f"treated must name one dimension, e.g. {{'country': ['BR', 'MX']}}; got {dict(treated)}")
    dimension, values = next(iter(treated.items()))
    chosen = [values] if isinstance(values, str) else list(values)
    if not chosen:
        raise ValueError("treated names no value")
    return dimension, [str(v) for v in chosen]

"""What an impact estimate returns: the effect with its interval, the fit, the placebos and warnings."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from insights.formatting import signed_amount_text
from insights.metrics import metrics


@dataclass(frozen=True)
class Effect:
    """An effect in the metric's own units and in percent of the counterfactual, each with an interval.

    ``unit`` says what the value counts (the metric's unit; for the cumulative effect of a rate,
    its numerator measure, e.g. extra proactive actions). ``percent`` is the effect over the
    counterfactual over the same periods (None where the counterfactual is 0).
    """

    value: float
    lower: float
    upper: float
    percent: float | None
    percent_lower: float | None
    percent_upper: float | None
    unit: str = ""

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0."""
        return self.lower > 0 or self.upper < 0


@dataclass(frozen=True)
class PreFit:
    """How well the counterfactual tracks the treated series before the launch.

    ``rmspe``: root mean squared prediction error; ``r2``: share of the pre-launch variance of the
    treated series it explains (weighted by period for rates); ``periods``: pre-launch periods.
    """

    rmspe: float
    r2: float
    periods: int


@dataclass(frozen=True)
class PlaceboInSpace:
    """The same fit for every donor as if it had been treated (the real treated unit dropped).

    ``results``: one row per unit (the treated first): ``unit``, ``pre_rmspe``, ``post_rmspe``,
    ``ratio`` (post / pre RMSPE) and ``average_effect``. ``rank``: the treated unit's place by
    ratio (1 = largest); ``p_value``: rank / number of units. ``gaps``: every unit's gap between
    its series and its counterfactual, by period (``unit``, ``period``, ``gap`` in the metric's
    units, ``relative_gap`` over the unit's own pre-launch mean), for the placebo plot.
    """

    results: pl.DataFrame
    rank: int
    p_value: float
    gaps: pl.DataFrame | None = None


@dataclass(frozen=True)
class PlaceboInTime:
    """The same estimate with a fake launch before the real one, on pre-launch data only: its
    effect should be about 0 (its interval covering 0)."""

    launch: object
    average: Effect
    p_value: float


@dataclass(frozen=True)
class ImpactEstimate:
    """The answer to "did the launch work?": the counterfactual, the effect and how far to trust it.

    ``series``: one row per period — ``period``, ``post`` (after the launch), ``actual``,
    ``counterfactual``, ``lower``/``upper`` (its interval, post-launch only), ``effect``
    (actual − counterfactual), ``effect_lower``/``effect_upper``.
    ``average``: the effect per post-launch period (for a rate: the pooled post-launch rate's
    change, a ratio of sums); ``cumulative``: its sum over the post-launch periods (for a rate:
    the change in its numerator count). ``p_value``: of "no effect in any post-launch period".
    ``weights``: ``donor``, ``weight`` (for DiD: the never-treated units with equal weights; for
    the structural check: the regression donors with weight 0). ``event_study`` (DiD only):
    ``event_time``, ``att``, ``lower``, ``upper``. ``warnings``: design problems in words;
    ``notes``: what was dropped or chosen on the way.
    """

    method: str
    metric: str | None
    treated: str
    launch: object
    level: float
    series: pl.DataFrame
    average: Effect
    cumulative: Effect
    p_value: float
    fit: PreFit
    weights: pl.DataFrame
    placebo_space: PlaceboInSpace | None
    placebo_time: PlaceboInTime | None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    scaling: str = "level"
    event_study: pl.DataFrame | None = None

    def amount_text(self, value: float) -> str:
        """A signed effect in the metric's units ('-17', '+1.2 pp'); a plain signed number ('-2.58')
        when the metric is not one of the registry's (a panel of the caller's own)."""
        known = metrics().get(self.metric or "")
        return signed_amount_text(known, value) if known else f"{value:+.3g}"

    @property
    def donors(self) -> list[str]:
        """Donors with a non-zero weight, heaviest first."""
        ranked = self.weights.filter(pl.col("weight").abs() > 1e-6).sort(pl.col("weight").abs(), descending=True)
        return ranked["donor"].to_list()

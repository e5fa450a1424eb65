"""``Change``: a metric in a current period against a baseline period, for one slice, tested.

The one result every comparison in the product returns or carries: KPI cards, period-over-period
deltas, movers, the narrative and root cause. It is computed once (``insights.trends.measure_change``)
and handed on, so every page and export shows the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from insights.disclosure import Withheld
from insights.filters import normalise_filters
from insights.formatting import change_text, value_text
from insights.periods import Period
from insights.significance import Noise


@dataclass(frozen=True)
class Change:
    """A metric in ``current`` against ``baseline`` for the slice ``filters``, with its test.

    ``value`` and ``baseline_value`` are the metric in each period (a rate: the ratio of the
    sums ``numerator`` / ``denominator``, which are kept); ``p_value`` is the two-sided p-value of
    "no change" against the slice's own period-to-period ``noise`` (``insights.significance``).
    ``withheld`` / ``baseline_withheld`` say why a value is missing when small-cell suppression
    withheld it (``insights.disclosure``; None otherwise): ``value_text`` then writes '<10'.
    """

    metric: str
    current: Period
    baseline: Period
    value: float | None
    baseline_value: float | None
    numerator: float | None = None
    denominator: float | None = None
    baseline_numerator: float | None = None
    baseline_denominator: float | None = None
    p_value: float | None = None
    alpha: float = 0.05
    noise: Noise | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    withheld: Withheld | None = None
    baseline_withheld: Withheld | None = None

    @classmethod
    def from_row(
        cls,
        row: Mapping[str, Any],
        metric: str,
        *,
        current: Period,
        baseline: Period,
        filters: Mapping[str, object] | None = None,
        noise: Noise | None = None,
        alpha: float = 0.05,
    ) -> Change:
        """A Change from one row of ``insights.trends.compare`` (its value, sum and p-value columns)."""
        return cls(
            metric=metric,
            current=current,
            baseline=baseline,
            value=row["value"],
            baseline_value=row["baseline_value"],
            numerator=row["numerator"],
            denominator=row["denominator"],
            baseline_numerator=row["baseline_numerator"],
            baseline_denominator=row["baseline_denominator"],
            p_value=row["p_value"],
            alpha=alpha,
            noise=noise,
            filters=normalise_filters(filters),
            withheld=Withheld.of(row, "value"),
            baseline_withheld=Withheld.of(row, "baseline_value"),
        )

    @property
    def change(self) -> float | None:
        """Absolute change (in the metric's unit; a rate's change is in proportion points)."""
        return None if self.value is None or self.baseline_value is None else self.value - self.baseline_value

    @property
    def pct_change(self) -> float | None:
        """Relative change (None when the baseline is 0 or unknown)."""
        change = self.change
        return None if change is None or not self.baseline_value else change / self.baseline_value

    @property
    def significant(self) -> bool:
        """True when the change is unlikely to be noise (p < alpha)."""
        return self.p_value is not None and self.p_value < self.alpha

    @property
    def direction(self) -> Literal["up", "down", "flat"]:
        """'up' or 'down' for a significant change, else 'flat'."""
        if not self.significant or not self.change:
            return "flat"
        return "up" if self.change > 0 else "down"

    def value_text(self) -> str:
        """The value as shown: '92.3%', '1,234'; '<10' where small-cell suppression withheld it."""
        return value_text(self.metric, self.value, self.withheld)

    def baseline_text(self) -> str:
        """The baseline value as shown (as ``value_text``)."""
        return value_text(self.metric, self.baseline_value, self.baseline_withheld)

    def change_text(self) -> str | None:
        """The change as on a KPI card: '+12.3%' for counts, '+1.2 pp' for rates."""
        return change_text(self.metric, self.change, self.pct_change)

    def describes(
        self, metric: str, *, current: Period, baseline: Period, filters: Mapping[str, object] | None
    ) -> bool:
        """True when this is the change of ``metric`` between these periods on this slice."""
        same_periods = (self.current, self.baseline) == (current, baseline)
        return self.metric == metric and same_periods and self.filters == normalise_filters(filters)

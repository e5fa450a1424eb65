"""A request: the one question a page asks a cube, in a hashable normal form.

Every ``Cube.query`` / ``Cube.sums`` call becomes one ``Request`` — the metrics it needs, the
breakdown, the grain, the filters and the dates — which a store answers with the sums per
period and breakdown. Requests are values: equal questions are equal keys in a result cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from insights.filters import Filters, normalise_filters
from insights.metrics import Metric
from insights.periods import Grain, as_date, as_grain


@dataclass(frozen=True)
class Request:
    """Sums of the measures behind ``metrics`` per period (when ``grain`` is set) and ``by``,
    over the slice ``filters`` between ``start`` and ``end`` (inclusive dates)."""

    metrics: tuple[Metric, ...]
    by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    grain: Grain | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def of(
        cls,
        metrics: Sequence[Metric],
        by: Sequence[str] | str = (),
        filters: Filters | None = None,
        grain: Grain | None = None,
        start: object = None,
        end: object = None,
    ) -> Request:
        """A request from the arguments of ``Cube.query`` (filters normalised, dates parsed)."""
        return cls(
            metrics=tuple(metrics),
            by=(by,) if isinstance(by, str) else tuple(by),
            filters=tuple((d, tuple(v)) for d, v in normalise_filters(filters).items()),
            grain=None if grain is None else as_grain(grain),
            start=None if start is None else as_date(start, "start"),
            end=None if end is None else as_date(end, "end"),
        )

    @property
    def keys(self) -> list[str]:
        """The answer's key columns: ``period`` (with a grain), then the breakdown."""
        return (["period"] if self.grain else []) + list(self.by)

    @property
    def question(self) -> tuple[object, ...]:
        """What the answer depends on: the sums the metrics need (not their names, labels or
        definitions), the breakdown, the filters, the grain and the dates. Requests with the same
        question have the same answer."""
        sums = tuple(dict.fromkeys((m.numerator, m.denominator) for m in self.metrics))
        return (sums, self.by, self.filters, self.grain, self.start, self.end)

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures the metrics need, each once."""
        return tuple(dict.fromkeys(x for m in self.metrics for x in m.measures))

    @property
    def dimensions(self) -> frozenset[str]:
        """Dimensions the answer depends on: the breakdown and the filtered ones."""
        return frozenset(self.by) | {d for d, _ in self.filters}

    @property
    def filter_map(self) -> dict[str, list[str]]:
        """The filters as ``{dimension: [values]}``."""
        return {d: list(v) for d, v in self.filters}


def sum_names(metric: Metric, complete: frozenset[str]) -> tuple[str, str | None]:
    """Column names under which a metric's numerator and denominator sums are answered.

    Plain measure names, except for a rate whose numerator or denominator is unknown in some
    cells (``complete`` lists the measures known everywhere): its sums are paired — both taken
    over the cells where both are known — under their own names.
    """
    if metric.denominator is None:
        return metric.numerator, None
    if metric.numerator in complete and metric.denominator in complete:
        return metric.numerator, metric.denominator
    return f"{metric.numerator}__over__{metric.denominator}", f"{metric.denominator}__under__{metric.numerator}"

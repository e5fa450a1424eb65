"""The metric registry: measures and metrics, defined once as data in ``definitions/metrics.toml``.

A *measure* is an additive column of a cube. A *metric* is either a measure's sum or a ratio
``sum(numerator) / sum(denominator) × scale`` over whatever slice is asked for, so roll-ups,
filters and decompositions stay correct for rates.

One kind of metric is neither: an *estimated* metric (``estimated_from`` in the registry, e.g.
prevalence from the labelled view sample) is estimated per slice and period from a sample, with
an interval, and never summed. ``Metric.is_estimated`` says so; a cube refuses it
(``EstimatedMetricError``) and ``Cube.available_metrics`` does not list it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import polars as pl

from insights.definitions import read_toml
from insights.errors import DataError

Format = Literal["count", "percent", "decimal"]


@dataclass(frozen=True)
class EventCount:
    """How a measure is counted from event rows (see the header of ``metrics.toml``)."""

    kind: Literal["count", "count_true", "count_zero", "count_at_most", "count_known", "sum"]
    column: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Measure:
    """An additive cube column.

    ``from_actions`` (for ``removals``): the action codes whose actions make up this measure
    where a source has no column of its own for it but has the ``action`` dimension (removals
    are the actions whose action is ``remove``). ``insights.exposed.ExposedCube`` derives it so.
    """

    name: str
    label: str
    from_events: EventCount | None
    from_actions: tuple[str, ...] = ()
    whole: bool = True

    @property
    def countable_from_events(self) -> bool:
        """True when event rows can count this measure (it has a ``from_events`` rule); report-only
        measures, figures only a published report or a pre-aggregated table carries, are not."""
        return self.from_events is not None


@dataclass(frozen=True)
class Metric:
    """A number the product shows: a count or a ratio of two additive measures, or an estimate.

    ``estimated_from`` names the sample an estimated metric comes from (``view_sample``: the
    labelled random sample of views). Its ``numerator`` and ``denominator`` then say what the
    estimate is a ratio of *in the population* (violating views / views); they are estimated from
    the sample's weighted sums, never summed from a cube.
    """

    name: str
    label: str
    numerator: str
    denominator: str | None
    format: Format
    higher_is_better: bool | None
    definition: str
    scale: float = 1.0
    estimated_from: str | None = None

    @property
    def is_ratio(self) -> bool:
        """True for rates (a numerator over a denominator)."""
        return self.denominator is not None

    @property
    def is_estimated(self) -> bool:
        """True for a metric estimated from a sample (prevalence): estimated, never summed."""
        return self.estimated_from is not None

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures this metric is computed from."""
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)

    def from_sums(self, numerator: pl.Expr, denominator: pl.Expr | None = None) -> pl.Expr:
        """The metric as an expression over already-summed measure columns."""
        if self.denominator is None:
            return numerator
        assert denominator is not None
        return pl.when(denominator > 0).then(numerator / denominator * self.scale).otherwise(None)

    def value(self, numerator: float | None, denominator: float | None = None) -> float | None:
        """The metric from two plain sums (None where it is undefined)."""
        if numerator is None:
            return None
        if self.denominator is None:
            return float(numerator)
        if not denominator:
            return None
        return numerator / denominator * self.scale


@cache
def _registry() -> tuple[dict[str, Measure], dict[str, Metric]]:
    spec = read_toml("metrics.toml")
    measures = {
        name: Measure(
            name,
            entry["label"],
            EventCount(**entry["from_events"]) if "from_events" in entry else None,
            tuple(entry.get("from_actions", ())),
            whole=entry.get("whole", True),
        )
        for name, entry in spec["measures"].items()
    }
    metrics = {
        name: Metric(
            name=name,
            label=entry["label"],
            numerator=entry["numerator"],
            denominator=entry.get("denominator"),
            format=entry["format"],
            higher_is_better=entry.get("higher_is_better"),
            definition=entry["definition"],
            scale=float(entry.get("scale", 1.0)),
            estimated_from=entry.get("estimated_from"),
        )
        for name, entry in spec["metrics"].items()
    }
    samples = spec.get("samples", {})
    for metric in metrics.values():
        unknown = [m for m in metric.measures if m not in measures]
        if unknown:
            raise ValueError(f"metrics.toml: metric {metric.name!r} refers to unknown measures {unknown}")
        if metric.estimated_from is not None and metric.estimated_from not in samples:
            raise ValueError(
                f"metrics.toml: metric {metric.name!r} is estimated from {metric.estimated_from!r}, "
                f"which [samples] does not define"
            )
    return measures, metrics


def measures() -> dict[str, Measure]:
    """All measures, by name."""
    return _registry()[0]


def metrics() -> dict[str, Metric]:
    """All metrics, by name."""
    return _registry()[1]


def _lookup(name: str) -> Metric:
    try:
        return metrics()[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known metrics: {', '.join(metrics())}") from None


def metric(name: str) -> Metric:
    """Look up one metric; the error lists the known names."""
    return _lookup(name)


def as_metric(metric: str | Metric) -> Metric:
    """A registry metric by name, or an ad-hoc ``Metric`` as it is."""
    return metric if isinstance(metric, Metric) else _lookup(metric)


def per_exposure(metric: str | Metric, exposure: str) -> Metric:
    """The registry's exposure-normalised version of a count (e.g. ``actions`` per ``uploads`` →
    ``actions_per_10k_uploads``, per ``views`` → ``actions_per_million_views``): the first metric
    of the registry whose numerator is the count's and whose denominator is the exposure measure.
    ``ValueError`` for a rate or where none is defined."""
    count = as_metric(metric)
    if count.is_ratio:
        raise ValueError(f"{count.name!r} is already a rate; only counts are normalised by exposure")
    for candidate in metrics().values():
        if candidate.numerator == count.numerator and candidate.denominator == exposure and not candidate.is_estimated:
            return candidate
    raise ValueError(f"metrics.toml defines no {count.name} per {exposure}; add one to normalise by it")


class EstimatedMetricError(DataError):
    """An estimated metric (prevalence) was asked of code that sums: it has no sums to add up."""


def require_summable(metric: Metric) -> None:
    """Raise ``EstimatedMetricError`` for an estimated metric: what sums measures cannot answer it."""
    if metric.is_estimated:
        sample = samples().get(metric.estimated_from or "", {})
        raise EstimatedMetricError(
            f"{metric.label} ({metric.name!r}) is estimated from {sample.get('label', metric.estimated_from)}, "
            f"not summed: a cube cannot add it up over a slice or a period. Ask for the slice's own estimate "
            f"with its interval: {sample.get('use', 'insights.prevalence.estimate_prevalence')}."
        )


@cache
def samples() -> dict[str, dict[str, str]]:
    """The samples estimated metrics come from (``[samples.*]`` of ``metrics.toml``), by name."""
    return dict(read_toml("metrics.toml").get("samples", {}))


MEASURES: tuple[str, ...] = tuple(measures())

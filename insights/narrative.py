"""A few plain sentences about a change: what moved, by how much, whether it is more than noise,
the top drivers and the annotated events nearby.

Every number in a sentence is one of the computed results held by the ``Narrative`` (its
``change`` and ``drivers``), formatted by ``insights.formatting``.

Drivers are an input: pass those of a root-cause analysis (``drivers_from_explanation`` of an
``explain_change`` result, ``Driver`` objects, or ``(segment, contribution)`` pairs), or let
``narrate`` derive them with ``one_dimension_drivers`` — each dimension's values' contributions
to the change, one dimension at a time, by the same formula as root cause
(``insights.rootcause.decompose``), so a segment shows the same contribution on every page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.filters import Filters, fixed_dimensions, normalise_filters
from insights.formatting import amount_text, evidence_text, signed_amount_text
from insights.labels import dimension_label, label
from insights.metrics import Metric, as_metric
from insights.periods import Period
from insights.rootcause.decompose import Decomposition, compare_leaves, segment_sums
from insights.trends.deltas import measure_change
from insights.trends.events import events_near


@dataclass(frozen=True)
class Driver:
    """A segment's contribution to a change, in the metric's unit.

    ``segment`` maps dimensions to values (``{"country": "FR"}``). Along one dimension the
    contributions of all values add up to the change.
    """

    segment: dict[str, str]
    contribution: float


DriverLike = Driver | tuple[Mapping[str, str], float]


@dataclass(frozen=True)
class Narrative:
    """The sentences and the results every number in them comes from."""

    change: Change
    drivers: list[Driver]
    events: pl.DataFrame | None
    sentences: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The sentences as one paragraph."""
        return " ".join(self.sentences)


def one_dimension_drivers(
    cube: Cube,
    metric: str | Metric,
    *,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    dimensions: Sequence[str] | None = None,
    top: int = 3,
) -> list[Driver]:
    """The segments that moved a metric most in the direction of its change, one dimension at a time.

    For each dimension (default: every dimension of the cube the filters do not fix to one value)
    each value's contribution is computed so that, along that dimension, they add up to the
    change: for a count, the value's own change; for a rate, the symmetric shift-share term of
    ``insights.rootcause.decompose`` (the same number root cause shows for that segment). Values
    are ranked by how much more they contributed than their share of the slice (of the baseline
    count, or of the current denominator) would give them if everything had changed alike — so a
    dimension value that is most of the slice anyway does not crowd out the one that moved — and
    the ``top`` values contributing in the direction of the change, over all dimensions, are
    returned. Dimensions with a single value in the slice are skipped. A value can appear under
    two related dimensions (a country and its language): this is a one-dimensional view, not a
    root-cause localisation.
    """
    fixed = fixed_dimensions(filters)
    chosen = [d for d in (dimensions or cube.dimensions) if d not in fixed]
    comparison = compare_leaves(cube, metric, current=current, baseline=baseline, dims=chosen, filters=filters)
    decomposition = Decomposition.of(comparison)
    if not decomposition.defined or not comparison.dims:
        return []
    segments = segment_sums(comparison, 1).filter(~pl.col("duplicate")).with_columns(decomposition.columns())
    size = "den_after" if comparison.metric.is_ratio else "num_before"
    totals = comparison.totals()
    share = pl.col(size) / totals[size] if totals[size] else pl.lit(0.0)
    change = decomposition.contribution(decomposition.whole)
    direction = 1.0 if change >= 0 else -1.0
    best = (
        segments.select(
            dimension=pl.col("cuboid"),
            value=pl.coalesce(*comparison.dims).fill_null("(none)"),
            contribution=pl.col("contribution").cast(pl.Float64),
            excess=pl.col("contribution") - change * share,
        )
        .filter(pl.col("contribution") * direction > 0)
        .sort(pl.col("excess") * direction, "dimension", "value", descending=[True, False, False])
        .head(top)
    )
    return [Driver({r["dimension"]: r["value"]}, r["contribution"]) for r in best.iter_rows(named=True)]


def drivers_from_explanation(explanation, top: int = 3) -> list[Driver]:
    """The drivers of an ``insights.rootcause.explain_change`` result: its listed segments that
    moved in the direction of the change, most surprising first."""
    direction = 1.0 if (explanation.headline.change or 0.0) >= 0 else -1.0
    rows = (
        explanation.contributors.filter(~pl.col("other") & (pl.col("contribution") * direction > 0))
        .sort("surprise", descending=True, nulls_last=True, maintain_order=True)
        .head(top)
    )
    return [
        Driver({d: row[d] for d in explanation.dims if row[d] is not None}, row["contribution"])
        for row in rows.iter_rows(named=True)
    ]


def as_drivers(drivers: Sequence[DriverLike]) -> list[Driver]:
    """Drivers from ``Driver`` objects or ``(segment, contribution)`` pairs."""
    return [d if isinstance(d, Driver) else Driver(dict(d[0]), float(d[1])) for d in drivers]


def narrate(
    cube: Cube,
    metric: str | Metric,
    *,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    change: Change | None = None,
    drivers: Sequence[DriverLike] | None = None,
    events: pl.DataFrame | None = None,
    within_days: int = 7,
    alpha: float = 0.05,
    top: int = 3,
) -> Narrative:
    """Sentences about a metric's change from ``baseline`` to ``current`` for one slice.

    ``change`` is the slice's change when the caller has measured it already
    (``insights.trends.measure_change``); otherwise it is measured here. ``drivers`` default to
    ``one_dimension_drivers`` (pass ``insights.rootcause`` results when available); they are told
    only for a significant change. ``events`` (see ``insights.trends.read_events``) adds the
    annotated events of the slice within ``within_days`` of the current period.
    """
    wanted = as_metric(metric)
    if change is None:
        change = measure_change(cube, wanted, current=current, baseline=baseline, filters=filters, alpha=alpha)
    elif not change.describes(wanted.name, current=current, baseline=baseline, filters=filters):
        raise ValueError(
            f"the change given is of {change.metric} on {change.filters}, "
            f"not of {wanted.name} on {normalise_filters(filters)}"
        )
    found = (
        as_drivers(drivers)
        if drivers is not None
        else one_dimension_drivers(cube, wanted, current=current, baseline=baseline, filters=filters, top=top)
    )
    nearby = events_near(events, [(current.start, current.end)], within_days, filters) if events is not None else None
    sentences = [_what_moved(wanted, change, filters), _significance(change)]
    if found and change.significant:
        sentences.append(_drivers_sentence(wanted, found))
    if nearby is not None:
        sentences.append(_events_sentence(nearby, within_days))
    return Narrative(change=change, drivers=found, events=nearby, sentences=sentences)


def describe_slice(filters: Filters | None) -> str:
    """' for Violent extremism in France, Belgium and Netherlands' (empty for everything)."""
    parts: list[str] = []
    places: list[str] = []
    for dimension, values in normalise_filters(filters).items():
        names = _and([label(dimension, v) for v in values])
        if dimension in ("country", "region"):
            places.append(names)
        elif dimension == "harm_area":
            parts.insert(0, names)
        else:
            parts.append(f"{dimension_label(dimension).lower()} {names}")
    text = f" for {', '.join(parts)}" if parts else ""
    return text + (f" in {' and '.join(places)}" if places else "")


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c' (empty for no items)."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _what_moved(wanted: Metric, change: Change, filters: Filters | None) -> str:
    subject = f"{wanted.label}{describe_slice(filters)}"
    before, now = change.baseline_text(), change.value_text()
    periods = f"from {before} in {change.baseline.label()} to {now} in {change.current.label()}"
    if change.change is None:
        return f"{subject}: {now} in {change.current.label()}, against {before} in {change.baseline.label()}."
    if change.change == 0:
        return f"{subject} was unchanged at {now} in {change.current.label()} against {change.baseline.label()}."
    verb = "rose" if change.change > 0 else "fell"
    size = amount_text(wanted, change.change)
    if wanted.format != "percent" and change.pct_change is not None:
        size = f"{abs(change.pct_change):.1%} ({signed_amount_text(wanted, change.change)})"
    return f"{subject} {verb} by {size}, {periods}."


def _significance(change: Change) -> str:
    if change.p_value is None:
        return "There is too little data in one of the periods to test the change."
    if change.significant:
        return f"That is more than this slice's usual variation: {evidence_text(change.p_value, change.alpha)}."
    return "That is within this slice's usual variation, so it is not reported as a change."


def _segment_text(segment: Mapping[str, str]) -> str:
    return " × ".join(f"{dimension_label(d).lower()} {label(d, v)}" for d, v in segment.items())


def _drivers_sentence(wanted: Metric, drivers: list[Driver]) -> str:
    items = [f"{_segment_text(d.segment)} ({signed_amount_text(wanted, d.contribution)})" for d in drivers]
    return f"The largest contributions came from {_and(items)}."


def _events_sentence(nearby: pl.DataFrame, within_days: int) -> str:
    if not len(nearby):
        return f"No annotated event falls within {within_days} days of the period."
    items = [f"{r['title']} ({r['date']:%Y-%m-%d})" for r in nearby.iter_rows(named=True)]
    return f"Events nearby: {_and(items)}."

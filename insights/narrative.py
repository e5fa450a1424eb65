"""A few plain sentences about a change: what moved, by how much, whether it is more than noise,
the top drivers and the annotated events nearby.

Every number in a sentence is one of the computed results held by the ``Narrative`` (its
``delta`` and ``drivers``), formatted the way the metric registry formats that metric.

Drivers are an input: pass those of a root-cause analysis (``drivers_from_explanation`` of an
``explain_change`` result, ``Driver`` objects, or ``(segment, contribution)`` pairs), or let
``narrate`` derive them with ``one_dimension_drivers`` — each dimension's values' contributions
to the change, one dimension at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from insights.cube import Cube, Filters, known_sum
from insights.kpis import Period
from insights.metrics import Metric
from insights.model import DIMENSION_LABELS, label
from insights.trends.deltas import Delta, delta
from insights.trends.events import events_near
from insights.trends.series import as_metric


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

    delta: Delta
    drivers: list[Driver]
    events: pl.DataFrame | None
    sentences: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The sentences as one paragraph."""
        return " ".join(self.sentences)


def one_dimension_drivers(
    cube: Cube,
    of: str | Metric,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    dimensions: Sequence[str] | None = None,
    top: int = 3,
) -> list[Driver]:
    """The segments that moved a metric most in the direction of its change, one dimension at a time.

    For each dimension (default: every dimension of the cube the filters do not fix to one value)
    each value's contribution is computed so that, along that dimension, they add up to the
    change: for a count, the value's own change; for a rate ``R = N / D``, the change of its
    excess over the baseline rate, ``(n₁ − R₀·d₁) / D₁ − (n₀ − R₀·d₀) / D₀``. Values are ranked by
    how much more they contributed than their share of the slice (of the baseline count, or of
    the current denominator) would give them if everything had changed alike — so a dimension
    value that is most of the slice anyway does not crowd out the one that moved — and the
    ``top`` values contributing in the direction of the change, over all dimensions, are
    returned. Dimensions with a single value in the slice are skipped. A value can appear under
    two related dimensions (a country and its language): this is a one-dimensional view, not a
    root-cause localisation.
    """
    wanted = as_metric(of)
    fixed = {d for d, v in (filters or {}).items() if isinstance(v, str) or (isinstance(v, Sequence) and len(v) == 1)}
    chosen = [d for d in (dimensions or cube.dimensions) if d not in fixed]
    now, before = (
        cube.sums(wanted, by=chosen, filters=filters, start=p.start, end=p.end).drop(wanted.name) for p in (current, baseline)
    )
    frames = [_contributions(wanted, now, before, d) for d in chosen]
    found = pl.concat([f for f in frames if len(f) > 1]) if any(len(f) > 1 for f in frames) else None
    if found is None:
        return []
    direction = 1.0 if frames[0]["contribution"].sum() >= 0 else -1.0
    best = (
        found.filter(pl.col("contribution") * direction > 0)
        .sort(pl.col("excess") * direction, "dimension", "value", descending=[True, False, False])
        .head(top)
    )
    return [Driver({r["dimension"]: r["value"]}, r["contribution"]) for r in best.iter_rows(named=True)]


def _contributions(wanted: Metric, current: pl.DataFrame, baseline: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """Each value of ``dimension``: its contribution to the change (``dimension``, ``value``,
    ``contribution`` and ``excess``: the contribution beyond the value's share of the change),
    from the slice's sums in both periods at a finer breakdown."""
    now, before = (frame.group_by(dimension).agg(known_sum("numerator").alias("numerator"), known_sum("denominator").alias("denominator"))
                   for frame in (current, baseline))
    joined = now.join(before, on=dimension, how="full", coalesce=True, nulls_equal=True, suffix="_before").fill_null(0)
    n1, n0 = pl.col("numerator"), pl.col("numerator_before")
    if wanted.is_ratio:
        d1, d0 = pl.col("denominator"), pl.col("denominator_before")
        rate_before = n0.sum() / d0.sum()
        contribution = ((n1 - rate_before * d1) / d1.sum() - (n0 - rate_before * d0) / d0.sum()) * wanted.scale
        share = d1 / d1.sum()
    else:
        contribution = n1 - n0
        share = n0 / n0.sum()
    return joined.select(
        dimension=pl.lit(dimension),
        value=pl.col(dimension).cast(pl.String).fill_null("(none)"),
        contribution=contribution.cast(pl.Float64),
        share=share.cast(pl.Float64),
    ).select(
        "dimension", "value", "contribution", excess=pl.col("contribution") - pl.col("contribution").sum() * pl.col("share")
    )


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
    of: str | Metric,
    current: Period,
    baseline: Period,
    filters: Filters | None = None,
    drivers: Sequence[DriverLike] | None = None,
    events: pl.DataFrame | None = None,
    within_days: int = 7,
    alpha: float = 0.05,
    top: int = 3,
) -> Narrative:
    """Sentences about a metric's change from ``baseline`` to ``current`` for one slice.

    ``drivers`` default to ``one_dimension_drivers`` (pass ``insights.rootcause`` results when
    available); they are told only for a significant change. ``events`` (see ``insights.trends.read_events``) adds the annotated events of the
    slice within ``within_days`` of the current period.
    """
    wanted = as_metric(of)
    change = delta(cube, wanted, current, baseline, filters, alpha=alpha)
    found = as_drivers(drivers) if drivers is not None else one_dimension_drivers(cube, wanted, current, baseline, filters, top=top)
    nearby = events_near(events, [(current.start, current.end)], within_days, filters) if events is not None else None
    sentences = [_what_moved(wanted, change, filters), _significance(change)]
    if found and change.significant:
        sentences.append(_drivers_sentence(wanted, found))
    if nearby is not None:
        sentences.append(_events_sentence(nearby, within_days))
    return Narrative(delta=change, drivers=found, events=nearby, sentences=sentences)


def describe_slice(filters: Filters | None) -> str:
    """' for Violent extremism in France, Belgium and Netherlands' (empty for everything)."""
    parts, places = [], []
    for dimension, wanted in (filters or {}).items():
        if wanted is None:
            continue
        values = [wanted] if isinstance(wanted, str) else list(wanted)  # type: ignore[arg-type]
        names = _and([label(dimension, v) for v in values])
        if dimension in ("country", "region"):
            places.append(names)
        elif dimension == "harm_area":
            parts.insert(0, names)
        else:
            parts.append(f"{DIMENSION_LABELS.get(dimension, dimension).lower()} {names}")
    text = f" for {', '.join(parts)}" if parts else ""
    return text + (f" in {' and '.join(places)}" if places else "")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _amount(wanted: Metric, change: float) -> str:
    """An unsigned change in the metric's unit: '90', '8.2 pp', '1.25'."""
    if wanted.format == "percent":
        return f"{abs(change) * 100:.1f} pp"
    return wanted.format_value(abs(change))


def _signed(wanted: Metric, change: float) -> str:
    return ("+" if change >= 0 else "−") + _amount(wanted, change)


def _what_moved(wanted: Metric, change: Delta, filters: Filters | None) -> str:
    subject = f"{wanted.label}{describe_slice(filters)}"
    before, now = wanted.format_value(change.baseline_value), wanted.format_value(change.value)
    periods = f"from {before} in {change.baseline.label()} to {now} in {change.current.label()}"
    if change.change is None:
        return f"{subject}: {now} in {change.current.label()}, against {before} in {change.baseline.label()}."
    if change.change == 0:
        return f"{subject} was unchanged at {now} in {change.current.label()} against {change.baseline.label()}."
    verb = "rose" if change.change > 0 else "fell"
    size = _amount(wanted, change.change)
    if wanted.format != "percent" and change.pct_change is not None:
        size = f"{abs(change.pct_change):.1%} ({_signed(wanted, change.change)})"
    return f"{subject} {verb} by {size}, {periods}."


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _significance(change: Delta) -> str:
    if change.p_value is None:
        return "There is too little data in one of the periods to test the change."
    if change.significant:
        return f"That is more than this slice's usual variation ({_p_text(change.p_value)})."
    return f"That is within this slice's usual variation ({_p_text(change.p_value)}), so it is not reported as a change."


def _segment_text(segment: Mapping[str, str]) -> str:
    return " × ".join(f"{DIMENSION_LABELS.get(d, d).lower()} {label(d, v)}" for d, v in segment.items())


def _drivers_sentence(wanted: Metric, drivers: list[Driver]) -> str:
    items = [f"{_segment_text(d.segment)} ({_signed(wanted, d.contribution)})" for d in drivers]
    return f"The largest contributions came from {_and(items)}."


def _events_sentence(nearby: pl.DataFrame, within_days: int) -> str:
    if not len(nearby):
        return f"No annotated event falls within {within_days} days of the period."
    items = [f"{r['title']} ({r['date']:%Y-%m-%d})" for r in nearby.iter_rows(named=True)]
    return f"Events nearby: {_and(items)}."

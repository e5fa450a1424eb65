"""Drill-down: a segment of a followed slice that moved far beyond its own noise, while the slice did not.

A harm area's total can hide its news: three countries' actions up 80 % move the whole harm area
by less than its weekly noise. For a watched metric whose change on a followed slice is not
reported, :func:`drill_down` looks inside the slice, one dimension at a time, and reports a
**segment** (one value of one dimension: ``country=FR``) when all of these hold:

1. **A real part of the slice** (:func:`examined_segments`): in the week or the week before, the
   segment held at least ``MIN_SEGMENT_SHARE`` (a hundredth) of the slice's ``volume_measure``.
   The floor is relative, not a count: a count's test is exact for a handful of events (the
   conditional test of :mod:`insights.significance`), so a small segment is only held to what its
   own counts can show. A rate's test is a normal approximation, so a rate is only tested on a
   segment with the follow's ``min_volume`` in both weeks (the floor the followed slice must
   clear); the others count as not rejected. These are the segments *examined*; there are ``k`` of
   them per slice, whatever happened in the week.
2. **It matters**: the segment's own change goes the watched way and clears the watch's own
   thresholds (:meth:`~insights.digest.subscriptions.Watch.matters`: by default 10 % for a count,
   2 pp for a rate), the bar the reader set for the slice.
3. **Beyond its own noise, corrected for what was looked at**: each examined segment is tested
   twice against its *own* noise (the noise of its own :func:`insights.trends.trend`): its week
   against the week before (:func:`insights.trends.measure_change`) and its recent weeks against
   as many weeks two months earlier (the ramp, :func:`insights.digest.ramp.ramp_change`). The
   ``2k`` tests share the level the digest gives the drill-down by the Benjamini–Hochberg
   procedure (:func:`benjamini_hochberg`): with the p-values sorted, the largest rank ``r`` whose
   p-value is under ``r × level / 2k`` and every smaller p-value are rejected. In a week where no
   segment moved, any rejection is a false one, so the procedure's false discovery rate is its
   chance of flagging anything: the drill-down of one slice and metric reports noise at most
   ``level`` of the time, as far as the noise model holds (and the tests are independent or
   positively related, as overlapping segments are). When several segments did move, each one
   found lowers the bar for the next, which Holm's step-down did not.

Only a segment already beyond the slice's noise carried over to it
(:func:`insights.trends.compare` by its dimension) at the uncorrected level is tested against its
own noise; the others count as not rejected (p = 1). That keeps a digest fast (few segments get
their own trend) and can only make the rule stricter, never looser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.digest.contributors import TOP_CONTRIBUTORS, Contributor, explain
from insights.digest.ramp import Rule, ramp_change, ramp_compare, ramp_periods, usual_growth
from insights.digest.subscriptions import Follow, Watch
from insights.filters import fixed_dimensions
from insights.metrics import Metric, measures, metric
from insights.periods import Period, grain_of
from insights.trends import Trend, compare, measure_change, trend

#: The least share of the slice's volume a segment must hold (in the week or the week before) to
#: be examined: a hundredth. Smaller corners of a slice are not its news, even when they double.
MIN_SEGMENT_SHARE = 0.01
#: The comparisons each examined segment gets: its week against the week before, and the ramp.
RULES: tuple[Rule, ...] = ("week", "ramp")


@dataclass(frozen=True)
class SegmentChange:
    """A segment of a followed slice that moved beyond its own noise (a drill-down's finding).

    ``segment`` is ``{dimension: value}``; ``rule`` says which comparison found it: "week" (the
    week against the week before) or "ramp" (the recent weeks against weeks two months
    earlier, :mod:`insights.digest.ramp`); ``change`` is that comparison, tested against the
    segment's own noise, with ``alpha`` the level it passed (so ``change.significant`` holds);
    ``trend`` is the segment's own series and band (its noise tested the change; the chart draws
    it). ``share`` and ``baseline_share`` are its part of the slice's volume measure in the week and
    the week before; ``examined`` is how many segments of the slice were examined (the k of the
    correction, which shares the level among its 2k tests); ``contributors`` explain the segment's
    change as a slice's are explained.
    """

    segment: dict[str, str]
    change: Change
    trend: Trend
    share: float
    baseline_share: float
    examined: int
    contributors: tuple[Contributor, ...] = ()
    rule: Rule = "week"


def volume_metric(measure: str) -> Metric:
    """A measure summed as a count metric (a follow's ``volume_measure``: its volume in a period)."""
    return Metric(measure, measures()[measure].label, measure, None, "count", None, "")


def examined_segments(
    cube: Cube, follow: Follow, *, current: Period, baseline: Period, min_share: float = MIN_SEGMENT_SHARE
) -> pl.DataFrame:
    """The segments of a followed slice a drill-down examines, with their volumes and shares.

    Each value of each dimension the follow does not fix to one value (and that has more than one
    value in the slice) with at least ``min_share`` of the slice's ``volume_measure`` in ``current``
    or in ``baseline``. Columns: ``dimension``, ``value``, ``volume``, ``baseline_volume``,
    ``share``, ``baseline_share`` (of the slice's volume in that period), in the cube's dimension
    order and by value. Empty when the cube does not have the volume measure.
    """
    schema = {"dimension": pl.String, "value": pl.String, "volume": pl.Float64, "baseline_volume": pl.Float64}
    schema |= {"share": pl.Float64, "baseline_share": pl.Float64}
    if follow.volume_measure not in cube.measures:
        return pl.DataFrame(schema=schema)
    volume, filters = volume_metric(follow.volume_measure), follow.cube_filters()
    fixed = fixed_dimensions(filters)
    tables = []
    for dimension in (d for d in cube.dimensions if d not in fixed):
        sides = [
            cube.sums(volume, by=[dimension], filters=filters, start=p.start, end=p.end).select(
                value=pl.col(dimension), **{name: pl.col("numerator").cast(pl.Float64)}
            )
            for p, name in ((current, "volume"), (baseline, "baseline_volume"))
        ]
        table = sides[0].join(sides[1], on="value", how="full", coalesce=True).drop_nulls("value").fill_null(0.0)
        if len(table) < 2:  # one value: the segment is the slice itself
            continue
        shares = {f"{p}share": pl.col(f"{p}volume") / pl.col(f"{p}volume").sum() for p in ("", "baseline_")}
        tables.append(table.with_columns(dimension=pl.lit(dimension), **shares).fill_nan(0.0).sort("value"))
    if not tables:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(tables)
        .filter((pl.col("share") >= min_share) | (pl.col("baseline_share") >= min_share))
        .select(*schema)
    )


def benjamini_hochberg(p_values: Sequence[float | None], level: float, tests: int) -> list[float | None]:
    """The Benjamini–Hochberg procedure at ``level`` over ``tests`` hypotheses, of which
    ``p_values`` are the tested ones (the others count as p = 1, never rejected).

    Returns, per p-value, the level it was rejected at, or None when it is not rejected: with the
    p-values sorted, ``r`` is the largest rank (1 for the smallest) whose p-value is under
    ``r × level / tests``; the ``r`` smallest are rejected, each at ``r × level / tests``. The
    procedure holds the expected share of true hypotheses among those rejected at ``level``, and
    so, when every hypothesis is true, the chance of rejecting any; it never rejects less than
    Bonferroni's ``level / tests`` for each.
    """
    if len(p_values) > tests:
        raise ValueError(f"{len(p_values)} p-values for {tests} tests")
    order = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    passed = max((rank for rank, (p, _) in enumerate(order, 1) if p < rank * level / tests), default=0)
    found: list[float | None] = [None] * len(p_values)
    for _, index in order[:passed]:
        found[index] = passed * level / tests
    return found


def drill_down(
    cube: Cube,
    follow: Follow,
    watch: Watch,
    change: Change,
    *,
    fitted: Trend,
    examined: pl.DataFrame,
    level: float,
    first_day: dt.date,
    top: int = TOP_CONTRIBUTORS,
) -> tuple[SegmentChange, ...]:
    """The segments of a followed slice that moved beyond their own noise (the module's rule).

    ``change`` is the watched metric's change on the whole slice against the period before (its
    periods are the drill-down's) and ``fitted`` the slice's trend (its noise is the screen's);
    ``examined`` the slice's :func:`examined_segments`; ``level`` the level the drill-down of this
    slice and metric has; ``first_day`` the data's first day (a ramp needs its earlier weeks).
    Returns at most ``top`` segments, the strongest evidence first, each once (by the comparison
    that found it most surely) with its contributors; of segments holding the same events (a
    country and its only language) the first only, and a segment whose leading contributor lies
    inside one already listed (English speakers moved through Africa's trusted flaggers, Africa is
    listed) not again: the places are kept for news of its own.
    """
    filters = follow.cube_filters()
    current, baseline = change.current, change.baseline
    growth = usual_growth(fitted, current) if ramp_periods(current)[1].start >= first_day else None
    readable = examined
    if metric(watch.metric).is_ratio:  # a rate's test is a normal approximation: only on enough volume
        readable = examined.filter(pl.min_horizontal("volume", "baseline_volume") >= follow.min_volume)
    candidates: dict[tuple[str, str], set[Rule]] = {}
    for (dimension,), values in readable.group_by("dimension", maintain_order=True):
        screens: dict[Rule, pl.DataFrame] = {
            "week": compare(
                cube,
                watch.metric,
                current=current,
                baseline=baseline,
                by=[dimension],
                filters=filters,
                noise=fitted.noise,
            )
        }
        if growth is not None:  # the slice's usual growth and spread, carried over to its segments
            screens["ramp"] = ramp_compare(cube, growth, watch.metric, current=current, filters=filters, by=[dimension])
        for rule, compared in screens.items():
            rows = compared.filter(pl.col(dimension).is_in(values["value"].to_list()) & (pl.col("p_value") < level))
            for row in rows.iter_rows(named=True):
                if watch.matters(row["change"], row["pct_change"]):
                    candidates.setdefault((str(dimension), row[dimension]), set()).add(rule)
    tested: list[tuple[dict[str, str], Rule, Trend, Change]] = []
    for (dimension, value), rules in candidates.items():
        segment = {dimension: value}
        inside = {**filters, **segment}
        own = trend(cube, watch.metric, grain_of(current), inside, end=current.end)
        for rule in (r for r in RULES if r in rules):
            moved = (
                measure_change(cube, watch.metric, current=current, baseline=baseline, filters=inside, noise=own.noise)
                if rule == "week"
                else ramp_change(cube, own, current, inside, first_day=first_day)
            )
            if moved is not None and watch.matters(moved.change, moved.pct_change):
                tested.append((segment, rule, own, moved))
    levels = benjamini_hochberg([c.p_value for *_, c in tested], level, len(RULES) * len(examined))
    kept = [(s, rule, own, replace(c, alpha=at)) for (s, rule, own, c), at in zip(tested, levels, strict=True) if at]
    passed = sorted(kept, key=lambda found: found[3].p_value or 0.0)
    shares = {(r["dimension"], r["value"]): r for r in examined.iter_rows(named=True)}
    found: list[SegmentChange] = []
    for segment, rule, own, moved in passed:
        if len(found) >= top:
            break
        if any(f.segment == segment or _same_events(moved) == _same_events(f.change) for f in found):
            continue
        why = explain(cube, moved, top)
        if why and any(_inside(why[0].segment, f.segment) for f in found):
            continue  # it moved through a segment already listed: the same news, seen from another side
        [(dimension, value)] = segment.items()
        row = shares[(dimension, value)]
        found.append(SegmentChange(segment, moved, own, row["share"], row["baseline_share"], len(examined), why, rule))
    return tuple(found)


def _inside(segment: dict[str, str], listed: dict[str, str]) -> bool:
    """True when ``segment`` fixes every dimension of ``listed`` to its value (it lies inside it)."""
    return all(segment.get(dimension) == value for dimension, value in listed.items())


def _same_events(change: Change) -> tuple[float | None, float | None, float | None]:
    """What tells that two segments hold the same events (a country and the one language spoken in
    it): the same value in both periods and the same p-value against the same own series. Of such
    twins only the first is reported."""
    return change.value, change.baseline_value, change.p_value


__all__ = [
    "MIN_SEGMENT_SHARE",
    "RULES",
    "SegmentChange",
    "benjamini_hochberg",
    "drill_down",
    "examined_segments",
    "volume_metric",
]

"""Drill-down: a segment of a followed slice that moved far beyond its own noise, while the slice did not.

A harm area's total can hide its news: three countries' actions up 80 % move the whole harm area
by less than its weekly noise. For a watched metric whose change on a followed slice is not
reported, :func:`drill_down` looks inside the slice, one dimension at a time, and reports a
**segment** (one value of one dimension: ``country=FR``) when all of these hold:

1. **Big enough to read, and a real part of the slice** (:func:`examined_segments`): in the week
   or the week before, the segment had at least the follow's ``min_volume`` of its
   ``volume_measure`` — the floor the followed slice itself must clear — and at least
   ``MIN_SEGMENT_SHARE`` (a hundredth) of the slice's. These are the segments *examined*; there
   are ``k`` of them per slice, whatever happened in the week.
2. **It matters**: the segment's own change goes the watched way and clears the watch's own
   thresholds (:meth:`~insights.digest.subscriptions.Watch.matters`: by default 10 % for a count,
   2 pp for a rate), the bar the reader set for the slice.
3. **Beyond its own noise, corrected for the k segments examined**: the segment's change is
   tested by :func:`insights.trends.measure_change` against the segment's *own* week-to-week noise
   (the noise of its own :func:`insights.trends.trend`), and the k segments share the level the
   digest gives the drill-down by Holm's step-down procedure (:func:`holm_levels`): the smallest
   p-value is held to level / k, the next to level / (k − 1), …, stopping at the first that fails.
   So, as far as the noise model holds, the drill-down of one slice and metric reports noise at
   most ``level`` of the time, however many segments it looks at.

Only a segment already beyond the slice's noise carried over to it
(:func:`insights.trends.compare` by its dimension) at the uncorrected level is tested against its
own noise; the others count as not rejected (p = 1). That keeps a digest fast (few segments get
their own trend) and can only make the rule stricter, never looser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.digest.contributors import TOP_CONTRIBUTORS, Contributor, explain
from insights.digest.subscriptions import Follow, Watch
from insights.filters import fixed_dimensions
from insights.metrics import Metric, measures
from insights.periods import Period, grain_of
from insights.significance import Noise
from insights.trends import Trend, compare, measure_change, trend

#: The least share of the slice's volume a segment must hold (in the week or the week before) to
#: be examined: a hundredth. Smaller corners of a slice are not its news, even when they double.
MIN_SEGMENT_SHARE = 0.01


@dataclass(frozen=True)
class SegmentChange:
    """A segment of a followed slice that moved beyond its own noise (a drill-down's finding).

    ``segment`` is ``{dimension: value}``; ``change`` is the segment's change, tested against its
    own noise, with ``alpha`` the Holm level it passed (so ``change.significant`` holds); ``trend``
    is the segment's own series and band (its noise tested the change; the chart draws it).
    ``share`` and ``baseline_share`` are its part of the slice's volume measure in the week and the
    week before; ``examined`` is how many segments of the slice were examined (the k of the
    correction); ``contributors`` explain the segment's change as a slice's are explained.
    """

    segment: dict[str, str]
    change: Change
    trend: Trend
    share: float
    baseline_share: float
    examined: int
    contributors: tuple[Contributor, ...] = ()


def volume_metric(measure: str) -> Metric:
    """A measure summed as a count metric (a follow's ``volume_measure``: its volume in a period)."""
    return Metric(measure, measures()[measure].label, measure, None, "count", None, "")


def examined_segments(
    cube: Cube, follow: Follow, *, current: Period, baseline: Period, min_share: float = MIN_SEGMENT_SHARE
) -> pl.DataFrame:
    """The segments of a followed slice a drill-down examines, with their volumes and shares.

    Each value of each dimension the follow does not fix to one value (and that has more than one
    value in the slice) with at least the follow's ``min_volume`` of its ``volume_measure`` and at
    least ``min_share`` of the slice's in ``current`` or in ``baseline``. Columns: ``dimension``,
    ``value``, ``volume``, ``baseline_volume``, ``share``, ``baseline_share`` (of the slice's
    volume in that period), in the cube's dimension order and by value. Empty when the cube does
    not have the volume measure.
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
    big = [(pl.col(f"{p}volume") >= follow.min_volume) & (pl.col(f"{p}share") >= min_share) for p in ("", "baseline_")]
    return pl.concat(tables).filter(big[0] | big[1]).select(*schema)


def holm_levels(p_values: Sequence[float | None], level: float, tests: int) -> list[float | None]:
    """Holm's step-down procedure at ``level`` over ``tests`` hypotheses, of which ``p_values`` are
    the tested ones (the others count as p = 1, never rejected).

    Returns, per p-value, the level it was rejected at (``level / (tests - rank)``, rank 0 for the
    smallest p-value), or None when it is not rejected: the p-values are taken smallest first, each
    against its level, and the first that is not under its level stops the procedure. Holm's
    procedure holds the chance of rejecting any true hypothesis at ``level`` (like Bonferroni's
    ``level / tests`` for each, which it never rejects less than).
    """
    if len(p_values) > tests:
        raise ValueError(f"{len(p_values)} p-values for {tests} tests")
    found: list[float | None] = [None] * len(p_values)
    order = sorted(range(len(p_values)), key=lambda i: 1.0 if p_values[i] is None else p_values[i])  # type: ignore[arg-type,return-value]
    for rank, index in enumerate(order):
        step = level / (tests - rank)
        p_value = p_values[index]
        if p_value is None or not p_value < step:
            break
        found[index] = step
    return found


def drill_down(
    cube: Cube,
    follow: Follow,
    watch: Watch,
    change: Change,
    *,
    noise: Noise,
    examined: pl.DataFrame,
    level: float,
    top: int = TOP_CONTRIBUTORS,
) -> tuple[SegmentChange, ...]:
    """The segments of a followed slice that moved beyond their own noise (the module's rule).

    ``change`` is the watched metric's change on the whole slice (its periods are the drill-down's)
    and ``noise`` the slice's noise model (the screen's); ``examined`` the slice's
    :func:`examined_segments`; ``level`` the level the drill-down of this slice and metric has.
    Returns at most ``top`` segments, the strongest evidence first, each with its contributors; of
    segments holding the same events (a country and its only language) the first only.
    """
    filters = follow.cube_filters()
    current, baseline = change.current, change.baseline
    tested: list[tuple[dict[str, str], Trend, Change]] = []
    for (dimension,), values in examined.group_by("dimension", maintain_order=True):
        rows = compare(
            cube, watch.metric, current=current, baseline=baseline, by=[dimension], filters=filters, noise=noise
        ).filter(pl.col(dimension).is_in(values["value"].to_list()) & (pl.col("p_value") < level))
        for row in rows.iter_rows(named=True):
            if not watch.matters(row["change"], row["pct_change"]):
                continue
            segment = {str(dimension): row[dimension]}
            inside = {**filters, **segment}
            own = trend(cube, watch.metric, grain_of(current), inside, end=current.end)
            tested.append(
                (
                    segment,
                    own,
                    measure_change(
                        cube, watch.metric, current=current, baseline=baseline, filters=inside, noise=own.noise
                    ),
                )
            )
    levels = holm_levels([c.p_value for _, _, c in tested], level, len(examined))
    passed = sorted(
        ((segment, own, replace(c, alpha=at)) for (segment, own, c), at in zip(tested, levels, strict=True) if at),
        key=lambda found: found[2].p_value or 0.0,
    )
    shares = {(r["dimension"], r["value"]): r for r in examined.iter_rows(named=True)}
    found: list[SegmentChange] = []
    for segment, own, moved in passed:
        if len(found) >= top:
            break
        if any(_same_events(moved) == _same_events(f.change) for f in found):
            continue
        [(dimension, value)] = segment.items()
        row = shares[(dimension, value)]
        found.append(
            SegmentChange(
                segment, moved, own, row["share"], row["baseline_share"], len(examined), explain(cube, moved, top)
            )
        )
    return tuple(found)


def _same_events(change: Change) -> tuple[float | None, float | None, float | None]:
    """What tells that two segments hold the same events (a country and the one language spoken in
    it): the same value in both weeks and the same p-value against the same own series. Of such
    twins only the first is reported."""
    return change.value, change.baseline_value, change.p_value


__all__ = ["MIN_SEGMENT_SHARE", "SegmentChange", "drill_down", "examined_segments", "holm_levels", "volume_metric"]

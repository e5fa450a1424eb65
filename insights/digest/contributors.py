"""What explains a change in a digest: the few segments it lists, with their part of the change.

:func:`explain` runs the library's root cause (:func:`insights.rootcause.explain_change`) on the
change a digest reports — of a followed slice, or of a segment inside it that a drill-down found —
and :func:`top_contributors` keeps the segments a reader is shown, as :class:`Contributor` results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.narrative import drivers_from_explanation
from insights.rootcause import ChangeExplanation, explain_change

#: Contributors listed per reported metric, and the least share of the change one must explain.
TOP_CONTRIBUTORS = 3
MIN_SHARE = 0.1


@dataclass(frozen=True)
class Contributor:
    """A segment's part in a change, as ``explain_change`` measured it (its ``contributors`` row).

    ``before`` and ``after`` are the metric on the segment in each period, ``contribution`` its
    part of the change in the metric's unit, ``share`` that part over the whole change. For a rate,
    ``weight_before`` and ``weight_after`` are the segment's shares of the slice's denominator (a
    rate moves through its segments' rates and through their weights). ``localized`` marks a root
    cause ``localize`` found (listed first).
    """

    segment: dict[str, str]
    before: float | None
    after: float | None
    contribution: float
    share: float | None
    p_value: float | None
    localized: bool = False
    weight_before: float | None = None
    weight_after: float | None = None


def explain(cube: Cube, change: Change, top: int = TOP_CONTRIBUTORS) -> tuple[Contributor, ...]:
    """The ``top`` contributors of a measured change (its metric, periods and slice), by
    ``explain_change`` with the change as its headline."""
    why = explain_change(
        cube, change.metric, current=change.current, baseline=change.baseline, filters=change.filters, change=change
    )
    return top_contributors(why, top)


def top_contributors(
    explanation: ChangeExplanation, top: int = TOP_CONTRIBUTORS, min_share: float = MIN_SHARE
) -> tuple[Contributor, ...]:
    """The ``top`` segments that explain a change: the root causes ``localize`` found first, then the
    app narrative's drivers (listed segments that moved the way of the change, most surprising
    first), each once and only if it explains at least ``min_share`` of the change, with their
    numbers from ``explain_change``'s ``contributors``."""
    rows = explanation.contributors.filter(~pl.col("other"))
    candidates = len(rows)
    found: list[Contributor] = []
    wanted = [(s, True) for s in explanation.localized] + [
        (d.segment, False) for d in drivers_from_explanation(explanation, top=candidates)
    ]
    for segment, localized in wanted:
        if len(found) >= top or any(c.segment == segment for c in found):
            continue
        row = _segment_row(rows, explanation.dims, segment)
        if row is None or row["share"] is None or row["share"] < min_share:
            continue
        found.append(
            Contributor(
                segment={d: segment[d] for d in explanation.dims if d in segment},  # the breakdown's order
                before=row["before"],
                after=row["after"],
                contribution=row["contribution"],
                share=row["share"],
                p_value=row["p_value"],
                localized=localized,
                weight_before=row.get("weight_before"),
                weight_after=row.get("weight_after"),
            )
        )
    return tuple(found)


def _segment_row(rows: pl.DataFrame, dims: Sequence[str], segment: Mapping[str, str]) -> dict | None:
    """The contributors row of exactly this segment (its dimensions set, the others null), or None."""
    if any(d not in dims for d in segment):
        return None
    match = pl.lit(True)
    for d in dims:
        match = match & ((pl.col(d) == segment[d]) if d in segment else pl.col(d).is_null())
    hit = rows.filter(match)
    return hit.row(0, named=True) if len(hit) else None

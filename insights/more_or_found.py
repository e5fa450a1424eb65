"""Are we removing more because there is more, or because we find more?

Enforcement per view splits exactly into how much harm there is and how much of it is acted on::

    actions / views  =  prevalence  ×  actions / violating views
    (enforcement)       (more harm)    (finding more: actions per violating view)

with prevalence = violating views / views estimated from the labelled view sample. So a change
of ``actions_per_million_views`` between two periods splits, like any product, into a part due
to prevalence and a part due to actions per violating view; with the log-mean (LMDI-I) weights
``L = (E1 − E0) / ln(E1/E0)`` the two parts ``L·ln(p1/p0)`` and ``L·ln(q1/q0)`` add up exactly
to ``E1 − E0`` (see ``insights.rootcause.exposure_split`` for the same split of a rate into
numerator and denominator). The prevalence part is as uncertain as the prevalence change: it
is only read as "more harm" when that change is more than noise (``insights.kpis.prevalence_change``).

``actions per violating view`` is a ratio of two different things (actions are counted when
taken, violating views when they happen; an action can end many views), so read its *change*,
not its level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from insights.exposed import ExposedCube
from insights.filters import Filters, normalise_filters
from insights.formatting import signed
from insights.kpis import PrevalenceChange, prevalence_change
from insights.labels import label
from insights.metrics import as_metric
from insights.prevalence import PrevalenceGrain

#: The columns of ``enforcement_against_prevalence``.
COLUMNS = (
    "period",
    "harm_area",
    "enforcement",
    "numerator",
    "denominator",
    "prevalence",
    "prevalence_lower",
    "prevalence_upper",
    "prevalence_status",
    "prevalence_reported",
    "actions_per_violating_view",
)


def enforcement_against_prevalence(
    cube: ExposedCube,
    metric: str = "actions_per_million_views",
    grain: PrevalenceGrain = "quarter",
    *,
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
    harm_areas: Sequence[str] | None = None,
    **options: Any,
) -> pl.DataFrame:
    """Per period and harm area: enforcement per view and prevalence, side by side.

    ``enforcement`` is ``metric`` (a per-view rate, default actions per million views) with its
    sums ``numerator`` and ``denominator``; ``prevalence`` (null unless a point estimate),
    ``prevalence_lower`` / ``prevalence_upper`` / ``prevalence_status`` / ``prevalence_reported``
    come from ``cube.prevalence`` on the same slice (filters prevalence cannot apply are left out
    of it: ``cube.prevalence_filters``); ``actions_per_violating_view`` = numerator /
    (prevalence × denominator). ``grain`` ``all`` gives one row per harm area over the dates.
    """
    wanted = as_metric(metric)
    if wanted.denominator != "views":
        raise ValueError(f"{wanted.name!r} is not per view; prevalence is a share of views")
    chosen = normalise_filters(filters).get("harm_area")
    areas = list(harm_areas) if harm_areas is not None else chosen
    prevalence = cube.prevalence(grain, filters=filters, start=start, end=end, harm_areas=areas, **options)
    enforcement_grain = None if grain == "all" else grain
    sums = cube.sums(wanted, by=["harm_area"], filters=filters, grain=enforcement_grain, start=start, end=end)
    if grain == "all":
        sums = sums.with_columns(period=pl.lit(prevalence["period"].min() if prevalence.height else None))
    frame = prevalence.select(
        "period",
        "harm_area",
        prevalence="estimate",
        prevalence_lower="lower",
        prevalence_upper="upper",
        prevalence_status="status",
        prevalence_reported="reported",
    ).join(
        sums.select("period", "harm_area", "numerator", "denominator", enforcement=wanted.name),
        on=["period", "harm_area"],
        how="left",
    )
    return frame.with_columns(
        actions_per_violating_view=pl.col("numerator") / (pl.col("prevalence") * pl.col("denominator"))
    ).select(COLUMNS)


@dataclass(frozen=True)
class MoreOrFound:
    """One harm area's enforcement change between two rows of ``enforcement_against_prevalence``,
    split into prevalence (more harm) and actions per violating view (finding more).

    ``prevalence_part + found_part == change`` exactly (LMDI-I); None where prevalence has no
    point estimate in a period. ``prevalence_change`` says whether prevalence moved more than
    noise.
    """

    harm_area: str
    metric: str
    baseline: dict
    current: dict
    change: float | None
    prevalence_part: float | None
    found_part: float | None
    prevalence_change: PrevalenceChange

    def text(self) -> str:
        """One sentence answering the question for the harm area."""
        name = label("harm_area", self.harm_area)
        m = as_metric(self.metric)
        before, after = self.baseline.get("enforcement"), self.current.get("enforcement")
        if before is None or after is None or self.change is None:
            return f"{name}: no {m.label.lower()} to compare."
        moved = f"{name}: {m.label.lower()} {before:,.1f} → {after:,.1f} ({signed((after / before - 1) * 100, '%')})"
        if self.prevalence_part is None or self.found_part is None:
            return f"{moved}; prevalence has no point estimate in both periods, so it cannot say why."
        harm = "more harm" if self.prevalence_part > 0 else "less harm"
        found = "finding more" if self.found_part > 0 else "finding less"
        if not self.prevalence_change.different:
            verdict = "prevalence did not move beyond its noise, so the change is mostly in what is found"
        elif abs(self.prevalence_part) >= abs(self.found_part):
            verdict = f"mostly because there is {'more' if self.prevalence_part > 0 else 'less'} harm"
        else:
            verdict = f"mostly because we are {found}"
        return (
            f"{moved}: {self.prevalence_part:+,.1f} from prevalence ({harm}), "
            f"{self.found_part:+,.1f} from actions per violating view ({found}); {verdict}."
        )


def more_or_found(frame: pl.DataFrame, harm_area: str, metric: str = "actions_per_million_views") -> MoreOrFound:
    """The split of one harm area's enforcement change from its first to its last period in
    ``frame`` (``enforcement_against_prevalence`` output); see the module docstring."""
    rows = frame.filter(pl.col("harm_area") == harm_area).sort("period")
    if rows.height < 2:
        raise ValueError(f"{harm_area!r} needs two periods in the frame, found {rows.height}")
    before, after = rows.row(0, named=True), rows.row(-1, named=True)
    e0, e1, p0, p1 = before["enforcement"], after["enforcement"], before["prevalence"], after["prevalence"]
    tested = prevalence_change(_as_prevalence(after), _as_prevalence(before))
    if None in (e0, e1) or not e0 or not e1:
        return MoreOrFound(harm_area, metric, before, after, None, None, None, tested)
    change = e1 - e0
    if p0 is None or p1 is None or not p0 or not p1:
        return MoreOrFound(harm_area, metric, before, after, change, None, None, tested)
    mean = e0 if e1 == e0 else change / math.log(e1 / e0)
    q0, q1 = e0 / p0, e1 / p1
    return MoreOrFound(
        harm_area, metric, before, after, change, mean * math.log(p1 / p0), mean * math.log(q1 / q0), tested
    )


def _as_prevalence(row: dict) -> dict:
    """A frame row in ``prevalence_change``'s terms."""
    return {
        "estimate": row["prevalence"],
        "lower": row["prevalence_lower"],
        "upper": row["prevalence_upper"],
        "status": row["prevalence_status"],
    }

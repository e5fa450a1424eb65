"""Did a per-exposure rate move because enforcement moved or because exposure did?

A per-exposure rate is ``R = k·N/D``: actions (enforcement, the numerator) per views or uploads
(exposure, the denominator). Between a baseline (``N0, D0``) and a current period (``N1, D1``)
its change is split into a part due to the numerator and a part due to the denominator that add
up *exactly* to ``R1 − R0``.

**The split: log-mean (LMDI-I).** ``ln R = ln k + ln N − ln D``, so with the logarithmic mean
``L = (R1 − R0) / (ln R1 − ln R0)`` (``L = R0`` when ``R1 = R0``)::

    enforcement = L · ln(N1 / N0)        exposure = −L · ln(D1 / D0)

which add up to ``L · ln(R1/R0) = R1 − R0`` exactly (Ang 2004, "Decomposition analysis for
policymaking in energy", LMDI-I). It is symmetric in time (swapping the periods negates both
parts), leaves no residual, gives a factor that did not move exactly 0, and splits a change in
proportion to the *relative* moves of the two factors: a 10 % rise in actions with a 10 % rise in
views gives two equal and opposite parts. It needs positive sums: where the numerator is 0 in a
period (no actions: ``ln 0``) the **symmetric (Shapley) split** is used instead, the mean of the
two one-factor-at-a-time orders::

    enforcement = k·(N1 − N0)·(1/D0 + 1/D1)/2      exposure = k·(1/D1 − 1/D0)·(N0 + N1)/2

also exact. ``method`` says which was used. Without exposure in a period (``D = 0``) the rate is
undefined and so is the split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from insights.cube import Cube
from insights.filters import Filters, normalise_filters
from insights.formatting import signed_amount_text, value_text
from insights.metrics import Metric, as_metric
from insights.periods import Period, PeriodLike, as_period

SplitMethod = Literal["lmdi", "symmetric"]


def split_rate_change(
    numerator_before: float,
    denominator_before: float,
    numerator_after: float,
    denominator_after: float,
    scale: float = 1.0,
) -> tuple[float, float, SplitMethod] | None:
    """``(enforcement, exposure, method)``: the parts of ``k·N1/D1 − k·N0/D0`` due to the
    numerator and to the denominator (module docstring); None when a denominator is not positive."""
    n0, d0, n1, d1 = (float(x) for x in (numerator_before, denominator_before, numerator_after, denominator_after))
    if not (d0 > 0 and d1 > 0) or n0 < 0 or n1 < 0:
        return None
    r0, r1 = scale * n0 / d0, scale * n1 / d1
    if n0 > 0 and n1 > 0:
        mean = r0 if r1 == r0 else (r1 - r0) / math.log(r1 / r0)
        return mean * math.log(n1 / n0), -mean * math.log(d1 / d0), "lmdi"
    enforcement = scale * (n1 - n0) * (1 / d0 + 1 / d1) / 2
    return enforcement, scale * (1 / d1 - 1 / d0) * (n0 + n1) / 2, "symmetric"


@dataclass(frozen=True)
class ExposureSplit:
    """A per-exposure rate's change between two periods, split into enforcement and exposure.

    ``enforcement + exposure == change`` (each part by its own formula; they add up to the change
    up to float rounding). ``enforcement_pct`` / ``exposure_pct`` are the relative moves of the numerator and the
    denominator. None everywhere when the rate is undefined in a period.
    """

    metric: str
    current: Period
    baseline: Period
    value: float | None
    baseline_value: float | None
    numerator: float
    baseline_numerator: float
    denominator: float
    baseline_denominator: float
    enforcement: float | None
    exposure: float | None
    method: SplitMethod | None
    filters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def change(self) -> float | None:
        """``value − baseline_value``."""
        return None if self.value is None or self.baseline_value is None else self.value - self.baseline_value

    @property
    def enforcement_pct(self) -> float | None:
        """Relative change of the numerator (actions)."""
        return self.numerator / self.baseline_numerator - 1 if self.baseline_numerator else None

    @property
    def exposure_pct(self) -> float | None:
        """Relative change of the denominator (views or uploads)."""
        return self.denominator / self.baseline_denominator - 1 if self.baseline_denominator else None

    def text(self) -> str:
        """One sentence: 'Actions per million views went from 98.20 to 112.40 (+14.20): +18.90 from
        enforcement (actions +22.0%) and -4.70 from exposure (views +4.8%).'"""
        m = as_metric(self.metric)
        change, enforcement, exposure = self.change, self.enforcement, self.exposure
        if change is None or enforcement is None or exposure is None:
            return f"{m.label}: no rate to compare (no {m.denominator} in a period)"
        moves = [
            f"{signed_amount_text(m, enforcement)} from enforcement ({m.numerator} {_pct(self.enforcement_pct)})",
            f"{signed_amount_text(m, exposure)} from exposure ({m.denominator} {_pct(self.exposure_pct)})",
        ]
        return (
            f"{m.label} went from {value_text(m, self.baseline_value)} to {value_text(m, self.value)} "
            f"({signed_amount_text(m, change)}): {moves[0]} and {moves[1]}."
        )


def _pct(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{fraction * 100:+.1f}%"


def exposure_split(
    cube: Cube,
    metric: str | Metric,
    *,
    current: PeriodLike,
    baseline: PeriodLike,
    filters: Filters | None = None,
) -> ExposureSplit:
    """The change of a per-exposure rate (``actions_per_million_views`` …) on a slice between
    ``baseline`` and ``current``, split into enforcement (numerator) and exposure (denominator)
    so that the two add up exactly to the change (LMDI-I; see the module docstring).

    The sums come from ``cube.sums`` (an ``ExposedCube`` for event data), so the numerator and
    denominator are the ones every page shows.
    """
    wanted = as_metric(metric)
    if not wanted.is_ratio:
        raise ValueError(f"{wanted.name!r} is a count; only a rate has a numerator and a denominator to split")
    frame = exposure_splits(cube, wanted, current=current, baseline=baseline, filters=filters)
    row = frame.row(0, named=True) if frame.height else {}
    return _split_of(wanted, as_period(current), as_period(baseline), row, normalise_filters(filters))


def exposure_splits(
    cube: Cube,
    metric: str | Metric,
    *,
    current: PeriodLike,
    baseline: PeriodLike,
    by: Sequence[str] = (),
    filters: Filters | None = None,
) -> pl.DataFrame:
    """``exposure_split`` for every value of ``by`` (e.g. per harm area), as a frame.

    Columns: the ``by`` keys, ``baseline_value``, ``value``, ``change``, ``enforcement``,
    ``exposure``, ``method``, and the sums ``baseline_numerator``, ``numerator``,
    ``baseline_denominator``, ``denominator`` (0 where a key has no data in a period).
    """
    wanted = as_metric(metric)
    now, before = as_period(current), as_period(baseline)
    keys = list(by)
    sides = [
        cube.sums(wanted, by=keys, filters=filters, start=p.start, end=p.end).select(
            *keys, pl.col("numerator").alias(f"{prefix}numerator"), pl.col("denominator").alias(f"{prefix}denominator")
        )
        for prefix, p in (("", now), ("baseline_", before))
    ]
    if keys:
        sums = sides[0].join(sides[1], on=keys, how="full", coalesce=True, nulls_equal=True)
    else:
        sums = pl.concat(sides, how="horizontal")
    sums = sums.with_columns(pl.exclude(keys).fill_null(0))
    rows = []
    for row in sums.iter_rows(named=True):
        split = _split_of(wanted, now, before, row, {})
        rows.append(
            {
                **{k: row[k] for k in keys},
                "baseline_value": split.baseline_value,
                "value": split.value,
                "change": split.change,
                "enforcement": split.enforcement,
                "exposure": split.exposure,
                "method": split.method,
                "baseline_numerator": split.baseline_numerator,
                "numerator": split.numerator,
                "baseline_denominator": split.baseline_denominator,
                "denominator": split.denominator,
            }
        )
    schema: dict[str, Any] = {
        **{k: sums.schema[k] for k in keys},
        **dict.fromkeys(["baseline_value", "value", "change", "enforcement", "exposure"], pl.Float64),
        "method": pl.String,
        **dict.fromkeys(["baseline_numerator", "numerator", "baseline_denominator", "denominator"], pl.Float64),
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(keys) if keys else pl.DataFrame(rows, schema=schema)


def _split_of(
    metric: Metric, current: Period, baseline: Period, row: dict, filters: dict[str, list[str]]
) -> ExposureSplit:
    """An ``ExposureSplit`` from a row of sums (missing sums count 0)."""
    n1, d1 = float(row.get("numerator") or 0), float(row.get("denominator") or 0)
    n0, d0 = float(row.get("baseline_numerator") or 0), float(row.get("baseline_denominator") or 0)
    parts = split_rate_change(n0, d0, n1, d1, metric.scale)
    enforcement, exposure, method = parts if parts is not None else (None, None, None)
    return ExposureSplit(
        metric=metric.name,
        current=current,
        baseline=baseline,
        value=metric.value(n1, d1),
        baseline_value=metric.value(n0, d0),
        numerator=n1,
        baseline_numerator=n0,
        denominator=d1,
        baseline_denominator=d0,
        enforcement=enforcement,
        exposure=exposure,
        method=method,
        filters=filters,
    )

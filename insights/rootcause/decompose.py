"""Additive decomposition of a metric's change between a baseline and a current period.

A metric's change is split over segments (``{"country": "FR"}``, ``{"country": "FR",
"language": "fr"}``…) so that the segments of any partition of the slice — every value of one
dimension, of a pair of dimensions, the children of a tree node — add up *exactly* to the
change. The figures come from the sums behind the metric (``Cube.sums``), never from averages
of rates.

**Counts** (``actions``): a segment with totals ``x0`` (baseline) and ``x1`` (current)
contributes ``x1 − x0``; these add up to ``after − before``. (Periods of different lengths are
compared as totals, as everywhere in the product; the significance tests use the lengths.)

**Ratios** (``R = k·A/B``: proactive rate, overturn rate…). With the whole slice's baseline and
current sums ``A0, B0, A1, B1``, rates ``R0 = A0/B0`` and ``R1 = A1/B1`` and their mean
``R̄ = (R0 + R1)/2``, a segment with sums ``a0, b0, a1, b1`` contributes::

    c = k · [ (a1 − R̄·b1)/B1 − (a0 − R̄·b0)/B0 ]

which is linear in the segment's sums, so it adds up over any partition, and over the whole
slice it gives ``k·[(R1 − R̄) − (R0 − R̄)] = k·(R1 − R0)``. With the segment's weights
``w = b/B`` and rates ``r = a/b`` it is the symmetric (Bennet) shift-share split::

    c = k·w̄·(r1 − r0)  +  k·(w1 − w0)·(r̄ − R̄)        w̄ = (w0 + w1)/2,  r̄ = (r0 + r1)/2
        rate effect        mix effect

(exact because ``w1·r1 − w0·r0 = w̄·Δr + Δw·r̄`` and the weights' changes sum to zero, so the
``R̄`` term cancels overall). Centering the mix effect on ``R̄`` gives a segment that only grows
at the slice's own rate a zero mix effect. A segment absent from one period takes the other
period's rate, so its whole contribution is mix.

**Per-exposure rates** (``actions_per_million_views`` on an ``insights.exposed.ExposedCube``):
their denominator (views, uploads) is only cut by the exposure's dimensions (country, region,
content type) — every harm area of a slice has the slice's views — so their change is
decomposed over those dimensions only (``compare_leaves`` drops the others). Explain the
numerator (``actions``) to see harm areas, policies or detection sources, and split the change
into exposure and enforcement with ``insights.rootcause.exposure_split``.

**Surprise** (Adtributor, Bhagwan et al. 2014) says how unexpected a segment's move is: the
Jensen–Shannon divergence (base 2) between its share of the parent's baseline, ``p``, and of
the parent's current period, ``q``: ``½·[p·log2(2p/(p+q)) + q·log2(2q/(p+q))]``. For a ratio it
is the sum over numerator and denominator. A segment whose move is shared evenly by its
children is more surprising than each child; a child that carries its parent's whole move is
more surprising than the parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import polars as pl

from insights.cube import Cube
from insights.filters import Filters
from insights.metrics import Metric, as_metric
from insights.periods import Period, PeriodLike, as_period

#: The sums a segment carries: numerator and denominator in the baseline and current period.
NUMERATORS = ("num_before", "num_after")
DENOMINATORS = ("den_before", "den_after")


@dataclass(frozen=True)
class Comparison:
    """One metric's sums in a baseline and a current period, for every leaf of ``dims``.

    ``leaves`` has the ``dims`` columns (String) and the sum columns ``num_before``,
    ``num_after`` (and ``den_before``, ``den_after`` for a ratio metric), 0 where a leaf has
    no data in a period. ``dims`` keeps only the dimensions with more than one value.
    """

    metric: Metric
    baseline: Period
    current: Period
    dims: tuple[str, ...]
    leaves: pl.DataFrame

    @property
    def sum_columns(self) -> tuple[str, ...]:
        """Names of the sum columns."""
        return NUMERATORS + DENOMINATORS if self.metric.is_ratio else NUMERATORS

    def totals(self) -> dict[str, float]:
        """The sums over the whole compared slice."""
        return self.leaves.select(pl.col(c).sum().cast(pl.Float64) for c in self.sum_columns).row(0, named=True)


def compare_leaves(
    cube: Cube,
    metric: str | Metric,
    *,
    current: PeriodLike,
    baseline: PeriodLike,
    dims: Sequence[str] | None = None,
    filters: Filters | None = None,
) -> Comparison:
    """The sums behind ``metric`` by every leaf of ``dims`` (default: every cube dimension) in two periods.

    For a per-exposure rate only the ``dims`` its denominator is cut by are kept (module docstring)."""
    wanted = as_metric(metric)
    baseline, current = as_period(baseline), as_period(current)
    dims = list(cube.dimensions if dims is None else dims)
    cut = _denominator_dimensions(cube, wanted)
    if cut is not None:
        dims = [d for d in dims if d in cut]
    sides = []
    for suffix, period in (("before", baseline), ("after", current)):
        sums = cube.sums(wanted, by=dims, filters=filters, start=period.start, end=period.end)
        columns = {f"num_{suffix}": "numerator", **({f"den_{suffix}": "denominator"} if wanted.is_ratio else {})}
        sides.append(sums.select(*dims, **{name: pl.col(source) for name, source in columns.items()}))
    if dims:
        leaves = sides[0].join(sides[1], on=dims, how="full", coalesce=True, nulls_equal=True)
    else:
        leaves = pl.concat(sides, how="horizontal")
    leaves = leaves.with_columns(pl.exclude(dims).fill_null(0))
    varying = tuple(d for d in dims if leaves[d].n_unique() > 1)
    return Comparison(wanted, baseline, current, varying, leaves)


def _denominator_dimensions(cube: Cube, metric: Metric) -> tuple[str, ...] | None:
    """The dimensions a rate's denominator is cut by where that is fewer than the cube's
    (an ``ExposedCube``'s per-exposure rates), else None."""
    getter = getattr(cube, "denominator_dimensions", None)
    return getter(metric) if callable(getter) else None


def segment_sums(comparison: Comparison, depth: int) -> pl.DataFrame:
    """The sums of every segment fixing 1..``depth`` of the comparison's dimensions.

    One row per segment with ``cuboid`` (its dimensions joined by `` × ``), ``depth``, the
    dimension columns (null where the segment does not fix them), the sum columns and
    ``duplicate``: the segment holds the same leaves as a shallower one (``FR & fr`` where all
    of FR is in French). The segments of one cuboid partition the slice; a cuboid whose every
    segment is a duplicate (``country × region``) is left out.
    """
    sums = [pl.col(c).sum() for c in comparison.sum_columns]
    frames = []
    for size in range(1, depth + 1):
        for combo in combinations(comparison.dims, size):
            parents = [[x for x in combo if x != d] for d in combo]
            only_child = [(pl.len().over(rest) if rest else pl.len()) == 1 for rest in parents]
            frames.append(
                comparison.leaves.lazy()
                .group_by(combo)
                .agg(sums)
                .with_columns(
                    cuboid=pl.lit(" × ".join(combo)),
                    depth=pl.lit(size, dtype=pl.Int32),
                    duplicate=pl.any_horizontal(only_child),
                )
                .filter(~pl.col("duplicate").all())
            )
    schema = {"cuboid": pl.String, "depth": pl.Int32, **dict.fromkeys(comparison.dims, pl.String)}
    sum_types = dict.fromkeys(comparison.sum_columns, pl.Float64)
    empty = pl.DataFrame(schema={**schema, **sum_types, "duplicate": pl.Boolean})
    return pl.concat([empty, *pl.collect_all(frames)], how="diagonal_relaxed").select(
        *schema, *comparison.sum_columns, "duplicate"
    )


def _share(part: pl.Expr, whole: float) -> pl.Expr:
    return part / whole if whole else pl.lit(0.0)


def _surprise(part: str, whole_before: float, whole_after: float) -> pl.Expr:
    """Jensen–Shannon divergence (bits) between a segment's baseline and current share of its parent."""
    p = _share(pl.col(f"{part}_before"), whole_before)
    q = _share(pl.col(f"{part}_after"), whole_after)
    m = (p + q) / 2
    term = lambda x: pl.when(x > 0).then(x * (x / m).log(2)).otherwise(0.0)  # noqa: E731
    return (term(p) + term(q)) / 2


@dataclass(frozen=True)
class Decomposition:
    """How any segment's before, after and additive contribution are computed (module docstring).

    ``whole`` holds the sums of the slice whose change is decomposed; ``parent`` those of the
    segment whose children are being compared (the whole, unless drilling down a tree): shares
    of the change and surprise are taken relative to the parent.
    """

    metric: Metric
    whole: dict[str, float]
    parent: dict[str, float]

    @classmethod
    def of(cls, comparison: Comparison, whole: Comparison | None = None) -> Decomposition:
        """Decompose ``whole``'s change (default: the comparison's own) over the comparison's segments."""
        return cls(comparison.metric, (whole or comparison).totals(), comparison.totals())

    @property
    def defined(self) -> bool:
        """False for a ratio whose whole slice has a zero denominator in a period (no rate to decompose)."""
        return not self.metric.is_ratio or bool(self.whole["den_before"] and self.whole["den_after"])

    @property
    def mean_rate(self) -> float:
        """``R̄``: the mean of the whole slice's baseline and current rate (unscaled; 0 when undefined)."""
        if not self.defined:
            return 0.0
        w = self.whole
        return (w["num_before"] / w["den_before"] + w["num_after"] / w["den_after"]) / 2

    def contribution(self, sums: dict[str, float]) -> float:
        """The contribution of one segment given its sums."""
        return pl.DataFrame([sums]).select(self._contribution()).item()

    def _contribution(self) -> pl.Expr:
        if not self.metric.is_ratio:
            return pl.col("num_after") - pl.col("num_before")
        after = (pl.col("num_after") - self.mean_rate * pl.col("den_after")) / self.whole["den_after"]
        before = (pl.col("num_before") - self.mean_rate * pl.col("den_before")) / self.whole["den_before"]
        return self.metric.scale * (after - before)

    def columns(self) -> list[pl.Expr]:
        """Per-segment figures from the sum columns (see the module docstring for the math).

        ``before``, ``after``: the metric in each period; ``contribution`` to the whole's change;
        ``share`` of the parent's
        contribution; ``surprise``. Ratios add ``weight_before``, ``weight_after`` (shares of
        the whole's denominator), ``rate_effect`` and ``mix_effect``, which add up to the
        contribution (a numerator without a denominator in a period counts as rate effect).
        """
        parent_change = self.contribution(self.parent)
        contribution = self._contribution()
        share = _share(contribution, parent_change) if parent_change else pl.lit(None, dtype=pl.Float64)
        m = self.metric
        if not m.is_ratio:
            return [
                pl.col("num_before").cast(pl.Float64).alias("before"),
                pl.col("num_after").cast(pl.Float64).alias("after"),
                contribution.cast(pl.Float64).alias("contribution"),
                share.alias("share"),
                _surprise("num", self.parent["num_before"], self.parent["num_after"]).alias("surprise"),
            ]
        rate = {s: pl.col(f"num_{s}") / pl.col(f"den_{s}") for s in ("before", "after")}
        r0 = (
            pl.when(pl.col("den_before") > 0)
            .then(rate["before"])
            .when(pl.col("den_after") > 0)
            .then(rate["after"])
            .otherwise(0.0)
        )
        r1 = pl.when(pl.col("den_after") > 0).then(rate["after"]).otherwise(r0)
        w0 = pl.col("den_before") / self.whole["den_before"]
        w1 = pl.col("den_after") / self.whole["den_after"]
        mix = m.scale * (w1 - w0) * ((r0 + r1) / 2 - self.mean_rate)
        return [
            m.from_sums(pl.col("num_before"), pl.col("den_before")).cast(pl.Float64).alias("before"),
            m.from_sums(pl.col("num_after"), pl.col("den_after")).cast(pl.Float64).alias("after"),
            contribution.alias("contribution"),
            share.alias("share"),
            (
                _surprise("num", self.parent["num_before"], self.parent["num_after"])
                + _surprise("den", self.parent["den_before"], self.parent["den_after"])
            ).alias("surprise"),
            w0.alias("weight_before"),
            w1.alias("weight_after"),
            (contribution - mix).alias("rate_effect"),
            mix.alias("mix_effect"),
        ]

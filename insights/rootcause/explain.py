"""Explain a change: why did a metric move between a baseline and a current period?

``explain_change`` answers in five parts: the headline (before, after, change and whether it is
beyond noise), the dimensions ranked by how well they explain it, the contributing segments at
depth 1–3, the mix-versus-rate split of a ratio metric, and the root causes ``localize`` finds.
The decomposition is exact (``insights.rootcause.decompose``): within one breakdown the
segments' contributions add up to the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl

from insights.change import Change
from insights.cube import Cube
from insights.filters import Filters
from insights.metrics import Metric
from insights.periods import PeriodLike, grain_of
from insights.rootcause.decompose import Comparison, Decomposition, compare_leaves, segment_sums
from insights.rootcause.localize import localize
from insights.rootcause.ranking import rank_dimensions
from insights.significance import Noise
from insights.trends.deltas import covered_days, measure_change, slice_noise

#: Segments listed per breakdown (cuboid) in ``contributors``; the rest are summed in one row.
MAX_SEGMENTS = 25
#: Number of top-ranked dimensions whose leaves ``localize`` searches.
LOCALIZE_DIMENSIONS = 4
#: Significance level of the headline's test.
ALPHA = 0.05


@dataclass(frozen=True)
class ChangeExplanation:
    """The answer of ``explain_change``.

    * ``headline``: the change as a ``Change`` (``insights.change``: ``baseline_value``,
      ``value``, ``change``, ``pct_change``, ``p_value``, ``significant``): the same test as
      the trends page, with the slice's own period-to-period dispersion, so a few events in a
      low-volume harm area are not reported as a change.
    * ``noise``: that noise model (``kind``, ``dispersion``), also used for the segments' p-values.
    * ``dimensions``: one row per dimension, best explanation first (``rank_dimensions``).
    * ``contributors``: segments at depth 1..3, most surprising first. Columns: ``segment``
      (``country=FR & language=fr``), ``cuboid`` (its dimensions, ``country × language``),
      ``depth``, one column per dimension (null where the segment does not fix it), ``before``,
      ``after``, ``contribution``, ``share`` (of the change), ``surprise``, ``p_value`` (of the
      segment not having moved, ``segment_p_values``), for ratio metrics ``weight_before``,
      ``weight_after``, ``rate_effect``, ``mix_effect``; and ``other``: true for the one row
      per cuboid that sums the segments not listed (beyond ``max_segments``, or the same as
      a shallower segment), so that the rows of a cuboid add up exactly to the change.
    * ``mix_rate``: ratio metrics only — per dimension, the change split into ``rate_effect``
      (rates moved within its values) and ``mix_effect`` (volume moved between values with
      different rates), which add up to ``change``, and ``mix_share``.
    * ``localized``: root causes from ``localize`` on the leaves of the top-ranked dimensions,
      the baseline (scaled to the current period's length) as the forecast.
    * ``dims``: the dimensions the change was broken down by.
    """

    headline: Change
    noise: Noise
    dimensions: pl.DataFrame
    contributors: pl.DataFrame
    mix_rate: pl.DataFrame | None
    localized: list[dict[str, str]]
    dims: tuple[str, ...]

    def top_segments(
        self,
        n: int = 5,
        depth: int | None = None,
        cuboid: str | None = None,
        by: Literal["surprise", "share"] = "surprise",
    ) -> list[dict[str, str]]:
        """The first ``n`` listed segments as ``{dimension: value}``, most surprising (or largest
        share of the change) first, optionally of one ``depth`` or ``cuboid`` (``"country"``)."""
        rows = self.contributors.filter(~pl.col("other"))
        if depth is not None:
            rows = rows.filter(pl.col("depth") == depth)
        if cuboid is not None:
            rows = rows.filter(pl.col("cuboid") == cuboid)
        rows = rows.sort(by, descending=True, nulls_last=True, maintain_order=True).head(n).select(self.dims)
        return [{d: v for d, v in row.items() if v is not None} for row in rows.iter_rows(named=True)]


def explain_change(
    cube: Cube,
    metric: str | Metric,
    *,
    current: PeriodLike,
    baseline: PeriodLike,
    dims: Sequence[str] | None = None,
    filters: Filters | None = None,
    change: Change | None = None,
    depth: int = 3,
    max_segments: int = MAX_SEGMENTS,
    localize_dimensions: int = LOCALIZE_DIMENSIONS,
    alpha: float = ALPHA,
) -> ChangeExplanation:
    """Explain how ``metric`` changed on the slice ``filters`` from ``baseline`` to ``current``.

    ``baseline`` and ``current`` are ``Period``s or inclusive ``(start, end)`` pairs; they may
    differ in length (counts are compared as totals; the tests account for the lengths).
    ``dims`` are the dimensions to break the change down by (default: every dimension of the
    cube that has more than one value in the slice). ``depth`` caps how many dimensions a
    segment fixes; ``max_segments`` how many segments of each breakdown are listed;
    ``localize_dimensions`` how many top-ranked dimensions ``localize`` searches; ``alpha`` is
    the headline test's level. ``change`` is the slice's change when the caller has measured it
    already (``insights.trends.measure_change``); it is used as the headline, not measured again.
    See ``ChangeExplanation`` for what comes back and ``insights.rootcause.decompose`` for the math.
    """
    comparison = compare_leaves(cube, metric, current=current, baseline=baseline, dims=dims, filters=filters)
    decomposition = Decomposition.of(comparison)
    wanted, current_period = comparison.metric, comparison.current
    headline = _headline(cube, comparison, filters, change, alpha)
    noise = headline.noise or slice_noise(cube, wanted, grain_of(current_period), filters, end=current_period.end)
    exposure = (covered_days(cube, current_period), covered_days(cube, comparison.baseline))
    if not decomposition.defined:  # a rate with no denominator in a period: nothing to decompose
        comparison = replace(comparison, dims=())
    segments = segment_sums(comparison, depth).with_columns(decomposition.columns())
    dimensions = rank_dimensions(segments.filter(~pl.col("duplicate")), comparison.dims)
    contributors = _contributors(segments, comparison, decomposition, max_segments, noise, exposure)
    mix_rate = _mix_rate(contributors) if comparison.metric.is_ratio else None
    top = dimensions["dimension"].head(localize_dimensions).to_list()
    localized = _localized(comparison, top, exposure[0] / exposure[1] if exposure[1] else 1.0)
    return ChangeExplanation(headline, noise, dimensions, contributors, mix_rate, localized, comparison.dims)


def _headline(
    cube: Cube, comparison: Comparison, filters: Filters | None, change: Change | None, alpha: float
) -> Change:
    """The given change when it is this comparison's, else the change measured on the cube."""
    current, baseline = comparison.current, comparison.baseline
    if change is None:
        return measure_change(cube, comparison.metric, current=current, baseline=baseline, filters=filters, alpha=alpha)
    if not change.describes(comparison.metric.name, current=current, baseline=baseline, filters=filters):
        raise ValueError(
            f"the change given is of {change.metric} from {change.baseline.label()} to {change.current.label()} "
            f"on {change.filters}, not of {comparison.metric.name} on this slice and these periods"
        )
    return change


def segment_p_values(noise: Noise, comparison: Comparison, sums: pl.DataFrame, days: tuple[int, int]) -> np.ndarray:
    """Two-sided p-values of "this segment did not move" for rows of sum columns.

    A count segment: its count per day is unchanged (``days``: the current and baseline
    periods' days with data). A ratio segment moves the metric through its rate or its weight
    (share of the slice's denominator), so the smaller of the two tests' p-values is taken,
    Bonferroni-corrected (doubled); the weight test is the binomial two-proportion test. NaN
    where neither can be tested.
    """
    after, before = sums["num_after"].to_numpy(), sums["num_before"].to_numpy()
    if not comparison.metric.is_ratio:
        return noise.p_values(after, np.full(len(sums), days[0]), before, np.full(len(sums), days[1]))
    changed = noise.p_values(after, sums["den_after"].to_numpy(), before, sums["den_before"].to_numpy())
    totals = comparison.totals()
    weight = Noise("proportion").p_values(
        sums["den_after"].to_numpy(),
        np.full(len(sums), totals["den_after"]),
        sums["den_before"].to_numpy(),
        np.full(len(sums), totals["den_before"]),
    )
    with np.errstate(invalid="ignore"):
        return np.minimum(1.0, 2 * np.fmin(changed, weight))


def _contributors(
    segments: pl.DataFrame,
    comparison: Comparison,
    decomposition: Decomposition,
    max_segments: int,
    noise: Noise,
    days: tuple[int, int],
) -> pl.DataFrame:
    """List the largest non-duplicate segments of each cuboid; sum the rest in one row per cuboid."""
    dims = list(comparison.dims)
    magnitude = pl.when(~pl.col("duplicate")).then(pl.col("contribution").abs())
    ranked = segments.with_columns(rank=magnitude.rank("ordinal", descending=True).over("cuboid"))
    listed = ranked.filter(pl.col("rank") <= max_segments).with_columns(
        segment=pl.concat_str(
            [
                pl.lit(None, pl.String),
                *(pl.when(pl.col(d).is_not_null()).then(pl.lit(f"{d}=") + pl.col(d)) for d in dims),
            ],
            separator=" & ",
            ignore_nulls=True,
        ),
        other=pl.lit(False),
    )
    rest = (
        ranked.filter(pl.col("rank").is_null() | (pl.col("rank") > max_segments))
        .group_by("cuboid", "depth", maintain_order=True)
        .agg(pl.col(comparison.sum_columns).sum(), count=pl.len())
        .with_columns(decomposition.columns())
        .with_columns(segment=pl.format("{} other {} segments", "count", "cuboid"), other=pl.lit(True))
    )
    table = pl.concat([listed, rest], how="diagonal_relaxed")
    figures = [e.meta.output_name() for e in decomposition.columns()]
    return (
        table.with_columns(
            p_value=pl.Series(segment_p_values(noise, comparison, table, days), dtype=pl.Float64).fill_nan(None)
        )
        .sort("other", "surprise", "depth", "segment", descending=[False, True, False, False])
        .select("segment", "cuboid", "depth", *dims, *figures, "p_value", "other")
    )


def _mix_rate(contributors: pl.DataFrame) -> pl.DataFrame:
    """Per dimension: the change split into rate and mix effects (they add up to the change)."""
    return (
        contributors.filter(pl.col("depth") == 1)
        .group_by(dimension="cuboid")
        .agg(pl.col("rate_effect", "mix_effect").sum())
        .with_columns(change=pl.col("rate_effect") + pl.col("mix_effect"))
        .with_columns(mix_share=pl.when(pl.col("change") != 0).then(pl.col("mix_effect") / pl.col("change")))
        .sort(pl.col("mix_effect").abs(), descending=True)
    )


def _localized(comparison: Comparison, dims: list[str], length_ratio: float) -> list[dict[str, str]]:
    """``localize`` on the leaves of ``dims``, the baseline times ``length_ratio`` (current over
    baseline days with data) as forecast."""
    if not dims:
        return []
    leaves = comparison.leaves.group_by(dims).agg(pl.col(comparison.sum_columns).sum())
    if comparison.metric.is_ratio:
        frame = leaves.select(
            *dims, real_a="num_after", real_b="den_after", predict_a="num_before", predict_b="den_before"
        )
    else:
        frame = leaves.select(*dims, real="num_after", predict=pl.col("num_before") * length_ratio)
    return localize(frame, dims)

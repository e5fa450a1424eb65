"""Which dimensions explain a change: Adtributor's explanatory power and surprise.

Adtributor (Bhagwan et al., NSDI 2014) explains a change along each dimension with the fewest
values that account for most of it: the values are taken by decreasing surprise, each must
carry at least ``ELEMENT_SHARE`` of the change (its *explanatory power*, our ``share``), and
values are added until together they carry ``EXPLAINED_SHARE``. Dimensions whose explanation
reaches that share rank first, by the surprise of their explaining values; the others follow
by the same surprise.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Share of the change the explaining values of a dimension must carry together (Adtributor's T_EP).
EXPLAINED_SHARE = 0.67
#: Share of the change a value must carry to be one of the explaining values (Adtributor's T_EEP).
ELEMENT_SHARE = 0.1


def rank_dimensions(segments: pl.DataFrame, dims: Sequence[str]) -> pl.DataFrame:
    """Rank dimensions by how much of the change few of their values explain, and how surprisingly.

    ``segments`` holds one row per value of each dimension (``cuboid`` naming the dimension,
    the dimension columns, ``share`` and ``surprise``, as made by ``Decomposition.columns``);
    deeper rows are ignored. Returns one row per dimension, best first: ``dimension``,
    ``explanatory_power`` (share of the change its explaining values carry), ``surprise`` (theirs),
    ``elements`` (those values), ``values`` (how many it has) and ``total_surprise`` (of all of
    them).
    """
    elements = segments.filter(pl.col("depth") == 1).select(
        dimension="cuboid",
        value=pl.coalesce(*dims, pl.lit(None, pl.String)),
        share=pl.col("share").fill_null(0.0),
        surprise="surprise",
    )
    explaining = (
        elements.filter(pl.col("share") >= ELEMENT_SHARE)
        .sort("surprise", "value", descending=[True, False])
        .filter(pl.col("share").cum_sum().over("dimension") - pl.col("share") < EXPLAINED_SHARE)
        .group_by("dimension")
        .agg(explanatory_power=pl.col("share").sum(), surprise=pl.col("surprise").sum(), elements="value")
    )
    overall = elements.group_by("dimension").agg(values=pl.len(), total_surprise=pl.col("surprise").sum())
    return (
        overall.join(explaining, on="dimension", how="left")
        .with_columns(pl.col("explanatory_power", "surprise").fill_null(0.0), pl.col("elements").fill_null([]))
        .sort(
            pl.col("explanatory_power") >= EXPLAINED_SHARE,
            "surprise",
            "total_surprise",
            "dimension",
            descending=[True, True, True, False],
        )
        .select("dimension", "explanatory_power", "surprise", "elements", "values", "total_surprise")
    )

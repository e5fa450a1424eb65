"""Decomposition tree: drill into a change one split at a time.

A node is a slice (``{"country": "FR"}``, ``{"country": "FR", "content_type": "live"}``) of the
analysed slice. Its best next split is the dimension whose values explain the node's share of
the change best (``rank_dimensions``: few values carrying most of it, surprisingly); its
children are those values with their before, after and contribution. Contributions are to the
change of the *whole* analysed slice, so a node's children add up exactly to the node's
contribution, at every level (``insights.rootcause.decompose``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from insights.cube import Cube
from insights.filters import Filters, normalise_filters
from insights.metrics import Metric
from insights.periods import PeriodLike
from insights.rootcause.decompose import Decomposition, compare_leaves, segment_sums
from insights.rootcause.ranking import EXPLAINED_SHARE, rank_dimensions


@dataclass(frozen=True)
class TreeNode:
    """One node of a decomposition tree.

    ``segment`` is the node's slice (empty at the root); ``before``, ``after`` the metric in it
    (counts: the baseline at the current period's length); ``contribution`` its part of the
    whole slice's change and ``share`` that part as a share of the change. For a rate,
    ``weight_before`` / ``weight_after`` are the node's share of the whole slice's denominator
    in each period (its volume) and ``rate_effect`` / ``mix_effect`` split its contribution into
    its rate moving and its volume moving (they add up to ``contribution``). An expanded node
    has ``split_dimension``, ``explained`` (the share of the node's change that the few values
    of that split which moved most carry: Adtributor's explanatory power), its ``children``
    (largest contribution first) and ``dimensions`` (every dimension ranked as a split); a child
    is not expanded until ``decomposition_tree`` is called with ``node=child.segment``.
    """

    segment: dict[str, str]
    before: float | None
    after: float | None
    contribution: float | None
    share: float | None
    weight_before: float | None = None
    weight_after: float | None = None
    rate_effect: float | None = None
    mix_effect: float | None = None
    split_dimension: str | None = None
    explained: float | None = None
    children: list[TreeNode] = field(default_factory=list)
    dimensions: pl.DataFrame | None = None

    @property
    def explains(self) -> bool:
        """True when the split carries most of the node's change (at least ``EXPLAINED_SHARE``)."""
        return self.explained is not None and self.explained >= EXPLAINED_SHARE


def decomposition_tree(
    cube: Cube,
    metric: str | Metric,
    *,
    current: PeriodLike,
    baseline: PeriodLike,
    node: Mapping[str, str] | None = None,
    filters: Filters | None = None,
    dims: Sequence[str] | None = None,
    split: str | None = None,
) -> TreeNode:
    """Expand one node of the decomposition tree of ``metric``'s change on ``filters``.

    ``node`` is the node's slice (default: the root, the whole of ``filters``); ``dims`` the
    dimensions it may be split by (default: every cube dimension), less those the node fixes;
    ``split`` forces the split dimension (default: the best one). Returns the node with its
    children; call again with a child's ``segment`` to go one level deeper.
    """
    node = dict(node or {})
    whole = compare_leaves(cube, metric, current=current, baseline=baseline, dims=[], filters=filters)
    candidates = [d for d in (cube.dimensions if dims is None else dims) if d not in node]
    inside = {**normalise_filters(filters), **normalise_filters(node)}
    part = compare_leaves(cube, metric, current=current, baseline=baseline, dims=candidates, filters=inside)
    decomposition = Decomposition.of(part, whole)
    own = pl.DataFrame([decomposition.parent]).with_columns(decomposition.columns()).row(0, named=True)
    if not decomposition.defined or not part.dims:
        return _node(node, {**own, "contribution": None}, share=None)
    whole_change = decomposition.contribution(decomposition.whole)
    values = segment_sums(part, 1).with_columns(decomposition.columns())
    ranking = rank_dimensions(values, part.dims)
    if split is not None and split not in part.dims:
        raise ValueError(
            f"cannot split {node or 'the slice'} by {split!r}; "
            f"dimensions with more than one value there: {list(part.dims)}"
        )
    chosen = split or ranking["dimension"][0]
    explained = ranking.filter(pl.col("dimension") == chosen)["explanatory_power"].item()
    children = (
        values.filter(pl.col("cuboid") == chosen)
        .with_columns(share=pl.col("contribution") / whole_change if whole_change else pl.lit(None, pl.Float64))
        .sort(pl.col("contribution").abs(), chosen, descending=[True, False])
    )
    return replace(
        _node(node, own, share=own["contribution"] / whole_change if whole_change else None),
        split_dimension=chosen,
        explained=explained,
        children=[
            _node({**node, chosen: row[chosen]}, row, share=row["share"]) for row in children.iter_rows(named=True)
        ],
        dimensions=ranking,
    )


def _node(segment: dict[str, str], row: Mapping[str, Any], share: float | None) -> TreeNode:
    """A node from a row of ``Decomposition.columns`` (the rate-only figures are None for a count)."""
    return TreeNode(
        segment=segment,
        before=row["before"],
        after=row["after"],
        contribution=row["contribution"],
        share=share,
        weight_before=row.get("weight_before"),
        weight_after=row.get("weight_after"),
        rate_effect=row.get("rate_effect"),
        mix_effect=row.get("mix_effect"),
    )

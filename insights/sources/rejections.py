"""Rejected input rows: kept, with their source, row number, column and reason."""

from __future__ import annotations

import polars as pl

from insights.cube import REJECTED_COLUMNS, empty_rejections


def as_rejections(
    rows: pl.DataFrame, reason: pl.Expr | str, column: pl.Expr | str | None = None, source: str | None = None
) -> pl.DataFrame:
    """Turn offending input rows into rejection records.

    ``rows`` must carry ``_row`` and either ``_source`` or the ``source`` argument; ``reason``
    and ``column`` are texts or expressions giving a text per row. The row's own values are kept
    (as text) after the standard columns.
    """
    if rows.is_empty():
        return empty_rejections()
    values = [c for c in rows.columns if not c.startswith("_")]
    return rows.select(
        (pl.lit(source) if source is not None else pl.col("_source")).cast(pl.String).alias("_source"),
        pl.col("_row").cast(pl.Int64),
        (column if isinstance(column, pl.Expr) else pl.lit(column, dtype=pl.String)).cast(pl.String).alias("_column"),
        (pl.lit(reason) if isinstance(reason, str) else reason).cast(pl.String).alias("_reason"),
        *[pl.col(c).cast(pl.String) for c in values],
    )


def combine(*frames: pl.DataFrame) -> pl.DataFrame:
    """Stack rejection frames (their value columns may differ), sorted by source and row."""
    frames = tuple(f for f in frames if not f.is_empty())
    if not frames:
        return empty_rejections()
    stacked = pl.concat(frames, how="diagonal_relaxed")
    return stacked.select(*REJECTED_COLUMNS, pl.exclude(REJECTED_COLUMNS)).sort("_source", "_row", maintain_order=True)

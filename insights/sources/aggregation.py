"""Events → cube: the measure definitions of the registry translated to Polars.

The SQL source translates the same definitions to SQLAlchemy (``insights.sources.sql``), so a
cube is counted the same way whichever engine runs the GROUP BY.
"""

from __future__ import annotations

import polars as pl

from insights.metrics import EventCount, measures

#: Event columns a measure may be counted from, beyond the canonical ones.
DERIVED_EVENT_COLUMNS = ("time_to_action_hours",)


def countable_measures(columns: list[str]) -> dict[str, EventCount]:
    """The measures that can be counted from events with these columns (others stay absent)."""
    return {
        name: count
        for name, m in measures().items()
        if (count := m.from_events) is not None and (count.column is None or count.column in columns)
    }


def polars_measure(count: EventCount) -> pl.Expr:
    """One measure as a Polars aggregation over event rows."""
    column = pl.col(count.column) if count.column else None
    if count.kind == "count":
        return pl.len()
    assert column is not None
    if count.kind == "count_true":
        return column.sum()
    if count.kind == "count_zero":
        return (column == 0).sum()
    if count.kind == "count_at_most":
        return (column <= count.threshold).sum()
    if count.kind == "count_known":
        return column.count()
    if count.kind == "sum":
        return column.sum()
    raise ValueError(f"unknown measure kind {count.kind!r}")


def time_to_action_hours() -> pl.Expr:
    """Hours from content creation to action, counted in whole seconds (as the SQL path does)."""
    return (pl.col("actioned_at") - pl.col("created_at")).dt.total_seconds() / 3600.0


def aggregate_events(events: pl.LazyFrame, dims: list[str]) -> pl.LazyFrame:
    """Group events by day and the given dimensions, counting every measure their columns allow."""
    columns = events.collect_schema().names()
    if "created_at" in columns:
        events = events.with_columns(time_to_action_hours=time_to_action_hours())
        columns.append("time_to_action_hours")
    counted = countable_measures(columns)
    return events.group_by(pl.col("actioned_at").dt.date().alias("date"), *dims).agg(
        polars_measure(count).cast(pl.Int64).alias(name) for name, count in counted.items()
    )

"""Annotated events — launches, policy changes, world events, holidays — and which of them lie
near an anomaly, a change point or a compared period.

An events file is CSV with the columns ``date,title,kind,harm_area,region`` (see
``sample_data/events.csv``); an empty harm area or region means the event concerns all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import polars as pl

from insights.filters import Filters, normalise_filters
from insights.geo import region_of
from insights.model import policy_harm_areas
from insights.periods import as_date

EVENT_SCHEMA = {"date": pl.Date, "title": pl.String, "kind": pl.String, "harm_area": pl.String, "region": pl.String}


def read_events(source: str | Path | IO[bytes]) -> pl.DataFrame:
    """Read an events file (``date,title,kind,harm_area,region``), sorted by date."""
    frame = pl.read_csv(source, schema_overrides=EVENT_SCHEMA)
    missing = [c for c in EVENT_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"an events file needs the columns {list(EVENT_SCHEMA)}; missing {missing}")
    return frame.select(list(EVENT_SCHEMA)).sort("date")


def slice_scope(filters: Filters | None) -> tuple[set[str], set[str]]:
    """The harm areas and regions a slice is limited to (empty: not limited).

    Harm areas come from the ``harm_area`` filter or the harm areas of the filtered policies;
    regions from the ``region`` filter or the regions of the filtered countries.
    """
    normal = normalise_filters(filters)
    harm_areas = set(normal.get("harm_area", []))
    if not harm_areas:
        parents = policy_harm_areas()
        harm_areas = {parents[p] for p in normal.get("policy", []) if p in parents}
    regions = set(normal.get("region", []))
    if not regions:
        regions = {r for c in normal.get("country", []) if (r := region_of(c))}
    return harm_areas, regions


def events_in_scope(
    events: pl.DataFrame, filters: Filters | None, start: object = None, end: object = None
) -> pl.DataFrame:
    """The events that concern a slice: those for all harm areas and regions, and those of the
    slice's own harm areas and regions; between ``start`` and ``end`` (inclusive) when given."""
    harm_areas, regions = slice_scope(filters)
    keep = pl.lit(True)
    if harm_areas:
        keep = keep & (pl.col("harm_area").is_null() | pl.col("harm_area").is_in(sorted(harm_areas)))
    if regions:
        keep = keep & (pl.col("region").is_null() | pl.col("region").is_in(sorted(regions)))
    if start is not None:
        keep = keep & (pl.col("date") >= as_date(start, "start"))
    if end is not None:
        keep = keep & (pl.col("date") <= as_date(end, "end"))
    return events.filter(keep)


def match_events(
    moments: pl.DataFrame,
    events: pl.DataFrame,
    within_days: int = 7,
    filters: Filters | None = None,
) -> pl.DataFrame:
    """Pair each moment (a period with ``start`` and ``end``, e.g. ``Trend.moments()``) with the
    events of the slice ``filters`` that fall in it or within ``within_days`` days of it.

    Returns the moment's columns plus ``event_date``, ``title``, ``event_kind`` and
    ``days_apart`` (0: inside the period; negative: that many days before its start; positive:
    after its end), closest event first within each moment. Moments without an event are left out.
    """
    nearby = events_in_scope(events, filters).select(event_date="date", title="title", event_kind="kind")
    apart = (
        pl.when(pl.col("event_date") < pl.col("start"))
        .then((pl.col("event_date") - pl.col("start")).dt.total_days())
        .when(pl.col("event_date") > pl.col("end"))
        .then((pl.col("event_date") - pl.col("end")).dt.total_days())
        .otherwise(0)
    )
    return (
        moments.join(nearby, how="cross")
        .with_columns(days_apart=apart)
        .filter(pl.col("days_apart").abs() <= within_days)
        .sort("start", pl.col("days_apart").abs(), "event_date")
    )


def events_near(
    events: pl.DataFrame,
    periods: Iterable[tuple[object, object]],
    within_days: int = 7,
    filters: Filters | None = None,
) -> pl.DataFrame:
    """The events of a slice in or within ``within_days`` of any of the ``(start, end)`` periods,
    each once, in date order, with ``days_apart`` from the nearest period."""
    spans = list(periods)
    moments = pl.DataFrame(
        {"start": [s for s, _ in spans], "end": [e for _, e in spans]}, schema={"start": pl.Date, "end": pl.Date}
    )
    matched = match_events(moments, events, within_days, filters)
    return (
        matched.sort(pl.col("days_apart").abs())
        .unique(subset=["event_date", "title"], keep="first", maintain_order=True)
        .select(date="event_date", title="title", kind="event_kind", days_apart="days_apart")
        .sort("date")
    )

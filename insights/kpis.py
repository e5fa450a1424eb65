"""KPI cards: a metric's value in the latest complete period, against the previous period and a year earlier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import polars as pl

from insights.cube import GRAIN_EVERY, Cube, Filters
from insights.metrics import metric


@dataclass(frozen=True)
class Period:
    """An inclusive date range."""

    start: dt.date
    end: dt.date

    def label(self) -> str:
        """'2026-11-16 – 2026-11-22'."""
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def _shift(day: dt.date, grain: str, steps: int) -> dt.date:
    return pl.select(pl.lit(day).dt.offset_by(f"{steps}{GRAIN_EVERY[grain][1:]}")).item()


def latest_complete_period(as_of: dt.date, grain: str) -> Period:
    """The last day/week/month/quarter/year that ends on or before ``as_of``."""
    start = pl.select(pl.lit(as_of).dt.truncate(GRAIN_EVERY[grain])).item()
    end = _shift(start, grain, 1) - dt.timedelta(days=1)
    if end > as_of:
        start = _shift(start, grain, -1)
        end = _shift(start, grain, 1) - dt.timedelta(days=1)
    return Period(start, end)


def previous_period(period: Period, grain: str) -> Period:
    """The period just before ``period``."""
    start = _shift(period.start, grain, -1)
    return Period(start, period.start - dt.timedelta(days=1))


def year_earlier(period: Period) -> Period:
    """The same dates one year earlier."""
    shift = lambda d: pl.select(pl.lit(d).dt.offset_by("-1y")).item()  # noqa: E731
    return Period(shift(period.start), shift(period.end))


def _difference(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _relative(change: float | None, before: float | None) -> float | None:
    return None if change is None or not before else change / before


def change_text(metric_name: str, change: float | None, pct_change: float | None) -> str | None:
    """A change formatted as on a card: '+12.3%' for counts, '+1.2 pp' for rates."""
    if change is None:
        return None
    definition = metric(metric_name)
    if definition.format == "percent":
        return _signed(change * 100, " pp")
    return _signed(pct_change * 100, "%") if pct_change is not None else definition.format_value(change)


def _signed(number: float, unit: str) -> str:
    """A signed number to one decimal; a change that rounds to zero reads '+0.0', never '-0.0'."""
    return f"{round(number, 1) + 0.0:+.1f}{unit}"


@dataclass(frozen=True)
class KpiCard:
    """One metric for one slice: value now, before, a year ago, and the changes."""

    key: str | None
    metric: str
    value: float | None
    previous: float | None
    year_ago: float | None

    @property
    def change(self) -> float | None:
        """Absolute change against the previous period."""
        return _difference(self.value, self.previous)

    @property
    def pct_change(self) -> float | None:
        """Relative change against the previous period (None when the previous value is 0 or unknown)."""
        return _relative(self.change, self.previous)

    @property
    def yoy_change(self) -> float | None:
        """Absolute change against a year earlier."""
        return _difference(self.value, self.year_ago)

    @property
    def yoy_pct_change(self) -> float | None:
        """Relative change against a year earlier."""
        return _relative(self.yoy_change, self.year_ago)

    def delta_text(self, against: str = "previous") -> str | None:
        """The change formatted for a card: '+12.3%' for counts, '+1.2 pp' for rates."""
        change, pct = (self.change, self.pct_change) if against == "previous" else (self.yoy_change, self.yoy_pct_change)
        return change_text(self.metric, change, pct)


def kpi_cards(
    cube: Cube,
    metrics: Sequence[str],
    by: str | None = "harm_area",
    filters: Filters | None = None,
    grain: str = "week",
    as_of: dt.date | None = None,
) -> tuple[Period, list[KpiCard]]:
    """KPI cards for every value of ``by`` (or the whole slice when ``by`` is None) and metric.

    The current period is the latest complete ``grain`` ending on or before ``as_of`` (default:
    the data's as-of date); it is compared with the period before and with a year earlier.
    """
    as_of = as_of or cube.provenance.as_of
    if as_of is None:
        raise ValueError("the cube has no data, so there is no period to report")
    current = latest_complete_period(as_of, grain)
    periods = {"value": current, "previous": previous_period(current, grain), "year_ago": year_earlier(current)}
    keys = [by] if by else []
    frames = []
    for name, period in periods.items():
        frame = cube.query(list(metrics), by=keys, filters=filters, start=period.start, end=period.end)
        frames.append(frame.unpivot(index=keys, variable_name="metric", value_name=name))
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.join(frame, on=[*keys, "metric"], how="full", coalesce=True)
    cards = [
        KpiCard(
            key=row[by] if by else None,
            metric=row["metric"],
            value=row["value"],
            previous=row["previous"],
            year_ago=row["year_ago"],
        )
        for row in joined.iter_rows(named=True)
    ]
    return current, cards

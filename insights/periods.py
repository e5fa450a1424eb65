"""Periods and grains: the calendar every comparison in the product is made on.

A ``Period`` is an inclusive date range. A *grain* (day, week starting Monday, month, quarter,
year) is how a series is cut into periods. Every function that compares two periods names them
``current`` and ``baseline``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl

Grain = Literal["day", "week", "month", "quarter", "year"]
Against = Literal["previous", "year_ago"]

#: Grains from finest to coarsest.
GRAINS: tuple[Grain, ...] = get_args(Grain)
#: Polars duration of one period of each grain.
GRAIN_EVERY: dict[Grain, str] = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}
#: Typical length in days of each grain, to tell the grain of an arbitrary period.
GRAIN_DAYS: dict[Grain, float] = {"day": 1, "week": 7, "month": 30.44, "quarter": 91.3, "year": 365.25}


@dataclass(frozen=True)
class Period:
    """An inclusive date range."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a period must not end before it starts: {self.start} – {self.end}")

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def label(self) -> str:
        """'2026-11-16 – 2026-11-22'."""
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


PeriodLike = Period | tuple[object, object]


def as_grain(value: object) -> Grain:
    """A grain by name; the error lists the grains."""
    if value not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {value!r}")
    return value


def as_date(value: object, name: str = "date") -> dt.date:
    """A date from a date, a datetime or ISO text; the error names the argument."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a date like 2024-01-31, not {value!r}") from None


def as_period(value: PeriodLike) -> Period:
    """A ``Period`` from a ``Period`` or a ``(start, end)`` pair of dates or ISO texts."""
    if isinstance(value, Period):
        return value
    start, end = value
    return Period(as_date(start, "start"), as_date(end, "end"))


def period_start(date: pl.Expr, grain: str) -> pl.Expr:
    """Truncate a date expression to the start of its day/week (Monday)/month/quarter/year."""
    every = GRAIN_EVERY[as_grain(grain)]
    return date if grain == "day" else date.dt.truncate(every)


def period_end(start: pl.Expr, grain: str) -> pl.Expr:
    """The last day of the period that starts at ``start``."""
    return start.dt.offset_by(GRAIN_EVERY[as_grain(grain)]) - pl.duration(days=1)


def shift(day: dt.date, grain: Grain, steps: int) -> dt.date:
    """``day`` moved by ``steps`` periods of ``grain`` (negative: back)."""
    moved: dt.date = pl.select(pl.lit(day).dt.offset_by(f"{steps}{GRAIN_EVERY[grain][1:]}")).item()
    return moved


def latest_complete_period(as_of: dt.date, grain: Grain) -> Period:
    """The last day/week/month/quarter/year that ends on or before ``as_of``."""
    start: dt.date = pl.select(pl.lit(as_of).dt.truncate(GRAIN_EVERY[as_grain(grain)])).item()
    end = shift(start, grain, 1) - dt.timedelta(days=1)
    if end > as_of:
        start = shift(start, grain, -1)
        end = shift(start, grain, 1) - dt.timedelta(days=1)
    return Period(start, end)


def previous_period(period: Period, grain: Grain) -> Period:
    """The period of ``grain`` just before ``period``."""
    return Period(shift(period.start, grain, -1), period.start - dt.timedelta(days=1))


def year_earlier(period: Period) -> Period:
    """The same dates one year earlier."""
    return Period(shift(period.start, "year", -1), shift(period.end, "year", -1))


def baseline_period(current: Period, grain: Grain, against: Against) -> Period:
    """The period ``current`` is compared with: the one before, or the same dates a year earlier."""
    if against == "previous":
        return previous_period(current, grain)
    if against == "year_ago":
        return year_earlier(current)
    raise ValueError(f"against must be 'previous' or 'year_ago', not {against!r}")


def grain_of(period: Period) -> Grain:
    """The grain whose typical length is closest to the period's (a week for 7 days…)."""
    return min(GRAINS, key=lambda g: abs(np.log(period.days / GRAIN_DAYS[g])))

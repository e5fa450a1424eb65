"""A cube whose events stay in an engine: every question is one aggregate query there.

``EngineStore.sums`` answers a ``Request`` from, in order: the result cache (answers are kept
per source version and per question, dates beyond the data's dropped), the daily totals for a
total by week, month, quarter or year, a materialised aggregate that covers it (day × a few
dimensions, see ``aggregates``), or the raw events. Regions are derived from countries, so a
region filter is asked as the list of its countries and a breakdown by region as one by
country, summed into regions on the way back (a few hundred rows). Answers come back typed:
``period`` a date, the breakdown text, every sum a 64-bit integer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import replace

import polars as pl

from insights.engines.aggregates import Aggregates, Progress
from insights.engines.answers import Answers
from insights.engines.compile import EventColumns, compile_request
from insights.engines.connections import Connection
from insights.engines.request import Request
from insights.periods import period_start


class EngineStore:
    """Events in an engine, asked one aggregate query per request."""

    def __init__(
        self,
        connection: Connection,
        events: EventColumns,
        relation: str,
        dimensions: tuple[str, ...],
        dates: tuple[dt.date, dt.date] | None,
        regions: dict[str, str],
        aggregates: Aggregates,
        version: Callable[[], str],
    ):
        self.connection = connection
        self.events = events
        self.relation = relation
        self.dimensions = dimensions
        self.measures: tuple[str, ...] = tuple(events.counts)
        self.complete = frozenset(self.measures)
        self.regions = regions
        self.aggregates = aggregates
        self._dates = dates
        self._dates_current = True
        self._version = version
        self.version = version()
        self.answers = Answers()

    @property
    def engine(self) -> str:
        """The engine's name ('duckdb', 'postgresql', 'sqlite', 'spark', …)."""
        return self.connection.engine

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last day with accepted events (measured at load)."""
        return self._dates

    def changed(self) -> bool:
        """True when the source's version differs from the one loaded; the cached answers are
        dropped then (the aggregates belong to the old version and are no longer used)."""
        if self._version() == self.version:
            return False
        self._dates_current = False
        self.answers.clear()
        self.aggregates.retire()
        return True

    def progress(self) -> Progress:
        """How far materialising the aggregates is."""
        return self.aggregates.progress

    def cancel(self, thread: int | None = None) -> None:
        """Cancel the queries running on the engine and on its aggregates (those thread ``thread``
        asked, else all)."""
        self.connection.cancel(thread)
        if self.aggregates.connection is not self.connection:
            self.aggregates.connection.cancel(thread)

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Materialise the aggregates pages use most, in the background (see ``Aggregates``)."""
        self.aggregates.materialise(dimension_sets)

    def sums(self, request: Request) -> pl.DataFrame:
        """The answer to ``request``: from the cache, a covering aggregate or the raw events. Dates
        beyond the data's are dropped first (the same question, the same cached answer); a total
        by week, month, quarter or year (no breakdown) is summed from the daily totals (a few
        hundred rows), so the grains of one slice (its trend, its noise history, a grain switch)
        share one query."""
        request = self._within_data(request)
        kept = self.answers.get(request)
        if kept is not None:
            return kept
        if request.grain not in (None, "day") and not request.by:
            daily = self.sums(replace(request, grain="day"))
            periods = daily.with_columns(period=period_start(pl.col("period"), request.grain))
            return self.answers.keep(request, periods.group_by(request.keys).agg(pl.col(request.measures).sum()))
        asked = self._by_country(request)
        aggregate = self.aggregates.covering(asked.dimensions)
        if aggregate is not None:
            sql = compile_request(asked, aggregate, aggregate.table)
            answer = self.aggregates.connection.run(sql)
        else:
            answer = self.connection.run(compile_request(asked, self.events, self.relation))
            self.aggregates.note(asked.dimensions)
        return self.answers.keep(request, self._in_regions(self._typed(answer, asked), request))

    def _within_data(self, request: Request) -> Request:
        """The request without a start before the first day with data or an end after the last
        (as they were loaded: once the source changed, dates are kept as asked)."""
        if self._dates is None or not self._dates_current:
            return request
        first, last = self._dates
        start = None if request.start is not None and request.start <= first else request.start
        end = None if request.end is not None and request.end >= last else request.end
        return request if (start, end) == (request.start, request.end) else replace(request, start=start, end=end)

    def _by_country(self, request: Request) -> Request:
        """The request with regions asked as their countries."""
        if "region" not in request.dimensions:
            return request
        filters = tuple(
            ("country", tuple(c for c, r in self.regions.items() if r in values)) if d == "region" else (d, values)
            for d, values in request.filters
        )
        by = tuple(dict.fromkeys("country" if d == "region" else d for d in request.by))
        return replace(request, by=by, filters=filters)

    def _in_regions(self, answer: pl.DataFrame, request: Request) -> pl.DataFrame:
        """An answer by country summed into regions, where the request broke down by region."""
        if "region" not in request.by:
            return answer
        region = pl.col("country").replace_strict(self.regions, default=None, return_dtype=pl.String)
        keys = request.keys
        with_region = answer.with_columns(region.alias("region"))
        return with_region.group_by(keys).agg(pl.col(request.measures).sum()).select(*keys, *request.measures)

    @staticmethod
    def _typed(answer: pl.DataFrame, request: Request) -> pl.DataFrame:
        """Dates as dates, the breakdown as text, sums as Int64, whatever the driver returned."""
        exprs = []
        if request.grain is not None:
            period = pl.col("period")
            dtype = answer.schema["period"]
            exprs.append((period.str.to_date() if dtype == pl.String else period.cast(pl.Date)).alias("period"))
        exprs += [pl.col(d).cast(pl.String) for d in request.by]
        exprs += [pl.col(m).cast(pl.Int64) for m in request.measures]
        return answer.select(exprs)

"""The in-memory store: a Polars frame of cells (day × dimensions, additive measures).

Today's path for small inputs and the public reports: the whole cube is one frame, and
questions are answered from cached per-dimension roll-ups of it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import polars as pl

from insights.engines.answers import Answers
from insights.engines.request import Request, sum_names
from insights.metrics import MEASURES
from insights.model import DIMENSIONS
from insights.periods import period_start

#: Roll-ups are kept for queries needing at most this many dimensions…
MAX_ROLLUP_DIMENSIONS = 3
#: …at most this many of them (oldest dropped first)…
MAX_ROLLUPS = 24
#: …and only for cubes at least this large (smaller ones are fast to scan as they are).
MIN_ROLLUP_CELLS = 200_000


def known_sum(column: str | pl.Expr, complete: bool = False) -> pl.Expr:
    """Sum of a measure over a group; null (not 0) when no row of the group knows it.
    ``complete``: the measure is known in every row, so a plain sum does."""
    column = pl.col(column) if isinstance(column, str) else column
    if complete:
        return column.sum()
    return pl.when(column.is_not_null().any()).then(column.sum()).otherwise(None)


class MemoryStore:
    """A cube held as one Polars frame: ``date``, categorical dimensions, measure columns."""

    engine = "polars"

    def __init__(self, data: pl.DataFrame):
        self.data = data
        self.dimensions: tuple[str, ...] = tuple(d for d in DIMENSIONS if d in data.columns and d != "date")
        self.measures: tuple[str, ...] = tuple(m for m in MEASURES if m in data.columns)
        self.complete = frozenset(m for m in self.measures if data[m].null_count() == 0)
        self._rollups: dict[frozenset[str], pl.DataFrame] = {}
        self.answers = Answers()

    @property
    def cells(self) -> int:
        """Number of cells (rows of the frame)."""
        return len(self.data)

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start in the data."""
        if not len(self.data):
            return None
        return self.data["date"].min(), self.data["date"].max()  # type: ignore[return-value]

    def changed(self) -> bool:
        """A frame in memory never changes under the cube."""
        return False

    def progress(self) -> None:
        """Nothing is materialised in the background."""
        return None

    def cancel(self, thread: int | None = None) -> None:
        """Questions in memory are short; nothing to cancel."""

    def sums(self, request: Request) -> pl.DataFrame:
        """The measure sums of ``request`` per key (unsorted), read from the smallest fitting roll-up
        (answers are kept: the frame never changes)."""
        kept = self.answers.get(request)
        if kept is not None:
            return kept
        lf = self.rollup(request.dimensions, request.measures).lazy()
        if request.filters or request.start is not None or request.end is not None:
            lf = lf.filter(self._predicate(request))
        keys = request.keys
        if request.grain is not None:
            lf = lf.with_columns(period=period_start(pl.col("date"), request.grain))
        sums = self.sum_exprs(request)
        return self.answers.keep(request, (lf.group_by(keys).agg(sums) if keys else lf.select(sums)).collect())

    def sum_exprs(self, request: Request) -> list[pl.Expr]:
        """Aggregations summing each measure the metrics need.

        A sum over cells that are all null stays null (never a fake 0). Where a rate's numerator
        or denominator is unknown in some cells, both are summed over the cells where both are
        known, so a partly published slice gives the rate of its published part.
        """
        exprs: dict[str, pl.Expr] = {}
        for m in request.metrics:
            num_name, den_name = sum_names(m, self.complete)
            if den_name is None or num_name == m.numerator:
                for name in m.measures:
                    exprs.setdefault(name, known_sum(name, name in self.complete).alias(name))
                continue
            assert m.denominator is not None  # a rate whose sums are paired (see sum_names)
            numerator, denominator = pl.col(m.numerator), pl.col(m.denominator)
            both = numerator.is_not_null() & denominator.is_not_null()
            exprs.setdefault(num_name, known_sum(numerator.filter(both)).alias(num_name))
            exprs.setdefault(den_name, known_sum(denominator.filter(both)).alias(den_name))
        return list(exprs.values())

    def _predicate(self, request: Request) -> pl.Expr:
        terms: list[pl.Expr] = []
        for dimension, values in request.filters:
            terms.append(pl.col(dimension).cast(pl.String).is_in(list(values)))
        if request.start is not None:
            terms.append(pl.col("date") >= request.start)
        if request.end is not None:
            terms.append(pl.col("date") <= request.end)
        return pl.all_horizontal(terms) if terms else pl.lit(True)

    def rollup(self, dimensions: Iterable[str], measures: Iterable[str] = ()) -> pl.DataFrame:
        """The cube summed over every dimension not in ``dimensions`` (by day), cached.

        Queries read the smallest cached roll-up that has the dimensions they need, so pages
        that look at a few dimensions at a time stay fast on a cube of millions of cells. A
        roll-up is only used where the measures have no unknown cells (sums of partly unknown
        measures must stay paired cell by cell); otherwise the full cube is read.
        """
        wanted = frozenset(dimensions) - {"date"}
        if (
            len(wanted) > MAX_ROLLUP_DIMENSIONS
            or not set(measures) <= self.complete
            or len(self.data) < MIN_ROLLUP_CELLS
        ):
            return self.data
        fitting = [r for dims, r in self._rollups.items() if wanted <= dims]
        if fitting:
            return min(fitting, key=len)
        keep = [d for d in self.dimensions if d in wanted]
        complete = [m for m in self.measures if m in self.complete]
        rolled = self._sum_by_day(keep, complete)
        if len(self._rollups) >= MAX_ROLLUPS:
            self._rollups.pop(next(iter(self._rollups)))
        self._rollups[wanted] = rolled
        return rolled

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Build the roll-ups pages usually need up front (default: every dimension alone and
        with the harm area), so the first filter change is as fast as the next."""
        if dimension_sets is None:
            dimension_sets = [{d} for d in self.dimensions] + [
                {"harm_area", d} for d in self.dimensions if d != "harm_area"
            ]
        for dims in dimension_sets:
            self.rollup([d for d in dims if d in self.dimensions], self.complete)

    def _sum_by_day(self, keep: list[str], measures: list[str]) -> pl.DataFrame:
        """Sum measures by date and ``keep``, grouping on one packed integer key when it fits.

        Grouping on a single 64-bit key (the date and each dimension's category code in fixed
        bit fields) is two to three times faster than on several columns, which is most of the
        cost of a cold roll-up on a cube of millions of cells.
        """
        codes = {d: pl.col(d).to_physical().cast(pl.Int64) for d in keep}
        sizes = {d: int(self.data.select(pl.col(d).to_physical().max()).item() or 0) + 2 for d in keep}
        if math.prod(sizes.values()) >= 2**40:
            return self.data.group_by("date", *keep).agg(pl.col(measures).sum())
        key = pl.col("date").cast(pl.Int64) - pl.col("date").min().cast(pl.Int64)
        for d in keep:  # a null dimension value gets its own code (size - 1)
            key = key * sizes[d] + codes[d].fill_null(sizes[d] - 1)
        return (
            self.data.lazy()
            .group_by(key.alias("__cell"))
            .agg(pl.col("date", *keep).first(), pl.col(measures).sum())
            .drop("__cell")
            .collect()
        )

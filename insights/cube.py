"""The Cube: dimension columns plus additive measures, with the provenance of the data.

Every source (files, SQL, public reports) produces a Cube; every insight reads one through
``Cube.query``. Measures are additive, so any slice, roll-up or period is a sum, and every
rate is a ratio of sums.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

import polars as pl

from insights.errors import DataError
from insights.filters import Filters, normalise_filters
from insights.metrics import MEASURES, Metric, as_metric, metrics, require_summable
from insights.model import DIMENSIONS
from insights.periods import GRAINS, Grain, as_date, as_grain, period_start

#: Roll-ups are kept for queries needing at most this many dimensions…
MAX_ROLLUP_DIMENSIONS = 3
#: …at most this many of them (oldest dropped first)…
MAX_ROLLUPS = 24
#: …and only for cubes at least this large (smaller ones are fast to scan as they are).
MIN_ROLLUP_CELLS = 200_000


@dataclass(frozen=True)
class Caveat:
    """A known limit of the data: a methodology change, a gap or a publisher defect.

    ``date`` places it on time charts; ``harm_area`` scopes it (None: applies to all).
    """

    text: str
    kind: Literal["methodology", "gap", "defect", "mapping", "validation"] = "methodology"
    date: dt.date | None = None
    harm_area: str | None = None


REJECTED_COLUMNS = ("_source", "_row", "_column", "_reason")


@dataclass
class Provenance:
    """Where a cube came from and what was lost on the way.

    ``rejected`` keeps every rejected input row (as text) with its source file, row number
    (1-based data row; the header is not counted), the offending column and the reason. A
    row with several faults appears once per fault; ``rows_rejected`` counts rows. (A SQL
    source keeps a sample of its rejected rows; the count covers all of them.)
    """

    source: str
    kind: str
    rows_read: int
    rows_rejected: int = 0
    as_of: dt.date | None = None
    rejected: pl.DataFrame = field(default_factory=lambda: empty_rejections())
    caveats: list[Caveat] = field(default_factory=list)
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    @property
    def rejection_reasons(self) -> dict[str, int]:
        """Reason → number of rows rejected for it (most frequent first)."""
        if not len(self.rejected):
            return {}
        counts = self.rejected.group_by("_reason").len().sort(["len", "_reason"], descending=[True, False])
        return dict(zip(counts["_reason"], counts["len"], strict=True))


#: Human names of the public reports and databases, by ``Provenance.kind``.
PUBLISHED_SOURCES = {
    "tiktok_cger": "TikTok Community Guidelines Enforcement Report",
    "meta_cser": "Meta CSER",
    "dsa_tdb": "EU DSA Transparency Database",
    "dsa_statements": "EU DSA Transparency Database",
    "dsa_summary": "EU DSA Transparency Database",
}
#: Human names of SQL dialects (as SQLAlchemy names them; others are shown as they are).
SQL_DIALECTS = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "sqlite": "SQLite",
    "duckdb": "DuckDB",
    "mssql": "SQL Server",
    "oracle": "Oracle",
    "snowflake": "Snowflake",
    "bigquery": "BigQuery",
    "redshift": "Redshift",
    "databricks": "Databricks",
}


def source_name(provenance: Provenance) -> str:
    """The data source as a reader names it, for decks and captions, never a server path or a
    connection string: 'TikTok Community Guidelines Enforcement Report', 'Meta CSER', 'EU DSA
    Transparency Database', 'bundled sample data', a file's (or folder's) own name, or for SQL
    the dialect and the table ('PostgreSQL table events', 'SQLite query')."""
    if provenance.kind in PUBLISHED_SOURCES:
        return PUBLISHED_SOURCES[provenance.kind]
    source = provenance.source.strip()
    if "://" in source:  # a SQL source: '<url without password> <table or "query">'
        url, _, relation = source.rpartition(" ")
        scheme = (url or relation).split("://", 1)[0].split("+", 1)[0]
        dialect = SQL_DIALECTS.get(scheme, scheme or "SQL")
        return f"{dialect} query" if relation in ("query", "") or not url else f"{dialect} table {relation}"
    paths = [PurePath(p.replace("\\", "/")) for p in _listed(source)]
    if any("sample_data" in path.parts for path in paths):
        return "bundled sample data"
    return ", ".join(path.name or str(path) for path in paths)


def _listed(source: str) -> list[str]:
    """The paths in a source's text: one, or several when it is a list of them ("['a.csv', 'b.csv']")."""
    if source.startswith("[") and source.endswith("]"):
        try:
            listed = ast.literal_eval(source)
        except (ValueError, SyntaxError):
            return [source]
        return [str(p) for p in listed] or [source]
    return [source]


def empty_rejections() -> pl.DataFrame:
    """An empty rejected-rows frame with the standard columns."""
    return pl.DataFrame(schema={"_source": pl.String, "_row": pl.Int64, "_column": pl.String, "_reason": pl.String})


def known_sum(column: str | pl.Expr, complete: bool = False) -> pl.Expr:
    """Sum of a measure over a group; null (not 0) when no row of the group knows it.
    ``complete``: the measure is known in every row, so a plain sum does."""
    column = pl.col(column) if isinstance(column, str) else column
    if complete:
        return column.sum()
    return pl.when(column.is_not_null().any()).then(column.sum()).otherwise(None)


class Cube:
    """Dimensions plus additive measures, at the source's native time grain.

    ``data`` is a Polars DataFrame (held in memory; ``frame`` gives it as a LazyFrame) with
    a ``date`` column (period start), categorical dimension columns and measure columns.
    """

    def __init__(self, data: pl.DataFrame, provenance: Provenance, time_grain: Grain = "day"):
        self.data = data
        self.provenance = provenance
        self.time_grain = time_grain
        self.dimensions: tuple[str, ...] = tuple(d for d in DIMENSIONS if d in data.columns and d != "date")
        self.measures: tuple[str, ...] = tuple(m for m in MEASURES if m in data.columns)
        self._complete = frozenset(m for m in self.measures if data[m].null_count() == 0)
        self._rollups: dict[frozenset[str], pl.DataFrame] = {}
        self._values: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], list[str]] = {}

    def __repr__(self) -> str:
        return (
            f"Cube({len(self.data):,} cells, dims={list(self.dimensions)}, "
            f"measures={list(self.measures)}, source={self.provenance.source!r})"
        )

    @property
    def frame(self) -> pl.LazyFrame:
        """The cube as a LazyFrame."""
        return self.data.lazy()

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start in the data."""
        if not len(self.data):
            return None
        return self.data["date"].min(), self.data["date"].max()  # type: ignore[return-value]

    def available_metrics(self) -> list[str]:
        """Names of the registry metrics this cube has the measures for (estimated metrics such as
        prevalence are never among them: a cube sums, and they are not sums)."""
        return [
            name for name, m in metrics().items() if not m.is_estimated and all(x in self.measures for x in m.measures)
        ]

    def values(self, dimension: str, filters: Filters | None = None) -> list[str]:
        """Distinct values of a dimension, the most actioned first (remembered: a cube does not change)."""
        normal = normalise_filters(filters)
        key = (dimension, tuple((d, tuple(v)) for d, v in sorted(normal.items())))
        if key not in self._values:
            self._values[key] = self._ranked_values(dimension, normal)
        return list(self._values[key])

    def _ranked_values(self, dimension: str, filters: dict[str, list[str]]) -> list[str]:
        weight = "actions" if "actions" in self.measures else self.measures[0]
        cells = self.rollup({dimension, *filters}, [weight]).lazy()
        lf = cells.filter(self._predicate(filters, None, None)) if filters else cells
        ranked = (
            lf.group_by(dimension)
            .agg(pl.col(weight).sum())
            .drop_nulls(dimension)
            .sort([weight, dimension], descending=[True, False])
        )
        return ranked.collect()[dimension].cast(pl.String).to_list()

    def has_data(self, filters: Filters | None = None, start: object = None, end: object = None) -> bool:
        """True when some cell of the slice ``filters`` lies between ``start`` and ``end``."""
        unknown = [d for d in normalise_filters(filters) if d not in self.dimensions]
        if unknown:
            return False
        cells = self.rollup(normalise_filters(filters)).lazy()
        return cells.filter(self._predicate(filters, start, end)).head(1).collect().height > 0

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
            or not set(measures) <= self._complete
            or len(self.data) < MIN_ROLLUP_CELLS
        ):
            return self.data
        fitting = [r for dims, r in self._rollups.items() if wanted <= dims]
        if fitting:
            return min(fitting, key=len)
        keep = [d for d in self.dimensions if d in wanted]
        complete = [m for m in self.measures if m in self._complete]
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
            self.rollup([d for d in dims if d in self.dimensions], self._complete)

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

    def _predicate(self, filters: Filters | None, start: object, end: object) -> pl.Expr:
        terms: list[pl.Expr] = []
        for dimension, values in normalise_filters(filters).items():
            if dimension not in self.data.columns:
                raise DataError(f"cannot filter on {dimension!r}: this cube's dimensions are {list(self.dimensions)}")
            column = pl.col(dimension).cast(pl.String)
            terms.append(column.is_in(values))
        if start is not None:
            terms.append(pl.col("date") >= as_date(start, "start"))
        if end is not None:
            terms.append(pl.col("date") <= as_date(end, "end"))
        return pl.all_horizontal(terms) if terms else pl.lit(True)

    def _check(self, wanted: Sequence[Metric], by: Sequence[str], grain: str | None) -> None:
        for m in wanted:
            require_summable(m)
            missing = [x for x in m.measures if x not in self.measures]
            if missing:
                raise DataError(
                    f"metric {m.name!r} needs the measure(s) {missing}, which source "
                    f"{self.provenance.source!r} does not provide; available metrics: {self.available_metrics()}"
                )
        unknown = [d for d in by if d not in self.dimensions]
        if unknown:
            raise DataError(f"cannot break down by {unknown}: this cube's dimensions are {list(self.dimensions)}")
        if grain is not None and GRAINS.index(as_grain(grain)) < GRAINS.index(self.time_grain):
            raise DataError(f"source {self.provenance.source!r} is published by {self.time_grain}, not by {grain}")

    def _sum_names(self, m: Metric) -> tuple[str, str | None]:
        """Column names under which a metric's numerator and denominator sums are computed."""
        if m.denominator is None:
            return m.numerator, None
        if m.numerator in self._complete and m.denominator in self._complete:
            return m.numerator, m.denominator
        return f"{m.numerator}__over__{m.denominator}", f"{m.denominator}__under__{m.numerator}"

    def sum_exprs(self, wanted: Sequence[Metric]) -> list[pl.Expr]:
        """Aggregations summing each measure the metrics need.

        A sum over cells that are all null stays null (never a fake 0). Where a rate's numerator
        or denominator is unknown in some cells, both are summed over the cells where both are
        known, so a partly published slice gives the rate of its published part.
        """
        exprs: dict[str, pl.Expr] = {}
        for m in wanted:
            num_name, den_name = self._sum_names(m)
            if den_name is None or num_name == m.numerator:
                for name in m.measures:
                    exprs.setdefault(name, known_sum(name, name in self._complete).alias(name))
                continue
            assert m.denominator is not None  # a rate whose sums are paired (see _sum_names)
            numerator, denominator = pl.col(m.numerator), pl.col(m.denominator)
            both = numerator.is_not_null() & denominator.is_not_null()
            exprs.setdefault(num_name, known_sum(numerator.filter(both)).alias(num_name))
            exprs.setdefault(den_name, known_sum(denominator.filter(both)).alias(den_name))
        return list(exprs.values())

    def metric_exprs(self, wanted: Sequence[Metric]) -> list[pl.Expr]:
        """Each metric from the columns produced by ``sum_exprs``."""
        out = []
        for m in wanted:
            num_name, den_name = self._sum_names(m)
            den = pl.col(den_name) if den_name else None
            out.append(m.from_sums(pl.col(num_name), den).alias(m.name))
        return out

    def query(
        self,
        metrics: str | Sequence[str],
        by: Sequence[str] = (),
        filters: Filters | None = None,
        grain: Grain | None = None,
        start: object = None,
        end: object = None,
    ) -> pl.DataFrame:
        """Compute metrics for every combination of ``by`` (and every period when ``grain`` is set).

        ``filters`` maps a dimension to a value or a list of values; ``start`` and ``end`` are
        inclusive dates. Returns one row per combination: the ``period`` column first (when
        ``grain`` is given), then the ``by`` columns, then one column per metric named after it.
        Rates are ``sum(numerator) / sum(denominator)`` over the combination.
        """
        wanted = [as_metric(n) for n in ([metrics] if isinstance(metrics, str) else metrics)]
        grouped, keys = self._summed(wanted, by, filters, grain, start, end)
        return self._collect(grouped.select(*self._key_columns(keys), *self.metric_exprs(wanted)), keys)

    def sums(
        self,
        metric: str | Metric,
        by: Sequence[str] = (),
        filters: Filters | None = None,
        grain: Grain | None = None,
        start: object = None,
        end: object = None,
    ) -> pl.DataFrame:
        """The numerator and denominator sums behind one metric, for every combination of ``by``.

        Same arguments and rows as ``query``; the columns after the keys are ``numerator``,
        ``denominator`` (null for a count metric) and the metric itself. The sums are paired
        exactly as ``query`` pairs them, so ``numerator / denominator × scale`` is the metric.
        Significance tests and decompositions need these, since rates are not additive but
        their sums are. ``metric`` is a registry name or a ``Metric`` (e.g. actions over uploads).
        """
        wanted = as_metric(metric)
        grouped, keys = self._summed([wanted], by, filters, grain, start, end)
        num_name, den_name = self._sum_names(wanted)
        denominator = pl.col(den_name) if den_name else pl.lit(None, dtype=pl.Int64)
        return self._collect(
            grouped.select(
                *self._key_columns(keys),
                pl.col(num_name).alias("numerator"),
                denominator.alias("denominator"),
                *self.metric_exprs([wanted]),
            ),
            keys,
        )

    def _summed(
        self,
        wanted: Sequence[Metric],
        by: Sequence[str],
        filters: Filters | None,
        grain: Grain | None,
        start: object,
        end: object,
    ) -> tuple[pl.LazyFrame, list[str]]:
        """The measure sums the metrics need per combination of period and ``by``, and the key names."""
        by = [by] if isinstance(by, str) else list(by)
        self._check(wanted, by, grain)
        needed = {*by, *normalise_filters(filters)}
        lf = self.rollup(needed, [x for m in wanted for x in m.measures]).lazy()
        if filters or start is not None or end is not None:
            lf = lf.filter(self._predicate(filters, start, end))
        keys = list(by)
        if grain is not None:
            lf = lf.with_columns(period=period_start(pl.col("date"), grain))
            keys = ["period", *keys]
        sums = self.sum_exprs(wanted)
        return (lf.group_by(keys).agg(sums) if keys else lf.select(sums)), keys

    def _key_columns(self, keys: Sequence[str]) -> list[pl.Expr]:
        return [pl.col(k).cast(pl.String) if k in self.dimensions else pl.col(k) for k in keys]

    @staticmethod
    def _collect(result: pl.LazyFrame, keys: Sequence[str]) -> pl.DataFrame:
        return result.sort(keys, nulls_last=True).collect() if keys else result.collect()

"""The Cube: dimension columns plus additive measures, with the provenance of the data.

Every source (files, SQL, public reports) produces a Cube; every insight reads one through
``Cube.query``. Measures are additive, so any slice, roll-up or period is a sum, and every
rate is a ratio of sums.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, Protocol

import polars as pl

from insights.disclosure import Suppression, suppress, withheld_of
from insights.engines.aggregates import Progress
from insights.engines.memory import MemoryStore, known_sum
from insights.engines.request import Request, sum_names
from insights.engines.watch import Watched, Watcher
from insights.errors import DataError
from insights.filters import Filters, normalise_filters
from insights.metrics import Metric, as_metric, metrics, require_summable
from insights.periods import GRAINS, Grain, as_grain

__all__ = ["Caveat", "Cube", "Provenance", "Store", "known_sum", "source_name"]


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
    ``rows_accepted`` counts the rows that reached the cube, where the importer knows it: then
    ``conserved`` says whether every row read was either accepted or rejected — nothing lost.
    """

    source: str
    kind: str
    rows_read: int
    rows_rejected: int = 0
    rows_accepted: int | None = None
    as_of: dt.date | None = None
    rejected: pl.DataFrame = field(default_factory=lambda: empty_rejections())
    caveats: list[Caveat] = field(default_factory=list)
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    @property
    def conserved(self) -> bool | None:
        """``rows_read == rows_rejected + rows_accepted`` (None where the accepted count is unknown)."""
        return None if self.rows_accepted is None else self.rows_read == self.rows_rejected + self.rows_accepted

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


class Store(Protocol):
    """Where a cube's cells live and how its questions are answered: the Polars frame in memory
    (``insights.engines.memory``) or an engine (``insights.engines.store``)."""

    @property
    def engine(self) -> str:
        """Where the questions run ('polars', 'duckdb', 'postgresql', …)."""
        ...

    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    complete: frozenset[str]

    def sums(self, request: Request) -> pl.DataFrame:
        """The request's key columns and measure sums (named by ``sum_names``), unsorted."""
        ...

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start with data."""
        ...

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Prepare what pages usually ask for (roll-ups, materialised aggregates)."""
        ...

    def changed(self) -> bool:
        """True when the source changed since it was loaded (its answers are stale)."""
        ...

    def progress(self) -> Progress | None:
        """How far materialising aggregates is (None: nothing to prepare)."""
        ...

    def cancel(self, thread: int | None = None) -> None:
        """Stop the questions running now — those asked from thread ``thread`` (its
        ``threading.get_ident()``), else all; their callers get a DataError."""
        ...


class Cube:
    """Dimensions plus additive measures, at the source's native time grain.

    ``data`` is a Polars DataFrame (held in memory) with a ``date`` column (period start),
    categorical dimension columns and measure columns — or a ``Store`` keeping the events in
    an engine (DuckDB, a SQL database, Spark), where each question is one aggregate query.
    Either way the questions and answers are the same.
    """

    def __init__(self, data: pl.DataFrame | Store, provenance: Provenance, time_grain: Grain = "day"):
        self.store: Store = MemoryStore(data) if isinstance(data, pl.DataFrame) else data
        self.provenance = provenance
        self.time_grain = time_grain
        self.dimensions: tuple[str, ...] = self.store.dimensions
        self.measures: tuple[str, ...] = self.store.measures
        self._values: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], list[str]] = {}
        self.suppression: Suppression | None = None

    def __repr__(self) -> str:
        return (
            f"Cube(engine={self.engine}, dims={list(self.dimensions)}, "
            f"measures={list(self.measures)}, source={self.provenance.source!r})"
        )

    @property
    def engine(self) -> str:
        """Where the questions run: 'polars' (in memory), 'duckdb', 'postgresql', 'sqlite', 'spark'…"""
        return self.store.engine

    @property
    def data(self) -> pl.DataFrame:
        """The cells as a Polars DataFrame (a cube held in memory only)."""
        if not isinstance(self.store, MemoryStore):
            raise DataError(
                f"this cube's events stay in {self.engine}; ask them with cube.query(…) instead of reading cube.data"
            )
        return self.store.data

    @property
    def frame(self) -> pl.LazyFrame:
        """The cells as a LazyFrame (a cube held in memory only)."""
        return self.data.lazy()

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start in the data."""
        return self.store.date_range()

    def available_metrics(self) -> list[str]:
        """Names of the registry metrics this cube has the measures for (estimated metrics such as
        prevalence are never among them: a cube sums, and they are not sums)."""
        return [
            name for name, m in metrics().items() if not m.is_estimated and all(x in self.measures for x in m.measures)
        ]

    def changed(self) -> bool:
        """True when the source (a file, a table, a database) changed since the cube was loaded:
        its answers are stale and the app should offer to reload it."""
        return self.store.changed()

    def preparation(self) -> Progress | None:
        """Materialisation of the aggregates pages use most (an engine cube, after ``warm()``):
        ready of planned, the one building; None for a cube held in memory. Pages answer from
        the raw events meanwhile; show ``progress.text()`` while ``not progress.done``."""
        return self.store.progress()

    def cancel(self, thread: int | None = None) -> None:
        """Stop the questions this cube's engine is running — those asked from thread ``thread``
        (its ``threading.get_ident()``), else all — from another thread, e.g. a Cancel button while
        a long query runs; the interrupted ``query`` raises ``DataError``."""
        self.store.cancel(thread)

    def watched(self, watcher: Watcher) -> Cube:
        """The same cube, its questions asked on a worker thread while ``watcher`` hears how long
        each takes and may give it up (``insights.engines.watch``): an app's progress and Cancel
        button. The values it remembers are shared with this cube."""
        watched = copy.copy(self)  # the same policy and remembered values; another store
        watched.store = Watched(self.store, watcher)
        return watched

    def values(self, dimension: str, filters: Filters | None = None) -> list[str]:
        """Distinct values of a dimension, the most actioned first (remembered: a cube does not change)."""
        normal = normalise_filters(filters)
        key = (dimension, tuple((d, tuple(v)) for d, v in sorted(normal.items())))
        if key not in self._values:
            weight = self._weight()
            self._check([weight], [dimension], None, normal)
            sums = self.store.sums(Request.of([weight], [dimension], normal))
            ranked = (
                sums.lazy()
                .select(pl.col(dimension).cast(pl.String), pl.col(weight.numerator))
                .drop_nulls(dimension)
                .sort([weight.numerator, dimension], descending=[True, False])
            )
            self._values[key] = ranked.collect()[dimension].to_list()
        return list(self._values[key])

    def _weight(self) -> Metric:
        """The count that ranks values and tells where data is: actions, else the first measure."""
        name = "actions" if "actions" in self.measures else self.measures[0]
        return Metric(name, name, name, None, "count", None, "")

    def has_data(self, filters: Filters | None = None, start: object = None, end: object = None) -> bool:
        """True when some cell of the slice ``filters`` lies between ``start`` and ``end``."""
        normal = normalise_filters(filters)
        if any(d not in self.dimensions for d in normal):
            return False
        return bool(self.periods(self.time_grain, normal, start, end))

    def periods(
        self, grain: Grain, filters: Filters | None = None, start: object = None, end: object = None
    ) -> list[dt.date]:
        """Start dates of the periods of ``grain`` in which the slice has cells, in order."""
        self._check([], [], grain, normalise_filters(filters))
        request = Request.of([self._weight()], (), filters, grain, start, end)
        return sorted(self.store.sums(request)["period"].to_list())

    def rollup(self, dimensions: Iterable[str], measures: Iterable[str] = ()) -> pl.DataFrame:
        """The cells summed over every dimension not in ``dimensions`` (by day), cached (a cube
        held in memory only; see ``MemoryStore.rollup``)."""
        if not isinstance(self.store, MemoryStore):
            raise DataError(f"roll-ups of a cube in {self.engine} are materialised in the engine; use cube.query(…)")
        return self.store.rollup(dimensions, measures)

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Prepare what pages usually need (default: every dimension alone and with the harm area):
        roll-ups in memory now, or aggregates materialised in the engine in the background."""
        self.store.warm(dimension_sets)

    def _check(
        self, wanted: Sequence[Metric], by: Sequence[str], grain: str | None, filters: dict[str, list[str]]
    ) -> None:
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
        for dimension in filters:
            if dimension not in self.dimensions:
                raise DataError(f"cannot filter on {dimension!r}: this cube's dimensions are {list(self.dimensions)}")
        if grain is not None and GRAINS.index(as_grain(grain)) < GRAINS.index(self.time_grain):
            raise DataError(f"source {self.provenance.source!r} is published by {self.time_grain}, not by {grain}")

    def metric_exprs(self, wanted: Sequence[Metric]) -> list[pl.Expr]:
        """Each metric from the sum columns of an answer (see ``sum_names``)."""
        out = []
        for m in wanted:
            num_name, den_name = sum_names(m, self.store.complete)
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
        answer, keys = self._answer(wanted, by, filters, grain, start, end)
        withheld = self._withheld({m.name: sum_names(m, self.store.complete) for m in wanted})
        return self._finish(answer.select(*self._key_columns(keys), *self.metric_exprs(wanted), *withheld), keys)

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
        answer, keys = self._answer([wanted], by, filters, grain, start, end)
        num_name, den_name = sum_names(wanted, self.store.complete)
        denominator = pl.col(den_name) if den_name else pl.lit(None, dtype=pl.Int64)
        return self._finish(
            answer.select(
                *self._key_columns(keys),
                pl.col(num_name).alias("numerator"),
                denominator.alias("denominator"),
                *self.metric_exprs([wanted]),
                *self._withheld(
                    {"numerator": (num_name,), "denominator": (den_name,), wanted.name: (num_name, den_name)}
                ),
            ),
            keys,
        )

    def _answer(
        self,
        wanted: Sequence[Metric],
        by: Sequence[str],
        filters: Filters | None,
        grain: Grain | None,
        start: object,
        end: object,
    ) -> tuple[pl.LazyFrame, list[str]]:
        """The store's answer to the request (measure sums per key, suppressed by the cube's policy)
        and the key names."""
        request = Request.of(wanted, by, filters, grain, start, end)
        self._check(wanted, request.by, grain, request.filter_map)
        return self._disclosed(self.store.sums(request), request.keys, request.filter_map), request.keys

    def _key_columns(self, keys: Sequence[str]) -> list[pl.Expr]:
        return [pl.col(k).cast(pl.String) if k in self.dimensions else pl.col(k) for k in keys]

    @staticmethod
    def _finish(result: pl.LazyFrame, keys: Sequence[str]) -> pl.DataFrame:
        return result.sort(keys, nulls_last=True).collect() if keys else result.collect()

    # -- Small-cell suppression (insights.disclosure): the one hook ------------------------------
    # ``_answer`` hands the store's sums to ``_disclosed``; ``query`` and ``sums`` add ``_withheld``
    # columns. Whatever the store (memory, an engine, a scope over either), the answer is suppressed
    # after the store made it, so a restricted cube suppresses what its user may see.

    def with_suppression(self, policy: Suppression | None) -> Cube:
        """This cube answering with small cells suppressed by ``policy`` (None: not suppressed).

        The same store and caches; every answer of ``query`` and ``sums`` (and so everything built
        on them) has its counts and the sums behind its rates suppressed, and carries a
        ``<column>__withheld`` companion per value (see ``insights.disclosure``). The cube itself
        when it already answers under ``policy``.
        """
        if policy == self.suppression:
            return self
        suppressed = copy.copy(self)
        suppressed.suppression = policy
        return suppressed

    def _disclosed(self, sums: pl.DataFrame, keys: list[str], filters: Filters | None) -> pl.LazyFrame:
        """The measure sums of an answer, suppressed by the cube's policy (as they are without one).
        Sorted by the keys (as text) first: the complement chosen among equal cells is the first in key
        order, whatever order and types the store answered in."""
        if self.suppression is None:
            return sums.lazy()
        ordered = sums.sort(self._key_columns(keys), nulls_last=True) if keys else sums
        columns = [c for c in sums.columns if c not in keys]
        return suppress(ordered, self.suppression, keys=keys, columns=columns, filters=filters).lazy()

    def _withheld(self, values: dict[str, tuple[str | None, ...]]) -> list[pl.Expr]:
        """The companions of an answer's values, each computed from these sum columns (none
        without a policy)."""
        if self.suppression is None:
            return []
        return [withheld_of(name, [s for s in sums if s is not None]) for name, sums in values.items()]

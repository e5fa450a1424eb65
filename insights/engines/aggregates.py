"""Materialised aggregates: day × a few dimensions × every measure, kept in DuckDB.

Pages ask a handful of shapes again and again (KPIs and maps by harm area × country, the
deep dive by harm area × detection source, content type, policy…). Those are declared up front
(``DECLARED``) and any other set of up to three dimensions that requests keep needing
(``BUSY_AFTER`` times) is added. Each is built in the background, one at a time, with its
progress readable (``Progress``); until one is ready the requests it would serve go to the raw
events. An aggregate is read for every request whose dimensions it covers (the smallest one
that does), whatever the grain, dates and filters.

Where the events are in DuckDB the aggregate is a table in the same database (the events never
leave it); for a database or Spark source it is the query's answer stored in a local DuckDB
(only the aggregate crosses the wire, once). A source that changes retires its aggregates.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

from insights.engines.compile import AggregateColumns
from insights.engines.connections import Connection, DuckDBConnection
from insights.errors import DataError
from insights.labels import dimension_label

#: Dimension sets materialised when a cube is warmed (those the pages read first).
DECLARED: tuple[tuple[str, ...], ...] = (
    ("harm_area", "country"),
    ("harm_area", "detection_source"),
    ("harm_area", "content_type"),
    ("harm_area", "policy"),
    ("harm_area", "language"),
    ("harm_area", "action"),
)
#: A set of dimensions requests needed this many times from the raw events is materialised…
BUSY_AFTER = 3
#: …when it has at most this many dimensions.
MAX_DIMENSIONS = 3


@dataclass
class Progress:
    """Where materialisation stands: aggregates ready of those planned, the one being built."""

    ready: int = 0
    planned: int = 0
    building: tuple[str, ...] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Nothing planned is still to build."""
        return self.ready + len(self.errors) >= self.planned and self.building is None

    def text(self) -> str:
        """'3 of 6 aggregates ready (building harm area × policy)'."""
        names = [dimension_label(d).lower() for d in self.building or ()]
        building = f" (building {' × '.join(names)})" if names else ""
        return f"{self.ready} of {self.planned} aggregates ready{building}"


class Aggregates:
    """The aggregates of one source version: which are ready, building them, finding one."""

    def __init__(
        self,
        local: DuckDBConnection,
        source: Connection,
        select: Callable[[tuple[str, ...]], str],
        dimensions: tuple[str, ...],
        prefix: str,
    ):
        self.connection = local
        self.source = source
        self.select = select
        self.dimensions = dimensions
        self.prefix = prefix
        self.progress = Progress()
        self._ready: dict[frozenset[str], AggregateColumns] = {}
        self._queue: list[tuple[str, ...]] = []
        self._asked: Counter[frozenset[str]] = Counter()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._retired = False
        self._adopt_stored()

    def table(self, dimensions: tuple[str, ...]) -> str:
        """The table name of an aggregate (its source version and dimensions in the name)."""
        return "__".join([self.prefix, *dimensions])

    def _adopt_stored(self) -> None:
        """Aggregates of this version already in the local database (kept from an earlier run)."""
        try:
            names = self.connection.run(
                f"SELECT table_name FROM information_schema.tables WHERE table_name LIKE '{self.prefix}__%'"
            )["table_name"].to_list()
        except DataError:
            return
        for name in names:
            dims = tuple(name.split("__")[1:])
            if set(dims) <= set(self.dimensions):
                self._ready[frozenset(dims)] = AggregateColumns(name, frozenset(dims))

    def covering(self, dimensions: frozenset[str]) -> AggregateColumns | None:
        """The smallest ready aggregate with every dimension of a request (None: ask the events)."""
        with self._lock:
            fitting = [a for dims, a in self._ready.items() if dimensions <= dims] if not self._retired else []
        return min(fitting, key=lambda a: len(a.dimensions)) if fitting else None

    def note(self, dimensions: frozenset[str]) -> None:
        """Count a request the raw events answered; a busy small set of dimensions gets its aggregate."""
        if not dimensions or len(dimensions) > MAX_DIMENSIONS:
            return
        self._asked[dimensions] += 1
        if self._asked[dimensions] == BUSY_AFTER:
            self.materialise([sorted(dimensions)])

    def materialise(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> Progress:
        """Plan aggregates (default: ``DECLARED``) and build them in the background, one at a time."""
        planned = [tuple(d for d in self.dimensions if d in dims) for dims in (dimension_sets or DECLARED)]
        with self._lock:
            for dims in planned:
                if dims and frozenset(dims) not in self._ready and dims not in self._queue:
                    self._queue.append(dims)
                    self.progress.planned += 1
            if self._queue and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._build_all, name="harm-insights-aggregates", daemon=True)
                self._worker.start()
        return self.progress

    def wait(self, timeout: float | None = None) -> Progress:
        """Block until the planned aggregates are built (for scripts, tests and benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self.progress

    def retire(self) -> None:
        """The source changed: stop reading (and building) this version's aggregates; those not
        begun are no longer planned, so the progress is done once the one building ends."""
        with self._lock:
            self._retired = True
            self.progress.planned -= len(self._queue)
            self._queue.clear()

    def _build_all(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._retired:
                    self.progress.building = None
                    return
                dims = self._queue.pop(0)
                self.progress.building = dims
            try:
                self._build(dims)
            except DataError as error:
                with self._lock:
                    self.progress.errors.append(f"{' × '.join(dims)}: {error}")
                continue
            with self._lock:
                self._ready[frozenset(dims)] = AggregateColumns(self.table(dims), frozenset(dims))
                self.progress.ready += 1

    def _build(self, dims: tuple[str, ...]) -> None:
        """One aggregate: inside DuckDB when the events are there, else fetched once and stored."""
        table = self.table(dims)
        sql = self.select(dims)
        if self.source is self.connection:
            self.connection.execute(f'CREATE OR REPLACE TABLE "{table}" AS {sql}')
            return
        frame = self.source.run(sql)
        day = pl.col("day").str.to_date() if frame.schema["day"] == pl.String else pl.col("day").cast(pl.Date)
        frame = frame.with_columns(day, pl.col(dims).cast(pl.String), pl.exclude("day", *dims).cast(pl.Int64))
        self.connection.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM frame', frame)

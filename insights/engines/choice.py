"""Choosing the engine for a source, and opening a source on it.

``choose_engine``: an explicit ``engine=`` wins, then ``$HARM_INSIGHTS_ENGINE``, then the source
decides — a SQL database answers its own questions; Parquet events of at least
``$HARM_INSIGHTS_DUCKDB_FROM_MB`` (default 64 MB, about 2.5M events) go to DuckDB, scanned in
place; smaller files, CSV, uploads and the public reports are held in memory by Polars, which is
fastest where everything fits. ``duckdb_events`` and ``spark_events`` open Parquet files on
those engines; a source's *version* (its files' names, sizes and modification times) tells
when it changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from insights.cube import Cube
from insights.engines.connections import DuckDBConnection, SparkConnection, spark_session
from insights.engines.load import EventSource, load_events
from insights.errors import DataError

Engine = Literal["polars", "duckdb", "spark", "database"]
ENGINES: tuple[str, ...] = ("polars", "duckdb", "spark", "database")
PARQUET = (".parquet", ".pq")


def duckdb_from_bytes() -> int:
    """Parquet events at least this large load into DuckDB by default."""
    return int(float(os.environ.get("HARM_INSIGHTS_DUCKDB_FROM_MB", "64")) * 2**20)


def choose_engine(files: Sequence[Path], engine: str | None = None) -> str:
    """The engine for event files: ``engine``, else $HARM_INSIGHTS_ENGINE, else by format and size."""
    chosen = engine or os.environ.get("HARM_INSIGHTS_ENGINE") or "auto"
    if chosen not in (*ENGINES, "auto"):
        raise DataError(f"unknown engine {chosen!r}; engines: {', '.join(ENGINES)} (or auto)")
    parquet = bool(files) and all(p.name.lower().endswith(PARQUET) for p in files)
    if chosen == "auto":
        return "duckdb" if parquet and sum(p.stat().st_size for p in files) >= duckdb_from_bytes() else "polars"
    if chosen in ("duckdb", "spark") and not parquet:
        raise DataError(f"engine={chosen!r} scans Parquet files in place; load CSV with engine='polars'")
    if chosen == "database":
        raise DataError("engine='database' is for SQL sources; files load with 'polars', 'duckdb' or 'spark'")
    return chosen


def cache_dir() -> Path:
    """Where materialised aggregates and DuckDB's spill files live: $HARM_INSIGHTS_CACHE_DIR,
    else ~/.cache/harm-insights."""
    folder = Path(os.environ.get("HARM_INSIGHTS_CACHE_DIR") or Path.home() / ".cache" / "harm-insights")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_version(listing: Callable[[], list[Path]]) -> Callable[[], str]:
    """A source's version from its files (listed anew each time: a new file is a change)."""

    def version() -> str:
        try:
            stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in listing()]
        except (OSError, DataError) as error:
            return f"unreadable: {error}"
        return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]

    return version


def ids_increasing(files: Sequence[Path]) -> Callable[[str], bool]:
    """A cheap proof that event ids are unique: integers rising within and across the files
    (how logs are usually written). False when it cannot tell; then the engine counts them."""

    def proof(id_column: str) -> bool:
        previous = None
        for path in files:
            ids = pl.scan_parquet(path).select(pl.col(id_column))
            if not ids.collect_schema()[id_column].is_integer():
                return False
            found = ids.select(
                rising=(pl.col(id_column).diff().drop_nulls() > 0).all(),
                nulls=pl.col(id_column).null_count(),
                first=pl.col(id_column).first(),
                last=pl.col(id_column).last(),
            ).collect()
            rising, nulls, first, last = found.row(0)
            if nulls or not rising or (previous is not None and first is not None and first <= previous):
                return False
            previous = last if last is not None else previous
        return True

    return proof


def _quoted(paths: Sequence[Path]) -> str:
    return ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)


def duckdb_events(
    files: Sequence[Path], listing: Callable[[], list[Path]], name: str, columns: dict[str, str] | None
) -> Cube:
    """Parquet events scanned in place by DuckDB; aggregates kept in a DuckDB file in the cache
    folder (in memory where another process holds that file)."""
    folder = cache_dir()
    database = folder / f"{hashlib.sha256(name.encode()).hexdigest()[:16]}.duckdb"
    try:
        connection = DuckDBConnection(database, spill=folder / "spill")
    except duckdb.Error:  # another process has it open
        connection = DuckDBConnection(":memory:", spill=folder / "spill")
    relation = f"read_parquet([{_quoted(files)}], filename = true, file_row_number = true, union_by_name = true)"
    source = EventSource(
        connection=connection,
        relation=relation,
        name=name,
        version=file_version(listing),
        local=connection,
        row_columns=("filename", "file_row_number"),
        hidden=("filename", "file_row_number"),
        ids_unique=ids_increasing(files),
    )
    return load_events(source, columns)


def spark_events(
    files: Sequence[Path], listing: Callable[[], list[Path]], name: str, columns: dict[str, str] | None
) -> Cube:
    """Parquet events read by Spark (``$HARM_INSIGHTS_SPARK_MASTER``, default ``local[2]``) as a
    temporary view; aggregates kept in a local DuckDB."""
    session = spark_session()
    view = f"harm_events_{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    session.read.parquet(*[str(p) for p in files]).createOrReplaceTempView(view)
    source = EventSource(
        connection=SparkConnection(session),
        relation=view,
        name=name,
        version=file_version(listing),
        local=DuckDBConnection(":memory:"),
        ids_unique=ids_increasing(files),
    )
    return load_events(source, columns)

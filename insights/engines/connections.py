"""Connections to the engines a cube's questions run on: DuckDB embedded, any database with a
SQLAlchemy dialect, a Spark session. Each runs one SQL text in its dialect and returns the
(small) answer as a Polars frame; each can cancel what it is running. An engine's error — a
database that is down, a query that stops half-way — becomes a ``DataError`` that says so.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl
import sqlalchemy as sa

from insights.errors import DataError

#: sqlglot's dialect for each SQLAlchemy dialect name (the same name where it is not listed).
SQLGLOT_DIALECTS = {"postgresql": "postgres", "mssql": "tsql", "databricks": "databricks"}


class Connection(Protocol):
    """Runs SQL on one engine."""

    engine: str
    dialect: str

    def run(self, sql: str) -> pl.DataFrame:
        """The result of one statement as a frame (DataError when the engine fails)."""
        ...

    def columns(self, relation: str) -> list[str]:
        """Column names of a relation (a FROM clause in this dialect)."""
        ...

    def cancel(self, thread: int | None = None) -> None:
        """Stop what is running — what thread ``thread`` (a ``threading.get_ident()``) runs, else
        everything; the caller of ``run`` gets a DataError."""
        ...


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit: $HARM_INSIGHTS_DUCKDB_MEMORY, else 1.5 GB (it spills beyond that)."""
    return os.environ.get("HARM_INSIGHTS_DUCKDB_MEMORY", "1500MB")


class DuckDBConnection:
    """DuckDB embedded: files scanned in place, larger than memory spilled to ``spill`` on disk."""

    engine = "duckdb"
    dialect = "duckdb"

    def __init__(self, database: str | Path = ":memory:", spill: Path | None = None):
        config: dict[str, Any] = {"memory_limit": duckdb_memory_limit(), "preserve_insertion_order": False}
        if spill is not None:
            config["temp_directory"] = str(spill)
        self.database = str(database)
        self.con = duckdb.connect(self.database, config=config)
        self._running: dict[duckdb.DuckDBPyConnection, int] = {}
        self._lock = threading.Lock()

    def run(self, sql: str) -> pl.DataFrame:
        """Run on a cursor of its own, so several threads can ask at once."""
        cursor = self.con.cursor()
        with self._lock:
            self._running[cursor] = threading.get_ident()
        try:
            return pl.from_arrow(cursor.sql(sql).to_arrow_table())  # type: ignore[return-value]
        except duckdb.InterruptException:
            raise DataError("the query was cancelled") from None
        except duckdb.Error as error:
            raise DataError(f"DuckDB could not answer: {first_line(error)}") from None
        finally:
            with self._lock:
                self._running.pop(cursor, None)
            cursor.close()

    def execute(self, sql: str, frame: pl.DataFrame | None = None) -> None:
        """Run a statement for its effect (``frame`` is visible to it as the table ``frame``)."""
        cursor = self.con.cursor()
        try:
            if frame is not None:
                cursor.register("frame", frame.to_arrow())
            cursor.execute(sql)
        except duckdb.Error as error:
            raise DataError(f"DuckDB could not store an aggregate: {first_line(error)}") from None
        finally:
            cursor.close()

    def columns(self, relation: str) -> list[str]:
        """Column names of a relation."""
        return self.run(f"SELECT * FROM {relation} LIMIT 0").columns

    def cancel(self, thread: int | None = None) -> None:
        """Interrupt the queries thread ``thread`` runs (None: every running query)."""
        with self._lock:
            for cursor, runner in self._running.items():
                if thread is None or runner == thread:
                    cursor.interrupt()


class SqlAlchemyConnection:
    """Any database with a SQLAlchemy dialect (PostgreSQL, SQLite, …): SQL text on a raw DB-API
    cursor (no parameter parsing, so a '%' in a value is a '%')."""

    def __init__(self, engine: sa.Engine):
        self.sa_engine = engine
        self.engine = engine.dialect.name
        self.dialect = SQLGLOT_DIALECTS.get(self.engine, self.engine)
        self.label = engine.url.render_as_string(hide_password=True)
        self._running: dict[Any, int] = {}
        self._lock = threading.Lock()

    def run(self, sql: str) -> pl.DataFrame:
        """Run one statement and fetch its rows."""
        try:
            raw = self.sa_engine.raw_connection()
        except sa.exc.DBAPIError as error:
            raise DataError(f"cannot reach the database {self.label}: {first_line(error.orig)}") from None
        with self._lock:
            self._running[raw] = threading.get_ident()
        try:
            cursor = raw.cursor()
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except Exception as error:  # each driver has its own error types; all mean: no answer
            raise DataError(f"the database {self.label} could not answer: {first_line(error)}") from None
        finally:
            with self._lock:
                self._running.pop(raw, None)
            raw.close()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def columns(self, relation: str) -> list[str]:
        """Column names of a relation."""
        return self.run(f"SELECT * FROM {relation} WHERE 1 = 0").columns

    def cancel(self, thread: int | None = None) -> None:
        """Cancel the statements thread ``thread`` runs (None: every running one), where the
        driver can (psycopg can; SQLite interrupts)."""
        with self._lock:
            for raw, runner in self._running.items():
                if thread is not None and runner != thread:
                    continue
                driver = raw.driver_connection
                stop = getattr(driver, "cancel", None) or getattr(driver, "interrupt", None)
                if stop is not None:
                    stop()


class SparkConnection:
    """A Spark session (local or a cluster): SQL through ``spark.sql``, answers through Arrow."""

    engine = "spark"
    dialect = "spark"

    def __init__(self, session: Any):
        self.session = session

    def run(self, sql: str) -> pl.DataFrame:
        """Run one statement and collect its answer."""
        from pyspark.errors import PySparkException  # only where Spark is used

        try:
            return pl.from_arrow(self.session.sql(sql).toArrow())  # type: ignore[return-value]
        except PySparkException as error:
            raise DataError(f"Spark could not answer: {first_line(error)}") from None

    def columns(self, relation: str) -> list[str]:
        """Column names of a relation."""
        return list(self.session.sql(f"SELECT * FROM {relation} LIMIT 0").columns)

    def cancel(self, thread: int | None = None) -> None:
        """Cancel every running Spark job (the session does not tell whose job is whose)."""
        self.session.sparkContext.cancelAllJobs()


def spark_session(master: str | None = None) -> Any:
    """A Spark session: $HARM_INSIGHTS_SPARK_MASTER (default ``local[2]``), quiet, Arrow on."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master or os.environ.get("HARM_INSIGHTS_SPARK_MASTER", "local[2]"))
        .appName("harm-insights")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def first_line(error: object) -> str:
    """The first line of an engine's error message (the rest is its stack)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

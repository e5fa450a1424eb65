"""SQL databases: the events stay in the database, and every question is pushed down.

A table (or the user's query) is a relation the database reads; loading counts what it holds
and what it rejects (NULL-safe, see ``insights.engines.load``) in a few aggregate scans, and
every page question is then one aggregate query compiled for the database's dialect
(``insights.engines.compile``) that brings back only its answer. A database that is down, or
stops mid-query, is a ``DataError`` that says so. The source's version (its row count, and
for PostgreSQL when the server started) tells when the data changed under the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlglot import exp

from insights.cube import Cube
from insights.engines.connections import DuckDBConnection, SqlAlchemyConnection, first_line
from insights.engines.load import EventSource, load_events
from insights.errors import DataError

#: Seconds a database's version is trusted before it is asked again.
VERSION_TTL = 30.0


def _relation(connection: SqlAlchemyConnection, table: str | None, query: str | None, schema: str | None) -> str:
    """The FROM text of the events: the quoted table, or the query as a subquery."""
    if (table is None) == (query is None):
        raise DataError("a SQL source needs exactly one of table='name' or query='SELECT …'")
    if query is not None:
        return f"({query}) AS source"
    assert table is not None
    try:
        inspector = sa.inspect(connection.sa_engine)
        if not inspector.has_table(table, schema=schema):
            tables = inspector.get_table_names(schema=schema)
            raise DataError(f"table {table!r} not found in {connection.label}; tables: {tables}")
    except sa.exc.DBAPIError as error:
        raise DataError(f"cannot reach the database {connection.label}: {first_line(error.orig)}") from None
    return exp.table_(table, db=schema, quoted=True).sql(dialect=connection.dialect)


def database_version(connection: SqlAlchemyConnection, relation: str) -> Callable[[], str]:
    """The source's version: its row count and, on PostgreSQL, when the server started (so a
    restart is noticed); asked at most every ``VERSION_TTL`` seconds. An unreachable database
    has a version of its own ('unreachable: …'), so it reads as changed."""
    started = ", pg_postmaster_start_time()" if connection.dialect == "postgres" else ""
    sql = f"SELECT COUNT(*){started} FROM {relation}"
    seen: dict[str, Any] = {}

    def version() -> str:
        if "at" in seen and time.monotonic() - seen["at"] < VERSION_TTL:
            return str(seen["version"])
        try:
            seen["version"] = repr(connection.run(sql).row(0))
        except DataError as error:
            seen["version"] = f"unreachable: {error}"
        seen["at"] = time.monotonic()
        return str(seen["version"])

    return version


def key_is_unique(connection: SqlAlchemyConnection, table: str | None, schema: str | None) -> Callable[[str], bool]:
    """True when the table's primary key or a unique constraint is the event id alone."""

    def proof(id_column: str) -> bool:
        if table is None:
            return False
        inspector = sa.inspect(connection.sa_engine)
        keys: list[list[Any]] = [inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []]
        keys += [u["column_names"] for u in inspector.get_unique_constraints(table, schema=schema)]
        keys += [list(i["column_names"]) for i in inspector.get_indexes(table, schema=schema) if i.get("unique")]
        return [id_column] in keys

    return proof


def load_sql(
    url: str | sa.Engine,
    table: str | None = None,
    query: str | None = None,
    columns: Mapping[str, str] | None = None,
    schema: str | None = None,
) -> Cube:
    """A cube over an events table (or query) that stays in the database."""
    engine = url if isinstance(url, sa.Engine) else sa.create_engine(url)
    connection = SqlAlchemyConnection(engine)
    name = f"{connection.label} {table or 'query'}"
    relation = _relation(connection, table, query, schema)
    source = EventSource(
        connection=connection,
        relation=relation,
        name=name,
        version=database_version(connection, relation),
        local=DuckDBConnection(":memory:"),
        ids_unique=key_is_unique(connection, table, schema),
    )
    return load_events(source, columns)


class SqlImporter:
    """Any database with a SQLAlchemy dialect; every question runs in the database."""

    kind = "sql"
    description = "SQL table or query through SQLAlchemy (every question pushed down)"
    engines: tuple[str, ...] = ("database",)

    def claims(self, src: Any, **options: Any) -> bool:
        """A SQLAlchemy URL string or Engine."""
        if isinstance(src, sa.Engine):
            return True
        if not isinstance(src, str) or "://" not in src:
            return False
        try:
            sa.engine.make_url(src)
        except sa.exc.ArgumentError:
            return False
        return True

    def load(self, src: Any, **options: Any) -> Cube:
        """Load with ``table=`` or ``query=``, optional ``columns=`` and ``schema=``."""
        options.pop("engine", None)
        return load_sql(src, **options)

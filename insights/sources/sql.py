"""SQL databases through SQLAlchemy, with the aggregation pushed down.

The database runs the GROUP BY (SQLAlchemy Core, bound parameters, no SQL assembled from
strings); only the cube comes back. The measure definitions are the registry's, translated
from the same spec the Polars path uses, so both give the same cube. Rows the database holds
that cannot be placed (no action time, negative views, content created after its action) are
excluded in the WHERE clause, counted, and a sample of them is fetched for the rejected-rows
view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from insights.cube import Cube
from insights.errors import DataError
from insights.metrics import MEASURES, EventCount
from insights.sources.aggregation import countable_measures
from insights.sources.tabular import CATEGORICAL, finish_raw_cube

REJECTED_SAMPLE = 1000


class DayOf(FunctionElement):
    """The calendar date of a timestamp, in each dialect's own words."""

    type = sa.Date()
    inherit_cache = True


class HoursBetween(FunctionElement):
    """Hours from the second timestamp to the first, counted in whole seconds (as the Polars
    path does), in each dialect's own words."""

    type = sa.Float()
    inherit_cache = True


#: SQL text per dialect (None: the default for any other dialect).
DIALECT_SQL = {
    DayOf: {
        None: "CAST({0} AS DATE)",
        "sqlite": "date({0})",
    },
    HoursBetween: {
        None: "(DATEDIFF(second, {1}, {0}) / 3600.0)",
        "sqlite": "((CAST(strftime('%s', {0}) AS INTEGER) - CAST(strftime('%s', {1}) AS INTEGER)) / 3600.0)",
        "postgresql": "(FLOOR(EXTRACT(EPOCH FROM ({0} - {1}))) / 3600.0)",
        "mysql": "(TIMESTAMPDIFF(SECOND, {1}, {0}) / 3600.0)",
        "duckdb": "(date_diff('second', {1}, {0}) / 3600.0)",
        "trino": "(date_diff('second', {1}, {0}) / 3600.0)",
    },
}


def _register(construct: type[FunctionElement], dialect: str | None, template: str) -> None:
    def render(element, compiler, **kw):
        return template.format(*(compiler.process(arg, **kw) for arg in element.clauses))

    compiles(construct, *([dialect] if dialect else []))(render)


for _construct, _templates in DIALECT_SQL.items():
    for _dialect, _template in _templates.items():
        _register(_construct, _dialect, _template)


def sql_measure(count: EventCount, columns: Mapping[str, ColumnElement]) -> ColumnElement:
    """One measure as a SQL aggregate."""
    if count.kind == "count":
        return sa.func.count()
    assert count.column is not None, f"a {count.kind} measure names its column"
    column = columns[count.column]
    one_if = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    if count.kind == "count_true":
        return one_if(column.is_(sa.true()))
    if count.kind == "count_zero":
        return one_if(column == 0)
    if count.kind == "count_at_most":
        return one_if(column <= count.threshold)
    if count.kind == "count_known":
        return sa.func.count(column)
    if count.kind == "sum":
        return sa.func.sum(column)
    raise ValueError(f"unknown measure kind {count.kind!r}")


def _relation(engine: sa.Engine, table: str | None, query: str | None, schema: str | None) -> sa.FromClause:
    if (table is None) == (query is None):
        raise DataError("a SQL source needs exactly one of table='name' or query='SELECT …'")
    if table is not None:
        try:
            return sa.Table(table, sa.MetaData(), autoload_with=engine, schema=schema)
        except sa.exc.NoSuchTableError:
            tables = sa.inspect(engine).get_table_names(schema=schema)
            raise DataError(
                f"table {table!r} not found in {engine.url.render_as_string(hide_password=True)}; tables: {tables}"
            ) from None
    assert query is not None
    textual = sa.text(query).columns()
    probe: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(textual.subquery("probe")).limit(0)
    with engine.connect() as conn:
        names = list(conn.execute(probe).keys())
    return sa.text(query).columns(*[sa.column(n) for n in names]).subquery("source")


def _canonical_columns(
    relation: sa.FromClause, columns: Mapping[str, str] | None, name: str
) -> dict[str, ColumnElement]:
    mapping = dict(columns or {})
    missing = [c for c in mapping if c not in relation.c]
    if missing:
        raise DataError(
            f"{name}: the column mapping names {missing}, which are not columns; columns are {list(relation.c.keys())}"
        )
    return {mapping.get(c.key, c.key.lower()): c for c in relation.c}


def _row_checks(cols: Mapping[str, ColumnElement]) -> list[tuple[str, str, ColumnElement]]:
    """(column, reason, condition that makes a row unusable) for the checks that run in the database."""
    checks: list[tuple[str, str, ColumnElement]] = [
        ("actioned_at", "actioned_at is empty", cols["actioned_at"].is_(None))
    ]
    if "views_before_action" in cols:
        checks.append(
            (
                "views_before_action",
                "views_before_action is negative: expected a number ≥ 0",
                cols["views_before_action"] < 0,
            )
        )
    if "created_at" in cols:
        checks.append(
            (
                "created_at",
                "created_at is after actioned_at: content cannot be actioned before it exists",
                cols["created_at"] > cols["actioned_at"],
            )
        )
    return checks


def _rejected_rows(conn: sa.Connection, relation: sa.FromClause, checks, name: str) -> tuple[pl.DataFrame, int]:
    frames, total = [], 0
    for column, reason, condition in checks:
        n = conn.execute(sa.select(sa.func.count()).select_from(relation).where(condition)).scalar_one()
        if not n:
            continue
        total += n
        sample = conn.execute(sa.select(relation).where(condition).limit(REJECTED_SAMPLE))
        rows = pl.DataFrame([dict(r._mapping) for r in sample], infer_schema_length=None)
        frames.append(
            rows.select(
                pl.lit(name).alias("_source"),
                pl.lit(None, dtype=pl.Int64).alias("_row"),
                pl.lit(column).alias("_column"),
                pl.lit(f"{reason} ({n:,} rows; first {min(n, REJECTED_SAMPLE):,} shown)").alias("_reason"),
                *[pl.col(c).cast(pl.String) for c in rows.columns],
            )
        )
    return (pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()), total


def load_sql(
    url: str | sa.Engine,
    table: str | None = None,
    query: str | None = None,
    columns: Mapping[str, str] | None = None,
    schema: str | None = None,
) -> Cube:
    """Aggregate an events table (or query) inside the database and load the resulting cube."""
    engine = url if isinstance(url, sa.Engine) else sa.create_engine(url)
    name = f"{engine.url.render_as_string(hide_password=True)} {table or 'query'}"
    relation = _relation(engine, table, query, schema)
    cols = _canonical_columns(relation, columns, name)
    if "actioned_at" not in cols:
        raise DataError(
            f"{name}: the SQL source needs event rows with an 'actioned_at' column; columns are {list(cols)}. "
            f"Map your names with columns={{'your name': 'actioned_at'}}."
        )
    dims = [d for d in CATEGORICAL if d in cols]
    derived = dict(cols)
    if "created_at" in cols:
        derived["time_to_action_hours"] = HoursBetween(cols["actioned_at"], cols["created_at"])
    counted = countable_measures(list(derived))
    checks = _row_checks(cols)
    date = DayOf(cols["actioned_at"]).label("date")
    statement = (
        sa.select(
            date, *[cols[d].label(d) for d in dims], *[sql_measure(c, derived).label(m) for m, c in counted.items()]
        )
        .where(sa.not_(sa.or_(*[cond for _, _, cond in checks])))
        .group_by(date, *[cols[d] for d in dims])
    )
    with engine.connect() as conn:
        result = conn.execute(statement)
        raw = pl.DataFrame(
            [tuple(r) for r in result], schema=list(result.keys()), orient="row", infer_schema_length=None
        )
        rejected, n_rejected = _rejected_rows(conn, relation, checks, name)
        rows_read = conn.execute(sa.select(sa.func.count()).select_from(relation)).scalar_one()
    if raw.is_empty():
        raise DataError(f"{name}: no usable rows ({rows_read:,} rows read, {n_rejected:,} rejected)")
    raw = raw.with_columns(
        pl.col("date").cast(pl.Date),
        *[pl.col(m).cast(pl.Int64) for m in MEASURES if m in raw.columns],
        *[pl.col(d).cast(pl.String) for d in dims],
    )
    return finish_raw_cube(
        raw,
        "events",
        name,
        rows_read,
        [rejected] if n_rejected else [],
        [],
        rejected_rows=n_rejected,
        proactive_known="proactive" in cols,
    )


class SqlImporter:
    """Any database with a SQLAlchemy dialect; the GROUP BY runs in the database."""

    kind = "sql"
    description = "SQL table or query through SQLAlchemy (aggregation pushed down)"

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
        return load_sql(src, **options)

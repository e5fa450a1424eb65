"""Requests compiled to SQL: one aggregate query per question, in the engine's dialect.

A query reads either the raw events (``EventColumns``: the source's columns under canonical
names, raw codes mapped to the taxonomy's, rows the load rejected left out) or a materialised
aggregate (``AggregateColumns``: day × a few dimensions × every measure, already summed).
``compile_request`` writes the same SELECT for both — the period and the breakdown, each
measure's sum, the filters and the dates — with sqlglot, which renders it for DuckDB,
PostgreSQL, SQLite, Spark, BigQuery, Snowflake or Trino. Values are SQL literals, escaped by
the dialect's rules (a value can never end a string); the source relation (a table, the user's
own query, DuckDB's ``read_parquet``) is put in as written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlglot import exp, parse_one

from insights.engines.request import Request
from insights.metrics import EventCount

#: Stands for the source relation in a compiled query until its text is put in.
RELATION = "__harm_insights_relation__"

#: Period start of a day, per grain (written as BigQuery reads it, so every dialect gets its own
#: Monday-based week); SQLite has no DATE_TRUNC and gets its date modifiers.
PERIODS = {
    None: {
        "week": "CAST(DATE_TRUNC(d, WEEK(MONDAY)) AS DATE)",
        "month": "CAST(DATE_TRUNC(d, MONTH) AS DATE)",
        "quarter": "CAST(DATE_TRUNC(d, QUARTER) AS DATE)",
        "year": "CAST(DATE_TRUNC(d, YEAR) AS DATE)",
    },
    "sqlite": {
        "week": "DATE(d, '-' || ((CAST(STRFTIME('%w', d) AS INTEGER) + 6) % 7) || ' days')",
        "month": "DATE(d, 'start of month')",
        "quarter": "DATE(d, 'start of month', '-' || ((CAST(STRFTIME('%m', d) AS INTEGER) - 1) % 3) || ' months')",
        "year": "DATE(d, 'start of year')",
    },
}
#: Whole seconds from ``c`` to ``a``.
SECONDS_BETWEEN = {
    None: ("DATE_DIFF('second', c, a)", "duckdb"),
    "sqlite": ("CAST(STRFTIME('%s', a) AS INTEGER) - CAST(STRFTIME('%s', c) AS INTEGER)", "sqlite"),
}


def template(text: str, read: str, **parts: exp.Expr) -> exp.Expr:
    """Parse ``text`` and put an expression in place of each single-letter column named in ``parts``."""
    parsed = parse_one(text, read=read)
    return parsed.transform(
        lambda node: parts[node.name].copy() if isinstance(node, exp.Column) and node.name in parts else node
    )


def column(name: str) -> exp.Column:
    """A quoted column reference."""
    return exp.column(name, quoted=True)


def text(value: str) -> exp.Literal:
    """A string literal (escaped by each dialect's rules when rendered)."""
    return exp.Literal.string(value)


def timestamp(day: dt.date) -> exp.Expr:
    """Midnight of ``day`` as a timestamp literal."""
    return exp.cast(text(f"{day:%Y-%m-%d} 00:00:00"), exp.DataType.build("TIMESTAMP"))


def as_bigint(value: exp.Expr) -> exp.Expr:
    """A sum that is 0 over no rows (an event count), as a 64-bit integer."""
    return exp.cast(exp.func("COALESCE", value, exp.Literal.number(0)), exp.DataType.build("BIGINT"))


def count_if(condition: exp.Expr) -> exp.Expr:
    """Rows where ``condition`` holds (NULL counts as not)."""
    return exp.func("SUM", exp.case().when(condition, exp.Literal.number(1)).else_(exp.Literal.number(0)))


def period(day: exp.Expr, grain: str, dialect: str) -> exp.Expr:
    """The start of the period of ``grain`` that ``day`` falls in."""
    if grain == "day":
        return day
    own = PERIODS.get(dialect)
    return template((own or PERIODS[None])[grain], "sqlite" if own else "bigquery", d=day)


class Columns(Protocol):
    """What a compiled query reads: a relation and its columns under canonical names."""

    dialect: str

    def conditions(self) -> list[exp.Expr]:
        """Conditions every query on the relation applies (rows the load rejected)."""
        ...

    def dimension(self, name: str) -> exp.Expr:
        """A dimension's canonical value."""
        ...

    def day(self) -> exp.Expr:
        """The calendar day of a row."""
        ...

    def within(self, start: dt.date | None, end: dt.date | None) -> list[exp.Expr]:
        """Conditions keeping the rows between two days (inclusive)."""
        ...

    def measure(self, name: str) -> exp.Expr:
        """A measure's sum over the rows of a group."""
        ...


@dataclass
class EventColumns:
    """Raw events under canonical names: ``columns`` maps a canonical column to the source's,
    ``maps`` the raw values of a dimension to codes (only where they differ), ``rejected`` the
    conditions of rows the load rejected (only those the data has)."""

    dialect: str
    columns: Mapping[str, str]
    counts: Mapping[str, EventCount]
    maps: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    harm_area_of_policy: Mapping[str, str] = field(default_factory=dict)
    proactive_sources: Sequence[str] | None = None
    rejected: list[exp.Expr] = field(default_factory=list)

    def source(self, name: str) -> exp.Expr:
        """A canonical column as the source has it."""
        if name == "time_to_action_seconds":
            text_, read = SECONDS_BETWEEN.get(self.dialect, SECONDS_BETWEEN[None])
            return template(text_, read, a=self.source("actioned_at"), c=self.source("created_at"))
        if name == "proactive" and self.proactive_sources is not None:
            detected = self.source("detection_source")
            listed = detected.isin(*[text(v) for v in self.proactive_sources]) if self.proactive_sources else None
            return exp.case().when(exp.Not(this=exp.Is(this=detected, expression=exp.Null())), listed or exp.false())
        return column(self.columns[name])

    def conditions(self) -> list[exp.Expr]:
        """Every rejected row left out."""
        return [exp.Not(this=exp.paren(condition)) for condition in self.rejected]

    def dimension(self, name: str) -> exp.Expr:
        """The canonical code: raw values mapped, the harm area filled from a known policy."""
        value: exp.Expr | None = self._mapped(name) if name in self.columns else None
        if name == "harm_area" and self.harm_area_of_policy:
            policy = self.source("policy")
            fill = exp.case(policy)
            for raw, area in self.harm_area_of_policy.items():
                fill = fill.when(text(raw), text(area))
            value = exp.func("COALESCE", value, fill) if value is not None else fill
        assert value is not None, f"no column for dimension {name!r}"
        return value

    def _mapped(self, name: str) -> exp.Expr:
        raw = self.source(name)
        mapping = self.maps.get(name)
        if not mapping:
            return raw
        case = exp.case(raw)
        for value, code in mapping.items():
            case = case.when(text(value), text(code) if code is not None else exp.Null())
        return case

    def day(self) -> exp.Expr:
        """The day of the action."""
        return exp.cast(self.source("actioned_at"), exp.DataType.build("DATE"))

    def within(self, start: dt.date | None, end: dt.date | None) -> list[exp.Expr]:
        """Actioned from the start of ``start`` to before the day after ``end`` (a range on the
        timestamp itself, so engines prune files and partitions by it)."""
        actioned = self.source("actioned_at")
        terms: list[exp.Expr] = []
        if start is not None:
            terms.append(exp.GTE(this=actioned, expression=timestamp(start)))
        if end is not None:
            terms.append(exp.LT(this=actioned.copy(), expression=timestamp(end + dt.timedelta(days=1))))
        return terms

    def measure(self, name: str) -> exp.Expr:
        """The measure counted from the events by its registry rule (``metrics.toml``)."""
        count = self.counts[name]
        if count.kind == "count":
            return exp.cast(exp.Count(this=exp.Star()), exp.DataType.build("BIGINT"))
        assert count.column is not None, f"a {count.kind} measure names its column"
        if count.column == "time_to_action_hours":  # compared in whole seconds, as the Polars path counts
            value = self.source("time_to_action_seconds")
            threshold = None if count.threshold is None else count.threshold * 3600
        else:
            value, threshold = self.source(count.column), count.threshold
        if count.kind == "count_true":
            return as_bigint(count_if(value))
        if count.kind == "count_zero":
            return as_bigint(count_if(exp.EQ(this=value, expression=exp.Literal.number(0))))
        if count.kind == "count_at_most":
            return as_bigint(count_if(exp.LTE(this=value, expression=exp.Literal.number(threshold))))
        if count.kind == "count_known":
            return exp.cast(exp.Count(this=value), exp.DataType.build("BIGINT"))
        if count.kind == "sum":
            return as_bigint(exp.func("SUM", value))
        raise ValueError(f"unknown measure kind {count.kind!r}")


@dataclass
class AggregateColumns:
    """A materialised aggregate: a ``day`` column, dimension columns and summed measures."""

    table: str
    dimensions: frozenset[str]
    dialect: str = "duckdb"

    def conditions(self) -> list[exp.Expr]:
        """An aggregate holds accepted rows only."""
        return []

    def dimension(self, name: str) -> exp.Expr:
        """A dimension column."""
        return column(name)

    def day(self) -> exp.Expr:
        """The day column."""
        return column("day")

    def within(self, start: dt.date | None, end: dt.date | None) -> list[exp.Expr]:
        """Days between ``start`` and ``end``."""
        terms: list[exp.Expr] = []
        if start is not None:
            terms.append(exp.GTE(this=column("day"), expression=exp.cast(text(f"{start}"), "DATE")))
        if end is not None:
            terms.append(exp.LTE(this=column("day"), expression=exp.cast(text(f"{end}"), "DATE")))
        return terms

    def measure(self, name: str) -> exp.Expr:
        """The sum of a summed measure."""
        return as_bigint(exp.func("SUM", column(name)))


def compile_request(request: Request, columns: Columns, relation: str) -> str:
    """One aggregate SELECT answering ``request`` from ``columns`` over ``relation``, in the
    dialect of ``columns``: the keys (``period``, the breakdown) and one sum per measure."""
    keys: list[tuple[str, exp.Expr]] = []
    if request.grain is not None:
        keys.append(("period", period(columns.day(), request.grain, columns.dialect)))
    keys += [(d, columns.dimension(d)) for d in request.by]
    where = [*columns.conditions(), *columns.within(request.start, request.end)]
    for dimension, values in request.filters:
        where.append(columns.dimension(dimension).isin(*[text(v) for v in values]))
    selected = [exp.alias_(e, k, quoted=True) for k, e in keys]
    selected += [exp.alias_(columns.measure(m), m, quoted=True) for m in request.measures]
    query = exp.select(*selected).from_(exp.to_table(RELATION))
    if where:
        query = query.where(*where)
    if keys:
        query = query.group_by(*[e.copy() for _, e in keys])
    return query.sql(dialect=columns.dialect).replace(RELATION, relation)


def compile_aggregate(columns: EventColumns, dimensions: Sequence[str], measures: Sequence[str], relation: str) -> str:
    """The SELECT that materialises day × ``dimensions`` × every measure from the events."""
    keys = [("day", columns.day()), *[(d, columns.dimension(d)) for d in dimensions]]
    query = exp.select(
        *[exp.alias_(e, k, quoted=True) for k, e in keys],
        *[exp.alias_(columns.measure(m), m, quoted=True) for m in measures],
    ).from_(exp.to_table(RELATION))
    if columns.conditions():
        query = query.where(*columns.conditions())
    return query.group_by(*[e.copy() for _, e in keys]).sql(dialect=columns.dialect).replace(RELATION, relation)

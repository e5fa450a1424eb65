"""The typical page questions compiled for every dialect: BigQuery, Snowflake and Trino are
compile-tested (the SQL parses back in that dialect and says what it must); DuckDB, PostgreSQL,
SQLite and Spark run it for real in the oracles."""

import datetime as dt

import pytest
import sqlglot

from insights.engines.compile import AggregateColumns, EventColumns, compile_aggregate, compile_request
from insights.engines.request import Request
from insights.metrics import metric
from insights.sources.aggregation import countable_measures

COLUMNS = ["event_id", "actioned_at", "created_at", "harm_area", "country", "detection_source", "proactive"]
COLUMNS += ["automated", "views_before_action", "appealed", "overturned"]
PAGE_QUESTIONS = {
    "overview": Request.of(
        [metric("actions"), metric("proactive_rate")], ["harm_area"], None, "week", "2026-09-28", "2026-11-22"
    ),
    "map": Request.of([metric("actions")], ["country"], {"harm_area": "self_harm"}, None, "2026-11-01", "2026-11-22"),
    "trend": Request.of([metric("within_24h_rate")], [], {"country": ["FR", "BE"]}, "day"),
    "deep dive": Request.of([metric("overturn_rate")], ["detection_source"], {"harm_area": "hate"}, "quarter"),
}
WAREHOUSES = ["bigquery", "snowflake", "trino", "databricks", "postgres", "duckdb", "spark", "sqlite"]


def events(dialect: str) -> EventColumns:
    derived = [*COLUMNS, "time_to_action_hours"]
    return EventColumns(
        dialect, {c: c for c in COLUMNS}, countable_measures(derived), maps={"country": {"France": "FR"}}
    )


@pytest.mark.parametrize("dialect", WAREHOUSES)
@pytest.mark.parametrize("question", list(PAGE_QUESTIONS))
def test_page_questions_compile_for_every_dialect(dialect, question):
    request = PAGE_QUESTIONS[question]
    sql = compile_request(request, events(dialect), "events")
    parsed = sqlglot.parse_one(sql, read=dialect)
    assert parsed.find(sqlglot.exp.Group) is not None or not request.keys
    assert [s.alias_or_name for s in parsed.selects] == [*request.keys, *request.measures]
    assert "FROM events" in sql
    assert ("'France'" in sql) == ("country" in request.dimensions), "a raw country name mapped to its code"


def test_weeks_start_on_monday_in_every_dialect():
    weekly = PAGE_QUESTIONS["overview"]
    assert "WEEK(MONDAY)" in compile_request(weekly, events("bigquery"), "events")
    for dialect in ("duckdb", "postgres", "snowflake", "trino"):
        assert "DATE_TRUNC('WEEK'" in compile_request(weekly, events(dialect), "events")
    assert "'-6 days'" not in compile_request(weekly, events("sqlite"), "events")  # SQLite: its own modifiers


def test_dates_are_a_range_on_the_timestamp_and_values_are_escaped():
    request = Request.of([metric("actions")], [], {"country": "O'Brien"}, None, dt.date(2026, 1, 1), "2026-01-31")
    sql = compile_request(request, events("postgres"), "events")
    assert "\"actioned_at\" >= CAST('2026-01-01 00:00:00' AS TIMESTAMP)" in sql
    assert "\"actioned_at\" < CAST('2026-02-01 00:00:00' AS TIMESTAMP)" in sql
    assert "'O''Brien'" in sql


def test_an_aggregate_is_read_with_the_same_query_shape():
    aggregate = AggregateColumns("agg__harm_area__country", frozenset({"harm_area", "country"}))
    sql = compile_request(PAGE_QUESTIONS["map"], aggregate, aggregate.table)
    assert 'SUM("actions")' in sql and '"day" >= CAST(' in sql
    built = compile_aggregate(events("duckdb"), ["harm_area", "country"], ["actions", "within_24h_actions"], "events")
    assert "GROUP BY" in built and "86400" in built

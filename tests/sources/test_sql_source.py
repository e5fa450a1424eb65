"""SQL source: the events stay in the database, every question is one aggregate query there,
and the answers equal those of the same events loaded from Parquet. Nothing is lost silently:
rows read = rows rejected + rows accepted, NULL-safe.

Runs against SQLite (always) and against a real PostgreSQL server (skipped with the reason
when none is reachable; a failure under CI).
"""

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insights
from insights import DataError
from insights.engines.connections import SqlAlchemyConnection
from tests.conftest import postgres_table, worker_name

EVENTS_SAMPLE = 40_000
METRICS = [
    "actions",
    "proactive_rate",
    "within_24h_rate",
    "zero_view_rate",
    "mean_views_before_action",
    "overturn_rate",
]


@pytest.fixture(scope="module")
def events(sample_dir) -> pl.DataFrame:
    frame = pl.read_parquet(sample_dir / "*.parquet").head(EVENTS_SAMPLE)
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


@pytest.fixture(scope="module")
def parquet_cube(events, tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / "events.parquet"
    events.write_parquet(path)
    return insights.load_source(path, engine="polars")


def write_events(engine: sa.Engine, events: pl.DataFrame, table: str = "enforcement_events") -> None:
    events.write_database(table, connection=engine, if_table_exists="replace")


class Statements:
    """Records the SQL the database receives and how many rows each answer had."""

    def __init__(self, monkeypatch):
        self.seen: list[tuple[str, int]] = []
        run = SqlAlchemyConnection.run

        def recorded(connection, sql):
            answer = run(connection, sql)
            self.seen.append((sql, len(answer)))
            return answer

        monkeypatch.setattr(SqlAlchemyConnection, "run", recorded)


def same_answers(cube, parquet_cube) -> None:
    for by, grain in [
        ((), None),
        (("harm_area",), "week"),
        (("country", "content_type"), "month"),
        (("region",), None),
    ]:
        got = cube.query(METRICS, by=list(by), grain=grain)
        want = parquet_cube.query(METRICS, by=list(by), grain=grain)
        assert got.columns == want.columns
        assert got.select(want.columns[: len(by) + bool(grain)]).equals(
            want.select(want.columns[: len(by) + bool(grain)])
        )
        for metric in METRICS:
            assert got[metric].is_null().to_list() == want[metric].is_null().to_list(), metric
            assert got[metric].drop_nulls().to_list() == pytest.approx(want[metric].drop_nulls().to_list(), rel=1e-12)


def check_push_down(engine: sa.Engine, table: str, events: pl.DataFrame, parquet_cube, monkeypatch) -> None:
    statements = Statements(monkeypatch)
    cube = insights.load_source(engine, table=table)
    assert cube.engine == engine.dialect.name
    assert cube.provenance.rows_read == len(events) and cube.provenance.rows_rejected == 0
    loading = len(statements.seen)
    assert loading <= 5, [s for s, _ in statements.seen]
    assert max(n for _, n in statements.seen) < 2_000, "loading brings back distinct values and totals, not events"
    same_answers(cube, parquet_cube)
    asked = statements.seen[loading:]
    assert all("GROUP BY" in sql.upper() or "SUM(" in sql.upper() for sql, _ in asked)
    answer = cube.query("actions", by=["harm_area"], filters={"country": "US"})
    assert statements.seen[-1][1] == len(answer), "only the answer's rows come back"


def test_sqlite_answers_equal_parquet(tmp_path, events, parquet_cube, monkeypatch):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'events.db'}")
    write_events(engine, events)
    check_push_down(engine, "enforcement_events", events, parquet_cube, monkeypatch)


def test_postgres_answers_equal_parquet(pg_url, events, parquet_cube, monkeypatch):
    table = worker_name("sql_events")
    postgres_table(pg_url, events, table)
    check_push_down(sa.create_engine(pg_url), table, events, parquet_cube, monkeypatch)


def test_url_string_query_and_column_mapping(tmp_path, events):
    url = f"sqlite:///{tmp_path / 'renamed.db'}"
    renamed = events.head(500).rename({"actioned_at": "decided_at", "harm_area": "harm"})
    write_events(sa.create_engine(url), renamed, "mod_log")
    cube = insights.load_source(
        url,
        query="SELECT * FROM mod_log WHERE country = 'US'",
        columns={"decided_at": "actioned_at", "harm": "harm_area"},
    )
    want = events.head(500).filter(pl.col("country") == "US").group_by("harm_area").len().sort("harm_area")
    got = cube.query("actions", by=["harm_area"])
    assert got.rows() == want.rows()


def null_rows(events: pl.DataFrame) -> pl.DataFrame:
    """30 rows: 10 with no created_at, 10 with no view count, 10 complete."""
    rows = events.head(30)
    return rows.with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("created_at")).alias("created_at"),
        pl.when(pl.int_range(pl.len()).is_between(10, 19))
        .then(None)
        .otherwise(pl.col("views_before_action"))
        .alias("views_before_action"),
    )


def check_nothing_lost(cube, rows: pl.DataFrame, csv_cube) -> None:
    provenance = cube.provenance
    assert (provenance.rows_read, provenance.rows_rejected) == (30, 0)
    assert cube.query("actions")["actions"].item() == 30
    for metric in ["within_24h_rate", "zero_view_rate", "actions"]:
        assert cube.query(metric).row(0) == pytest.approx(csv_cube.query(metric).row(0)), metric


def test_null_times_and_views_are_kept_on_sqlite_as_in_a_csv(tmp_path, events):
    rows = null_rows(events)
    rows.write_csv(tmp_path / "rows.csv")
    csv_cube = insights.load_source(tmp_path / "rows.csv")
    assert csv_cube.provenance.rows_read == 30 and csv_cube.query("actions")["actions"].item() == 30
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'nulls.db'}")
    write_events(engine, rows)
    check_nothing_lost(insights.load_source(engine, table="enforcement_events"), rows, csv_cube)


def test_null_times_and_views_are_kept_on_postgres(pg_url, tmp_path, events):
    rows = null_rows(events)
    rows.write_csv(tmp_path / "rows.csv")
    table = worker_name("null_events")
    postgres_table(pg_url, rows, table)
    cube = insights.load_source(pg_url, table=table)
    check_nothing_lost(cube, rows, insights.load_source(tmp_path / "rows.csv"))


def test_unusable_rows_are_counted_with_reasons_and_the_rest_accepted(tmp_path, events):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bad.db'}")
    bad = events.head(100).with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(-1)
        .otherwise(pl.col("views_before_action"))
        .alias("views_before_action"),
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("Atlantis")).otherwise(pl.col("country")).alias("country"),
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.col("actioned_at") + dt.timedelta(days=1))
        .otherwise(pl.col("created_at"))
        .alias("created_at"),
        pl.when(pl.int_range(pl.len()) == 9).then(None).otherwise(pl.col("actioned_at")).alias("actioned_at"),
    )
    write_events(engine, bad)
    cube = insights.load_source(engine, table="enforcement_events")
    provenance = cube.provenance
    accepted = cube.query("actions")["actions"].item()
    assert provenance.rows_read == 100 and provenance.rows_rejected == 6
    assert provenance.rows_read == provenance.rows_rejected + accepted
    reasons = " | ".join(provenance.rejected["_reason"].unique().to_list())
    assert "views_before_action is negative" in reasons and "(3 rows" in reasons
    assert "country Atlantis is not a country" in reasons
    assert "created_at is after actioned_at" in reasons and "actioned_at is empty" in reasons
    assert set(provenance.rejected["_source"]) == {provenance.source}
    assert set(provenance.rejected["_column"]) == {"views_before_action", "country", "created_at", "actioned_at"}


def test_repeated_event_ids_are_rejected_after_the_first(tmp_path, events):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'copies.db'}")
    rows = events.head(50)
    write_events(engine, pl.concat([rows, rows.head(4)]))
    cube = insights.load_source(engine, table="enforcement_events")
    assert (cube.provenance.rows_read, cube.provenance.rows_rejected) == (54, 4)
    assert cube.query("actions")["actions"].item() == 50
    assert "duplicate event_id" in cube.provenance.rejected["_reason"][0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=20).map(str.strip).filter(bool))
def test_filter_values_are_values_whatever_they_hold(tmp_path_factory, value):
    """A filter value with quotes, semicolons or SQL in it selects rows by that value, nothing else
    (any text a database column holds: no NUL; trimmed, as codes are)."""
    path = tmp_path_factory.mktemp("inject") / "v.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    frame = pl.DataFrame(
        {
            "event_id": [1, 2, 3],
            "actioned_at": [dt.datetime(2026, 1, 5, 9)] * 3,
            "harm_area": ["spam"] * 3,
            "platform": [value, value, "other"],
        }
    )
    write_events(engine, frame, "events")
    cube = insights.load_source(engine, table="events")
    got = cube.query("actions", filters={"platform": value})["actions"].item()
    assert got == (3 if value == "other" else 2)
    assert cube.provenance.rows_read == 3


def test_a_database_that_is_down_is_a_clear_error():
    with pytest.raises(DataError, match="cannot reach the database"):
        insights.load_source("postgresql+psycopg://harm:harm@127.0.0.1:1/nowhere", table="events")


def test_a_changed_table_is_noticed(tmp_path, events, monkeypatch):
    import insights.sources.sql as sql_source

    monkeypatch.setattr(sql_source, "VERSION_TTL", 0.0)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'grows.db'}")
    write_events(engine, events.head(20))
    cube = insights.load_source(engine, table="enforcement_events")
    assert not cube.changed()
    events.slice(20, 5).write_database("enforcement_events", connection=engine, if_table_exists="append")
    assert cube.changed()
    engine.dispose()
    (tmp_path / "grows.db").unlink()
    assert cube.changed()


def test_missing_table_and_missing_columns_are_clear_errors(tmp_path, events):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    write_events(sa.create_engine(url), events.head(10).drop("actioned_at"), "no_time")
    with pytest.raises(DataError, match="table 'nope' not found"):
        insights.load_source(url, table="nope")
    with pytest.raises(DataError, match="needs event rows with an 'actioned_at' column"):
        insights.load_source(url, table="no_time")
    with pytest.raises(DataError, match="exactly one of table="):
        insights.load_source(url)

"""SQL source: the GROUP BY runs in the database and the cube equals the Parquet-built one.

Runs against SQLite (always) and against a real PostgreSQL server (skipped with the reason
when none is reachable; a failure under CI).
"""

import polars as pl
import polars.selectors as cs
import pytest
import sqlalchemy as sa

import insights
from insights import DataError
from insights.metrics import measures

EVENTS_SAMPLE = 40_000


@pytest.fixture(scope="module")
def events(sample_dir) -> pl.DataFrame:
    frame = pl.read_parquet(sample_dir / "*.parquet").head(EVENTS_SAMPLE)
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


@pytest.fixture(scope="module")
def parquet_cube(events, tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / "events.parquet"
    events.write_parquet(path)
    return insights.load_source(path)


def canonical(cube) -> pl.DataFrame:
    """The cube's cells in a comparable form (dims as text, sorted)."""
    frame = cube.data.with_columns(cs.categorical().cast(pl.String))
    return frame.select(sorted(frame.columns)).sort(pl.all())


def write_events(engine: sa.Engine, events: pl.DataFrame, table: str = "enforcement_events") -> None:
    events.write_database(table, connection=engine, if_table_exists="replace")


class Statements:
    """Records the SQL the database receives and how many rows each statement returned."""

    def __init__(self, engine: sa.Engine):
        self.seen: list[str] = []
        self.params: list[object] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(statement)
        self.params.append(parameters)


def check_push_down(url: str, engine: sa.Engine, events: pl.DataFrame, parquet_cube) -> None:
    write_events(engine, events)
    statements = Statements(engine)
    cube = insights.load_source(engine, table="enforcement_events")
    assert canonical(cube).equals(canonical(parquet_cube))
    assert cube.provenance.rows_read == len(events)
    grouped = [s for s in statements.seen if "GROUP BY" in s.upper() and "enforcement_events" in s]
    assert len(grouped) == 1, statements.seen
    assert "sum(" in grouped[0].lower() and "count(" in grouped[0].lower()
    assert len(cube.data) < len(events), "only the cube comes back, not the events"


def test_sqlite_cube_equals_parquet_cube(tmp_path, events, parquet_cube):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    check_push_down(url, sa.create_engine(url), events, parquet_cube)


def test_postgres_cube_equals_parquet_cube(pg_url, events, parquet_cube):
    check_push_down(pg_url, sa.create_engine(pg_url), events, parquet_cube)


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


def test_values_travel_as_bound_parameters(tmp_path, events):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    write_events(engine, events.head(200))
    statements = Statements(engine)
    insights.load_source(engine, table="enforcement_events")
    grouped, params = next((s, p) for s, p in zip(statements.seen, statements.params, strict=True) if "GROUP BY" in s)
    thresholds = [
        m.from_events.threshold
        for m in measures().values()
        if m.countable_from_events and m.from_events.kind == "count_at_most"
    ]
    assert thresholds, "the registry defines threshold measures"
    assert grouped.count("<= ?") == len(thresholds), "one bound threshold per count_at_most measure"
    assert not any(f"<= {t:g}" in grouped for t in thresholds), "thresholds are bound parameters"
    assert set(thresholds) <= set(params)


def test_unusable_rows_in_the_database_are_counted_and_sampled(tmp_path, events):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'bad.db'}")
    bad = events.head(100).with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(-1)
        .otherwise(pl.col("views_before_action"))
        .alias("views_before_action"),
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("Atlantis")).otherwise(pl.col("country")).alias("country"),
    )
    write_events(engine, bad)
    cube = insights.load_source(engine, table="enforcement_events")
    provenance = cube.provenance
    assert provenance.rows_read == 100
    assert provenance.rows_rejected == 4
    assert cube.query("actions")["actions"].item() == 96
    reasons = " | ".join(provenance.rejected["_reason"].unique().to_list())
    assert "views_before_action is negative" in reasons and "(3 rows" in reasons
    assert "country Atlantis" in reasons


def test_missing_table_and_missing_columns_are_clear_errors(tmp_path, events):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    write_events(sa.create_engine(url), events.head(10).drop("actioned_at"), "no_time")
    with pytest.raises(DataError, match="table 'nope' not found"):
        insights.load_source(url, table="nope")
    with pytest.raises(DataError, match="needs event rows with an 'actioned_at' column"):
        insights.load_source(url, table="no_time")
    with pytest.raises(DataError, match="exactly one of table="):
        insights.load_source(url)

"""Shared fixtures: generated sample data, and the real services (PostgreSQL, Chromium).

On a laptop, tests that need a service skip with the reason. With
``HARM_INSIGHTS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import settings

import insights
from sample_data import generate

ROOT = Path(__file__).resolve().parents[1]

SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("HARM_INSIGHTS_PG_URL", "postgresql+psycopg://harm:harm@127.0.0.1:5432/harm_insights")


# CI draws the same examples on every run (``HYPOTHESIS_PROFILE=ci``, set by ``.ci/run``). A
# statistical property holds for nearly every seed, not for all: with new seeds on every run, a
# case that fails for 2 seeds in 100 fails a run now and then, whatever the change under test. A
# fixed draw fails only when the code changes; local runs keep exploring new seeds.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def services_required() -> bool:
    """True where a missing service must fail the run (CI)."""
    return os.environ.get("HARM_INSIGHTS_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail when services are required."""
    if services_required():
        pytest.fail(f"{reason} (HARM_INSIGHTS_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def audit_log_of_the_run(tmp_path_factory) -> Path:
    """The tests' audit log: a SQLite file of this test run (never the user's own log); the apps
    the tests serve inherit it."""
    path = tmp_path_factory.mktemp("audit") / "audit.db"
    os.environ["HARM_INSIGHTS_AUDIT_URL"] = f"sqlite:///{path}"
    return path


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The default sample data (about 1M events), generated once per test session."""
    out = tmp_path_factory.mktemp("sample")
    return generate.generate(events=1_000_000, out=out)


@pytest.fixture(scope="session")
def sample_cube(sample_dir):
    """The sample data loaded as a cube."""
    return insights.load_source(sample_dir)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of a reachable PostgreSQL server (skips, or fails under CI, when there is none)."""
    import sqlalchemy as sa

    try:
        with sa.create_engine(PG_URL, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any connection failure means: no server here
        unavailable(f"no PostgreSQL server at {PG_URL} ({type(exc).__name__}); set HARM_INSIGHTS_PG_URL")
    return PG_URL


def postgres_table(url: str, events, table: str, primary_key: bool = True) -> None:
    """Write event rows to a PostgreSQL table (typed columns, the event id as primary key) with COPY."""
    import polars as pl
    import psycopg

    types = {
        pl.Int64: "BIGINT",
        pl.Int32: "INTEGER",
        pl.Boolean: "BOOLEAN",
        pl.Datetime: "TIMESTAMP",
        pl.Date: "DATE",
        pl.Float64: "DOUBLE PRECISION",
    }
    frame = events.with_columns(pl.col(pl.Categorical).cast(pl.String))
    columns = [
        f'"{name}" {types.get(dtype.base_type(), "TEXT")}'
        + (" PRIMARY KEY" if name == "event_id" and primary_key else "")
        for name, dtype in frame.schema.items()
    ]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        conn.execute(f'CREATE TABLE "{table}" ({", ".join(columns)})')
        with conn.cursor().copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv, HEADER true)') as copy:
            copy.write(frame.write_csv(datetime_format="%Y-%m-%d %H:%M:%S%.f"))
        conn.execute(f'ANALYZE "{table}"')


def worker_name(base: str) -> str:
    """A name of one's own per pytest-xdist worker (tables of parallel workers must not collide)."""
    return f"{base}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory):
    """Materialised aggregates and spill files of the engine cubes, in a folder of the session."""
    folder = tmp_path_factory.mktemp("engine-cache")
    os.environ["HARM_INSIGHTS_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture
def held_aggregates(monkeypatch):
    """Aggregates that wait before each build: ``building`` is set when one starts, and none goes
    on until ``release`` is set (at the latest when the test ends)."""
    from insights.engines.aggregates import Aggregates

    held = SimpleNamespace(building=threading.Event(), release=threading.Event())
    build = Aggregates._build

    def wait_then_build(self, dims):
        held.building.set()
        held.release.wait(120)
        build(self, dims)

    monkeypatch.setattr(Aggregates, "_build", wait_then_build)
    yield held
    held.release.set()


@pytest.fixture(scope="session")
def duckdb_cube(sample_dir, engine_cache):
    """The sample events scanned in place by DuckDB."""
    return insights.load_source(sample_dir, engine="duckdb")


@pytest.fixture(scope="session")
def postgres_cube(sample_dir, pg_url, engine_cache):
    """The sample events in a PostgreSQL table, every question pushed down."""
    import polars as pl

    table = worker_name("sample_events")
    postgres_table(pg_url, pl.read_parquet(sample_dir / "*.parquet"), table)
    return insights.load_source(pg_url, table=table)


@pytest.fixture(scope="session")
def spark_cube(sample_dir, engine_cache):
    """The sample events read by Spark in local mode (local[2])."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable("pyspark is not installed (pip install -r requirements-test.txt)")
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("no Java runtime for Spark (apt-get install openjdk-17-jre-headless)")
    return insights.load_source(sample_dir, engine="spark")


#: The engines every oracle runs on, by the fixture that loads the sample on it.
ENGINE_CUBES = {"polars": "sample_cube", "duckdb": "duckdb_cube", "postgresql": "postgres_cube", "spark": "spark_cube"}


#: Spark answers each question in about a second in local mode: it runs every this many cases.
SPARK_EVERY = 4


def engine_cases(cases: list, ids: list[str]) -> list:
    """``(engine, case)`` parameters for an oracle: every case on every engine (Spark: every
    ``SPARK_EVERY``-th case, to keep CI within its time)."""
    return [
        pytest.param(engine, case, id=f"{engine}-{name}")
        for engine in ENGINE_CUBES
        for i, (case, name) in enumerate(zip(cases, ids, strict=True))
        if engine != "spark" or i % SPARK_EVERY == 0
    ]


@pytest.fixture(params=list(ENGINE_CUBES))
def engine_cube(request):
    """The sample events on each engine in turn (the same events, the same answers)."""
    return request.getfixturevalue(ENGINE_CUBES[request.param])

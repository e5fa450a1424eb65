"""Shared fixtures: generated sample data, and the real services (PostgreSQL, Chromium).

On a laptop, tests that need a service skip with the reason. With
``HARM_INSIGHTS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import insights
from sample_data import generate

ROOT = Path(__file__).resolve().parents[1]

SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("HARM_INSIGHTS_PG_URL", "postgresql+psycopg://harm:harm@127.0.0.1:5432/harm_insights")


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

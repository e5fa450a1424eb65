"""The audit log's databases: a SQLite file (always) and the PostgreSQL server (skipped with the
reason when none is reachable; a failure under ``HARM_INSIGHTS_REQUIRE_SERVICES=1``)."""

from __future__ import annotations

import pytest

from .helpers import Backend


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(request, tmp_path_factory) -> Backend:
    """Each database the audit log runs on."""
    folder = tmp_path_factory.mktemp("audit")
    if request.param == "postgresql":
        return Backend("postgresql", request.getfixturevalue("pg_url"), folder)
    return Backend("sqlite", None, folder)

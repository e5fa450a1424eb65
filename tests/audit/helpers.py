"""Shared pieces of the audit log tests: the databases a log is made in, and its tables.

Each log a test makes is new: a new SQLite file, or new tables on the PostgreSQL server (so
parallel tests and other suites sharing the server do not meet), dropped afterwards.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from insights.audit import AuditLog


@dataclass
class Backend:
    """One database to make audit logs in, and a plain engine to tamper with them."""

    name: str
    server_url: str | None  # PostgreSQL: the server; SQLite: None (a file per log)
    folder: Path
    _numbers: itertools.count = field(default_factory=itertools.count)

    def url(self) -> str:
        """Where a new log goes."""
        if self.server_url is not None:
            return self.server_url
        return f"sqlite:///{self.folder / f'audit-{next(self._numbers)}-{uuid.uuid4().hex[:8]}.db'}"

    @contextmanager
    def fresh(self, records: int = 0) -> Iterator[Fresh]:
        """A new, empty log holding ``records`` page views, dropped on the way out."""
        url, table = self.url(), new_table()
        log = AuditLog(url, table=table)
        engine = sa.create_engine(url)
        try:
            for number in range(records):
                log.record(f"user{number}@example.org", "page_view", {"page": "trends", "n": number})
            yield Fresh(log, url, table, engine)
        finally:
            log.close()
            engine.dispose()
            drop(url, table)


def new_table() -> str:
    """A table name no other test uses."""
    return f"audit_{uuid.uuid4().hex[:12]}"


def drop(url: str, table: str) -> None:
    """Drop a log's tables."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in (table, f"{table}_head"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


@dataclass
class Fresh:
    """A new log, its URL and table, and a plain engine on its database (the tamperer's)."""

    log: AuditLog
    url: str
    table: str
    engine: sa.Engine

    def sql(self, statement: str, **params: object) -> sa.CursorResult:
        """Run one statement on the log's tables, behind the log's back (``{t}`` is the table)."""
        with self.engine.begin() as conn:
            return conn.execute(sa.text(statement.format(t=self.table)), params)

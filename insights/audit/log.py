"""The audit log in a database: appends that form one chain, its check, listing and export.

Two tables through SQLAlchemy: ``audit_log`` (the records) and ``audit_log_head`` (one row: the
last record's number and hash). An append locks the head (SQLite: ``BEGIN IMMEDIATE``, which
takes the database's write lock; PostgreSQL: ``SELECT … FOR UPDATE`` on the head row), reads the
last number and hash from it, inserts the record and moves the head, in one transaction. So
threads of one server and several processes append one after another and the chain never forks.
SQLite files are put in WAL mode, so listing and checking do not hold up appends.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from insights.audit.chain import EMPTY, ChainCheck, Head, check_chain
from insights.audit.record import AuditRecord, Event, Outcome, timestamp
from insights.export import safe_csv

#: The environment variable holding the log's SQLAlchemy URL.
URL_VARIABLE = "HARM_INSIGHTS_AUDIT_URL"

#: A connection option that makes the SQLite ``BEGIN`` take the write lock at once.
_WRITE = "harm_insights_audit_write"

#: SQLite waits this long (seconds) for another writer before giving up.
_SQLITE_BUSY_TIMEOUT = 30

COLUMNS = ("seq", "at", "who", "action", "what", "outcome", "prev_hash", "hash")
ExportFormat = Literal["csv", "jsonl"]


def default_url(env: Mapping[str, str] | None = None) -> str:
    """``HARM_INSIGHTS_AUDIT_URL`` when set, else a SQLite file ``harm-insights/audit.db`` in
    ``$XDG_STATE_HOME`` (default ``~/.local/state``)."""
    env = os.environ if env is None else env
    if env.get(URL_VARIABLE):
        return env[URL_VARIABLE]
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return f"sqlite:///{state / 'harm-insights' / 'audit.db'}"


class AuditLog:
    """The audit log at a SQLAlchemy URL (default :func:`default_url`), its tables created when
    missing; ``table`` names the records table (the head is ``<table>_head``)."""

    def __init__(self, url: str | sa.URL | None = None, *, table: str = "audit_log") -> None:
        self._engine = _engine(sa.make_url(url if url is not None else default_url()))
        metadata = sa.MetaData()
        self.table = sa.Table(
            table,
            metadata,
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("at", sa.String(32), nullable=False, index=True),
            sa.Column("who", sa.Text, nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("what", sa.Text, nullable=False),
            sa.Column("outcome", sa.String(8), nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
        self.head_table = sa.Table(
            f"{table}_head",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("seq", sa.BigInteger, nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
        self._create(metadata)

    @property
    def location(self) -> str:
        """The database URL with any password shown as ``***``."""
        return self._engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"AuditLog({self.location!r}, table={self.table.name!r})"

    def close(self) -> None:
        """Close the log's database connections."""
        self._engine.dispose()

    def record(
        self,
        who: str,
        action: str,
        what: Mapping[str, Any] | None = None,
        outcome: Outcome = "allowed",
        at: dt.datetime | None = None,
    ) -> AuditRecord:
        """Append one record and return it: ``who`` (an email address or ``"local"``) did
        ``action`` (one of :data:`~insights.audit.record.ACTIONS`) with details ``what`` (JSON;
        passwords in URLs hidden), ``allowed`` or ``denied``, at ``at`` (default now, UTC).
        Raises ``ValueError`` for fields that cannot be recorded (see ``Event.of``) and
        ``RuntimeError`` when the head is gone (the log was tampered with; :meth:`verify` says how)."""
        event = Event.of(who, action, what, outcome, at)
        with self._write() as conn:
            row = conn.execute(sa.select(self.head_table).where(self.head_table.c.id == 1).with_for_update()).first()
            if row is None:
                raise RuntimeError(f"the audit log's head is missing in {self.location}: run verify()")
            record = event.chained(row.seq + 1, row.hash)
            conn.execute(sa.insert(self.table).values(**_columns(record)))
            moved = sa.update(self.head_table).where(self.head_table.c.id == 1)
            conn.execute(moved.values(seq=record.seq, hash=record.hash))
        return record

    def head(self) -> Head | None:
        """The last record's number and hash as the head keeps them (None when the head is gone)."""
        with self._engine.connect() as conn:
            return _head(conn, self.head_table)

    def verify(self) -> ChainCheck:
        """Check the whole chain and its head in one consistent snapshot (appends may go on)."""
        with self._snapshot() as conn:
            head = _head(conn, self.head_table)
            rows = conn.execution_options(yield_per=10_000).execute(sa.select(self.table).order_by(self.table.c.seq))
            return check_chain((AuditRecord(*row) for row in rows), head)

    def records(
        self,
        *,
        since: dt.date | dt.datetime | None = None,
        until: dt.date | dt.datetime | None = None,
        who: str | None = None,
        action: str | None = None,
        outcome: Outcome | None = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        """The records from ``since`` (inclusive) to ``until`` (exclusive; a date is midnight UTC),
        by ``who``, of ``action`` and with ``outcome`` where given, the last ``limit`` of them, in
        chain order: one row per record, ``at`` as a UTC datetime, ``what`` as JSON text."""
        return self._select(since, until, who, action, outcome, limit).with_columns(
            pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC")
        )

    def export(
        self,
        format: ExportFormat,
        *,
        since: dt.date | dt.datetime | None = None,
        until: dt.date | dt.datetime | None = None,
        who: str | None = None,
        action: str | None = None,
        outcome: Outcome | None = None,
    ) -> bytes:
        """The records (filtered as in :meth:`records`) as ``csv`` (through
        :func:`insights.export.safe_csv`, so no cell runs as a formula) or ``jsonl`` (one JSON
        object per record with its fields exactly as sealed, so the hashes can be checked again)."""
        frame = self._select(since, until, who, action, outcome, None)
        if format == "csv":
            return safe_csv(frame)
        if format == "jsonl":
            return frame.write_ndjson().encode()
        raise ValueError(f"unknown export format {format!r}; csv or jsonl")

    def _select(
        self,
        since: dt.date | dt.datetime | None,
        until: dt.date | dt.datetime | None,
        who: str | None,
        action: str | None,
        outcome: str | None,
        limit: int | None,
    ) -> pl.DataFrame:
        columns = self.table.c
        query = sa.select(self.table).order_by(columns.seq.desc())
        if since is not None:
            query = query.where(columns.at >= _bound(since))
        if until is not None:
            query = query.where(columns.at < _bound(until))
        for column, value in ((columns.who, who), (columns.action, action), (columns.outcome, outcome)):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        schema = {name: pl.Int64 if name == "seq" else pl.String for name in COLUMNS}
        return pl.DataFrame([tuple(row) for row in reversed(rows)], schema=schema, orient="row")

    def _create(self, metadata: sa.MetaData) -> None:
        """Create the tables when missing and the head of an empty log; several processes may
        open the same new log at once, so a table or head another one just created is fine."""
        try:
            metadata.create_all(self._engine)
        except sa.exc.DatabaseError:  # created by another process in between (PostgreSQL)
            metadata.create_all(self._engine)
        try:
            with self._write() as conn:
                has_head = conn.execute(sa.select(self.head_table.c.id).with_for_update()).first() is not None
                if not has_head and conn.execute(sa.select(self.table.c.seq).limit(1)).first() is None:
                    conn.execute(sa.insert(self.head_table).values(id=1, seq=EMPTY.seq, hash=EMPTY.hash))
        except sa.exc.IntegrityError:  # another process inserted the head first
            pass

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _snapshot(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():  # SQLite: one read transaction sees one state of the file
                yield conn


def _engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url``; for SQLite, a file (its folder created) whose transactions SQLAlchemy
    begins itself, so an append can take the write lock first (``BEGIN IMMEDIATE``)."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url)
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ValueError(f"the audit log needs a SQLite file, not {url.render_as_string(hide_password=True)!r}")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the driver: see _begin
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def _head(conn: sa.Connection, head_table: sa.Table) -> Head | None:
    row = conn.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
    return None if row is None else Head(row.seq, row.hash)


def _columns(record: AuditRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in COLUMNS}


def _bound(moment: dt.date | dt.datetime) -> str:
    """A time bound in stored form (a date is its midnight UTC)."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), dt.UTC)
    return timestamp(moment)

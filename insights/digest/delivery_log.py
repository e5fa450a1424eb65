"""The delivery log: one row per subscriber × channel × period, so a digest is never sent twice.

A SQLite file (its path is configuration). Before sending, a delivery is *claimed*: a row in
state ``sending`` is written in one transaction, and only if there is no row yet, or the row is
``failed`` (and, when the caller asks for a pause, failed at least ``retry_failed_after`` ago),
or a ``sending`` row is older than ``stale_after`` (its sender died mid-way). A ``delivered``
row is final. Two runs that overlap (a cron job and the scheduler, two replicas)
therefore cannot both send; a failed delivery is tried again by the next run, and its attempts
add up.

A sender that dies after the server accepted the digest but before the row says ``delivered``
leaves a ``sending`` row; after ``stale_after`` it is tried again, so that digest can arrive
twice. That window is the price of never losing one silently.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from insights.periods import Period

Status = Literal["sending", "delivered", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    subscriber       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    period_start     TEXT NOT NULL,
    period_end       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('sending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    digest_hash      TEXT NOT NULL,
    target           TEXT,
    reason           TEXT,
    first_tried_at   TEXT NOT NULL,
    last_tried_at    TEXT NOT NULL,
    delivered_at     TEXT,
    PRIMARY KEY (subscriber, channel, period_start, period_end)
)
"""


@dataclass(frozen=True)
class DeliveryKey:
    """What must be delivered at most once: one subscriber's digest for one period on one channel."""

    subscriber: str
    channel: str
    period: Period

    @property
    def columns(self) -> tuple[str, str, str, str]:
        return (self.subscriber, self.channel, self.period.start.isoformat(), self.period.end.isoformat())


@dataclass(frozen=True)
class DeliveryRecord:
    """One row of the log."""

    key: DeliveryKey
    status: Status
    attempts: int
    digest_hash: str
    target: str | None
    reason: str | None
    first_tried_at: dt.datetime
    last_tried_at: dt.datetime
    delivered_at: dt.datetime | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DeliveryLog:
    """The SQLite delivery log at ``path`` (created with its table when missing)."""

    def __init__(self, path: str | Path, *, stale_after: dt.timedelta = dt.timedelta(hours=1)) -> None:
        self.path = Path(path)
        self.stale_after = stale_after
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def get(self, key: DeliveryKey) -> DeliveryRecord | None:
        """The row for ``key``, or None when it was never tried."""
        with self._connection() as db:
            row = db.execute(
                "SELECT * FROM deliveries WHERE subscriber=? AND channel=? AND period_start=? AND period_end=?",
                key.columns,
            ).fetchone()
        return _record(row) if row else None

    def records(self) -> list[DeliveryRecord]:
        """Every row, oldest period first."""
        with self._connection() as db:
            rows = db.execute("SELECT * FROM deliveries ORDER BY period_start, subscriber, channel").fetchall()
        return [_record(row) for row in rows]

    def _claimable(self, row: tuple | None, now: dt.datetime, retry_failed_after: dt.timedelta) -> bool:
        if row is None:
            return True
        status, last_tried = row
        age = now - dt.datetime.fromisoformat(last_tried)
        if status == "delivered":
            return False
        if status == "sending":
            return age >= self.stale_after  # its sender died mid-way
        return age >= retry_failed_after

    def pending(
        self, key: DeliveryKey, *, now: dt.datetime | None = None, retry_failed_after: dt.timedelta = dt.timedelta(0)
    ) -> bool:
        """True when :meth:`claim` would hand ``key`` out now (a look, without claiming)."""
        with self._connection() as db:
            row = db.execute(
                "SELECT status, last_tried_at FROM deliveries "
                "WHERE subscriber=? AND channel=? AND period_start=? AND period_end=?",
                key.columns,
            ).fetchone()
        return self._claimable(row, now or _now(), retry_failed_after)

    def claim(
        self,
        key: DeliveryKey,
        *,
        digest_hash: str,
        target: str,
        now: dt.datetime | None = None,
        retry_failed_after: dt.timedelta = dt.timedelta(0),
    ) -> bool:
        """Mark ``key`` as being sent by this caller. False, and nothing changes, when it is delivered,
        another sender holds it, or it failed less than ``retry_failed_after`` ago."""
        now = now or _now()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")  # take the write lock before reading: no two claims interleave
            try:
                row = db.execute(
                    "SELECT status, last_tried_at FROM deliveries "
                    "WHERE subscriber=? AND channel=? AND period_start=? AND period_end=?",
                    key.columns,
                ).fetchone()
                if not self._claimable(row, now, retry_failed_after):
                    db.execute("ROLLBACK")
                    return False
                if row is None:
                    db.execute(
                        "INSERT INTO deliveries (subscriber, channel, period_start, period_end, status, attempts, "
                        "digest_hash, target, first_tried_at, last_tried_at) "
                        "VALUES (?, ?, ?, ?, 'sending', 0, ?, ?, ?, ?)",
                        (*key.columns, digest_hash, target, now.isoformat(), now.isoformat()),
                    )
                else:
                    db.execute(
                        "UPDATE deliveries SET status='sending', digest_hash=?, target=?, last_tried_at=? "
                        "WHERE subscriber=? AND channel=? AND period_start=? AND period_end=?",
                        (digest_hash, target, now.isoformat(), *key.columns),
                    )
                db.execute("COMMIT")
                return True
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def finish(
        self,
        key: DeliveryKey,
        *,
        delivered: bool,
        attempts: int,
        reason: str | None = None,
        now: dt.datetime | None = None,
    ) -> DeliveryRecord:
        """Record how a claimed delivery ended (``attempts`` made by this run are added to the row's)."""
        now = now or _now()
        with self._connection() as db:
            db.execute(
                "UPDATE deliveries SET status=?, attempts=attempts+?, reason=?, last_tried_at=?, delivered_at=? "
                "WHERE subscriber=? AND channel=? AND period_start=? AND period_end=?",
                (
                    "delivered" if delivered else "failed",
                    attempts,
                    reason,
                    now.isoformat(),
                    now.isoformat() if delivered else None,
                    *key.columns,
                ),
            )
        record = self.get(key)
        if record is None:
            raise KeyError(f"{key} was never claimed")
        return record


def _record(row: tuple) -> DeliveryRecord:
    subscriber, channel, start, end, status, attempts, digest_hash, target, reason, first, last, delivered = row
    return DeliveryRecord(
        key=DeliveryKey(subscriber, channel, Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end))),
        status=status,
        attempts=attempts,
        digest_hash=digest_hash,
        target=target,
        reason=reason,
        first_tried_at=dt.datetime.fromisoformat(first),
        last_tried_at=dt.datetime.fromisoformat(last),
        delivered_at=dt.datetime.fromisoformat(delivered) if delivered else None,
    )

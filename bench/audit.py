"""Benchmark: what the audit log costs a page view, and how long checking it takes.

    python -m bench.audit
    python -m bench.audit --records 100000 --appends 300

For SQLite (a file in a temporary folder) and PostgreSQL (``HARM_INSIGHTS_PG_URL``, default the
test server; left out with a note when unreachable): the time of one ``AuditLog.record`` of a page
view with a realistic filters payload, median and 95th percentile over ``--appends`` appends,
on an empty log and on one already holding ``--records`` records; then, on that full log,
``verify()`` and listing the last 500 records. Each append is its own committed transaction, so
its time is mostly the database's durable commit (fsync) on this machine's disk.

The full log is filled in bulk (records chained here, inserted in one transaction and the head
moved), which is what ``record`` would have written one by one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from insights.audit import AuditLog, Event
from insights.audit.record import GENESIS

PG_URL = os.environ.get("HARM_INSIGHTS_PG_URL", "postgresql+psycopg://harm:harm@127.0.0.1:5432/harm_insights")

#: What a page view records: the page, its whole filter state and the link that reopens it.
PAGE_VIEW = {
    "page": "root_cause",
    "filters": {
        "harm_area": ["hateful_behavior", "violent_extremism"],
        "region": "Europe",
        "country": ["FR", "BE", "NL", "DE"],
        "content_type": ["video", "live"],
        "detection_source": ["user_report", "trusted_flagger"],
        "start": "2026-01-05",
        "end": "2026-03-29",
        "grain": "week",
    },
    "metric": "proactive_rate",
    "current": ["2026-03-02", "2026-03-29"],
    "baseline": ["2026-02-02", "2026-03-01"],
    "source": "sample_data/generated/events",
    "link": "/root_cause?harm_area=hateful_behavior&harm_area=violent_extremism&region=Europe&grain=week"
    "&p_metric=proactive_rate&cur=2026-03-02..2026-03-29&base=2026-02-02..2026-03-01",
}


@contextmanager
def fresh_log(url: str) -> Iterator[AuditLog]:
    """A new log at ``url`` in tables of its own, dropped afterwards."""
    table = f"audit_bench_{uuid.uuid4().hex[:10]}"
    log = AuditLog(url, table=table)
    try:
        yield log
    finally:
        log.close()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for name in (table, f"{table}_head"):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        engine.dispose()


def fill(log: AuditLog, url: str, records: int) -> None:
    """Put ``records`` chained page views into an empty log in one transaction, then move the head."""
    rows, prev = [], GENESIS
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for seq in range(1, records + 1):
        at = start + dt.timedelta(seconds=seq)
        record = Event.of(f"user{seq % 300}@example.org", "page_view", PAGE_VIEW, "allowed", at).chained(seq, prev)
        rows.append(record.__dict__)
        prev = record.hash
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for batch in range(0, len(rows), 10_000):
            conn.execute(sa.insert(log.table), rows[batch : batch + 10_000])
        conn.execute(sa.update(log.head_table).values(seq=records, hash=prev))
    engine.dispose()


def append_times(log: AuditLog, appends: int) -> tuple[float, float]:
    """Median and 95th percentile (ms) of one page-view append."""
    times = []
    for number in range(appends):
        began = time.perf_counter()
        log.record(f"user{number % 7}@example.org", "page_view", PAGE_VIEW)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def reachable(url: str) -> bool:
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # any failure to connect: no server here
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Print the append and check tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records already in the full log")
    parser.add_argument("--appends", type=int, default=300, help="appends timed per row")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        backends = [("SQLite (file, WAL)", f"sqlite:///{Path(folder) / 'audit.db'}")]
        if reachable(PG_URL):
            backends.append(("PostgreSQL", PG_URL))
        else:
            print(f"PostgreSQL: no server at {sa.make_url(PG_URL).render_as_string(hide_password=True)}, left out\n")

        appends, checks = [], []
        for name, url in backends:
            for existing in (0, args.records):
                with fresh_log(url) as log:
                    fill(log, url, existing)
                    median, p95 = append_times(log, args.appends)
                    appends.append((name, existing, median, p95))
                    if existing:
                        began = time.perf_counter()
                        check = log.verify()
                        verify = time.perf_counter() - began
                        assert check.ok, check.detail
                        began = time.perf_counter()
                        log.records(limit=500)
                        checks.append((name, check.checked, verify, time.perf_counter() - began))

    print(f"One page-view append ({args.appends} appends; payload {len(Event.of('x', 'page_view', PAGE_VIEW).what)} B)")
    print(f"{'database':<20} {'records already':>16} {'median ms':>10} {'p95 ms':>8}")
    for name, existing, median, p95 in appends:
        print(f"{name:<20} {existing:>16,} {median:>10.2f} {p95:>8.2f}")
    print()
    print(f"{'database':<20} {'records':>10} {'verify() s':>11} {'last 500 s':>11}")
    for name, checked, verify, listing in checks:
        print(f"{name:<20} {checked:>10,} {verify:>11.2f} {listing:>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: events in PostgreSQL, every page question pushed down, next to hand-written SQL.

    python -m bench.postgres_scale --events 5 20 --data /tmp/scale   # millions, from <data>/10m or 100m events

Copies N million large-platform events into a table (every k-th event of the 10M or 100M files,
so the whole period is covered; primary key on the event id),
then measures the load (its statements and the rows they return) and each page question: our
compiled query against the same question written by hand for PostgreSQL, on the same server,
with the rows each returns. Needs $HARM_INSIGHTS_PG_URL (default the test server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import polars as pl
import sqlalchemy as sa

import insights
from insights.engines.connections import SqlAlchemyConnection
from tests.conftest import postgres_table

URL = os.environ.get("HARM_INSIGHTS_PG_URL", "postgresql+psycopg://harm:harm@127.0.0.1:5432/harm_insights")
QUESTIONS = {
    "overview KPIs by harm area, 8 weeks": (
        {"metrics": ["actions", "proactive_rate"], "by": ["harm_area"], "grain": "week", "start": "2026-09-28"},
        "SELECT date_trunc('week', actioned_at)::date, harm_area, count(*), sum(proactive::int) FROM {t} "
        "WHERE actioned_at >= '2026-09-28' GROUP BY 1, 2",
    ),
    "map: actions by country": (
        {"metrics": "actions", "by": ["country"], "start": "2026-09-28"},
        "SELECT country, count(*) FROM {t} WHERE actioned_at >= '2026-09-28' GROUP BY 1",
    ),
    "trend: self-harm by day": (
        {"metrics": "actions", "grain": "day", "filters": {"harm_area": "self_harm"}},
        "SELECT actioned_at::date, count(*) FROM {t} WHERE harm_area = 'self_harm' GROUP BY 1",
    ),
    "deep dive: detection sources, month": (
        {"metrics": ["actions", "automation_rate"], "by": ["detection_source"], "grain": "month"},
        "SELECT date_trunc('month', actioned_at)::date, detection_source, count(*), sum(automated::int) FROM {t} "
        "GROUP BY 1, 2",
    ),
}


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[5, 20], help="millions of events")
    parser.add_argument("--data", type=Path, default=Path("bench/out/scale"))
    args = parser.parse_args()
    seen: list[int] = []
    run = SqlAlchemyConnection.run

    def counted(connection, sql):
        answer = run(connection, sql)
        seen.append(len(answer))
        return answer

    SqlAlchemyConnection.run = counted  # type: ignore[method-assign]
    engine = sa.create_engine(URL)
    for millions in args.events:
        source = 10 if millions <= 10 else 100
        events = (
            pl.scan_parquet(args.data / f"{source}m" / "events" / "*.parquet")
            .gather_every(max(1, source // millions))
            .head(millions * 1_000_000)
            .collect()
        )
        table = f"bench_events_{millions}m_{os.getpid()}"
        postgres_table(URL, events, table)
        del events
        seen.clear()
        load_s, cube = timed(lambda t=table: insights.load_source(URL, table=t))
        print(
            f"\n{cube.provenance.rows_read:,} events in PostgreSQL: load {load_s:.1f} s, "
            f"{len(seen)} statements returning {sum(seen):,} rows in all"
        )
        print(f"{'question':<40} {'ours s':>7} {'rows':>6} {'hand s':>7} {'rows':>6} {'ratio':>6}")
        for name, (question, sql) in QUESTIONS.items():
            ours, hand, rows = [], [], 0
            for _ in range(3):
                cube.store.answers.clear()  # type: ignore[attr-defined]
                seen.clear()
                ours.append(timed(lambda q=question: cube.query(**q))[0])
                rows = seen[-1]
                with engine.connect() as conn:
                    seconds, result = timed(lambda c=conn, s=sql: c.exec_driver_sql(s.format(t=table)).fetchall())
                hand.append(seconds)
            ours_s, hand_s = statistics.median(ours), statistics.median(hand)
            print(f"{name:<40} {ours_s:>7.2f} {rows:>6} {hand_s:>7.2f} {len(result):>6} {ours_s / hand_s:>6.2f}")


if __name__ == "__main__":
    main()

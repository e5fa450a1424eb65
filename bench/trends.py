"""Benchmark: a trend series with expected band, anomalies and change points, on a 10M-event cube.

    python -m bench.trends                      # 10M events (generated into bench/out/ if missing)
    python -m bench.trends --events 1000000

Prints one row per case: the latency of ``insights.trends.trend`` (series, band, anomaly flags,
noise model and change points) the first time a slice's dimensions are asked for (cold: the cube
builds and caches a roll-up for them) and then warm (median of repeated runs), and of the parts
of a warm run: the cube query, and the band and change points on top of it. Then the period
deltas, the movers by country and a narrative. Target: a trend with bands and anomalies
≤ 100 ms (warm) on the cube of 10M events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import insights
from bench.cube import events_dir, median_ms
from insights.narrative import narrate
from insights.periods import Period
from insights.regional import movers
from insights.trends import period_changes, trend, trend_series

ROOT = Path(__file__).resolve().parents[1]

TARGET_MS = 100
CASES = [  # label, metric, grain, filters
    ("all actions", "actions", "day", None),
    ("all actions", "actions", "week", None),
    ("harm area", "actions", "day", {"harm_area": "self_harm"}),
    ("harm area", "actions", "week", {"harm_area": "self_harm"}),
    ("harm area", "actions", "month", {"harm_area": "self_harm"}),
    ("harm area × 3 countries", "actions", "day", {"harm_area": "violent_extremism", "country": ["FR", "BE", "NL"]}),
    ("harm area, rate", "proactive_rate", "day", {"harm_area": "hateful_behavior"}),
    ("policy × language, rate", "overturn_rate", "week", {"policy": "targeted_harassment", "language": "en"}),
    ("region × content type", "actions", "day", {"region": "Africa", "content_type": ["video", "live"]}),
]


def once_ms(call) -> float:
    """Wall time of one call in milliseconds (cold: nothing run before it)."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    cube = insights.load_source(events_dir(args.events), engine="polars")
    print(f"{args.events:,} events → {cube} in {time.perf_counter() - start:.1f} s\n")

    header = (
        f"{'case':<26} {'metric':<15} {'grain':<6} {'periods':>7} {'cold ms':>8} {'warm ms':>8} "
        f"{'query ms':>9} {'anomalies':>9}  target"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for label, metric, grain, filters in CASES:
        cold = once_ms(lambda: trend(cube, metric, grain, filters))
        warm = median_ms(lambda: trend(cube, metric, grain, filters), args.repeat)
        query = median_ms(lambda: trend_series(cube, metric, grain, filters), args.repeat)
        result = trend(cube, metric, grain, filters)
        worst = max(worst, warm)
        verdict = "ok" if warm <= TARGET_MS else "SLOW"
        print(
            f"{label:<26} {metric:<15} {grain:<6} {len(result.series):>7} {cold:>8.1f} {warm:>8.1f} {query:>9.1f}"
            f" {len(result.anomalies):>9}  {verdict}"
        )
    print(f"\nslowest warm trend: {worst:.1f} ms (target ≤ {TARGET_MS} ms)\n")

    current, baseline = (
        Period(dt.date(2025, 10, 6), dt.date(2025, 11, 2)),
        Period(dt.date(2025, 9, 8), dt.date(2025, 10, 5)),
    )
    ve = {"harm_area": "violent_extremism"}
    others = [
        ("period changes (week, month, quarter × previous, year ago)", lambda: period_changes(cube, "actions", ve)),
        ("movers by country, tested", lambda: movers(cube, "actions", current=current, baseline=baseline, filters=ve)),
        (
            "narrative with one-dimension drivers",
            lambda: narrate(cube, "actions", current=current, baseline=baseline, filters=ve),
        ),
    ]
    print(f"{'other':<58} {'cold ms':>8} {'warm ms':>8}")
    for label, call in others:
        print(f"{label:<58} {once_ms(call):>8.1f} {median_ms(call, args.repeat):>8.1f}")


if __name__ == "__main__":
    main()

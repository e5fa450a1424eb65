"""Benchmark: what small-cell suppression withholds on the sample, and what it costs a query.

    python -m bench.suppression
    python -m bench.suppression --source PATH --engines polars duckdb --repeats 7 --threshold 10

For each engine, each typical page question is asked of the cube without suppression and with
``Suppression(threshold, {"child_safety": 2 × threshold})``: the median time of each over
``--repeats`` runs after one warm-up (the store's answer is cached or its roll-up built by then, so
the difference is mostly suppression's own work on the answer), and for the suppressed answer its
cells, the cells withheld as small counts (primary) and as complements (secondary), counted on the
question's value column (a count's own, a rate's numerator sum).

The questions are the default views of the pages on the sample: the Overview's weekly cards for the
four core harm areas, the Regional page's countries and regions by week, the Root cause page's two
periods by policy × country, and a 4-dimension weekly breakdown (the heaviest, for the complements'
passes).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import insights
from insights.cube import Cube
from insights.disclosure import Suppression, withheld_column

ROOT = Path(__file__).resolve().parents[1]
CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
VIEW = {"filters": {"harm_area": CORE}, "start": "2024-11-18", "end": "2026-11-22"}
QUESTIONS: dict[str, dict[str, Any]] = {
    "Overview cards (harm area × week)": {"metric": "actions", "by": ["harm_area"], "grain": "week", **VIEW},
    "Overview rate (harm area × week)": {"metric": "overturn_rate", "by": ["harm_area"], "grain": "week", **VIEW},
    "Regional map (country)": {"metric": "actions", "by": ["country"], **VIEW},
    "Regional movers (country, 1 week)": {
        "metric": "actions",
        "by": ["country"],
        "filters": {"harm_area": CORE},
        "start": "2026-11-16",
        "end": "2026-11-22",
    },
    "Regional multiples (region × week)": {"metric": "actions", "by": ["region"], "grain": "week", **VIEW},
    "Root cause (policy × country, 4 weeks)": {
        "metric": "actions",
        "by": ["policy", "country"],
        "filters": {"harm_area": CORE},
        "start": "2026-06-15",
        "end": "2026-07-12",
    },
    "4 dimensions × week": {
        "metric": "actions",
        "by": ["harm_area", "country", "content_type", "detection_source"],
        "grain": "week",
        **VIEW,
    },
}


def timed(cube: Cube, question: dict[str, Any], repeats: int) -> tuple[float, Any]:
    """Median seconds of ``cube.sums`` over ``repeats`` runs after a warm-up, and the last answer."""
    asked = dict(question)
    metric = asked.pop("metric")
    answer = cube.sums(metric, **asked)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        answer = cube.sums(metric, **asked)
        times.append(time.perf_counter() - began)
    return statistics.median(times), answer


def withheld_counts(answer: Any) -> tuple[int, int]:
    """Cells withheld as small counts and as complements, on the numerator."""
    reasons = answer[withheld_column("numerator")].drop_nulls().struct.field("reason").to_list()
    return reasons.count("count"), reasons.count("complement")


def main() -> None:
    """Print one table per engine."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(ROOT / "sample_data" / "generated" / "events"))
    parser.add_argument("--engines", nargs="+", default=["polars", "duckdb"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threshold", type=int, default=10)
    args = parser.parse_args()
    policy = Suppression(args.threshold, {"child_safety": 2 * args.threshold})
    print(f"Small-cell suppression on {args.source}: threshold {args.threshold} (child safety {2 * args.threshold})")
    for engine in args.engines:
        cube = insights.load_source(args.source, engine=engine)
        suppressed = cube.with_suppression(policy)
        print(f"\n{engine}")
        header = (
            f"{'question':40} {'cells':>6} {'primary':>8} {'secondary':>9} {'plain ms':>9} {'suppr. ms':>9} {'+ms':>7}"
        )
        print(header)
        print("-" * len(header))
        for name, question in QUESTIONS.items():
            plain, _ = timed(cube, question, args.repeats)
            hidden, answer = timed(suppressed, question, args.repeats)
            primary, secondary = withheld_counts(answer)
            print(
                f"{name:40} {len(answer):>6} {primary:>8} {secondary:>9} "
                f"{plain * 1e3:>9.1f} {hidden * 1e3:>9.1f} {(hidden - plain) * 1e3:>7.1f}"
            )


if __name__ == "__main__":
    main()

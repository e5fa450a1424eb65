"""Benchmark: ``explain_change`` and decomposition-tree steps on a cube of 10M events.

    python -m bench.rootcause                       # 10M events (generated into bench/out/ if missing)
    python -m bench.rootcause --events 1000000

Prints one table: for each scenario (a metric, a slice and two 8-week or 3-week periods,
broken down by 6 dimensions at depth 1–3) the leaves (combinations of the 6 dimensions with
data in either period) and the segments (combinations of 1 to 3 of them) handled, and the time of
``explain_change`` on its first call (cold: the cube's roll-ups for the slice are built) and
the median of the next calls (warm); then the time of one decomposition-tree step at the
root and one level down. Target: ``explain_change`` ≤ 1 s on 10M events.
"""

from __future__ import annotations

import argparse
import statistics
import time

import insights
from bench.cube import events_dir
from insights.rootcause import decomposition_tree, explain_change
from insights.rootcause.decompose import compare_leaves, segment_sums

DIMS = ["policy", "country", "language", "content_type", "detection_source", "action"]
SCENARIOS = [
    ("actions, whole cube, 8 weeks", "actions", None, ("2025-08-11", "2025-10-05"), ("2025-10-06", "2025-11-30")),
    (
        "actions, violent extremism, 8 weeks",
        "actions",
        {"harm_area": "violent_extremism"},
        ("2025-08-11", "2025-10-05"),
        ("2025-10-06", "2025-11-30"),
    ),
    (
        "proactive rate, whole cube, 8 weeks",
        "proactive_rate",
        None,
        ("2026-01-05", "2026-03-01"),
        ("2026-03-02", "2026-04-26"),
    ),
    (
        "proactive rate, hateful behavior, 8 weeks",
        "proactive_rate",
        {"harm_area": "hateful_behavior"},
        ("2026-01-05", "2026-03-01"),
        ("2026-03-02", "2026-04-26"),
    ),
    (
        "overturn rate, harassment, 3 weeks",
        "overturn_rate",
        {"harm_area": "bullying_harassment"},
        ("2026-07-13", "2026-08-02"),
        ("2026-08-03", "2026-08-23"),
    ),
]


def timed(call, repeats: int = 3) -> tuple[float, float, object]:
    """(first call, median of the next ``repeats`` calls) in seconds, and the last result."""
    start = time.perf_counter()
    result = call()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()

    start = time.perf_counter()
    cube = insights.load_source(events_dir(args.events), engine="polars")
    print(f"{args.events:,} events → {len(cube.data):,} cube cells in {time.perf_counter() - start:.1f} s\n")

    print(
        f"{'explain_change over ' + str(len(DIMS)) + ' dimensions, depth 1–3':<46} "
        f"{'leaves':>8} {'segments':>9} {'cold s':>7} {'warm s':>7}"
    )
    for label, metric, filters, baseline, current in SCENARIOS:
        cold, warm, _ = timed(
            lambda: explain_change(cube, metric, current=current, baseline=baseline, dims=DIMS, filters=filters)
        )
        comparison = compare_leaves(cube, metric, current=current, baseline=baseline, dims=DIMS, filters=filters)
        segments = segment_sums(comparison, 3).height
        print(f"{label:<46} {comparison.leaves.height:>8,} {segments:>9,} {cold:>7.2f} {warm:>7.2f}")

    print(f"\n{'decomposition-tree step':<46} {'children':>8} {'':>9} {'cold s':>7} {'warm s':>7}")
    label, metric, filters, baseline, current = SCENARIOS[1]
    cold, warm, root = timed(
        lambda: decomposition_tree(cube, metric, current=current, baseline=baseline, filters=filters, dims=DIMS)
    )
    print(f"{'root, split by ' + root.split_dimension:<46} {len(root.children):>8} {'':>9} {cold:>7.2f} {warm:>7.2f}")
    child = root.children[0].segment
    cold, warm, node = timed(
        lambda: decomposition_tree(
            cube, metric, current=current, baseline=baseline, node=child, filters=filters, dims=DIMS
        )
    )
    name = " & ".join(f"{k}={v}" for k, v in child.items())
    print(
        f"{name + ', split by ' + node.split_dimension:<46} {len(node.children):>8} {'':>9} {cold:>7.2f} {warm:>7.2f}"
    )


if __name__ == "__main__":
    main()

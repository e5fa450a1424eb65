"""Benchmark: time to estimate a launch's impact on a generated sample cube.

    python -m bench.impact_timing                          # 1M events (generated into bench/out/ if missing)
    python -m bench.impact_timing --sample /tmp/impact_sample/events

Prints, per case, the time of the first ``estimate_impact`` (cold: the cube builds the roll-up it
needs) and the median of repeated runs (warm), with the estimate's method, average effect and
interval, p-value and warnings count. Cases follow stories injected by ``sample_data/generate.py``
(``sample_data/stories.json``): a level shift of violent-extremism actions in FR, BE and NL, the
hate-speech classifier launch on the proactive rate of hateful behaviour (other harm areas as
donors), and the program story (the upload-time human-exploitation classifier in BR, MX and CO,
with the story's donors), whose estimate is then set against the truth the generator wrote
(``truth/program_effect.parquet``: the actions the program removed, per week and country).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import polars as pl

import insights
from bench.cube import events_dir
from insights.impact import ImpactEstimate, estimate_impact

ROOT = Path(__file__).resolve().parents[1]
STORY = next(
    s for s in json.loads((ROOT / "sample_data" / "stories.json").read_text())["stories"]
    if s["id"] == "exploitation_upload_classifier"
)  # fmt: skip
PROGRAM = "program story: HE actions, BR+MX+CO, week"

CASES: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "VE actions, FR+BE+NL, week",
        {
            "metric": "actions",
            "treated": {"country": ["FR", "BE", "NL"]},
            "launch": "2025-10-06",
            "filters": {"harm_area": "violent_extremism"},
            "grain": "week",
        },
    ),
    (
        "hate proactive rate, harm areas, week",
        {
            "metric": "proactive_rate",
            "treated": {"harm_area": "hateful_behavior"},
            "launch": "2026-03-02",
            "grain": "week",
        },
    ),
    (
        "hate proactive rate, harm areas, day",
        {
            "metric": "proactive_rate",
            "treated": {"harm_area": "hateful_behavior"},
            "launch": "2026-03-02",
            "grain": "day",
            "start": "2025-09-01",
            "end": "2026-05-31",
        },
    ),
    (
        PROGRAM,
        {
            "metric": STORY["metric"],
            "treated": {"country": STORY["segment"]["country"]},
            "launch": STORY["start"],
            "filters": {"harm_area": STORY["harm_area"]},
            "donors": STORY["donors"],
            "grain": "week",
        },
    ),
)


def describe(estimate: ImpactEstimate) -> str:
    a = estimate.average
    percent = f"{a.percent or 0:+.1f} % [{a.percent_lower or 0:+.1f}, {a.percent_upper or 0:+.1f}]"
    warned = "; ".join(w.split(":")[0] for w in estimate.warnings) or "none"
    return (
        f"{estimate.method:<10} avg {a.value:10.4g} [{a.lower:.4g}, {a.upper:.4g}] ({percent}) "
        f"p={estimate.p_value:.3f} donors={len(estimate.weights)} warnings: {warned}"
    )


def against_truth(estimate: ImpactEstimate, events: Path) -> str:
    """The program story's estimate next to its truth over the same weeks: the actions removed per
    week (treated countries pooled) and in % of the actions there would have been."""
    weeks = estimate.series.filter("post")["period"]
    truth = pl.read_parquet(events.parent / "truth" / "program_effect.parquet").filter(
        pl.col("story") == STORY["id"], pl.col("week").is_in(weeks.implode())
    )
    per_week = -truth["blocked_actions"].sum() / len(weeks)
    percent = -100 * truth["blocked_actions"].sum() / truth["counterfactual_actions"].sum()
    a = estimate.average
    covered = "yes" if a.lower <= per_week <= a.upper else "NO"
    return (
        f"program story over {len(weeks)} weeks: estimate {a.value:,.1f} actions/week "
        f"[{a.lower:,.1f}, {a.upper:,.1f}] ({a.percent or 0:+.1f} % [{a.percent_lower or 0:+.1f}, "
        f"{a.percent_upper or 0:+.1f}]); truth {per_week:,.1f} actions/week ({percent:+.1f} %); "
        f"{estimate.level:.0%} interval covers the truth: {covered}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sample", type=Path, default=None, help="an existing folder of generated events")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = args.sample or events_dir(args.events)
    start = time.perf_counter()
    cube = insights.load_source(path)
    print(f"loaded {cube!r} in {time.perf_counter() - start:.1f} s")
    for label, options in CASES:
        start = time.perf_counter()
        estimate = estimate_impact(cube, **options)  # type: ignore[arg-type]
        cold = time.perf_counter() - start
        warm = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            estimate_impact(cube, **options)  # type: ignore[arg-type]
            warm.append(time.perf_counter() - start)
        print(f"{label:<44} cold {cold:6.2f} s  warm {statistics.median(warm):6.2f} s  {describe(estimate)}")
        if label == PROGRAM:
            print(against_truth(estimate, path))


if __name__ == "__main__":
    main()

"""Benchmark: what joining exposure to the cube costs on typical page queries.

    python -m bench.exposure_join                   # 10M events (generated into bench/out/ if missing)
    python -m bench.exposure_join --sizes 1000000
    python -m bench.exposure_join --engine duckdb   # the events in DuckDB (exposure stays in memory)

For each size: the time to load the events into a cube (as the app does, then ``warm()``), to
attach the exposure tables and the labelled view sample (``with_exposure``), and one table of
typical page queries, each asked for a count of the enforcement cube alone (``actions``: no
join) and for the per-exposure rate over the same slice (``actions_per_million_views``: the
enforcement cube's sums joined with the exposure cube's), median of repeated warm runs (and the
first, cold run). Then the prevalence queries pages make (estimated from the view sample, no
join). Timings are wall-clock on this machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bench.cube import OUT, events_dir

CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
REPEATS = 15


def timed(run: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """(first run, median of the next ``repeats``) in milliseconds."""
    start = time.perf_counter()
    run()
    first = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return first, statistics.median(times)


def page_queries(last_week: tuple[str, str], quarter: tuple[str, str]) -> list[tuple[str, dict]]:
    """(name, Cube.query arguments) of the queries pages make most."""
    week_start, week_end = last_week
    q_start, q_end = quarter
    return [
        ("Overview cards: by harm area, last week", {"by": ["harm_area"], "start": week_start, "end": week_end}),
        ("Trends: one harm area by week, all dates", {"grain": "week", "filters": {"harm_area": ["self_harm"]}}),
        (
            "Regional map: by country, one quarter",
            {"by": ["country"], "filters": {"harm_area": CORE}, "start": q_start, "end": q_end},
        ),
        ("Regional: region × harm area by month", {"by": ["region", "harm_area"], "grain": "month"}),
        (
            "Deep dive: content type by week, Europe",
            {"by": ["content_type"], "grain": "week", "filters": {"region": ["Europe"]}},
        ),
    ]


def run(size: int, engine: str) -> None:
    import insights
    from insights.exposed import with_exposure
    from insights.kpis import prevalence_cards
    from insights.periods import latest_complete_period

    folder = events_dir(size).parent
    start = time.perf_counter()
    cube = insights.load_source(folder / "events", engine=engine)
    cube.warm()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    exposed = with_exposure(cube, folder / "exposure", folder / "view_sample")
    attached = time.perf_counter() - start
    start = time.perf_counter()
    exposed.warm([])  # the events cube is warm already: the exposure's roll-ups and the sample's sums
    warmed = time.perf_counter() - start
    assert exposed.exposure is not None
    span = cube.date_range
    assert span is not None and cube.provenance.as_of is not None
    week = latest_complete_period(cube.provenance.as_of, "week")
    quarter = latest_complete_period(cube.provenance.as_of, "quarter")
    cells = f"{len(cube.data):,} cube cells" if engine == "polars" else f"events in {engine}"
    print(f"\n## {size:,} events ({engine}): {cells}, {exposed.exposure.data.height:,} exposure cells")
    print(
        f"load + warm the events cube: {loaded:.1f} s; attach exposure and view sample: {attached * 1000:.0f} ms; "
        f"warm them (exposure roll-ups, view sample summed): {warmed:.1f} s\n"
    )
    print(
        "| page query | actions, no join: first / warm (ms) | actions per million views, joined: first / warm (ms) "
        "| join adds (warm) |"
    )
    print("|---|---|---|---|")
    for name, arguments in page_queries((str(week.start), str(week.end)), (str(quarter.start), str(quarter.end))):
        plain = timed(lambda a=arguments: exposed.query("actions", **a))
        joined = timed(lambda a=arguments: exposed.query("actions_per_million_views", **a))
        rows = exposed.query("actions_per_million_views", **arguments).height
        print(
            f"| {name} ({rows} rows) | {plain[0]:.0f} / {plain[1]:.1f} | {joined[0]:.0f} / {joined[1]:.1f} "
            f"| {joined[1] - plain[1]:+.1f} ms ({joined[1] / plain[1]:.1f}×) |"
        )
    print("\n| prevalence query (view sample, no join) | first / warm (ms) |")
    print("|---|---|")
    cards = timed(lambda: prevalence_cards(exposed, filters={"harm_area": CORE}), repeats=3)
    trend = timed(lambda: exposed.prevalence("week", filters={"harm_area": CORE}), repeats=3)
    monthly = timed(lambda: exposed.prevalence("month", filters={"harm_area": CORE, "region": "Europe"}), repeats=3)
    print(f"| 4 prevalence cards (two quarters) | {cards[0]:.0f} / {cards[1]:.0f} |")
    print(f"| prevalence trend, 4 harm areas by week | {trend[0]:.0f} / {trend[1]:.0f} |")
    print(f"| prevalence trend, Europe by month | {monthly[0]:.0f} / {monthly[1]:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000])
    parser.add_argument("--engine", choices=["polars", "duckdb"], default="polars")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        run(size, args.engine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the engine-backed cube at a large platform's scale, next to hand-written DuckDB SQL.

    python -m bench.scale                                  # 10M, 100M and 300M events
    python -m bench.scale --sizes 10 100 --data /tmp/scale  # events in /tmp/scale/<N>m/events
    python -m bench.scale --sizes --spark 10                # the page questions on Spark, 10M events

Events are generated with ``sample_data.generate --platform large`` (117 countries, 65
languages, 44 policies) into ``<data>/<N>m`` when missing. Each size runs in a fresh process
(peak RSS is that process's): the time until the first page is usable (load on DuckDB + the
Overview's first two questions), each typical page question cold (from the raw Parquet files,
median of three) and cached (asked again), then again once the declared aggregates are materialised, and
``explain_change`` over 6 dimensions — each next to the same question written by hand in
DuckDB SQL on the same files, measured in the same run (in a process of its own, for its
peak RSS), the files read once beforehand so that neither side pays for the disk. Answers
are compared cell by cell. Targets: peak RSS ≤ 3 GB at every size, first
page ≤ 10 s at 100M, cold ≤ 1.5× hand-written, cached ≤ 50 ms, explain_change ≤ 5 s at 100M.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIMS = ["policy", "country", "language", "content_type", "detection_source", "action"]
LAST = ("2026-09-28", "2026-11-22")  # the last 8 weeks of the generated period
#: name → (Cube.query arguments, hand-written DuckDB SQL over `events` (+ `regions`))
QUESTIONS: dict[str, tuple[dict, str]] = {
    "overview KPIs by harm area, 8 weeks": (
        {
            "metrics": ["actions", "proactive_rate", "overturn_rate"],
            "by": ["harm_area"],
            "grain": "week",
            "start": LAST[0],
            "end": LAST[1],
        },
        "SELECT CAST(date_trunc('week', CAST(actioned_at AS DATE)) AS DATE) AS period, harm_area, count(*) AS actions, "
        "sum(proactive::INT) / count(*) AS proactive_rate, "
        "CASE WHEN sum(appealed::INT) > 0 THEN sum(overturned::INT) / sum(appealed::INT) END AS overturn_rate "
        f"FROM events WHERE actioned_at >= TIMESTAMP '{LAST[0]}' AND actioned_at < TIMESTAMP '2026-11-23' "
        "GROUP BY ALL ORDER BY ALL",
    ),
    "map: actions by country, 8 weeks": (
        {"metrics": "actions", "by": ["country"], "start": LAST[0], "end": LAST[1]},
        f"SELECT country, count(*) AS actions FROM events WHERE actioned_at >= TIMESTAMP '{LAST[0]}' "
        "AND actioned_at < TIMESTAMP '2026-11-23' GROUP BY ALL ORDER BY ALL",
    ),
    "trend: self-harm actions by day": (
        {"metrics": "actions", "grain": "day", "filters": {"harm_area": "self_harm"}},
        "SELECT CAST(actioned_at AS DATE) AS period, count(*) AS actions FROM events "
        "WHERE harm_area = 'self_harm' GROUP BY ALL ORDER BY ALL",
    ),
    "regional: 24h rate by region, month": (
        {
            "metrics": "within_24h_rate",
            "by": ["region"],
            "grain": "month",
            "filters": {"harm_area": "hateful_behavior"},
        },
        "SELECT CAST(date_trunc('month', CAST(actioned_at AS DATE)) AS DATE) AS period, r.region, "
        "sum((date_diff('second', created_at, actioned_at) <= 86400)::INT) / count(created_at) AS within_24h_rate "
        "FROM events e JOIN regions r ON e.country = r.country WHERE harm_area = 'hateful_behavior' "
        "GROUP BY ALL ORDER BY ALL",
    ),
    "deep dive: detection sources, month": (
        {
            "metrics": ["actions", "automation_rate"],
            "by": ["detection_source"],
            "grain": "month",
            "filters": {"harm_area": "human_exploitation"},
        },
        "SELECT CAST(date_trunc('month', CAST(actioned_at AS DATE)) AS DATE) AS period, detection_source, "
        "count(*) AS actions, sum(automated::INT) / count(*) AS automation_rate FROM events "
        "WHERE harm_area = 'human_exploitation' GROUP BY ALL ORDER BY ALL",
    ),
}
#: Each cold question (ours from the raw files, and hand-written) is timed this many times: the median.
COLD_RUNS = 3
EXPLAIN = {"metric": "actions", "baseline": ("2025-08-11", "2025-10-05"), "current": ("2025-10-06", "2025-11-30")}
EXPLAIN_SQL = (
    f"SELECT {', '.join(DIMS)}, count(*) FROM events WHERE actioned_at >= TIMESTAMP '{{0}}' "
    f"AND actioned_at < TIMESTAMP '{{1}}'::TIMESTAMP + INTERVAL 1 DAY GROUP BY ALL"
)


def events_dir(data: Path, millions: int) -> Path:
    """The large-platform events of ``millions`` M events, generated when missing."""
    out = data / f"{millions}m"
    if not (out / "events").is_dir():
        from sample_data.generate import generate

        generate(millions * 1_000_000, out, platform="large")
    return out / "events"


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def first_page(path: str):
    """Load ``path`` on DuckDB and ask the Overview's first two questions (its KPIs and map on
    screen): the cube, and the seconds to load (``load_s``) and to the first page (``first_page_s``)."""
    import insights

    began = time.perf_counter()
    cube = insights.load_source(path, engine="duckdb")
    load = time.perf_counter() - began
    for args, _ in list(QUESTIONS.values())[:2]:
        cube.query(**args)
    return cube, {"load_s": load, "first_page_s": time.perf_counter() - began}


def ours(path: str) -> dict:
    """Our side, in this process: load, first page, questions cold/cached, aggregates, explain_change."""
    from insights.rootcause import explain_change

    cube, out = first_page(path)
    out["questions"] = {}
    aggregates = cube.store.aggregates  # type: ignore[attr-defined]
    aggregates.note = lambda dimensions: None  # cold: from the raw files, no aggregate built meanwhile
    for name, (args, _) in QUESTIONS.items():
        colds = []
        for _ in range(COLD_RUNS):
            cube.store.answers.clear()  # type: ignore[attr-defined]
            start = time.perf_counter()
            answer = cube.query(**args)
            colds.append(time.perf_counter() - start)
        start = time.perf_counter()
        cube.query(**args)
        cached = time.perf_counter() - start
        out["questions"][name] = {"cold": statistics.median(colds), "cached": cached, "answer": answer.write_json()}
    del aggregates.note
    out["rows_read"] = cube.provenance.rows_read
    start = time.perf_counter()
    explain_change(cube, EXPLAIN["metric"], current=EXPLAIN["current"], baseline=EXPLAIN["baseline"], dims=DIMS)
    out["explain_s"] = time.perf_counter() - start
    began = time.perf_counter()
    cube.warm()  # the declared aggregates, materialised in the background
    cube.store.aggregates.wait()  # type: ignore[attr-defined]
    out["materialise_s"] = time.perf_counter() - began
    cube.store.answers.clear()  # type: ignore[attr-defined]  # ask again: from the aggregates now
    for name, (args, _) in QUESTIONS.items():
        start = time.perf_counter()
        cube.query(**args)
        out["questions"][name]["aggregate"] = time.perf_counter() - start
    out["peak_gb"] = peak_gb()
    return out


def reopen(path: str) -> dict:
    """The app opened again on the same files (a restart): load and the first page, with the
    aggregates an earlier process materialised in the cache folder."""
    _, out = first_page(path)
    return out | {"peak_gb": peak_gb()}


def spark(path: str) -> dict:
    """The page questions on Spark in local mode ($HARM_INSIGHTS_SPARK_MASTER, default local[2]),
    each asked once from the raw files (no aggregates)."""
    import insights

    began = time.perf_counter()
    cube = insights.load_source(path, engine="spark")
    out: dict = {"load_s": time.perf_counter() - began, "questions": {}}
    for name, (args, _) in QUESTIONS.items():
        start = time.perf_counter()
        answer = cube.query(**args)
        out["questions"][name] = {"cold": time.perf_counter() - start, "answer": answer.write_json()}
    return out


def hand(path: str) -> dict:
    """Hand-written DuckDB SQL on the same files, in this process."""
    import duckdb
    import polars as pl

    from insights.engines.connections import duckdb_memory_limit
    from insights.geo import region_of

    con = duckdb.connect(config={"memory_limit": duckdb_memory_limit()})
    con.sql(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}/*.parquet')")
    countries = con.sql("SELECT DISTINCT country FROM events").fetchall()
    regions = pl.DataFrame({"country": [c for (c,) in countries], "region": [region_of(c) for (c,) in countries]})
    con.register("regions", regions.to_arrow())
    out: dict = {"questions": {}}
    for name, (_, sql) in QUESTIONS.items():
        colds = []
        for _ in range(COLD_RUNS):
            start = time.perf_counter()
            answer = pl.from_arrow(con.sql(sql).to_arrow_table())
            colds.append(time.perf_counter() - start)
        out["questions"][name] = {"cold": statistics.median(colds), "answer": answer.write_json()}
    start = time.perf_counter()
    for period in (EXPLAIN["baseline"], EXPLAIN["current"]):
        con.sql(EXPLAIN_SQL.format(*period)).fetchall()
    out["explain_s"] = time.perf_counter() - start
    out["peak_gb"] = peak_gb()
    return out


def equal(a: str, b: str) -> bool:
    """Two answers (JSON frames) equal cell by cell, floats to 1e-9."""
    import io

    import polars as pl
    from polars.testing import assert_frame_equal

    left, right = pl.read_json(io.StringIO(a)), pl.read_json(io.StringIO(b))
    try:
        assert_frame_equal(left, right, check_dtypes=False, check_column_order=False, rel_tol=1e-9)
    except AssertionError:
        return False
    return True


def read_through(path: Path) -> None:
    """Read every file of ``path`` once, so both sides find them in the operating system's cache
    (the side measured first would otherwise also pay for the disk)."""
    for file in sorted(path.rglob("*.parquet")):
        with file.open("rb") as stream:
            while stream.read(1 << 24):
                pass


def run_side(side: str, path: Path, cache: Path) -> dict:
    """One side's measures, in a process of its own whose aggregates live in ``cache``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--side", side, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HARM_INSIGHTS_CACHE_DIR": str(cache)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


SIDES = {"ours": ours, "reopen": reopen, "hand": hand, "spark": spark}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 300], help="millions of events")
    parser.add_argument("--data", type=Path, default=Path("bench/out/scale"))
    parser.add_argument("--spark", type=int, nargs="*", default=[], help="millions of events also asked on Spark")
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(SIDES[args.side](args.path)))
        return
    for millions in args.sizes:
        path = events_dir(args.data, millions)
        read_through(path)
        with tempfile.TemporaryDirectory(prefix="harm-insights-bench-") as cache:
            mine, again = run_side("ours", path, Path(cache)), run_side("reopen", path, Path(cache))
            theirs = run_side("hand", path, Path(cache))
        print(
            f"\n{mine['rows_read']:,} events ({millions}M, large platform): load {mine['load_s']:.1f} s, "
            f"first page usable {mine['first_page_s']:.1f} s, peak RSS ours {mine['peak_gb']:.2f} GB "
            f"(hand-written DuckDB {theirs['peak_gb']:.2f} GB), declared aggregates materialised "
            f"in {mine['materialise_s']:.1f} s; reopened (a restart, aggregates kept): first page usable "
            f"{again['first_page_s']:.1f} s"
        )
        print(f"{'question':<40} {'cold s':>7} {'DuckDB s':>9} {'ratio':>6} {'cached ms':>10} {'agg. ms':>8} equal")
        for name in QUESTIONS:
            q, h = mine["questions"][name], theirs["questions"][name]
            print(
                f"{name:<40} {q['cold']:>7.2f} {h['cold']:>9.2f} {q['cold'] / h['cold']:>6.2f} "
                f"{q['cached'] * 1e3:>10.2f} {q['aggregate'] * 1e3:>8.1f} {equal(q['answer'], h['answer'])}"
            )
        print(
            f"{'explain_change, 6 dimensions, 8 weeks':<40} {mine['explain_s']:>7.2f} {theirs['explain_s']:>9.2f} "
            f"{mine['explain_s'] / theirs['explain_s']:>6.2f}"
        )
    for millions in args.spark:
        path = events_dir(args.data, millions)
        read_through(path)
        with tempfile.TemporaryDirectory(prefix="harm-insights-bench-") as cache:
            cluster, theirs = run_side("spark", path, Path(cache)), run_side("hand", path, Path(cache))
        print(f"\n{millions}M events on Spark local mode: load {cluster['load_s']:.1f} s")
        print(f"{'question':<40} {'Spark s':>7} {'DuckDB s':>9} equal")
        for name in QUESTIONS:
            q, h = cluster["questions"][name], theirs["questions"][name]
            print(f"{name:<40} {q['cold']:>7.2f} {h['cold']:>9.2f} {equal(q['answer'], h['answer'])}")


if __name__ == "__main__":
    main()

"""Benchmark: events → cube, and typical page queries, against pandas and DuckDB on the same files.

    python -m bench.cube                 # 1M and 10M events (generated into bench/out/ if missing)
    python -m bench.cube --sizes 1000000

For each size it prints one table: the time and peak memory to turn the event files into a
cube (each engine in a fresh process, so peak memory is that work's own), then the median
latency of four typical page queries: on our cube (cold: the first query that needs its
dimensions, which builds a cached roll-up; then warm), with pandas on its own cube, with DuckDB
on the event files and with DuckDB on its own in-memory cube.
Targets (2 cores): 10M events → cube ≤ 3 s and ≤ 2 GB; a typical query ≤ 50 ms; no query
slower than DuckDB's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
DIMS = ["harm_area", "policy", "country", "language", "content_type", "detection_source", "action"]


def events_dir(size: int) -> Path:
    """Generated events of this size (made on first use)."""
    folder = OUT / f"events-{size}"
    if not (folder / "events").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--events", str(size), "--out", str(folder)],
            check=True,
        )
    return folder / "events"


# ---- events → cube, one engine per process ---------------------------------------------------


def build_ours(path: str) -> int:
    import insights

    return len(insights.load_source(path, engine="polars").data)


def build_pandas(path: str) -> int:
    import pandas as pd

    events = pd.read_parquet(path)
    events["date"] = events["actioned_at"].dt.floor("D")
    hours = (events["actioned_at"] - events["created_at"]).dt.total_seconds() // 1 / 3600
    events = events.assign(
        zero=events["views_before_action"].eq(0),
        w1=hours.le(1),
        w24=hours.le(24),
        w168=hours.le(168),
        timed=hours.notna(),
        viewed=events["views_before_action"].notna(),
    )
    cube = events.groupby(["date", *DIMS], observed=True).agg(
        actions=("event_id", "size"),
        proactive_actions=("proactive", "sum"),
        automated_actions=("automated", "sum"),
        view_counted_actions=("viewed", "sum"),
        zero_view_actions=("zero", "sum"),
        views_before_action=("views_before_action", "sum"),
        timed_actions=("timed", "sum"),
        within_1h_actions=("w1", "sum"),
        within_24h_actions=("w24", "sum"),
        within_7d_actions=("w168", "sum"),
        appeals=("appealed", "sum"),
        overturns=("overturned", "sum"),
    )
    return len(cube)


DUCKDB_CUBE = f"""
SELECT CAST(actioned_at AS DATE) AS date, {", ".join(DIMS)},
  count(*) AS actions, sum(CAST(proactive AS INT)) AS proactive_actions,
  sum(CAST(automated AS INT)) AS automated_actions,
  count(views_before_action) AS view_counted_actions, sum(CAST(views_before_action = 0 AS INT)) AS zero_view_actions,
  sum(views_before_action) AS views_before_action, count(created_at) AS timed_actions,
  sum(CAST(date_diff('second', created_at, actioned_at) <= 3600 AS INT)) AS within_1h_actions,
  sum(CAST(date_diff('second', created_at, actioned_at) <= 86400 AS INT)) AS within_24h_actions,
  sum(CAST(date_diff('second', created_at, actioned_at) <= 604800 AS INT)) AS within_7d_actions,
  sum(CAST(appealed AS INT)) AS appeals, sum(CAST(overturned AS INT)) AS overturns
FROM read_parquet('{{path}}/*.parquet') GROUP BY ALL
"""


def build_duckdb(path: str) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE cube AS " + DUCKDB_CUBE.format(path=path))
    return con.execute("SELECT count(*) FROM cube").fetchone()[0]


BUILDERS = {"ours (Polars)": build_ours, "pandas": build_pandas, "DuckDB": build_duckdb}


def timed_build(engine: str, path: str) -> tuple[float, float, int]:
    """Run one builder in a fresh process (imports done before the clock starts): (seconds, peak GB, cube rows)."""
    warm = {"ours (Polars)": "insights", "pandas": "pandas", "DuckDB": "duckdb"}[engine]
    code = (
        f"import json, resource, time; import bench.cube as b; import {warm}\n"
        f"t = time.perf_counter(); n = b.BUILDERS[{engine!r}]({path!r}); s = time.perf_counter() - t\n"
        "print(json.dumps([s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, n]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))  # type: ignore[return-value]


# ---- typical page queries -------------------------------------------------------------------


def queries(as_of: dt.date) -> dict[str, dict]:
    """Four queries the pages run, with their parameters."""
    week_start = as_of - dt.timedelta(days=as_of.weekday())
    last_week = (
        (week_start - dt.timedelta(days=7), week_start - dt.timedelta(days=1))
        if as_of.weekday() != 6
        else (week_start, as_of)
    )
    return {
        "overview KPIs (4 harm areas, last week)": {
            "metrics": ["actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate"],
            "by": ["harm_area"],
            "filters": {"harm_area": CORE},
            "start": last_week[0],
            "end": last_week[1],
        },
        "weekly trend by harm area": {
            "metrics": ["actions", "proactive_rate"],
            "by": ["harm_area"],
            "filters": {"harm_area": CORE},
            "grain": "week",
        },
        "country breakdown, 1 harm area, 90 days": {
            "metrics": ["actions", "overturn_rate"],
            "by": ["country"],
            "filters": {"harm_area": ["hateful_behavior"]},
            "start": as_of - dt.timedelta(days=89),
            "end": as_of,
        },
        "monthly by region": {"metrics": ["actions", "zero_view_rate"], "by": ["region"], "grain": "month"},
    }


def duckdb_sql(q: dict, table: str) -> tuple[str, list]:
    """The same query in SQL (rates as ratios of sums)."""
    expr = {
        "actions": "sum(actions)",
        "proactive_rate": "sum(proactive_actions) / sum(actions)",
        "within_24h_rate": "sum(within_24h_actions) / sum(timed_actions)",
        "appeal_rate": "sum(appeals) / sum(actions)",
        "overturn_rate": "sum(overturns) / nullif(sum(appeals), 0)",
        "zero_view_rate": "sum(zero_view_actions) / sum(view_counted_actions)",
    }
    keys = list(q["by"])
    if q.get("grain"):
        keys = [f"date_trunc('{q['grain']}', date)", *keys]
    where, params = ["1=1"], []
    for dim, values in q.get("filters", {}).items():
        where.append(f"{dim} IN ({', '.join('?' for _ in values)})")
        params += values
    if q.get("start"):
        where.append("date BETWEEN ? AND ?")
        params += [q["start"], q["end"]]
    select = ", ".join(keys + [f"{expr[m]} AS {m}" for m in q["metrics"]])
    return f"SELECT {select} FROM {table} WHERE {' AND '.join(where)} GROUP BY ALL ORDER BY ALL", params


def median_ms(run, repeats: int = 7) -> float:
    run()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def query_latencies(path: Path) -> dict[str, dict[str, float]]:
    import duckdb

    import insights

    cube = insights.load_source(path, engine="polars")
    qs = queries(cube.provenance.as_of)
    con = duckdb.connect()
    region = dict(cube.data.select("country", "region").unique().cast(str).iter_rows())
    con.execute(
        f"CREATE VIEW events AS SELECT *, CAST(actioned_at AS DATE) AS date FROM read_parquet('{path}/*.parquet')"
    )
    con.execute("CREATE TABLE cube AS " + DUCKDB_CUBE.format(path=path))
    con.execute("CREATE TABLE regions (country VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO regions VALUES (?, ?)", list(region.items()))
    con.execute("CREATE VIEW cube_r AS SELECT cube.*, regions.region FROM cube JOIN regions USING (country)")
    pandas_cube = cube.data.to_pandas()
    result: dict[str, dict[str, float]] = {}
    for name, q in qs.items():
        sql_cube, params = duckdb_sql(q, "cube_r")
        result[name] = {
            "ours, cold": cold_ms(cube, q),
            "ours": median_ms(
                lambda: cube.query(
                    q["metrics"],
                    by=q["by"],
                    filters=q.get("filters"),
                    grain=q.get("grain"),
                    start=q.get("start"),
                    end=q.get("end"),
                )
            ),
            "pandas": median_ms(lambda: pandas_query(pandas_cube, q)),
            "DuckDB on its cube": median_ms(lambda: con.execute(sql_cube, params).fetchall()),
            "DuckDB on events": median_ms(lambda: con.execute(duckdb_on_events(q, path), params).fetchall(), repeats=3),
        }
    return result


def cold_ms(cube, q: dict) -> float:
    """One query on a fresh cube object: includes building the roll-up its dimensions need."""
    from insights import Cube

    fresh = Cube(cube.data, cube.provenance, cube.time_grain)
    t = time.perf_counter()
    fresh.query(
        q["metrics"], by=q["by"], filters=q.get("filters"), grain=q.get("grain"), start=q.get("start"), end=q.get("end")
    )
    return (time.perf_counter() - t) * 1000


def duckdb_on_events(q: dict, path: Path) -> str:
    """The query straight on the event files: a cube built on the fly, then the page query."""
    inner = DUCKDB_CUBE.format(path=path)
    sql, _ = duckdb_sql(q, f"(SELECT c.*, r.region FROM ({inner}) c JOIN regions r USING (country))")
    return sql


RATIOS = {
    "actions": ("actions", None),
    "proactive_rate": ("proactive_actions", "actions"),
    "within_24h_rate": ("within_24h_actions", "timed_actions"),
    "appeal_rate": ("appeals", "actions"),
    "overturn_rate": ("overturns", "appeals"),
    "zero_view_rate": ("zero_view_actions", "view_counted_actions"),
}


def pandas_query(frame, q: dict):
    """The same query with pandas on its in-memory cube."""
    import pandas as pd

    view = frame
    for dim, values in q.get("filters", {}).items():
        view = view[view[dim].isin(values)]
    if q.get("start"):
        dates = pd.to_datetime(view["date"])
        view = view[(dates >= pd.Timestamp(q["start"])) & (dates <= pd.Timestamp(q["end"]))]
    keys = list(q["by"])
    if q.get("grain"):
        view = view.assign(period=pd.to_datetime(view["date"]).dt.to_period(q["grain"][0].upper()).dt.start_time)
        keys = ["period", *keys]
    needed = sorted({c for m in q["metrics"] for c in RATIOS[m] if c})
    sums = view.groupby(keys, observed=True)[needed].sum()
    return pd.DataFrame(
        {m: sums[n] / sums[d] if d else sums[n] for m, (n, d) in ((m, RATIOS[m]) for m in q["metrics"])}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args(argv)
    for size in args.sizes:
        path = events_dir(size)
        print(f"\n## {size:,} events ({path})\n")
        print(f"{'events → cube':<34} {'seconds':>8} {'peak GB':>8} {'cube rows':>11}")
        for engine in BUILDERS:
            seconds, peak, rows = timed_build(engine, str(path))
            print(f"{engine:<34} {seconds:>8.2f} {peak:>8.2f} {rows:>11,}")
        latencies = query_latencies(path)
        engines = list(next(iter(latencies.values())))
        print(f"\n{'query (median ms)':<42}" + "".join(f"{e:>20}" for e in engines))
        for name, row in latencies.items():
            print(f"{name:<42}" + "".join(f"{row[e]:>20.1f}" for e in engines))
    print(f"\npeak RSS of this driver: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Correctness oracle for trends and regional: every figure equals an independent DuckDB
computation over the raw event files, on every engine (Polars in memory, DuckDB, PostgreSQL,
Spark local[2]; the same events each time).

For 24 random (seeded) cases — a metric, a slice, a grain, a date range and a pair of periods —
the trend series (every period's numerator, denominator and value), the delta between the two
periods, the regional ranking (values and ranks) and the movers (values before and after and
the changes) must match SQL that counts the measures from the events themselves, not from our
cube. Countries are placed in regions by the generator's own table, and in company regions
by ``insights.geo.geography`` (the mapping is data; the sums are what is checked).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from insights.geo import geography
from insights.metrics import metric
from insights.periods import previous_period, year_earlier
from insights.regional import movers, ranking
from insights.significance import Noise, noise_kind
from insights.trends import measure_change, trend_series
from sample_data import generate
from tests.conftest import engine_cases

CASES = 24
#: Each metric's numerator and denominator counted from event rows, written out by hand.
SQL_METRICS = {
    "actions": ("1", None),
    "proactive_rate": ("proactive::INT", "1"),
    "automation_rate": ("automated::INT", "1"),
    "appeal_rate": ("appealed::INT", "1"),
    "overturn_rate": ("overturned::INT", "appealed::INT"),
    "zero_view_rate": ("(views_before_action = 0)::INT", "(views_before_action IS NOT NULL)::INT"),
    "mean_views_before_action": ("views_before_action", "(views_before_action IS NOT NULL)::INT"),
    "within_1h_rate": ("(tta_seconds <= 3600)::INT", "(tta_seconds IS NOT NULL)::INT"),
    "within_24h_rate": ("(tta_seconds <= 86400)::INT", "(tta_seconds IS NOT NULL)::INT"),
    "within_7d_rate": ("(tta_seconds <= 604800)::INT", "(tta_seconds IS NOT NULL)::INT"),
}
FILTER_VALUES = {
    "harm_area": [
        "violent_extremism",
        "hateful_behavior",
        "self_harm",
        "human_exploitation",
        "bullying_harassment",
        "spam",
        "misinformation",
    ],
    "region": ["Europe", "Africa", "Americas", "Asia", "Oceania"],
    "country": ["US", "BR", "FR", "NG", "IN", "PT", "NZ"],
    "language": ["en", "pt", "es", "fr", "ar"],
    "content_type": ["video", "live", "comment", "account"],
    "detection_source": ["automated", "user_report", "trusted_flagger"],
    "action": ["remove", "restrict", "warn"],
}
GRAINS = ["day", "week", "month", "quarter"]
LEVELS = ["country", "region", "company_region"]
FIRST_DAY, LAST_DAY = dt.date(2024, 11, 18), dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def sql(sample_dir) -> duckdb.DuckDBPyConnection:
    """DuckDB over the event files, with the day, time to action and geography of every event."""
    con = duckdb.connect()
    places = geography(list(generate.COUNTRIES)).select("country", "company_region")
    regions = pl.DataFrame(
        {"country": list(generate.COUNTRIES), "region": [r for _, r, _ in generate.COUNTRIES.values()]}
    )
    con.register("regions", regions.join(places, on="country").to_arrow())
    con.sql(
        f"""
        CREATE VIEW events AS
        SELECT e.* EXCLUDE (harm_area, policy, country, language, content_type, detection_source, action),
               e.harm_area::VARCHAR AS harm_area, e.policy::VARCHAR AS policy, e.country::VARCHAR AS country,
               e.language::VARCHAR AS language, e.content_type::VARCHAR AS content_type,
               e.detection_source::VARCHAR AS detection_source, e.action::VARCHAR AS action,
               CAST(e.actioned_at AS DATE) AS day,
               trunc(epoch(e.actioned_at - e.created_at)) AS tta_seconds,
               r.region, r.company_region
        FROM read_parquet('{sample_dir}/*.parquet') e LEFT JOIN regions r ON e.country::VARCHAR = r.country
        """
    )
    return con


def random_case(rng: np.random.Generator) -> dict:
    """A metric, a slice of 0–2 dimensions with 1–3 values each, a grain with a date range, a
    period pair of that grain (previous or a year earlier) and a geography level."""
    dimensions = rng.choice(list(FILTER_VALUES), size=int(rng.integers(0, 3)), replace=False)
    filters = {
        str(d): [str(v) for v in rng.choice(FILTER_VALUES[d], size=int(rng.integers(1, 4)), replace=False)]
        for d in dimensions
    }
    grain = str(rng.choice(GRAINS))
    span = {"day": 60, "week": 200, "month": 400, "quarter": 729}[grain]
    start = FIRST_DAY + dt.timedelta(days=int(rng.integers(0, 729 - span + 1)))
    end = start + dt.timedelta(days=span - 1)
    anchor = dt.date(2025, 12, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
    from insights.periods import latest_complete_period

    current = latest_complete_period(anchor, grain)
    baseline = previous_period(current, grain) if rng.random() < 0.6 else year_earlier(current)
    return {
        "metric": str(rng.choice(list(SQL_METRICS))),
        "filters": filters,
        "grain": grain,
        "start": start,
        "end": end,
        "current": current,
        "baseline": baseline,
        "level": str(rng.choice(LEVELS)),
    }


def where(filters: dict, first: dt.date, last: dt.date) -> str:
    terms = [f"day BETWEEN DATE '{first}' AND DATE '{last}'"]
    terms += [f"{d} IN ({', '.join(repr(v) for v in values)})" for d, values in filters.items()]
    return " AND ".join(terms)


def sums_sql(name: str, keys: str, filters: dict, first: dt.date, last: dt.date) -> str:
    """numerator, denominator and value of a metric per key, ratios of sums over the rows."""
    numerator, denominator = SQL_METRICS[name]
    scale = metric(name).scale
    den = f"SUM({denominator})" if denominator else "NULL"
    value = f"CASE WHEN {den} > 0 THEN SUM({numerator}) / {den} * {scale} END" if denominator else f"SUM({numerator})"
    select_keys = f"{keys}, " if keys else ""
    group = "GROUP BY ALL" if keys else ""
    return (
        f"SELECT {select_keys}SUM({numerator})::DOUBLE AS numerator, {den}::DOUBLE AS denominator, "
        f"{value}::DOUBLE AS value "
        f"FROM events WHERE {where(filters, first, last)} {group}"
    )


CASE_LIST = [random_case(np.random.default_rng(seed)) for seed in range(20_241_118, 20_241_118 + CASES)]


def close(got, want) -> bool:
    if want is None or (isinstance(want, float) and np.isnan(want)):
        return got is None
    return got is not None and got == pytest.approx(want, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("engine_cube", "case"),
    engine_cases(CASE_LIST, [f"{c['metric']}-{c['grain']}-{c['level']}" for c in CASE_LIST]),
    indirect=["engine_cube"],
)
def test_trends_and_regional_equal_sql(case, engine_cube, sql):
    sample_cube = engine_cube  # the same events on every engine
    name, filters = case["metric"], case["filters"]

    # the trend series: every period of the range, empty periods as 0
    series = trend_series(sample_cube, name, case["grain"], filters, case["start"], case["end"])
    truncated = "day" if case["grain"] == "day" else f"date_trunc('{case['grain']}', day)::DATE"
    want = sql.sql(sums_sql(name, f"{truncated} AS period", filters, case["start"], case["end"])).pl()
    joined = series.join(want.rename(lambda c: c if c == "period" else f"{c}_sql"), on="period", how="left")
    assert len(want) <= len(series) and set(want["period"]) <= set(series["period"])
    for row in joined.iter_rows(named=True):
        expected_numerator = row["numerator_sql"] or 0.0
        assert close(float(row["numerator"]), expected_numerator), row
        if metric(name).is_ratio:
            assert close(row[name], row["value_sql"]), row
        else:
            assert close(row[name], expected_numerator), row

    # the delta between the two periods
    current, baseline = case["current"], case["baseline"]
    change = measure_change(
        sample_cube, name, current=current, baseline=baseline, filters=filters, noise=Noise(noise_kind(metric(name)))
    )
    now = sql.sql(sums_sql(name, "", filters, current.start, current.end)).fetchall()[0]
    before = sql.sql(sums_sql(name, "", filters, baseline.start, baseline.end)).fetchall()[0]
    value_now = now[2] if metric(name).is_ratio else (now[0] or 0.0)
    value_before = before[2] if metric(name).is_ratio else (before[0] or 0.0)
    assert close(change.value, value_now) and close(change.baseline_value, value_before)
    if value_now is not None and value_before is not None:
        assert close(change.change, value_now - value_before)

    # the regional ranking over the current period
    level = case["level"]
    table = ranking(sample_cube, name, level, filters, current.start, current.end)
    want = sql.sql(
        f"SELECT *, CASE WHEN value IS NOT NULL THEN RANK() OVER (ORDER BY value DESC NULLS LAST) END AS rank "
        f"FROM ({sums_sql(name, level, filters, current.start, current.end)})"
    ).pl()
    got = table.select(level, "rank", "value").sort(level)
    want = want.select(level, pl.col("rank").cast(pl.Int64), "value").sort(level)
    assert got[level].to_list() == want[level].to_list()
    assert got["rank"].to_list() == want["rank"].to_list()
    assert all(close(g, w) for g, w in zip(got["value"], want["value"], strict=True))

    # the movers between the two periods
    moved = movers(
        sample_cube,
        name,
        current=current,
        baseline=baseline,
        level=level,
        filters=filters,
        noise=Noise(noise_kind(metric(name))),
    )
    both = sql.sql(
        f"""
        SELECT coalesce(n.{level}, b.{level}) AS {level}, n.numerator AS numerator, n.value AS now, b.value AS before
        FROM ({sums_sql(name, level, filters, current.start, current.end)}) n
        FULL JOIN ({sums_sql(name, level, filters, baseline.start, baseline.end)}) b ON n.{level} = b.{level}
        """
    ).pl()
    if not metric(name).is_ratio:  # a place without actions in one period counts 0 there
        both = both.with_columns(pl.col("now", "before").fill_null(0.0))
    checked = moved.join(both, on=level, how="full", coalesce=True)
    assert len(checked) == len(moved) == len(both)
    for row in checked.iter_rows(named=True):
        assert close(row["value"], row["now"]) and close(row["baseline_value"], row["before"]), row
        if row["now"] is not None and row["before"] is not None:
            assert close(row["change"], row["now"] - row["before"]), row
    sizes = moved["change"].abs().drop_nulls().to_list()
    assert sizes == sorted(sizes, reverse=True), "biggest movers first"


def test_the_cases_cover_every_grain_level_and_both_comparisons():
    assert {c["grain"] for c in CASE_LIST} == set(GRAINS)
    assert {c["level"] for c in CASE_LIST} == set(LEVELS)
    assert len({c["metric"] for c in CASE_LIST}) >= 6
    kinds = {
        "previous" if c["baseline"].end + dt.timedelta(days=1) == c["current"].start else "year" for c in CASE_LIST
    }
    assert kinds == {"previous", "year"}

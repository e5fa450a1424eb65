"""Correctness oracle for explain_change: headline and contributor figures against DuckDB.

For 24 random slices, period pairs, metrics and breakdowns (seeded), the headline (before,
after, change, % change) and every listed contributor at depth 1 and 2 (before, after,
contribution, share, and for rates the weights and the rate and mix effects) must equal an
independent SQL computation over the raw event files of ``sample_dir``, on every engine (Polars,
DuckDB, PostgreSQL, Spark local[2]): DuckDB counts the
measures from the events (not from our cube) and applies the decomposition's formulas as
written in ``insights.rootcause.decompose``'s docstring.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest

from insights.metrics import metric
from insights.rootcause import explain_change
from sample_data import generate
from tests.conftest import engine_cases

CASES = 24
DIMENSIONS = ["policy", "country", "region", "language", "content_type", "detection_source", "action"]
#: Each measure counted from one event row, in SQL.
MEASURES = {
    "actions": "1",
    "proactive_actions": "CAST(proactive AS INT)",
    "automated_actions": "CAST(automated AS INT)",
    "appeals": "CAST(appealed AS INT)",
    "overturns": "CAST(overturned AS INT)",
    "view_counted_actions": "CAST(views_before_action IS NOT NULL AS INT)",
    "zero_view_actions": "CAST(views_before_action = 0 AS INT)",
    "views_before_action": "views_before_action",
    "timed_actions": "CAST(created_at IS NOT NULL AS INT)",
    "within_24h_actions": "CAST(date_diff('second', created_at, actioned_at) <= 86400 AS INT)",
}
METRICS = [
    "actions",
    "proactive_rate",
    "automation_rate",
    "appeal_rate",
    "overturn_rate",
    "zero_view_rate",
    "within_24h_rate",
    "mean_views_before_action",
]
HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation", "bullying_harassment", "spam"]
SECOND_FILTERS = {
    "region": ["Europe", "Africa", "Americas", "Asia"],
    "content_type": ["video", "live", "comment"],
    "detection_source": ["automated", "user_report"],
}
FIRST_DAY, LAST_DAY = dt.date(2024, 11, 18), dt.date(2026, 11, 22)


def random_case(rng: np.random.Generator) -> dict:
    """A metric, a slice (none, a harm area, or a harm area and one more value), two periods
    of 7 to 56 days (not always equally long) and 2 or 3 dimensions to break down by."""
    filters: dict[str, str] = {}
    if rng.random() < 0.85:
        filters["harm_area"] = str(rng.choice(HARM_AREAS))
    if rng.random() < 0.4:
        dimension = str(rng.choice(list(SECOND_FILTERS)))
        filters[dimension] = str(rng.choice(SECOND_FILTERS[dimension]))
    lengths = rng.integers(7, 57, size=2) if rng.random() < 0.5 else np.repeat(rng.integers(7, 57), 2)
    start = FIRST_DAY + dt.timedelta(days=int(rng.integers(0, 500)))
    baseline = (start, start + dt.timedelta(days=int(lengths[0]) - 1))
    current_start = baseline[1] + dt.timedelta(days=1 + int(rng.integers(0, 120)))
    current = (current_start, min(LAST_DAY, current_start + dt.timedelta(days=int(lengths[1]) - 1)))
    dims = [
        str(d)
        for d in rng.choice([d for d in DIMENSIONS if d not in filters], size=int(rng.integers(2, 4)), replace=False)
    ]
    return {
        "metric": str(rng.choice(METRICS)),
        "filters": filters,
        "baseline": baseline,
        "current": current,
        "dims": dims,
    }


CASE_LIST = [random_case(np.random.default_rng(20261124 + i)) for i in range(CASES)]


@pytest.fixture(scope="module")
def duck(sample_dir):
    con = duckdb.connect()
    regions = [(country, region) for country, (_, region, _) in generate.COUNTRIES.items()]
    con.execute("CREATE TABLE regions (country VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO regions VALUES (?, ?)", regions)
    con.execute(
        f"CREATE VIEW events AS SELECT e.*, r.region, CAST(e.actioned_at AS DATE) AS day "
        f"FROM read_parquet('{sample_dir}/*.parquet') e LEFT JOIN regions r ON CAST(e.country AS VARCHAR) = r.country"
    )
    return con


def oracle(con: duckdb.DuckDBPyConnection, case: dict) -> tuple[dict, pl.DataFrame]:
    """Headline and every segment of depth 1 and 2, computed by DuckDB from the events."""
    m = metric(case["metric"])
    num = MEASURES[m.numerator]
    den = MEASURES[m.denominator] if m.is_ratio else "0"
    where = " AND ".join(f"CAST({d} AS VARCHAR) = ?" for d in case["filters"]) or "TRUE"
    dims = case["dims"]
    sets = (
        ", ".join(f"({d})" for d in dims)
        + ", "
        + ", ".join(f"({a}, {b})" for i, a in enumerate(dims) for b in dims[i + 1 :])
    )
    sql = f"""
    WITH slice AS (
        SELECT {", ".join(f"CAST({d} AS VARCHAR) AS {d}" for d in dims)},
               CASE WHEN day BETWEEN ? AND ? THEN 'before' ELSE 'after' END AS side,
               {num} AS num, {den} AS den
        FROM events WHERE {where} AND (day BETWEEN ? AND ? OR day BETWEEN ? AND ?)
    ),
    segments AS (
        SELECT {", ".join(dims)}, GROUPING_ID({", ".join(dims)}) AS gid,
               SUM(num) FILTER (side = 'before') AS a0, SUM(den) FILTER (side = 'before') AS b0,
               SUM(num) FILTER (side = 'after') AS a1, SUM(den) FILTER (side = 'after') AS b1
        FROM slice GROUP BY GROUPING SETS ({sets}, ())
    )
    SELECT * FROM segments
    """
    (b_start, b_end), (c_start, c_end) = case["baseline"], case["current"]
    params = [b_start, b_end, *case["filters"].values(), b_start, b_end, c_start, c_end]
    rows = pl.from_arrow(con.sql(sql, params=params).to_arrow_table()).with_columns(
        pl.col("a0", "b0", "a1", "b1").fill_null(0).cast(pl.Float64)
    )
    total = rows.filter(pl.col("gid") == 2 ** len(dims) - 1).row(0, named=True)
    segments = rows.filter(pl.col("gid") != 2 ** len(dims) - 1)
    k = m.scale
    if not m.is_ratio:
        headline = {"before": total["a0"], "after": total["a1"]}
        figures = segments.with_columns(before="a0", after="a1", contribution=pl.col("a1") - pl.col("a0"))
    else:
        r_before, r_after = total["a0"] / total["b0"], total["a1"] / total["b1"]
        mean = (r_before + r_after) / 2
        headline = {"before": k * r_before, "after": k * r_after}
        # a segment without denominator in a period takes the other period's rate (0 with none in either)
        r0 = (
            pl.when(pl.col("b0") > 0)
            .then(pl.col("a0") / pl.col("b0"))
            .when(pl.col("b1") > 0)
            .then(pl.col("a1") / pl.col("b1"))
            .otherwise(0.0)
        )
        r1 = pl.when(pl.col("b1") > 0).then(pl.col("a1") / pl.col("b1")).otherwise(r0)
        w0, w1 = pl.col("b0") / total["b0"], pl.col("b1") / total["b1"]
        figures = segments.with_columns(
            before=pl.when(pl.col("b0") > 0).then(k * pl.col("a0") / pl.col("b0")),
            after=pl.when(pl.col("b1") > 0).then(k * pl.col("a1") / pl.col("b1")),
            contribution=k
            * ((pl.col("a1") - mean * pl.col("b1")) / total["b1"] - (pl.col("a0") - mean * pl.col("b0")) / total["b0"]),
            weight_before=w0,
            weight_after=w1,
            rate_effect=k * (w0 + w1) / 2 * (r1 - r0),
            mix_effect=k * (w1 - w0) * ((r0 + r1) / 2 - mean),
        )
    headline["change"] = headline["after"] - headline["before"]
    return headline, figures.with_columns(share=pl.col("contribution") / headline["change"])


@pytest.mark.parametrize(
    ("engine_cube", "case"),
    engine_cases(CASE_LIST, [f"{i}-{c['metric']}" for i, c in enumerate(CASE_LIST)]),
    indirect=["engine_cube"],
)
def test_explain_change_equals_duckdb(engine_cube, duck, case):
    explanation = explain_change(
        engine_cube,
        case["metric"],
        current=case["current"],
        baseline=case["baseline"],
        dims=case["dims"],
        filters=case["filters"],
        depth=2,
        max_segments=10**6,
    )
    headline, expected = oracle(duck, case)
    got = explanation.headline
    assert (got.baseline_value, got.value, got.change) == pytest.approx(
        (headline["before"], headline["after"], headline["change"]), rel=1e-9
    )
    assert got.pct_change == pytest.approx(headline["change"] / headline["before"], rel=1e-9, abs=1e-15)

    listed = explanation.contributors.filter(~pl.col("other"))
    dims = list(explanation.dims)
    assert set(dims) <= set(case["dims"])
    keys = [pl.col(d).fill_null("∅") for d in case["dims"]]
    joined = listed.with_columns(*[pl.lit(None, pl.String).alias(d) for d in case["dims"] if d not in dims]).join(
        expected.with_columns(*keys), left_on=keys, right_on=case["dims"], how="left", suffix="_sql"
    )
    assert joined["contribution_sql"].null_count() == 0, "every listed segment exists in SQL"
    figures = ["before", "after", "contribution"] + (
        ["weight_before", "weight_after", "rate_effect", "mix_effect"] if metric(case["metric"]).is_ratio else []
    )
    if headline["change"]:
        figures.append("share")
    else:
        assert listed["share"].null_count() == len(listed), "no share of a zero change"
    scale = max(abs(headline["change"]), abs(headline["after"]), 1e-12)
    for column in figures:
        ours, theirs = joined[column].to_numpy(), joined[f"{column}_sql"].to_numpy()
        tolerance = 1e-9 * (scale / abs(headline["change"]) if column == "share" else scale)
        assert np.allclose(ours.astype(float), theirs.astype(float), rtol=1e-9, atol=tolerance, equal_nan=True), column

    breakdowns = explanation.contributors.group_by("cuboid").agg(pl.col("contribution").sum())
    assert np.allclose(breakdowns["contribution"].to_numpy(), headline["change"], rtol=1e-9, atol=1e-12 * scale)

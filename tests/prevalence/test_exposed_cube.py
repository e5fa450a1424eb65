"""Per-exposure rates of the exposed cube against an independent DuckDB computation over the
generated Parquet tables (events and exposure), on random slices, breakdowns and grains.

The oracle writes the definition out in SQL: the numerator is counted from the event rows of the
slice; the denominator is summed from the exposure rows of the same slice of the dimensions
exposure has (date, country, region, content type) — filters and breakdowns on the others do
not narrow it — and the two are joined on the period and the shared breakdown (every exposure
cell a row, with 0 actions where it has none, when the breakdown is exposure's alone).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

import insights
from insights.exposed import ExposedCube, with_exposure
from insights.metrics import EstimatedMetricError, metric, metrics
from insights.regional import by_geography, choropleth_frame, ranking
from sample_data import generate

CASES = 30
#: Numerator counted from event rows, and the exposure column it is divided by.
SQL_RATES = {
    "actions_per_million_views": ("1", "views"),
    "actions_per_10k_views": ("1", "views"),
    "actions_per_10k_uploads": ("1", "uploads"),
    "removal_rate": ("(action = 'remove')::INT", "uploads"),
}
FILTER_VALUES = {
    "harm_area": ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation", "spam"],
    "region": ["Europe", "Africa", "Americas", "Asia", "Oceania"],
    "country": ["US", "BR", "FR", "NG", "IN", "PT", "NZ"],
    "content_type": ["video", "live", "comment", "account"],
    "detection_source": ["automated", "user_report", "trusted_flagger"],
    "action": ["remove", "restrict", "warn"],
    "policy": ["hate_speech", "terrorist_content", "suicide_and_self_injury"],
}
SHARED = ("region", "country", "content_type")
BREAKDOWNS = [[], ["country"], ["region"], ["content_type"], ["harm_area"], ["action"], ["region", "harm_area"]]
GRAINS = [None, "day", "week", "month", "quarter"]
FIRST_DAY, LAST_DAY = dt.date(2024, 11, 18), dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def generated(sample_dir: Path) -> Path:
    return sample_dir.parent


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def exposed(generated: Path, request) -> ExposedCube:
    """The sample with its exposure, the events in memory and in DuckDB (the join asks the
    enforcement cube through its public API, whatever its engine)."""
    cube = insights.load_source(generated, engine=request.param)
    assert isinstance(cube, ExposedCube) and cube.engine == request.param
    return cube


@pytest.fixture(scope="module")
def sql(generated: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over the event and exposure files, each row with its region (the generator's table)."""
    con = duckdb.connect()
    regions = pl.DataFrame(
        {"country": list(generate.COUNTRIES), "region": [r for _, r, _ in generate.COUNTRIES.values()]}
    )
    con.register("regions", regions.to_arrow())
    con.sql(
        f"""
        CREATE VIEW events AS
        SELECT CAST(e.actioned_at AS DATE) AS day, e.harm_area::VARCHAR AS harm_area, e.policy::VARCHAR AS policy,
               e.country::VARCHAR AS country, e.content_type::VARCHAR AS content_type,
               e.detection_source::VARCHAR AS detection_source, e.action::VARCHAR AS action, r.region
        FROM read_parquet('{generated}/events/*.parquet') e LEFT JOIN regions r ON e.country::VARCHAR = r.country
        """
    )
    con.sql(
        f"""
        CREATE VIEW exposure AS
        SELECT x.date AS day, x.country::VARCHAR AS country, x.content_type::VARCHAR AS content_type,
               x.uploads, x.views, r.region
        FROM read_parquet('{generated}/exposure/*.parquet') x LEFT JOIN regions r ON x.country::VARCHAR = r.country
        """
    )
    return con


def random_case(rng: np.random.Generator) -> dict:
    """A per-exposure metric, a slice of 0–3 dimensions (exposure's and others), a breakdown, a grain, dates."""
    dimensions = rng.choice(list(FILTER_VALUES), size=int(rng.integers(0, 4)), replace=False)
    filters = {
        str(d): [str(v) for v in rng.choice(FILTER_VALUES[d], size=int(rng.integers(1, 3)), replace=False)]
        for d in dimensions
    }
    grain = GRAINS[int(rng.integers(0, len(GRAINS)))]
    span = {None: 300, "day": 45, "week": 150, "month": 300, "quarter": 729}[grain]
    start = FIRST_DAY + dt.timedelta(days=int(rng.integers(0, 729 - span + 1)))
    open_ended = grain is None and rng.random() < 0.3  # no dates: the whole span of the data
    return {
        "metric": str(rng.choice(list(SQL_RATES))),
        "filters": filters,
        "by": BREAKDOWNS[int(rng.integers(0, len(BREAKDOWNS)))],
        "grain": grain,
        "start": None if open_ended else start,
        "end": None if open_ended else start + dt.timedelta(days=span - 1),
    }


CASE_LIST = [random_case(np.random.default_rng(seed)) for seed in range(20_260_601, 20_260_601 + CASES)]


def where(filters: dict, start: dt.date | None, end: dt.date | None, columns: tuple[str, ...] | None) -> str:
    """The WHERE clause of a slice; with ``columns``, only the filters on those columns."""
    first, last = start or FIRST_DAY, end or LAST_DAY
    terms = [f"day BETWEEN DATE '{first}' AND DATE '{last}'"]
    terms += [
        f"{d} IN ({', '.join(repr(v) for v in values)})"
        for d, values in filters.items()
        if columns is None or d in columns
    ]
    return " AND ".join(terms)


def oracle(sql: duckdb.DuckDBPyConnection, case: dict) -> pl.DataFrame:
    """numerator, denominator and the rate per key, written out in SQL."""
    numerator, exposure = SQL_RATES[case["metric"]]
    scale = metric(case["metric"]).scale
    period = (
        []
        if case["grain"] is None
        else [("day" if case["grain"] == "day" else f"date_trunc('{case['grain']}', day)::DATE") + " AS period"]
    )
    num_keys = period + case["by"]
    shared = [d for d in case["by"] if d in SHARED]
    den_keys = period + shared
    on = (["period"] if period else []) + shared

    def select(keys: list[str], value: str, table: str, columns: tuple[str, ...] | None) -> str:
        group = "GROUP BY ALL" if keys else ""
        listed = ", ".join(keys) + ", " if keys else ""
        condition = where(case["filters"], case["start"], case["end"], columns)
        return f"SELECT {listed}{value} FROM {table} WHERE {condition} {group}"

    n = select(num_keys, f"SUM({numerator})::BIGINT AS numerator", "events", None)
    d = select(den_keys, f"SUM({exposure})::BIGINT AS denominator", "exposure", SHARED)
    names = [k.split(" AS ")[-1] for k in num_keys]
    if on and len(on) == len(names):  # keyed by exposure's dimensions only: every exposure cell is a row
        join, keys, count = f"FULL JOIN ({d}) d USING ({', '.join(on)})", names, "coalesce(numerator, 0)"
    else:
        join = f"LEFT JOIN ({d}) d USING ({', '.join(on)})" if on else f"CROSS JOIN ({d}) d"
        keys, count = [f"n.{k}" for k in names], "numerator"
    return sql.sql(
        f"SELECT {''.join(f'{k}, ' for k in keys)}{count} AS numerator, denominator, "
        f"CASE WHEN denominator > 0 THEN {count} / denominator * {scale} END AS value "
        f"FROM ({n}) n {join}"
    ).pl()


@pytest.mark.parametrize(
    "case", CASE_LIST, ids=[f"{c['metric']}-{c['grain']}-{'x'.join(c['by']) or 'all'}" for c in CASE_LIST]
)
def test_per_exposure_rates_equal_sql(case, exposed, sql):
    keys = (["period"] if case["grain"] else []) + case["by"]
    got = exposed.sums(case["metric"], case["by"], case["filters"], case["grain"], case["start"], case["end"])
    want = oracle(sql, case)
    assert got.columns == [*keys, "numerator", "denominator", case["metric"]]
    assert got.height == want.height
    if keys:
        got, want = got.sort(keys), want.sort(keys)
        assert got.select(keys).rows() == want.select(keys).rows()
    assert got["numerator"].to_list() == want["numerator"].to_list()
    assert got["denominator"].to_list() == want["denominator"].to_list()
    assert got[case["metric"]].to_list() == pytest.approx(want["value"].to_list(), rel=1e-12)
    queried = exposed.query(
        ["actions", case["metric"]], case["by"], case["filters"], case["grain"], case["start"], case["end"]
    )
    assert queried[case["metric"]].to_list() == pytest.approx(
        got.sort(keys)[case["metric"]].to_list() if keys else got[case["metric"]].to_list(), rel=1e-12
    )


def test_the_cases_cover_grains_breakdowns_and_slices():
    assert {c["grain"] for c in CASE_LIST} == set(GRAINS)
    assert {c["metric"] for c in CASE_LIST} == set(SQL_RATES)
    assert {tuple(c["by"]) for c in CASE_LIST} >= {(), ("harm_area",), ("country",), ("region",)}
    filtered = {d for c in CASE_LIST for d in c["filters"]}
    assert {"harm_area", "country", "region"} <= filtered and filtered - set(SHARED)


def test_a_harm_area_is_per_views_of_all_content(exposed, sql):
    """Exposure is not per harm area: every harm area of a slice has the slice's views as denominator."""
    got = exposed.sums(
        "actions_per_million_views", ["harm_area"], {"country": "BR"}, "month", "2026-01-01", "2026-03-31"
    )
    views = sql.sql(
        "SELECT date_trunc('month', day)::DATE AS period, SUM(views) AS views FROM exposure "
        "WHERE country = 'BR' AND day BETWEEN DATE '2026-01-01' AND DATE '2026-03-31' GROUP BY ALL"
    ).pl()
    per_month = got.group_by("period").agg(pl.col("denominator").unique())
    assert per_month["denominator"].list.len().to_list() == [1, 1, 1]
    joined = per_month.explode("denominator").join(views, on="period")
    assert joined["denominator"].to_list() == joined["views"].to_list()


def test_other_metrics_pass_through_and_prevalence_is_refused(exposed, sample_cube):
    assert exposed.query(["actions", "proactive_rate"], ["harm_area"], grain="month").equals(
        sample_cube.query(["actions", "proactive_rate"], ["harm_area"], grain="month")
    )
    assert exposed.values("country") == sample_cube.values("country")
    assert exposed.date_range == sample_cube.date_range and exposed.dimensions == sample_cube.dimensions
    assert set(exposed.available_metrics()) == set(sample_cube.available_metrics()) | {
        "actions_per_10k_uploads",
        "actions_per_million_views",
        "actions_per_10k_views",
        "removal_rate",
    }
    assert "prevalence" not in exposed.available_metrics()
    with pytest.raises(EstimatedMetricError, match="estimated from the labelled view sample, not summed"):
        exposed.query(["actions", "prevalence"])
    with pytest.raises(EstimatedMetricError, match="not summed"):
        sample_cube.sums("prevalence")
    assert metric("prevalence").is_estimated and not any(
        m.is_estimated for name, m in metrics().items() if name != "prevalence"
    )


def test_the_sample_layout_and_the_one_call_give_the_same_cube(generated, exposed, sample_cube):
    by_hand = with_exposure(sample_cube, generated / "exposure", generated / "view_sample")
    case = ("actions_per_10k_uploads", ["region"], {"harm_area": "spam"}, "week", "2026-05-01", "2026-06-30")
    assert by_hand.query(*case).equals(exposed.query(*case))
    plain = insights.load_source(generated / "events")
    assert not isinstance(plain, ExposedCube), "the events folder alone is the events, as before"
    assert (
        insights.load_source(generated / "events", exposure=generated)
        .query("removal_rate")
        .equals(exposed.query("removal_rate"))
    )


def test_regional_maps_per_views_and_uploads(exposed, sql):
    """Regional rankings and the map normalised per million views / per 10k uploads."""
    start, end = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
    hate = {"harm_area": ["hateful_behavior"]}
    table = ranking(exposed, "actions", "country", hate, start, end, per="views")
    case = {
        "metric": "actions_per_million_views",
        "filters": hate,
        "by": ["country"],
        "grain": None,
        "start": start,
        "end": end,
    }
    want = oracle(sql, case).sort("value", descending=True)
    assert table["country"].to_list()[:5] == want["country"].to_list()[:5]
    assert table.sort("country")["value"].to_list() == pytest.approx(want.sort("country")["value"].to_list(), rel=1e-12)
    regions = by_geography(exposed, "actions", "region", hate, start, end, per="uploads")
    case = {**case, "metric": "actions_per_10k_uploads", "by": ["region"]}
    want = oracle(sql, case).sort("region")
    assert regions.sort("region")["actions_per_10k_uploads"].to_list() == pytest.approx(
        want["value"].to_list(), rel=1e-12
    )
    company = by_geography(exposed, "actions", "company_region", hate, start, end, per="views")
    whole = exposed.sums("actions_per_million_views", filters=hate, start=start, end=end)
    assert company["numerator"].sum() == whole["numerator"].item()
    assert company["denominator"].sum() == whole["denominator"].item(), "countries' views add up to the slice's"
    mapped = choropleth_frame(exposed, "actions", hate, start, end, per="views")
    assert mapped.height == 47 and mapped["text"].str.contains(r"^\d").all()

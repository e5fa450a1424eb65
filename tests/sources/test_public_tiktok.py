"""TikTok CGER releases load as cubes that give back TikTok's published figures.

The published figures are read here straight from the raw CSVs with plain Polars (by column
position, so the header drift does not matter), never through the importer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import insights
from insights.model import labels, policy_harm_areas
from insights.sources import tiktok
from tests.conftest import SHARED

FOLDER = SHARED / "real_data" / "tiktok_cger"
NEWEST = FOLDER / "tiktok-2024-q2.csv"
pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"the real TikTok CGER files are not at {FOLDER}")

MONTHS = {"Jan": 1, "Apr": 4, "Jul": 7, "Oct": 10}


def published(path: Path = NEWEST) -> pl.DataFrame:
    """The raw release: columns by position, text lower-cased, results as numbers."""
    raw = pl.read_csv(path, infer_schema=False)
    raw.columns = [
        "metric",
        "period_type",
        "period",
        "policy_type",
        "issue",
        "task_type",
        "task",
        "location",
        "market",
        "result",
    ]
    return raw.select(
        pl.col("metric").str.to_lowercase(),
        pl.col("period_type").str.to_lowercase(),
        pl.col("period"),
        pl.col("policy_type").str.to_lowercase(),
        pl.col("issue"),
        pl.col("task_type").str.to_lowercase(),
        pl.col("task").str.to_lowercase(),
        pl.col("location").str.to_lowercase(),
        pl.col("market"),
        pl.col("result").str.replace_all(",", "").cast(pl.Float64),
    )


def figure(
    rows: pl.DataFrame,
    metric: str,
    period: str,
    issue: str = "All",
    market: str = "All",
    policy_type: str | None = None,
) -> float:
    """One published number."""
    chosen = rows.filter(
        pl.col("metric") == metric.lower(),
        pl.col("period") == period,
        pl.col("issue").str.to_lowercase() == issue.lower(),
        pl.col("market").str.to_lowercase() == market.lower(),
        pl.col("task") == "all",
    )
    if policy_type:
        chosen = chosen.filter(pl.col("policy_type") == policy_type.lower())
    assert len(chosen) == 1, (metric, period, issue, market, chosen)
    return chosen["result"].item()


def quarter(period: str) -> dt.date:
    return dt.date(int(period[-4:]), MONTHS[period[:3]], 1)


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return published()


@pytest.fixture(scope="module")
def cube():
    return insights.load_source(FOLDER)


@pytest.fixture(scope="module")
def markets():
    return insights.load_source(FOLDER, kind="tiktok_cger", breakdown="market")


def one(cube, metric: str, period: str, **filters) -> float:
    day = quarter(period)
    result = cube.query(metric, filters=filters or None, start=day, end=day)
    return result[metric].item()


def test_every_release_is_recognised_and_loads():
    for path in sorted(FOLDER.glob("*.csv")):
        cube = insights.load_source(path)
        assert cube.provenance.kind == "tiktok_cger" and cube.time_grain == "quarter"
        assert cube.query("actions")["actions"].item() > 0
    assert insights.load_source(NEWEST, kind="tiktok_cger").provenance.kind == "tiktok_cger"


@pytest.mark.parametrize(
    ("market", "iso", "period"),
    [
        ("United States", "US", "Apr-Jun 2024"),
        ("United Kingdom", "GB", "Jul-Sep 2023"),
        ("Brazil", "BR", "Jan-Mar 2024"),
        ("Indonesia", "ID", "Oct-Dec 2023"),
        ("Pakistan", "PK", "Apr-Jun 2024"),
    ],
)
def test_total_removals_of_a_market_are_the_published_count(cube, raw, market, iso, period):
    want = figure(raw, "Total videos removed", period, market=market)
    assert one(cube, "actions", period, country=iso) == pytest.approx(want, rel=1e-9)


def test_total_removals_of_every_quarter_are_the_published_global_count(cube, raw):
    want = raw.filter(
        pl.col("metric") == "total videos removed",
        pl.col("market") == "All",
        pl.col("issue") == "All",
        pl.col("task") == "all",
    ).select(date=pl.col("period").map_elements(quarter, return_dtype=pl.Date), want="result")
    got = cube.query("actions", grain="quarter").rename({"period": "date"}).join(want, on="date")
    assert len(got) == 16
    assert (got["actions"] / got["want"] - 1).abs().max() < 1e-9


@pytest.mark.parametrize(
    ("market", "iso", "period", "sub_policy", "policy"),
    [
        ("United States", "US", "Apr-Jun 2024", "Safety & Civility - Hate Speech & Hateful Behavior", "hate_speech"),
        (
            "Germany",
            "DE",
            "Jan-Mar 2024",
            "Safety & Civility - Violent & Hateful Orgs & Individuals",
            "violent_extremist_organisations",
        ),
        ("France", "FR", "Oct-Dec 2023", "Mental & Behavioral Health - Suicide & Self-Harm", "suicide_and_self_injury"),
        ("Indonesia", "ID", "Apr-Jun 2024", "Safety & Civility - Human Exploitation", "human_trafficking"),
        ("Mexico", "MX", "Apr-Jun 2024", "Safety & Civility - Harassment & Bullying", "targeted_harassment"),
    ],
)
def test_a_market_sub_policy_gives_back_its_published_rates_and_reconstructed_count(
    cube, raw, market, iso, period, sub_policy, policy
):
    parent = sub_policy.split(" - ")[0]
    total = figure(raw, "Total videos removed", period, market=market)
    policy_share = figure(raw, "Category share", period, issue=parent, market=market)
    sub_share = figure(raw, "Category share", period, issue=sub_policy, market=market)
    assert one(cube, "actions", period, country=iso, policy=policy) == pytest.approx(
        total * policy_share * sub_share, rel=5e-3
    )
    for metric, name in [
        ("proactive_rate", "Proactive removal rate"),
        ("zero_view_rate", "Removal rate before any views"),
        ("within_24h_rate", "Removal rate within 24 hours"),
    ]:
        assert one(cube, metric, period, country=iso, policy=policy) == pytest.approx(
            figure(raw, name, period, issue=sub_policy, market=market), abs=5e-4
        )


@pytest.mark.parametrize(
    ("period", "sub_policy", "policy"),
    [
        ("Apr-Jun 2024", "Safety & Civility - Violent & Hateful Orgs & Individuals", "violent_extremist_organisations"),
        ("Apr-Jun 2024", "Safety & Civility - Hate Speech & Hateful Behavior", "hate_speech"),
        ("Jan-Mar 2024", "Mental & Behavioral Health - Suicide & Self-Harm", "suicide_and_self_injury"),
    ],
)
def test_a_global_sub_policy_gives_back_its_published_rates(cube, raw, period, sub_policy, policy):
    for metric, name in [
        ("proactive_rate", "Proactive removal rate"),
        ("within_24h_rate", "Removal rate within 24 hours"),
    ]:
        assert one(cube, metric, period, policy=policy) == pytest.approx(
            figure(raw, name, period, issue=sub_policy), abs=5e-4
        )


@pytest.mark.parametrize(
    ("period", "issue", "harm_area"),
    [
        ("Oct-Dec 2022", "Violent extremism", "violent_extremism"),
        ("Jul-Sep 2021", "Hateful behavior", "hateful_behavior"),
        ("Jan-Mar 2023", "Minor safety", "child_safety"),
    ],
)
def test_pre_2023_policies_give_back_their_published_figures(cube, raw, period, issue, harm_area):
    total = figure(raw, "Total videos removed", period)
    share = figure(raw, "Category share", period, issue=issue, policy_type="policy")
    assert one(cube, "actions", period, harm_area=harm_area) == pytest.approx(total * share, rel=5e-3)
    assert one(cube, "proactive_rate", period, harm_area=harm_area) == pytest.approx(
        figure(raw, "Proactive removal rate", period, issue=issue, policy_type="policy"), abs=5e-4
    )


def test_a_comma_formatted_count_of_an_older_release_loads():
    older = published(FOLDER / "tiktok-2022-q4.csv")
    want = figure(older, "Total videos removed", "Oct-Dec 2022")
    assert want == 85_680_819
    assert one(insights.load_source(FOLDER / "tiktok-2022-q4.csv"), "actions", "Oct-Dec 2022") == pytest.approx(want)


@pytest.mark.parametrize(
    ("market", "iso", "period"),
    [("United States", "US", "Apr-Jun 2024"), ("Turkey", "TR", "Oct-Dec 2022"), ("Japan", "JP", "Jul-Sep 2023")],
)
def test_the_market_breakdown_gives_back_all_policy_figures(markets, raw, market, iso, period):
    assert one(markets, "actions", period, country=iso) == pytest.approx(
        figure(raw, "Total videos removed", period, market=market)
    )
    assert one(markets, "proactive_rate", period, country=iso) == pytest.approx(
        figure(raw, "Proactive removal rate", period, market=market), abs=5e-4
    )
    assert one(markets, "within_24h_rate", period, country=iso) == pytest.approx(
        figure(raw, "Removal rate within 24 hours", period, market=market), abs=5e-4
    )


def test_the_market_breakdown_has_the_automation_split_restored_videos_and_uploads(markets, raw):
    period, market = "Apr-Jun 2024", "United States"
    total = figure(raw, "Total videos removed", period, market=market)
    automated = raw.filter(
        pl.col("metric") == "total videos removed",
        pl.col("period") == period,
        pl.col("market") == market,
        pl.col("task") == "automation",
    )["result"].item()
    assert one(markets, "automation_rate", period, country="US") == pytest.approx(automated / total)
    restored = figure(raw, "Videos restored", period, market=market)
    assert one(markets, "overturns", period, country="US") == pytest.approx(restored)
    rate = figure(raw, "Video: Removal rate of published", period, market=market)
    assert one(markets, "actions_per_10k_uploads", period, country="US") == pytest.approx(rate * 10_000)
    no_views = raw.filter(pl.col("period") == period, pl.col("market") == market, pl.col("task") == "0 views")[
        "result"
    ].item()
    assert one(markets, "zero_view_rate", period, country="US") == pytest.approx(no_views)


def view_bucket_shares(raw: pl.DataFrame, period: str, market: str) -> dict[str, float]:
    """The published shares of removals per view bucket above 0 views, by metric name
    (an unpublished bucket of a market that publishes others is 0)."""
    buckets = raw.filter(
        pl.col("task_type") == "share of total removals",
        pl.col("period") == period,
        pl.col("market") == market,
        pl.col("task") != "0 views",
    )
    shares = dict(buckets.select("task", "result").iter_rows())
    return {metric: shares.get(task, 0.0) for task, metric in VIEW_BUCKET_METRICS.items()}


VIEW_BUCKET_METRICS = {
    "1-10 views": "views_1_10_share",
    "11-100 views": "views_11_100_share",
    "101-1,000 views": "views_101_1k_share",
    "1,001-10,000 views": "views_1k_10k_share",
    "10,001-100,000 views": "views_10k_100k_share",
    "100,001-1,000,000 views": "views_100k_1m_share",
    ">1,000,000 views": "views_over_1m_share",
}


@pytest.mark.parametrize(
    ("market", "iso", "period"),
    [("United States", "US", "Apr-Jun 2024"), ("Japan", "JP", "Oct-Dec 2023"), ("Brazil", "BR", "Jan-Mar 2024")],
)
def test_the_market_breakdown_gives_back_the_published_view_bucket_shares(markets, raw, market, iso, period):
    expected = view_bucket_shares(raw, period, market)
    assert sum(expected.values()) > 0
    got = markets.query(list(expected), filters={"country": [iso]}, start=quarter(period), end=quarter(period))
    assert got.row(0, named=True) == pytest.approx(expected)


@pytest.mark.parametrize("period", ["Oct-Dec 2023", "Jan-Mar 2024", "Apr-Jun 2024"])
def test_view_bucket_shares_over_all_markets_are_the_published_global_shares(markets, raw, period):
    """Shares are published to 3 decimals, so a bucket summed over markets is within rounding."""
    expected = view_bucket_shares(raw, period, "All")
    got = markets.query(list(expected), start=quarter(period), end=quarter(period))
    assert got.row(0, named=True) == pytest.approx(expected, abs=5e-4)


def test_view_buckets_are_empty_before_tiktok_published_them(markets):
    before = markets.query("views_1_10_share", start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 1))
    assert before["views_1_10_share"].item() is None


def test_markets_listed_plus_the_rest_of_the_world_add_up_to_the_global_totals(markets, raw):
    for period in ["Jul-Sep 2022", "Jul-Sep 2023", "Apr-Jun 2024"]:
        by_country = markets.query("actions", by=["country"], start=quarter(period), end=quarter(period))
        listed = raw.filter(
            pl.col("metric") == "total videos removed",
            pl.col("period") == period,
            pl.col("location") == "market",
            pl.col("task") == "all",
            pl.col("issue") == "All",
        )
        assert by_country.filter(pl.col("country").is_not_null())["actions"].sum() == pytest.approx(
            listed["result"].sum()
        )
        assert by_country["actions"].sum() == pytest.approx(figure(raw, "Total videos removed", period))


def test_markets_are_iso_countries_and_policies_are_harm_areas(cube):
    countries = cube.data["country"].drop_nulls().cast(pl.String).unique().to_list()
    assert len(countries) >= 50 and all(len(c) == 2 and c.isupper() for c in countries)
    assert cube.data.filter(pl.col("country").is_not_null())["region"].null_count() == 0
    areas = set(cube.data["harm_area"].drop_nulls().cast(pl.String))
    assert {
        "violent_extremism",
        "hateful_behavior",
        "self_harm",
        "human_exploitation",
        "bullying_harassment",
        "child_safety",
    } <= areas
    assert areas <= set(labels("harm_area"))
    assert not [c for c in cube.provenance.caveats if c.kind in ("mapping", "validation")]


def test_the_mapping_is_data_naming_taxonomy_codes():
    table = tiktok.mapping()
    assert {"published_name", "taxonomy", "harm_area", "policy"} <= set(table.columns)
    parents = policy_harm_areas()
    for row in table.filter(pl.col("policy").is_not_null()).iter_rows(named=True):
        assert parents[row["policy"]] == row["harm_area"], row
    assert set(table["taxonomy"]) == {"2020", "2023"}


def test_youth_safety_has_no_base_so_its_cells_stay_empty_and_say_why(cube):
    youth = cube.query(
        "actions", filters={"policy": "minors_protection", "country": "US"}, start="2024-04-01", end="2024-04-01"
    )
    assert youth["actions"].item() is None
    why = [c for c in cube.provenance.caveats if c.harm_area == "child_safety" and c.kind == "gap"]
    assert why and "Youth Safety" in why[0].text


def test_caveats_carry_dates_for_methodology_changes_gaps_and_defects(cube):
    kinds = {(c.kind, c.date) for c in cube.provenance.caveats}
    assert ("methodology", dt.date(2023, 4, 1)) in kinds  # the 2023 taxonomy
    assert ("gap", dt.date(2023, 7, 1)) in kinds  # markets split by policy only from then
    assert any(c.kind == "defect" and "{{comment_cg_policy_grouping}}" in c.text for c in cube.provenance.caveats)
    assert all(
        isinstance(c.date, dt.date) for c in cube.provenance.caveats if c.kind == "methodology" and "taxonomy" in c.text
    )


def test_a_renamed_policy_and_a_new_header_spelling_still_load(tmp_path):
    lines = NEWEST.read_text(encoding="utf-8-sig").splitlines()
    header = "METRIC,Period Type,Period,Policy Type,Issue Policy,Task Type,Task,Location,Market,Result"
    kept = [line for line in lines[1:] if "Apr-Jun 2024" in line and ",All,All,All," in line and "Hate Speech" in line]
    renamed = [line.replace("Hate Speech & Hateful Behavior", "Hateful Speech & Behaviour") for line in kept]
    totals = [
        line
        for line in lines[1:]
        if line.startswith("Total videos removed,Quarterly,Apr-Jun 2024,All,All,All,All,All,All,")
    ]
    shares = [
        line
        for line in lines[1:]
        if line.startswith("Category share,Quarterly,Apr-Jun 2024,Policy,Safety & Civility,All,All,All,All,")
    ]
    path = tmp_path / "tiktok-drift.csv"
    path.write_text("\n".join([header, *totals, *shares, *renamed]), encoding="utf-8")
    cube = insights.load_source(path)
    mapping_notes = [c for c in cube.provenance.caveats if c.kind == "mapping"]
    assert mapping_notes and "Hateful Speech & Behaviour" in mapping_notes[0].text
    kept_cells = cube.data.filter(pl.col("harm_area").is_null(), pl.col("policy").is_not_null())
    assert kept_cells.height == 1 and kept_cells["proactive_actions"].item() is not None

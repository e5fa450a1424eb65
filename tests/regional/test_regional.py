"""insights.regional and the geography in insights.geo: levels, company regions, rankings,
movers, exposure normalisation and map frames, on hand-built cubes with known answers."""

import datetime as dt

import polars as pl
import pytest

from insights.cube import Cube, Provenance
from insights.errors import DataError
from insights.geo import company_regions, geography
from insights.metrics import per_exposure
from insights.periods import Period
from insights.regional import by_geography, choropleth_frame, movers, ranking
from insights.significance import Noise

JAN = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
FEB = Period(dt.date(2025, 2, 1), dt.date(2025, 2, 28))


@pytest.fixture(scope="module")
def cube() -> Cube:
    """Two months of actions, proactive actions and uploads in six countries (and 'EU')."""
    rows = [
        # country, Jan actions, Feb actions, proactive share, uploads per month
        ("US", 400, 420, 0.9, 1_000_000),
        ("MX", 100, 300, 0.5, 200_000),
        ("BR", 200, 210, 0.6, 400_000),
        ("FR", 150, 100, 0.8, 300_000),
        ("JP", 90, 90, 0.7, 900_000),
        ("IR", 10, 12, 0.5, 10_000),
        ("EU", 5, 5, 1.0, None),
    ]
    records = []
    for country, jan, feb, share, uploads in rows:
        for day, actions in ((dt.date(2025, 1, 15), jan), (dt.date(2025, 2, 15), feb)):
            records.append((day, "spam", country, actions, round(actions * share), uploads))
    frame = pl.DataFrame(
        records,
        schema=["date", "harm_area", "country", "actions", "proactive_actions", "uploads"],
        orient="row",
    ).with_columns(pl.col("harm_area", "country").cast(pl.Categorical))
    frame = frame.with_columns(
        region=pl.col("country")
        .cast(pl.String)
        .replace_strict(
            {"US": "Americas", "MX": "Americas", "BR": "Americas", "FR": "Europe", "JP": "Asia", "IR": "Asia"},
            default=None,
        )
        .cast(pl.Categorical)
    )
    return Cube(frame, Provenance(source="hand-built", kind="table", rows_read=len(frame), as_of=dt.date(2025, 2, 28)))


def test_geography_maps_countries_to_m49_and_company_regions():
    places = geography(["US", "MX", "BR", "FR", "IR", "TR", "JP", "AU", "EU"])
    company = dict(zip(places["country"], places["company_region"], strict=True))
    assert company == {
        "US": "NA",
        "MX": "LATAM",
        "BR": "LATAM",
        "FR": "EMEA",
        "IR": "EMEA",
        "TR": "EMEA",
        "JP": "APAC",
        "AU": "APAC",
        "EU": None,
    }
    row = places.filter(pl.col("country") == "BR").row(0, named=True)
    assert row == {
        "country": "BR",
        "iso3": "BRA",
        "country_name": "Brazil",
        "region": "Americas",
        "subregion": "South America",
        "company_region": "LATAM",
    }
    assert company_regions().label("EMEA") == "Europe, Middle East and Africa"


def test_a_user_mapping_replaces_the_company_regions(tmp_path, cube):
    mine = {"US": "Americas HQ", "mx": "Americas HQ", "FR": "Europe"}
    table = by_geography(cube, "actions", "company_region", company=mine, start=JAN.start, end=JAN.end)
    assert table.select("company_region", "actions").rows() == [("Americas HQ", 500), ("Europe", 150), (None, 305)]
    path = tmp_path / "regions.toml"
    path.write_text('[regions.AM]\nlabel = "The Americas"\nregions = ["Americas"]\n[countries]\nFR = "AM"\n')
    table = ranking(cube, "actions", "company_region", company=path, start=JAN.start, end=JAN.end)
    assert table.select("company_region", "name", "value").rows() == [
        ("AM", "The Americas", 850.0),
        (None, "(unassigned)", 105.0),
    ]


def test_rates_are_ratios_of_sums_at_every_level(cube):
    table = by_geography(cube, "proactive_rate", "company_region", start=JAN.start, end=JAN.end)
    latam = table.filter(pl.col("company_region") == "LATAM").row(0, named=True)
    assert (latam["numerator"], latam["denominator"]) == (50 + 120, 300)
    assert latam["proactive_rate"] == pytest.approx(170 / 300)
    sub = by_geography(cube, "proactive_rate", "subregion", start=JAN.start, end=JAN.end)
    assert sub.filter(pl.col("subregion") == "Southern Asia")["proactive_rate"].item() == pytest.approx(0.5)


def test_ranking_orders_with_ties_shares_and_text(cube):
    table = ranking(cube, "actions", "country", start=FEB.start, end=FEB.end)
    assert table.select("rank", "country", "name").rows()[:3] == [
        (1, "US", "United States"),
        (2, "MX", "Mexico"),
        (3, "BR", "Brazil"),
    ]
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.filter(pl.col("country") == "US")["text"].item() == "420"
    assert ranking(cube, "actions", "region", top=2)["region"].to_list() == ["Americas", "Europe"]
    rates = ranking(cube, "proactive_rate", "region", start=JAN.start, end=JAN.end)
    assert rates.filter(pl.col("region") == "Europe").select("rank", "text").row(0) == (2, "80.0%"), (
        "EU (no region) is first"
    )


def test_equal_values_share_a_rank():
    frame = pl.DataFrame(
        {"date": [dt.date(2025, 1, 1)] * 3, "country": ["US", "FR", "DE"], "actions": [5, 5, 3]}
    ).with_columns(pl.col("country").cast(pl.Categorical))
    flat = Cube(frame, Provenance(source="t", kind="table", rows_read=3, as_of=dt.date(2025, 1, 1)))
    assert ranking(flat, "actions").select("rank", "country").rows() == [(1, "FR"), (1, "US"), (3, "DE")]


def test_exposure_normalises_counts(cube):
    table = ranking(cube, "actions", "country", per="uploads", start=JAN.start, end=JAN.end)
    assert table.select("rank", "country").rows()[:4] == [(1, "IR"), (2, "BR"), (2, "FR"), (2, "MX")], (
        "10 per 10k, then 5"
    )
    assert table.filter(pl.col("country") == "IR")["value"].item() == pytest.approx(10.0)
    assert table.filter(pl.col("country") == "EU")["value"].item() is None, "no uploads: no rate, not 0"
    assert table.filter(pl.col("country") == "IR")["text"].item() == "10.00"
    with pytest.raises(ValueError, match="already a rate"):
        per_exposure("proactive_rate", "uploads")
    with pytest.raises(DataError, match="views"):
        ranking(cube, "actions", per="views")


def test_movers_rank_by_size_of_change_and_test_it(cube):
    table = movers(cube, "actions", current=FEB, baseline=JAN, noise=Noise("count"))
    assert table.select("country", "change").rows()[:2] == [("MX", 200.0), ("FR", -50.0)]
    mx = table.row(0, named=True)
    assert mx["name"] == "Mexico" and mx["pct_change"] == pytest.approx(2.0) and mx["significant"]
    assert not table.filter(pl.col("country") == "IR")["significant"].item(), "10 → 12 is noise"
    by_region = movers(cube, "actions", current=FEB, baseline=JAN, level="company_region", noise=Noise("count"), top=1)
    assert by_region.select("company_region", "change").rows() == [("LATAM", 210.0)]


def test_choropleth_frame_is_ready_for_a_map(cube):
    frame = choropleth_frame(cube, "proactive_rate", start=JAN.start, end=JAN.end)
    assert frame.columns == ["country", "iso3", "name", "region", "value", "text"]
    assert "EU" not in frame["country"].to_list(), "pseudo-countries have no shape on a map"
    row = frame.filter(pl.col("country") == "MX").row(0, named=True)
    assert row == {
        "country": "MX",
        "iso3": "MEX",
        "name": "Mexico",
        "region": "Americas",
        "value": 0.5,
        "text": "50.0%",
    }


def test_sub_regions_need_countries():
    frame = pl.DataFrame({"date": [dt.date(2025, 1, 1)], "region": ["Europe"], "actions": [3]}).with_columns(
        pl.col("region").cast(pl.Categorical)
    )
    regional_only = Cube(frame, Provenance(source="report", kind="table", rows_read=1, as_of=dt.date(2025, 1, 1)))
    assert ranking(regional_only, "actions", "region")["value"].to_list() == [3.0]
    with pytest.raises(DataError, match="derived from countries"):
        ranking(regional_only, "actions", "subregion")

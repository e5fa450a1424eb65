"""Public data through the same metrics: Meta's published prevalence through the prevalence metric's
figures (``cube.prevalence``), TikTok's removal rate of published videos through ``removal_rate``.

The published figures are read from the raw CSVs here with Python's csv module and parsed by hand,
never through the importers.
"""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

import insights
from insights.errors import DataError
from insights.exposed import ExposedCube
from insights.geo import to_iso2
from insights.metrics import EstimatedMetricError
from tests.conftest import SHARED

META = SHARED / "real_data" / "meta_cser" / "meta-2024-q2.csv"
TIKTOK = SHARED / "real_data" / "tiktok_cger" / "tiktok-2024-q2.csv"
pytestmark = pytest.mark.skipif(not META.exists() or not TIKTOK.exists(), reason="the real report files are not here")
MONTHS = {"Jan": 1, "Apr": 4, "Jul": 7, "Oct": 10}


def meta_prevalence_rows() -> dict[tuple[str, str, dt.date], dict[str, float]]:
    """(app, policy area, quarter) → {'lower': …, 'upper': …} from the raw CSV (fractions), views only."""
    found: dict[tuple[str, str, dt.date], dict[str, float]] = {}
    with open(META, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            metric = row["metric"].lower()
            end = {"lowerbound prevalence": "lower", "upperbound prevalence": "upper", "ubp": "upper"}.get(metric)
            if end is None or row["value"] == "N/A":
                continue
            period = dt.date(int(row["period"][:4]), 3 * int(row["period"][-1]) - 2, 1)
            value = float(row["value"].rstrip("%")) / 100
            found.setdefault((row["app"], row["policy_area"], period), {})[end] = value
    return found


@pytest.fixture(scope="module")
def meta_cube():
    return insights.load_source(META)


def test_meta_prevalence_is_the_published_figures(meta_cube):
    assert isinstance(meta_cube, ExposedCube) and meta_cube.has_prevalence
    got = meta_cube.prevalence("quarter")
    want = meta_prevalence_rows()
    assert got.height == len(want) == 164, "every published range (Lower/Upperbound pair, not N/A) and UBP row"
    assert "Fake Accounts" not in got["policy_area"].to_list(), "a share of users, not of views"
    for row in got.iter_rows(named=True):
        published = want[(row["platform"], row["policy_area"], row["period"])]
        assert row["upper"] == pytest.approx(published["upper"], abs=1e-12)
        if "lower" not in published:  # UBP: "less than 0.05%"
            assert (row["status"], row["lower"], row["estimate"]) == ("upper_bound", None, None)
            assert row["reported"] == f"≤ {published['upper'] * 100:.2f} %"
        elif published["lower"] == published["upper"]:
            assert row["status"] == "estimate" and row["estimate"] == pytest.approx(published["lower"])
            assert row["reported"] == f"{published['lower'] * 100:.2f} %"
        else:
            assert row["status"] == "range" and row["estimate"] is None
            assert row["lower"] == pytest.approx(published["lower"])
            assert row["reported"] == f"{published['lower'] * 100:.2f}–{published['upper'] * 100:.2f} %"
        assert row["sample_size"] is None, "Meta publishes no sample sizes"


def test_meta_prevalence_of_one_slice_and_its_caveats(meta_cube):
    hate = meta_cube.prevalence(
        "quarter", filters={"harm_area": "hateful_behavior", "platform": "Instagram"}, start="2024-04-01"
    )
    assert hate.select("period", "policy", "reported", "status").rows() == [
        (dt.date(2024, 4, 1), "hate_speech", "0.02–0.03 %", "range")
    ]
    terrorism = meta_cube.prevalence("quarter", filters={"policy": "terrorist_content"}, start="2024-04-01")
    assert set(terrorism["reported"]) == {"≤ 0.05 %"} and terrorism.height == 2
    texts = " ".join(c.text for c in meta_cube.provenance.caveats)
    assert "range between a lower- and an upper-bound figure" in texts and "monthly active users" in texts
    with pytest.raises(DataError, match="published per quarter"):
        meta_cube.prevalence("year")
    with pytest.raises(EstimatedMetricError):
        meta_cube.query("prevalence")


def tiktok_published_rates() -> dict[tuple[dt.date, str], float]:
    """(quarter, market or 'All') → 'Video: Removal rate of published', from the raw CSV."""
    found = {}
    with open(TIKTOK, newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle):
            if row[0] == "Video: Removal rate of published" and row[1] == "Quarterly" and row[6] == "All":
                period = dt.date(int(row[2][-4:]), MONTHS[row[2][:3]], 1)
                found[(period, row[8])] = float(row[9])
    return found


def test_tiktok_removal_rate_is_the_published_removal_rate_of_published_videos():
    markets = insights.load_source(TIKTOK, breakdown="market")
    published = tiktok_published_rates()
    per_market = markets.query("removal_rate", by=["country"], grain="quarter")
    iso = to_iso2([market for _, market in published if market != "All"])
    checked = 0
    for (period, market), rate in published.items():
        if market == "All":
            continue
        row = per_market.filter(pl.col("period") == period, pl.col("country") == iso[market])
        assert row.height == 1, (period, market)
        assert row["removal_rate"].item() == pytest.approx(rate, abs=1e-12), (period, market)
        checked += 1
    assert checked > 150, "every market of every quarter since Jul-Sep 2023"
    world = markets.query("removal_rate", grain="quarter")
    for (period, market), rate in published.items():
        if market == "All":
            value = world.filter(pl.col("period") == period)["removal_rate"].item()
            if value is not None:  # Jul-Sep 2022 … Apr-Jun 2023: unlisted markets' uploads unknown (caveat)
                assert value == pytest.approx(rate, abs=1e-9), period
    assert world.filter(pl.col("period") >= dt.date(2023, 7, 1))["removal_rate"].null_count() == 0
    assert any("removal rate of published videos" in c.text for c in markets.provenance.caveats)

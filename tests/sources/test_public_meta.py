"""Meta CSER releases load as cubes that give back Meta's published figures.

The published figures are read here from the raw CSVs with Python's csv module and parsed by
hand, never through the importer.
"""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

import insights
from insights.model import policy_harm_areas
from insights.sources import meta
from tests.conftest import SHARED

FOLDER = SHARED / "real_data" / "meta_cser"
NEWEST = FOLDER / "meta-2024-q2.csv"
pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"the real Meta CSER files are not at {FOLDER}")


def number(text: str) -> float | None:
    """'20,800,000' → 20800000.0, '96.90%' → 0.969, 'N/A' → None."""
    if text == "N/A":
        return None
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text.replace(",", ""))


def figures(path=NEWEST) -> dict[tuple[str, str, str, str], str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {(r["app"], r["policy_area"], r["metric"], r["period"]): r["value"] for r in csv.DictReader(handle)}


def quarter(period: str) -> dt.date:
    return dt.date(int(period[:4]), 3 * int(period[-1]) - 2, 1)


@pytest.fixture(scope="module")
def raw():
    return figures()


@pytest.fixture(scope="module")
def cube():
    return insights.load_source(FOLDER)


def one(cube, metric: str, period: str, **filters):
    day = quarter(period)
    return cube.query(metric, filters=filters, start=day, end=day)[metric].item()


def test_a_release_and_a_folder_of_releases_are_recognised():
    for path in [NEWEST, FOLDER / "vintages" / "meta-2021-q2.csv", FOLDER]:
        cube = insights.load_source(path)
        assert cube.provenance.kind == "meta_cser" and cube.time_grain == "quarter"
    assert insights.load_source(NEWEST, kind="meta_cser").data.height > 0


@pytest.mark.parametrize(
    ("app", "area", "period", "policy"),
    [
        ("Facebook", "Hate Speech", "2024Q2", "hate_speech"),
        ("Instagram", "Dangerous Orgs: Terrorism", "2023Q4", "terrorist_content"),
        ("Facebook", "Suicide and Self-Injury", "2022Q1", "suicide_and_self_injury"),
        ("Instagram", "Bullying & Harassment", "2024Q1", "targeted_harassment"),
        ("Facebook", "Child Endangerment: Sexual Exploitation", "2023Q2", "child_sexual_exploitation"),
        ("Facebook", "Violent & Graphic Content", "2018Q1", "graphic_violence"),
    ],
)
def test_a_policy_area_gives_back_its_published_counts_and_rate(cube, raw, app, area, period, policy):
    filters = {"platform": app, "policy": policy}
    assert one(cube, "actions", period, **filters) == number(raw[(app, area, "Content Actioned", period)])
    assert one(cube, "proactive_rate", period, **filters) == pytest.approx(
        number(raw[(app, area, "Proactive rate", period)])
    )
    appealed = number(raw[(app, area, "Content Appealed", period)])
    assert one(cube, "appeals", period, **filters) == appealed
    restored = number(raw[(app, area, "Content Restored with appeal", period)])
    assert one(cube, "overturns", period, **filters) == restored
    if appealed and restored is not None:
        assert one(cube, "overturn_rate", period, **filters) == pytest.approx(restored / appealed)
    unappealed = number(raw[(app, area, "Content Restored without appeal", period)])
    assert one(cube, "restored_without_appeal", period, **filters) == unappealed
    if unappealed is not None:
        assert one(cube, "restored_without_appeal_rate", period, **filters) == pytest.approx(
            unappealed / number(raw[(app, area, "Content Actioned", period)])
        )


def test_restored_without_appeal_of_every_quarter_adds_up_to_the_published_counts(cube, raw):
    want = published_per_quarter(raw, "Content Restored without appeal")
    got = dict(cube.query("restored_without_appeal", grain="quarter").drop_nulls().iter_rows())
    assert want and got == pytest.approx(want)


def test_na_is_empty_not_zero_and_the_reason_is_kept(cube, raw):
    assert raw[("Facebook", "Hate Speech", "Content Appealed", "2017Q4")] == "N/A"
    assert one(cube, "appeals", "2017Q4", platform="Facebook", policy="hate_speech") is None
    reasons = [c for c in cube.provenance.caveats if c.kind == "gap" and "'content appealed' as N/A" in c.text]
    assert reasons and reasons[0].date == dt.date(2017, 10, 1)


def test_fake_accounts_are_accounts_and_spam(cube, raw):
    got = cube.query(
        "actions", filters={"content_type": "account"}, by=["harm_area", "policy"], start="2024-04-01", end="2024-04-01"
    )
    assert got.rows() == [
        ("spam", "fake_accounts", number(raw[("Facebook", "Fake Accounts", "Content Actioned", "2024Q2")]))
    ]


def test_every_policy_area_maps_to_a_harm_area(cube):
    assert cube.data["harm_area"].null_count() == 0
    assert not [c for c in cube.provenance.caveats if c.kind == "mapping"]
    parents = policy_harm_areas()
    for row in meta.mapping().filter(pl.col("policy").is_not_null()).iter_rows(named=True):
        assert parents[row["policy"]] == row["harm_area"], row


def published_per_quarter(raw, wanted: str) -> dict[dt.date, float]:
    """One of Meta's metrics summed over apps and policy areas per quarter (N/A left out)."""
    want: dict[dt.date, float] = {}
    for (_, _, metric, period), value in raw.items():
        if metric == wanted and value != "N/A":
            want[quarter(period)] = want.get(quarter(period), 0) + number(value)
    return want


def test_actions_of_every_quarter_add_up_to_the_published_counts(cube, raw):
    got = dict(cube.query("actions", grain="quarter").iter_rows())
    assert got == pytest.approx(published_per_quarter(raw, "Content Actioned"))


def test_a_folder_uses_the_newest_release_and_notes_the_revisions(cube):
    newest = figures()
    older = figures(FOLDER / "vintages" / "meta-2022-q2.csv")  # revised 48 'content actioned' figures later
    key = next(
        k
        for k, v in older.items()
        if k[2] == "Content Actioned" and k in newest and v != newest[k] and "N/A" not in (v, newest[k])
    )
    app, area, _, period = key
    harm_area = meta.mapping().filter(pl.col("policy_area") == area)["harm_area"].item()
    day = quarter(period)
    cells = cube.data.filter(pl.col("date") == day, pl.col("platform") == app, pl.col("harm_area") == harm_area)
    assert number(newest[key]) in cells["actions"].to_list() and number(older[key]) not in cells["actions"].to_list()
    assert any("revised" in c.text for c in cube.provenance.caveats)


def test_prevalence_is_a_table_with_ranges_and_upper_bounds():
    table = meta.prevalence(FOLDER / "vintages" / "meta-2023-q1.csv")
    fake = table.filter(pl.col("policy_area") == "Fake Accounts", pl.col("date") == dt.date(2023, 1, 1))
    assert fake.select("lower", "upper").row(0) == pytest.approx((0.04, 0.05))  # published as "4%-5%"
    newest = meta.prevalence(NEWEST)
    ubp = newest.filter(
        pl.col("app") == "Facebook",
        pl.col("policy_area") == "Dangerous Orgs: Terrorism",
        pl.col("date") == dt.date(2024, 4, 1),
    )
    assert ubp.select("lower", "upper").row(0) == (None, pytest.approx(0.0005))  # "0.05%", an upper bound only


def test_methodology_changes_are_dated_caveats(cube):
    dated = {(c.date, c.harm_area) for c in cube.provenance.caveats if c.kind == "methodology"}
    assert (dt.date(2021, 4, 1), "child_safety") in dated

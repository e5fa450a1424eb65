"""EU DSA Transparency Database: statements of reasons and the daily summary load as cubes
that give back the published counts.

Expected figures are computed here from the raw files (Python's csv module for the statements,
plain Polars on the summary parquet), never through the importers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile

import polars as pl
import pytest

import insights
from insights.model import labels, policy_harm_areas
from insights.sources import dsa
from tests.conftest import ROOT, SHARED

SAMPLE = SHARED / "real_data" / "dsa_tdb_sor_sample"
SUMMARY = SHARED / "real_data" / "dsa_tdb_daily_summary" / "builtin.parquet"
DUMP = SAMPLE / "sor-global-2024-03-14-full.zip"
V2 = SAMPLE / "sor-global-2025-07-01-full-00000-00000.excerpt.csv"
pytestmark = pytest.mark.skipif(
    not SAMPLE.is_dir() or not SUMMARY.is_file(), reason=f"the real DSA files are not under {SHARED / 'real_data'}"
)


def statements(paths) -> list[dict[str, str]]:
    """The statements of CSV parts, first copy of each uuid."""
    seen, rows = set(), []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["uuid"] not in seen:
                    seen.add(row["uuid"])
                    rows.append(row)
    return rows


def parts() -> list:
    return sorted(SAMPLE.glob("sor-global-2024-03-14-full-0000*-0000*.csv"))


def hours(row) -> float:
    start = dt.datetime.fromisoformat(row["content_date"])
    return (dt.datetime.fromisoformat(row["application_date"]) - start).total_seconds() / 3600


@pytest.fixture(scope="module")
def raw():
    return statements(parts())


@pytest.fixture(scope="module")
def cube():
    return insights.load_source(DUMP)


def total(cube, metric: str, **filters):
    return cube.query(metric, filters=filters or None)[metric].item()


def test_the_daily_zip_of_zips_and_its_csv_parts_give_the_same_cube(cube):
    with zipfile.ZipFile(DUMP) as outer:
        inner = [n for n in outer.namelist() if n.endswith(".csv.zip")]
        assert inner and all(zipfile.ZipFile(io.BytesIO(outer.read(n))).namelist() for n in inner)
    from_parts = insights.load_source(
        parts()[0].parent, kind="dsa_statements"
    )  # the folder also holds the zip: duplicates
    assert cube.provenance.kind == "dsa_statements"
    assert total(cube, "actions") == len(statements(parts()))
    assert total(from_parts, "actions") == len(statements([*parts(), V2]))


def test_statements_count_per_platform_and_the_rates_come_from_their_fields(cube, raw):
    for platform in ["TikTok", "Google Shopping", "Pinterest", "AliExpress"]:
        mine = [r for r in raw if r["platform_name"] == platform]
        assert total(cube, "actions", platform=platform) == len(mine)
        own = sum(r["source_type"] == "SOURCE_VOLUNTARY" for r in mine)
        assert total(cube, "proactive_rate", platform=platform) == pytest.approx(own / len(mine))
        fully = sum(r["automated_decision"] == "AUTOMATED_DECISION_FULLY" for r in mine)
        assert total(cube, "automation_rate", platform=platform) == pytest.approx(fully / len(mine))
        fast = sum(hours(r) <= 24 for r in mine)
        assert total(cube, "within_24h_rate", platform=platform) == pytest.approx(fast / len(mine))


def test_the_source_type_and_automated_detection_give_the_detection_source(cube, raw):
    automated = sum(r["source_type"] == "SOURCE_VOLUNTARY" and r["automated_detection"] == "Yes" for r in raw)
    notices = sum(r["source_type"] == "SOURCE_ARTICLE_16" for r in raw)
    assert total(cube, "actions", detection_source="automated") == automated
    assert total(cube, "actions", detection_source="user_report") == notices


def test_categories_and_keywords_give_harm_areas(cube, raw):
    speech = sum(r["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH" for r in raw)
    assert total(cube, "actions", policy="hate_speech") == speech
    csam = sum("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL" in r["category_specification"] for r in raw)
    assert csam == 1 and total(cube, "actions", policy="child_sexual_exploitation") == csam
    adult = sum(json.loads(r["category_specification"] or "[]") == ["KEYWORD_ADULT_SEXUAL_MATERIAL"] for r in raw)
    assert total(cube, "actions", policy="sexual_activity") == adult


def test_territorial_scope_gives_countries(cube, raw):
    single = {}
    for r in raw:
        scope = json.loads(r["territorial_scope"])
        if len(scope) == 1:
            single[scope[0]] = single.get(scope[0], 0) + 1
    got = dict(cube.query("actions", by=["country"]).iter_rows())
    assert {k: v for k, v in got.items() if k not in ("EU", "EEA")} == single
    assert sum(got.values()) == len(raw)


def test_schema_v2_statements_load_with_the_new_categories():
    rows = statements([V2])
    cube = insights.load_source(V2)
    assert total(cube, "actions") == len(rows) == 11
    assert total(cube, "actions", harm_area="other_violations") == sum(
        r["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC" for r in rows
    )
    assert cube.date_range == (dt.date(2025, 7, 1), dt.date(2025, 7, 1))
    assert any("v2 (38 columns)" in c.text for c in cube.provenance.caveats)


def test_repeated_statements_are_rejected_and_kept_with_the_reason(cube):
    rejected = cube.provenance.rejected
    assert cube.provenance.rows_rejected == 1 and cube.provenance.rows_read == 202
    assert rejected["_reason"].str.starts_with("duplicate uuid 03b1b1c9").all()


def test_caveats_record_the_category_change_and_stray_statements(cube):
    assert any(
        c.kind == "methodology" and c.date == dt.date(2025, 7, 1) and "v2" in c.text for c in cube.provenance.caveats
    )
    assert any(c.kind == "defect" and c.date == dt.date(2024, 8, 29) for c in cube.provenance.caveats)


def test_the_mapping_is_data_naming_taxonomy_codes():
    table = dsa.mapping()
    parents = policy_harm_areas()
    assert set(table["harm_area"].drop_nulls()) <= set(labels("harm_area"))
    for row in table.filter(pl.col("policy").is_not_null()).iter_rows(named=True):
        assert parents[row["policy"]] == row["harm_area"], row


@pytest.fixture(scope="module")
def summary() -> pl.LazyFrame:
    return (
        pl.scan_parquet(SUMMARY)
        .filter(pl.col("platform").is_not_null(), pl.col("entity").is_null())
        .with_columns(pl.col("platform", "column", "variant").cast(pl.String))
    )


def counts(summary, column: str, **match) -> pl.DataFrame:
    chosen = summary.filter(pl.col("column") == column)
    for name, value in match.items():
        chosen = chosen.filter(pl.col(name) == value)
    return chosen.collect()


def test_the_summary_by_category_adds_up_to_every_statement(summary):
    cube = insights.load_source(SUMMARY)
    assert cube.provenance.kind == "dsa_summary" and cube.time_grain == "day"
    assert total(cube, "actions") == counts(summary, "rows")["count"].sum()
    assert total(cube, "actions") == counts(summary, "category")["count"].sum()
    day = dt.date(2024, 3, 14)
    tiktok = counts(summary, "category", platform="TikTok", start_date=day)
    speech = tiktok.filter(pl.col("variant") == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")["count"].item()
    got = cube.query("actions", filters={"platform": "TikTok", "policy": "hate_speech"}, start=day, end=day)[
        "actions"
    ].item()
    assert got == speech


def test_the_summary_platform_breakdown_has_automation_and_own_initiative(summary):
    cube = insights.load_source(SUMMARY, breakdown="platform")
    month = cube.query(
        ["actions", "automation_rate", "proactive_rate"],
        filters={"platform": "TikTok"},
        start="2024-03-01",
        end="2024-03-31",
    )
    march = pl.col("start_date").is_between(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    rows = counts(summary, "rows", platform="TikTok").filter(march)["count"].sum()
    fully = (
        counts(summary, "automated_decision", platform="TikTok", variant="AUTOMATED_DECISION_FULLY")
        .filter(march)["count"]
        .sum()
    )
    own = counts(summary, "source_type", platform="TikTok", variant="SOURCE_VOLUNTARY").filter(march)["count"].sum()
    assert month.row(0) == (rows, pytest.approx(fully / rows), pytest.approx(own / rows))


@pytest.mark.parametrize(("platform", "month"), [("TikTok", "2024-03"), ("Facebook", "2025-01")])
def test_the_summary_platform_breakdown_has_automated_detection_and_the_moderation_delay(platform, month):
    """Against the monthly aggregation shipped beside the summary (derived_monthly_*.csv, built
    with pandas from the same parquet; its mean delays are rounded to whole seconds)."""
    cube = insights.load_source(SUMMARY, breakdown="platform")
    start = dt.date.fromisoformat(f"{month}-01")
    end = (start + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    got = cube.query(
        ["actions", "automated_detection_rate", "automation_rate", "mean_hours_to_action"],
        filters={"platform": platform},
        start=start,
        end=end,
    )
    fields = pl.read_csv(SUMMARY.parent / "derived_monthly_field_counts.csv").filter(
        pl.col("month") == month, pl.col("platform") == platform
    )

    def field(column: str, value: str) -> int:
        """A value's count in the month (0 where the aggregation has no row: Facebook has no fully
        automated decisions)."""
        return fields.filter(pl.col("column") == column, pl.col("value") == value)["count"].sum()

    delay = pl.read_csv(SUMMARY.parent / "derived_monthly_delays.csv").filter(
        pl.col("month") == month, pl.col("platform") == platform, pl.col("metric") == "moderation_delay"
    )
    rows = field("rows", "ALL")
    assert got.row(0) == (
        rows,
        pytest.approx(field("automated_detection", "Yes") / rows),
        pytest.approx(field("automated_decision", "AUTOMATED_DECISION_FULLY") / rows),
        pytest.approx(delay["mean_seconds"].item() / 3600, abs=1 / 3600),
    )


def test_the_summary_by_category_says_why_it_has_no_automation_or_delays():
    cube = insights.load_source(SUMMARY)
    assert not {"automation_rate", "automated_detection_rate", "mean_hours_to_action"} & set(cube.available_metrics())
    assert any("does not split automated detection" in c.text for c in cube.provenance.caveats)


def test_the_summary_source_type_and_scope_breakdowns(summary):
    sources = insights.load_source(SUMMARY, breakdown="source_type")
    flagged = counts(summary, "source_type", platform="Facebook", variant="SOURCE_TRUSTED_FLAGGER")["count"].sum()
    assert total(sources, "actions", platform="Facebook", detection_source="trusted_flagger") == flagged
    scopes = insights.load_source(SUMMARY, breakdown="territorial_scope")
    germany = counts(summary, "territorial_scope", platform="Amazon", variant="DE")["count"].sum()
    assert total(scopes, "actions", platform="Amazon", country="DE") == germany
    eea = (
        counts(summary, "territorial_scope", platform="Amazon")
        .filter(pl.col("variant").is_in(["EEA", "EEA_no_IS"]))["count"]
        .sum()
    )
    assert total(scopes, "actions", platform="Amazon", country="EEA") == eea


def test_the_daily_summary_loads_within_two_gigabytes():
    """Memory is bounded (its load time is measured by python -m bench.public_data, not here)."""
    # The peak is the child's own high-water mark (VmHWM): ru_maxrss keeps, across fork and exec,
    # the size of the process that started it, a pytest worker that holds 2-3 GB late in the suite.
    script = (
        "import re, insights; "
        f"cube = insights.load_source({str(SUMMARY)!r}); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1); "
        "print(int(hwm) / 1024 ** 2, len(cube.data))"
    )
    # glibc's per-thread malloc arenas make the peak depend on how busy the machine is; two arenas
    # measure the load's own memory
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    peak_gb, cells = float(out[0]), int(out[1])
    assert peak_gb <= 2 and cells > 100_000, (peak_gb, cells)

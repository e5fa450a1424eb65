"""Cube.query against answers computed independently from the events with plain Polars."""

import datetime as dt

import polars as pl
import pytest

import insights
from insights import DataError
from insights.formatting import value_text
from insights.metrics import measures, metrics


@pytest.fixture(scope="module")
def events(sample_dir) -> pl.DataFrame:
    frame = pl.read_parquet(sample_dir / "*.parquet")
    return frame.with_columns(
        pl.col(pl.Categorical).cast(pl.String),
        day=pl.col("actioned_at").dt.date(),
        hours=(pl.col("actioned_at") - pl.col("created_at")).dt.total_seconds() / 3600,
    )


def test_total_actions_equal_event_count(sample_cube, events):
    assert sample_cube.query("actions")["actions"].item() == len(events)
    assert sample_cube.provenance.rows_read == len(events)
    assert sample_cube.provenance.rows_rejected == 0
    assert sample_cube.provenance.as_of == events["day"].max()


def test_counts_by_dimension_and_period(sample_cube, events):
    got = sample_cube.query("actions", by=["harm_area"], grain="month", start="2025-03-01", end="2025-05-31")
    want = (
        events.filter(pl.col("day").is_between(dt.date(2025, 3, 1), dt.date(2025, 5, 31)))
        .group_by(period=pl.col("day").dt.truncate("1mo"), harm_area="harm_area")
        .agg(actions=pl.len())
        .sort("period", "harm_area")
    )
    assert got.columns == ["period", "harm_area", "actions"]
    assert got.equals(want.with_columns(pl.col("actions").cast(pl.Int64)))


def test_rates_are_ratios_of_sums_on_a_filtered_slice(sample_cube, events):
    filters = {"harm_area": ["hateful_behavior", "self_harm"], "region": "Europe", "content_type": ["video", "live"]}
    got = sample_cube.query(
        [
            "proactive_rate",
            "overturn_rate",
            "within_24h_rate",
            "zero_view_rate",
            "mean_views_before_action",
            "appeal_rate",
            "automation_rate",
        ],
        by=["country"],
        filters=filters,
        grain="quarter",
    )
    europe = ["GB", "DE", "FR", "IT", "ES", "PL", "NL", "BE", "SE", "RO", "UA", "PT", "RU"]
    want = (
        events.filter(
            pl.col("harm_area").is_in(filters["harm_area"])
            & pl.col("country").is_in(europe)
            & pl.col("content_type").is_in(filters["content_type"])
        )
        .group_by(period=pl.col("day").dt.truncate("1q"), country="country")
        .agg(
            proactive_rate=pl.col("proactive").mean(),
            overturn_rate=pl.col("overturned").sum() / pl.col("appealed").sum(),
            within_24h_rate=(pl.col("hours") <= 24).mean(),
            zero_view_rate=(pl.col("views_before_action") == 0).mean(),
            mean_views_before_action=pl.col("views_before_action").mean(),
            appeal_rate=pl.col("appealed").mean(),
            automation_rate=pl.col("automated").mean(),
        )
        .sort("period", "country")
    )
    assert got.shape == want.shape
    want = want.with_columns(pl.col(pl.Float64).fill_nan(None))  # 0/0 is "no value", as the cube says
    for column in want.columns[2:]:
        assert got[column].is_null().to_list() == want[column].is_null().to_list(), column
        assert got[column].drop_nulls().to_list() == pytest.approx(want[column].drop_nulls().to_list(), rel=1e-12), (
            column
        )


def test_week_grain_starts_on_monday(sample_cube):
    periods = sample_cube.query("actions", grain="week")["period"]
    assert set(periods.dt.weekday()) == {1}


def test_values_are_ranked_by_actions(sample_cube, events):
    top = events.group_by("country").len().sort("len", descending=True)["country"].head(3).to_list()
    assert sample_cube.values("country")[:3] == top


def test_every_metric_countable_from_events_is_available(sample_cube):
    """Events carry every column a ``from_events`` rule reads, so each metric whose measures are all
    countable from events must be available; report-only metrics (uploads, view buckets…) must not."""
    registry = measures()
    countable = {n for n, m in metrics().items() if all(registry[x].countable_from_events for x in m.measures)}
    assert {"actions", "proactive_rate", "within_24h_rate", "overturn_rate"} <= countable
    assert "actions_per_10k_uploads" not in countable
    assert set(sample_cube.available_metrics()) == countable


def test_a_metric_without_its_measures_is_a_clear_error(sample_cube):
    with pytest.raises(DataError, match="needs the measure\\(s\\) \\['uploads'\\]"):
        sample_cube.query("actions_per_10k_uploads")
    with pytest.raises(DataError, match="cannot break down by \\['planet'\\]"):
        sample_cube.query("actions", by=["planet"])
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        sample_cube.query("nope")


def test_exposure_rate_from_pre_aggregated_input(tmp_path):
    table = pl.DataFrame(
        {
            "date": ["2025-01-01", "2025-01-01", "2025-01-02"],
            "harm_area": ["Hate Speech", "self_harm", "self_harm"],
            "country": ["US", "US", "BR"],
            "actions": [30, 10, 5],
            "uploads": [100_000, 100_000, None],
        }
    )
    table.write_csv(tmp_path / "agg.csv")
    cube = insights.load_source(tmp_path / "agg.csv")
    got = cube.query(["actions", "actions_per_10k_uploads"], by=["harm_area"])
    assert got.rows() == [("hateful_behavior", 30, pytest.approx(3.0)), ("self_harm", 15, pytest.approx(1.0))]
    assert got.schema["actions"] == pl.Int64, "whole-number counts stay integers"

    sums = cube.sums("actions_per_10k_uploads", by=["harm_area"])
    assert sums.columns == ["harm_area", "numerator", "denominator", "actions_per_10k_uploads"]
    assert sums.rows() == [
        ("hateful_behavior", 30, 100_000, pytest.approx(3.0)),
        ("self_harm", 10, 100_000, pytest.approx(1.0)),
    ], "sums are paired cell by cell, as the rate is"
    assert cube.sums("actions", by=["harm_area"])["denominator"].to_list() == [None, None]


def test_missing_measure_stays_null_not_zero(tmp_path):
    pl.DataFrame(
        {"date": ["2025-01-01"], "harm_area": ["spam"], "actions": [4], "appeals": [None]},
        schema_overrides={"appeals": pl.Int64},
    ).write_csv(tmp_path / "a.csv")
    cube = insights.load_source(tmp_path / "a.csv")
    assert cube.query(["actions", "appeal_rate"]).rows() == [(4, None)]


def test_format_follows_the_registry():
    assert value_text(insights.metric("proactive_rate"), 0.9234) == "92.3%"
    assert value_text(insights.metric("actions"), 1_234_567) == "1.23M"
    assert value_text(insights.metric("actions"), 1234) == "1,234"
    assert value_text(insights.metric("mean_views_before_action"), None) == "n/a"


def test_rollups_group_null_dimension_values_apart(tmp_path):
    """The packed-key roll-up keeps a null country apart from every real one."""
    rows = 250_000  # above the roll-up threshold
    frame = pl.DataFrame(
        {
            "date": ["2025-01-01"] * rows,
            "harm_area": ["spam"] * rows,
            "country": [None if i % 5 == 0 else ("US" if i % 2 else "BR") for i in range(rows)],
            "language": [str(i) for i in range(rows)],
            "actions": [1] * rows,
        }
    )
    frame.write_parquet(tmp_path / "agg.parquet")
    cube = insights.load_source(tmp_path / "agg.parquet")
    assert len(cube.data) >= 200_000
    got = dict(cube.query("actions", by=["country"]).rows())
    assert got == {"BR": 100_000, "US": 100_000, None: 50_000}


@pytest.mark.parametrize(
    ("source", "kind", "name"),
    [
        ("/srv/harm/real_data/tiktok/cger_2024q4.csv", "tiktok_cger", "TikTok Community Guidelines Enforcement Report"),
        ("/srv/harm/real_data/meta", "meta_cser", "Meta CSER"),
        ("/srv/dumps/sor-global-2025-06-01-full.zip", "dsa_statements", "EU DSA Transparency Database"),
        ("/srv/dumps/dsa_summary.csv", "dsa_summary", "EU DSA Transparency Database"),
        ("/srv/app/sample_data/generated/events", "events", "bundled sample data"),
        ("/srv/app/uploads/3f2a9c/enforcement log.csv", "events", "enforcement log.csv"),
        ("C:\\Users\\analyst\\q3.parquet", "aggregate", "q3.parquet"),
        ("['/data/a.csv', '/data/b.parquet']", "aggregate", "a.csv, b.parquet"),
        ("postgresql+psycopg://harm:***@10.0.0.5:5432/harm_insights events", "events", "PostgreSQL table events"),
        ("sqlite:////srv/app/mod.db query", "events", "SQLite query"),
    ],
)
def test_source_name_is_what_a_reader_calls_the_source(source, kind, name):
    from insights.cube import Provenance, source_name

    assert source_name(Provenance(source, kind, rows_read=1)) == name


def test_source_name_of_a_loaded_sql_source_has_no_credentials_or_host(tmp_path):
    import sqlalchemy as sa

    from insights.cube import source_name

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'mod.db'}")
    pl.DataFrame(
        {
            "event_id": [1, 2],
            "actioned_at": [dt.datetime(2026, 1, 5, 9), dt.datetime(2026, 1, 6, 9)],
            "harm_area": ["self_harm", "self_harm"],
        }
    ).write_database("events", engine)
    cube = insights.load_source(str(engine.url), table="events")
    assert str(tmp_path) in cube.provenance.source, "the provenance keeps where it came from"
    assert source_name(cube.provenance) == "SQLite table events"

"""An engine-backed cube: chosen by size and source, overridable; answers from the cache and the
materialised aggregates equal those from the raw events; a changed file is noticed."""

import datetime as dt
import os

import polars as pl
import pytest

import insights
from insights import DataError
from insights.engines.choice import choose_engine

QUESTIONS = [
    {"metrics": ["actions", "proactive_rate"], "by": ["harm_area"], "grain": "week"},
    {"metrics": "overturn_rate", "by": ["country"], "filters": {"harm_area": "self_harm"}},
    {"metrics": "within_24h_rate", "by": ["region"], "grain": "month", "start": "2025-03-01", "end": "2025-08-31"},
    {"metrics": "actions", "by": ["detection_source"], "filters": {"region": ["Europe", "Africa"]}},
]


def test_the_engine_is_chosen_by_format_and_size_and_can_be_overridden(sample_dir, tmp_path, monkeypatch):
    files = sorted(sample_dir.glob("*.parquet"))
    monkeypatch.delenv("HARM_INSIGHTS_ENGINE", raising=False)
    monkeypatch.setenv("HARM_INSIGHTS_DUCKDB_FROM_MB", "1000")
    assert choose_engine(files) == "polars"
    monkeypatch.setenv("HARM_INSIGHTS_DUCKDB_FROM_MB", "0.001")
    assert choose_engine(files) == "duckdb"
    assert choose_engine(files, "polars") == "polars"
    monkeypatch.setenv("HARM_INSIGHTS_ENGINE", "spark")
    assert choose_engine(files) == "spark"
    (tmp_path / "e.csv").write_text("actioned_at,harm_area\n2026-01-01,spam\n")
    with pytest.raises(DataError, match="scans Parquet files in place"):
        choose_engine([tmp_path / "e.csv"], "duckdb")
    with pytest.raises(DataError, match="unknown engine"):
        choose_engine(files, "oracle")


def test_duckdb_answers_equal_polars_from_events_cache_and_aggregates(duckdb_cube, sample_cube):
    assert duckdb_cube.engine == "duckdb" and sample_cube.engine == "polars"
    assert duckdb_cube.provenance.rows_read == sample_cube.provenance.rows_read
    assert duckdb_cube.date_range == sample_cube.date_range
    assert duckdb_cube.values("country") == sample_cube.values("country")
    raw = [duckdb_cube.query(**q) for q in QUESTIONS]
    cached = [duckdb_cube.query(**q) for q in QUESTIONS]
    assert all(a.equals(b) for a, b in zip(cached, raw, strict=True)), "cached answers are the same answers"
    duckdb_cube.warm()
    progress = duckdb_cube.store.aggregates.wait(timeout=300)
    assert progress.done and progress.ready == progress.planned and not progress.errors
    duckdb_cube.store.answers.clear()
    for question, before in zip(QUESTIONS, raw, strict=True):
        from_aggregates = duckdb_cube.query(**question)
        in_memory = sample_cube.query(**question)
        for frame in (from_aggregates, before):
            assert frame.columns == in_memory.columns
            for column in frame.columns:
                left, right = frame[column], in_memory[column]
                if left.dtype.is_float():
                    assert left.to_list() == pytest.approx(right.to_list(), rel=1e-12, nan_ok=True)
                else:
                    assert left.to_list() == right.to_list(), column


def test_an_engine_cube_has_no_frame_in_memory(duckdb_cube):
    with pytest.raises(DataError, match="stay in duckdb"):
        duckdb_cube.data  # noqa: B018


def test_a_changed_file_is_noticed(tmp_path, sample_dir, engine_cache):
    folder = tmp_path / "events"
    folder.mkdir()
    first = sorted(sample_dir.glob("*.parquet"))[0]
    frame = pl.read_parquet(first).head(5000)
    frame.write_parquet(folder / "a.parquet")
    cube = insights.load_source(folder, engine="duckdb")
    assert not cube.changed()
    last = cube.date_range[1]
    up_to_last = cube.query("actions", end=last)["actions"].item()
    frame.head(10).write_parquet(folder / "b.parquet")
    assert cube.changed()
    fresh = insights.load_source(folder, engine="duckdb")
    assert fresh.provenance.rows_read == 5010
    later = frame.head(10).with_columns(pl.col("actioned_at") + pl.duration(days=400))
    pl.concat([frame, later]).write_parquet(folder / "a.parquet")  # the loaded file grows
    assert cube.changed()
    assert cube.query("actions", end=last)["actions"].item() == up_to_last, "the end asked still holds"


def test_rejected_parquet_rows_say_file_and_row(tmp_path, sample_dir, engine_cache):
    first = sorted(sample_dir.glob("*.parquet"))[0]
    frame = pl.read_parquet(first).head(100)
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 9)
        .then(-5)
        .otherwise(pl.col("views_before_action"))
        .alias("views_before_action"),
        pl.when(pl.int_range(pl.len()) < 4).then(None).otherwise(pl.col("created_at")).alias("created_at"),
    )
    bad.write_parquet(tmp_path / "bad.parquet")
    cube = insights.load_source(tmp_path / "bad.parquet", engine="duckdb")
    polars_cube = insights.load_source(tmp_path / "bad.parquet", engine="polars")
    assert (cube.provenance.rows_read, cube.provenance.rows_rejected) == (100, 1)
    assert (polars_cube.provenance.rows_read, polars_cube.provenance.rows_rejected) == (100, 1)
    row = cube.provenance.rejected.row(0, named=True)
    assert row["_source"].endswith("bad.parquet") and row["_row"] == 10 and row["_column"] == "views_before_action"
    assert cube.query("within_24h_rate").equals(polars_cube.query("within_24h_rate"))


def test_environment_variable_chooses_the_engine(sample_dir, monkeypatch, engine_cache):
    monkeypatch.setenv("HARM_INSIGHTS_ENGINE", "duckdb")
    assert insights.load_source(sample_dir).engine == "duckdb"
    assert os.environ["HARM_INSIGHTS_ENGINE"] == "duckdb"


def test_one_slice_at_every_grain_is_one_engine_query(sample_dir, engine_cache, sample_cube, monkeypatch):
    """A slice's totals by day, week, month, quarter and year (a trend, its noise history, a grain
    switch) are one query to the engine; dates beyond the data's ask the same question, dates
    inside it another; each answer equals the in-memory cube's."""
    cube = insights.load_source(sample_dir, engine="duckdb")
    asked: list[str] = []
    run = type(cube.store.connection).run
    monkeypatch.setattr(type(cube.store.connection), "run", lambda self, sql: asked.append(sql) or run(self, sql))
    first, last = cube.date_range
    for where in ({}, {"filters": {"harm_area": "self_harm", "region": "Europe"}}):
        asked.clear()
        for grain in ("day", "week", "month", "quarter", "year"):
            ours = cube.query("actions", grain=grain, **where).sort("period")
            assert ours.equals(sample_cube.query("actions", grain=grain, **where).sort("period")), (grain, where)
        beyond = {"start": first - dt.timedelta(days=30), "end": last + dt.timedelta(days=9)}
        assert cube.query("actions", grain="month", **beyond, **where).equals(
            cube.query("actions", grain="month", **where)
        )
        assert len(asked) == 1, asked
        inside = {"start": first + dt.timedelta(days=40), "end": last - dt.timedelta(days=40)}
        ours = cube.query("actions", grain="week", **inside, **where).sort("period")
        assert ours.equals(sample_cube.query("actions", grain="week", **inside, **where).sort("period"))
        assert len(asked) == 2, "dates inside the data are a question of their own"

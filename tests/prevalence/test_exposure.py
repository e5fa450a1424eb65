"""insights.exposure.load_exposure on the generated exposure tables: sums, grains, joins to the cube."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from insights.errors import DataError
from insights.exposure import load_exposure


@pytest.fixture(scope="module")
def generated(sample_dir: Path) -> Path:
    return sample_dir.parent


def test_sums_per_slice_and_grain(generated):
    raw = pl.read_parquet(generated / "exposure" / "*.parquet")
    by_day = load_exposure(generated).collect()
    assert by_day.columns == ["date", "country", "content_type", "uploads", "views"]
    assert by_day.height == raw.height and by_day["views"].sum() == raw["views"].sum()
    weekly = load_exposure(generated, ["date", "country"], "week").collect()
    assert (weekly["date"].dt.weekday() == 1).all(), "weeks start on Monday"
    br = weekly.filter((pl.col("country") == "BR") & (pl.col("date") == dt.date(2026, 6, 15)))
    want = raw.filter(
        (pl.col("country") == "BR") & pl.col("date").is_between(dt.date(2026, 6, 15), dt.date(2026, 6, 21))
    )
    assert br["uploads"].item() == want["uploads"].sum() and br["views"].item() == want["views"].sum()
    totals = load_exposure(generated / "exposure", ["content_type"]).collect()
    assert totals["views"].sum() == raw["views"].sum() and totals.height == 7


def test_joins_to_the_cube_on_shared_dimensions(generated, sample_cube):
    keys = ["date", "country", "content_type"]
    actions = sample_cube.data.lazy().group_by(keys).agg(pl.col("actions").sum())
    joined = actions.join(load_exposure(generated), on=keys, how="left").collect()
    assert joined["views"].null_count() == 0, "every cube cell has its exposure"
    assert joined["actions"].sum() == sample_cube.data["actions"].sum()


def test_a_folder_without_exposure_tables_is_refused(tmp_path):
    with pytest.raises(DataError, match="no Parquet exposure tables"):
        load_exposure(tmp_path)
    pl.DataFrame({"date": [dt.date(2026, 1, 1)], "country": ["BR"]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match="uploads or views"):
        load_exposure(tmp_path, ["date", "country"])

"""Exposure tables: uploads and views per day × country × content type.

They are the denominators of exposure-based rates (actions per 10k views, per 10k uploads)
and of prevalence's "all views". A table has the columns ``date`` (Date), the dimensions it is
cut by (``country``, ``content_type`` …) and the additive measures ``uploads`` and/or
``views``; ``sample_data/generate.py`` writes them to ``generated/exposure/``. Exposure is not
per harm area: join it to the cube on the dimensions both have.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from insights.errors import DataError
from insights.periods import Grain, period_start

#: Additive exposure measures, as named in the cube's measure registry.
EXPOSURE_MEASURES = ("uploads", "views")


def load_exposure(
    folder: str | Path, by: Sequence[str] = ("date", "country", "content_type"), grain: Grain = "day"
) -> pl.LazyFrame:
    """Uploads and views summed per ``by``, from the Parquet exposure tables in ``folder``.

    ``folder`` holds the tables, or holds them in ``exposure/`` (``sample_data/generated``).
    ``date`` in ``by`` is truncated to ``grain`` (``week`` starts on Monday), like the cube's
    periods; leave ``date`` out for totals over all days. The result is lazy, one row per
    combination of ``by``, with the columns and dtypes of the cube's own data (``date``,
    Categorical dimensions for the generated tables) and Int64 sums, so it joins to
    ``cube.data`` on those columns. (``Cube.query`` answers name the date ``period`` and give
    dimensions as text: rename and cast to join there.)
    """
    path = Path(folder)
    path = path / "exposure" if (path / "exposure").is_dir() else path
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no Parquet exposure tables")
    frame = pl.scan_parquet(files)
    columns = frame.collect_schema().names()
    measures = [m for m in EXPOSURE_MEASURES if m in columns]
    missing = [c for c in by if c not in columns]
    if missing or not measures:
        raise DataError(f"{path}: exposure tables need {list(by)} and uploads or views; missing {missing or 'both'}")
    if "date" in by:
        frame = frame.with_columns(period_start(pl.col("date"), grain))
    return frame.group_by(list(by)).agg(pl.col(m).sum().cast(pl.Int64) for m in measures)

"""What the public-report importers share: sniffing, published numbers, quarters, caveats, the finish.

Public transparency reports (TikTok, Meta, the EU DSA Transparency Database) are read by one
small importer each; this module holds the pieces they have in common so none repeats them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from insights.cube import Caveat, Cube, known_sum
from insights.definitions import DEFINITIONS, read_toml
from insights.errors import DataError
from insights.metrics import MEASURES
from insights.model import DIMENSIONS
from insights.periods import Grain
from insights.sources import codes
from insights.sources.rejections import combine
from insights.sources.tables import is_uploaded_file
from insights.sources.tabular import _raw_counts, finish

#: Month abbreviation of a quarter's first month → the quarter's first month number.
QUARTER_MONTHS = {"jan": 1, "apr": 4, "jul": 7, "oct": 10}


def csv_sources(src: Any, suffix: str = ".csv") -> list[tuple[str, Any]]:
    """(name, path or uploaded file) of every file with ``suffix`` in a path, a folder or an upload."""
    if is_uploaded_file(src):
        return [(Path(src.name).name, src)]
    if not isinstance(src, (str, Path)):
        return []
    path = Path(src)
    if path.is_dir():
        return [(str(p), p) for p in sorted(path.rglob(f"*{suffix}")) if p.is_file()]
    return [(str(path), path)] if path.is_file() and path.name.lower().endswith(suffix) else []


def read_bytes(source: Any) -> bytes:
    """The content of a path or an uploaded file."""
    if isinstance(source, Path):
        return source.read_bytes()
    return source.getvalue() if hasattr(source, "getvalue") else source.read()


def header_of(source: Any) -> list[str]:
    """The lower-cased, trimmed column names of a CSV's first line (BOM removed); [] if unreadable."""
    try:
        if isinstance(source, Path):
            with source.open("rb") as handle:
                head = handle.read(4096)
        else:
            head = read_bytes(source)[:4096]
        line = head.decode("utf-8-sig", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return []
    return [name.strip().lower() for name in next(csv.reader([line]))]


def claims_csv(src: Any, accepts: Any) -> bool:
    """True when the first CSV of ``src`` (a file, a folder or an upload) has a header ``accepts``."""
    found = csv_sources(src)
    return bool(found) and accepts(header_of(found[0][1]))


def read_text_csv(name: str, data: bytes) -> pl.DataFrame:
    """A CSV as text columns (BOM removed); DataError when it is not UTF-8 or has no rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not valid UTF-8 at byte offset {exc.start}; save the report as UTF-8") from None
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{name}: cannot be parsed as CSV ({exc})") from None
    if frame.is_empty():
        raise DataError(f"{name}: the file has a header but no data rows")
    return frame.with_row_index("_row", offset=1)


def published_number(text: pl.Expr) -> pl.Expr:
    """A published figure as a float: thousands separators dropped, '96.90%' → 0.969, 'N/A' → null.

    Anything else that is not a number becomes null too (the caller reports those rows).
    """
    clean = text.str.strip_chars().str.replace_all(",", "")
    percent = clean.str.ends_with("%")
    number = clean.str.strip_suffix("%").cast(pl.Float64, strict=False)
    return pl.when(percent).then(number / 100).otherwise(number)


def quarter_start(period: pl.Expr) -> pl.Expr:
    """First day of a quarter written 'Jan-Mar 2024' (TikTok) or '2024Q1' (Meta); null otherwise."""
    text = period.str.strip_chars()
    spelled = (
        text.str.extract(r"^(\w{3})-\w{3} (\d{4})$", 1)
        .str.to_lowercase()
        .replace_strict(QUARTER_MONTHS, default=None, return_dtype=pl.Int32)
    )
    spelled_year = text.str.extract(r"^\w{3}-\w{3} (\d{4})$", 1).cast(pl.Int32)
    coded_year = text.str.extract(r"^(\d{4})Q[1-4]$", 1).cast(pl.Int32)
    coded = text.str.extract(r"^\d{4}Q([1-4])$", 1).cast(pl.Int32) * 3 - 2
    return pl.date(pl.coalesce(spelled_year, coded_year), pl.coalesce(spelled, coded), 1)


def newest_release(rows: pl.DataFrame) -> pl.DataFrame:
    """For every period (``date``), the rows of the newest release (``as_of``) that covers it.

    Reports that republish their whole history each quarter (TikTok, Meta) revise older figures;
    the newest release is the publisher's current word.
    """
    return rows.filter(pl.col("as_of") == pl.col("as_of").max().over("date"))


@cache
def _known_caveats() -> dict[str, list[dict[str, Any]]]:
    return read_toml("public_caveats.toml")


def known_caveats(kind: str) -> list[Caveat]:
    """The documented caveats of one source kind (``definitions/public_caveats.toml``)."""
    return [
        Caveat(entry["text"], kind=entry["kind"], date=entry.get("date"), harm_area=entry.get("harm_area"))
        for entry in _known_caveats().get(kind, [])
    ]


def definitions_csv(name: str) -> pl.DataFrame:
    """A mapping table from ``insights/definitions`` (all columns as text, empty cells null)."""
    return pl.read_csv(DEFINITIONS / name, infer_schema=False)


def normalised_name(name: pl.Expr) -> pl.Expr:
    """A published label normalised for matching: case, '&' / 'and', spaces and dashes do not matter."""
    return (
        name.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[\s\-–_]+", " ")
        .str.strip_chars()
    )


def finish_report(
    raw: pl.DataFrame,
    name: str,
    kind: str,
    rows_read: int,
    caveats: Iterable[Caveat],
    rejected: Iterable[pl.DataFrame] = (),
    rows_rejected: int = 0,
    time_grain: Grain = "quarter",
) -> Cube:
    """Turn a report's cells (raw dimension values, measure columns) into a Cube.

    Countries are resolved to ISO codes (and regions derived), coded dimensions checked against
    the taxonomy; a market that is not a country raises DataError, since a report's market list is
    data the user cannot fix. Measures that are unknown stay null.
    """
    dims = [d for d in DIMENSIONS if d in raw.columns and d not in ("date", "region")]
    maps = codes.maps_for(raw, dims)
    if maps.bad_countries:
        raise DataError(f"{name}: markets {maps.bad_countries} are not countries; expected country names or ISO codes")
    measures = [m for m in MEASURES if m in raw.columns]
    counts = _raw_counts(raw, maps)
    frame = codes.apply_maps(raw.lazy(), maps, raw.columns)
    cube_dims = [d for d in DIMENSIONS if d in frame.collect_schema().names() and d != "date"]
    data = (
        frame.group_by("date", *cube_dims)
        .agg(known_sum(m).alias(m) for m in measures)
        .with_columns(pl.col(cube_dims).cast(pl.String).cast(pl.Categorical))
        .sort("date", *cube_dims, nulls_last=True)
        .collect()
    )
    notes = [*caveats, *codes.unknown_code_caveats(maps, counts)]
    return finish(data, name, kind, rows_read, combine(*rejected), notes, rows_rejected, time_grain=time_grain)

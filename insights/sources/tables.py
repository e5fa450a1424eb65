"""Reading tabular files (CSV, Parquet, a folder of them, or an uploaded file) into raw frames.

Each frame gets two bookkeeping columns, ``_source`` (file name) and ``_row`` (1-based data
row; the header is not counted), so every later rejection can point at its row. Lines that
cannot be parsed at all (ragged lines) are returned as rejections, never dropped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from insights.cube import empty_rejections
from insights.errors import DataError
from insights.sources.rejections import as_rejections

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")


@dataclass
class RawTable:
    """One input file as read: its rows (lazily, all columns as read, plus ``_row``) and the
    lines it could not parse."""

    name: str
    frame: pl.LazyFrame
    rejected: pl.DataFrame
    notes: list[str]


def is_table_path(src: Any) -> bool:
    """True for a CSV/Parquet path or a folder holding such files."""
    if not isinstance(src, (str, Path)):
        return False
    path = Path(src)
    return path.is_dir() or str(path).lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)


def is_uploaded_file(src: Any) -> bool:
    """True for a file-like object with a name (e.g. Streamlit's UploadedFile)."""
    return hasattr(src, "read") and hasattr(src, "name")


def files_in(path: Path) -> list[Path]:
    """The CSV/Parquet files of a folder (sorted), or the path itself."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if not path.is_dir():
        return [path]
    found = sorted(
        p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
    )
    if not found:
        raise DataError(f"{path}: the folder holds no .csv or .parquet files")
    return found


def read_tables(src: Any, encoding: str = "utf-8") -> list[RawTable]:
    """Read a path, folder or uploaded file into raw tables (one per file)."""
    if is_uploaded_file(src):
        data = src.getvalue() if hasattr(src, "getvalue") else src.read()
        return [read_one(Path(src.name).name, data, encoding)]
    return [read_one(str(p), p, encoding) for p in files_in(Path(src))]


def read_one(name: str, source: Path | bytes, encoding: str) -> RawTable:
    """Read one CSV or Parquet file given as a path or as bytes."""
    if name.lower().endswith(PARQUET_SUFFIXES):
        try:
            frame = pl.scan_parquet(source if isinstance(source, Path) else io.BytesIO(source))
            empty = frame.select(pl.len()).collect().item() == 0
        except Exception as exc:  # polars raises several types for a broken file
            raise DataError(f"{name}: not a readable Parquet file ({exc})") from None
        if empty:
            raise DataError(f"{name}: the Parquet file has no rows")
        return RawTable(name, frame.with_row_index("_row", offset=1), empty_rejections(), [])
    data = source.read_bytes() if isinstance(source, Path) else source
    return read_csv_bytes(name, data, encoding)


def _decode(name: str, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{name}: line {line} is not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"save the file as UTF-8 or pass encoding='latin-1' (or the file's encoding)"
        ) from None


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    counts = {d: header.count(d) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def read_csv_bytes(name: str, data: bytes, encoding: str = "utf-8") -> RawTable:
    """Parse CSV bytes: detect the delimiter, reject ragged lines, keep every column as text."""
    if not data.strip():
        raise DataError(f"{name}: the file is empty; expected a header row naming the columns, then data rows")
    text = _decode(name, data, encoding).lstrip("\ufeff")
    header = text.split("\n", 1)[0].rstrip("\r")
    delimiter = sniff_delimiter(header)
    notes = [] if delimiter == "," else [f"{name}: columns are separated by {delimiter!r}"]
    n_fields = len(next(csv.reader([header], delimiter=delimiter)))
    ragged = _ragged_records(text, delimiter, n_fields)
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            separator=delimiter,
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{name}: cannot be parsed as CSV ({exc})") from None
    if frame.is_empty():
        raise DataError(f"{name}: the file has a header but no data rows")
    frame = frame.with_row_index("_row", offset=1)
    rejected = empty_rejections()
    if ragged:
        reasons = pl.DataFrame(
            {
                "_row": [r for r, _ in ragged],
                "_reason": [f"line has {c} fields, the header has {n_fields}" for _, c in ragged],
            },
            schema={"_row": pl.UInt32, "_reason": pl.String},
        )
        rejected = as_rejections(frame.join(reasons, on="_row"), pl.col("_reason"), source=name)
        frame = frame.join(reasons, on="_row", how="anti")
    return RawTable(name, frame.lazy(), rejected, notes)


def _ragged_records(text: str, delimiter: str, n_fields: int) -> list[tuple[int, int]]:
    """(data row number, field count) of every record whose field count differs from the header's."""
    if '"' not in text:
        lines = pl.Series(text.splitlines()[1:], dtype=pl.String)
        lines = lines.filter(lines.str.len_chars() > 0)
        counts = lines.str.count_matches(delimiter, literal=True) + 1
        bad = (counts != n_fields).arg_true()
        return [(int(i) + 1, int(counts[i])) for i in bad]
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(records)
    out = []
    row = 0
    for record in records:
        if not record:
            continue
        row += 1
        if len(record) != n_fields:
            out.append((row, len(record)))
    return out

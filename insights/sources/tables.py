"""Reading tabular files (CSV, Parquet, a folder of them, or an uploaded file) into raw frames.

Each frame gets two bookkeeping columns, ``_source`` (file name) and ``_row`` (1-based data
record: the header and blank lines are not counted), so every later rejection can point at its
row. Records that cannot be parsed at all (ragged lines) are returned as rejections, never
dropped silently. Line endings may be LF, CRLF or CR; ``.gz`` files are unpacked (within the
limits of ``insights.limits``), and a header with more columns than allowed is refused before
anything is parsed.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from insights.cube import empty_rejections
from insights.errors import DataError
from insights.limits import check_columns, check_lines, gunzip
from insights.sources.rejections import as_rejections

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz")
# A field may be as long as a file may be (the upload and decompression limits bound that), not
# the csv module's default 128 kB, past which it raises instead of reading.
csv.field_size_limit(sys.maxsize)
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
        return read_parquet(name, source)
    data = source.read_bytes() if isinstance(source, Path) else source
    if name.lower().endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = gunzip(name, data)  # lines checked as it unpacks
    else:
        check_lines(name, data)
    return read_csv_bytes(name, data, encoding)


def read_parquet(name: str, source: Path | bytes) -> RawTable:
    """A Parquet file, read whole (a damaged page is a ``DataError`` here, not a traceback later);
    columns holding lists or structs are refused (a column of the canonical model holds one value)."""
    try:
        frame = pl.read_parquet(source if isinstance(source, Path) else io.BytesIO(source))
    except Exception as exc:  # polars and pyarrow raise several types for a broken file
        raise DataError(f"{name}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    check_columns(name, frame.width)
    nested = [c for c, t in frame.schema.items() if t.is_nested() or t == pl.Object]
    if nested:
        raise DataError(
            f"{name}: the column(s) {nested} hold lists or structures; expected one value per cell "
            "(a text, a number, a date or true/false)"
        )
    if frame.is_empty():
        raise DataError(f"{name}: the Parquet file has no rows")
    return RawTable(name, frame.with_row_index("_row", offset=1).lazy(), empty_rejections(), [])


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
    if "\r" in text:  # CRLF or old Mac CR-only line endings
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    header = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(header)
    check_columns(name, header.count(delimiter) + 1)
    notes = [] if delimiter == "," else [f"{name}: columns are separated by {delimiter!r}"]
    fields = next(csv.reader([header], delimiter=delimiter), [])
    n_fields = len(fields)
    if not any(field.strip() for field in fields):
        raise DataError(f"{name}: the first line is empty; expected a header row naming the columns")
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise DataError(f"{name}: the header names {repeated} more than once; each column needs its own name")
    text = _without_blank_records(text, delimiter)
    ragged = _ragged_records(text, delimiter, n_fields)
    try:
        frame = pl.read_csv(
            text.encode(),  # bytes: a StringIO holds four bytes a character
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


def _without_blank_records(text: str, delimiter: str) -> str:
    """The text without blank records between records: empty lines, and lines of nothing but
    delimiters and spaces (",,,," as spreadsheets export empty rows). They are not records:
    counting them would shift row numbers and count rows that do not exist. Such lines inside a
    quoted field stay."""
    filler = " \t" + delimiter
    if not re.search(rf"\n[{re.escape(filler)}]*(\n|$)", text):
        return text
    if '"' not in text:
        return "\n".join(line for line in text.split("\n") if line.strip(filler)) + "\n"
    kept, open_quote = [], False
    for line in text.split("\n"):
        if open_quote or line.strip(filler):
            kept.append(line)
        open_quote ^= line.count('"') % 2 == 1
    return "\n".join(kept) + "\n"


def _ragged_records(text: str, delimiter: str, n_fields: int) -> list[tuple[int, int]]:
    """(data row number, field count) of every record whose field count differs from the header's."""
    if '"' not in text:
        # split in Arrow, not into Python strings (a line costs 8 bytes, not 50+): records end at "\n"
        # only, as for the parser
        lines = pl.Series([text], dtype=pl.String).str.split("\n").explode().slice(1)
        lines = lines.filter(lines.str.len_bytes() > 0)
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

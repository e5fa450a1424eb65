"""Typing raw columns: text to timestamps, dates, booleans and numbers, row by row, with reasons.

A value that does not parse is never turned into a silent null: its row is rejected with the
column and what was expected. Columns that already have the right type pass through.
"""

from __future__ import annotations

import polars as pl

from insights.sources.rejections import as_rejections

DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")

EXPECTED = {
    "datetime": "a timestamp like 2024-05-01 13:45:00 (ISO 8601)",
    "date": "a date like 2024-05-01",
    "boolean": "true or false (also yes/no, 1/0)",
    "integer": "a whole number",
    "number": "a finite number",
}


def _text(column: str) -> pl.Expr:
    """The column as trimmed text, empty strings as null."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def _datetime_from_text(column: str) -> pl.Expr:
    text = _text(column).str.replace("T", " ", literal=True)
    aware = text.str.contains(r"(Z|[+-]\d\d:?\d\d)$")
    utc = (
        text.str.replace(r"Z$", "+00:00")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )
    naive = pl.coalesce([text.str.to_datetime(f, strict=False, time_unit="us") for f in DATETIME_FORMATS])
    return pl.when(aware).then(utc).otherwise(naive)


#: A number as text: digits with optional thousands separators in groups of three, a decimal
#: point and an exponent ("1,500" is 1500; "1,5" is not a number here, never 15).
NUMBER_TEXT = r"^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?([eE][+-]?\d+)?$|^[+-]?\.\d+([eE][+-]?\d+)?$"
#: Largest magnitude a number may have (exactly representable as a float, far above any real count).
MAX_WHOLE = 2**53


def _number(value: pl.Expr, kind: str) -> pl.Expr:
    """A float expression checked for the kind: finite, and whole and in range for an integer."""
    ok = value.is_finite() & (value.abs() <= MAX_WHOLE)
    if kind == "integer":
        ok = ok & (value == value.round())
        return pl.when(ok).then(value).cast(pl.Int64)
    return pl.when(ok).then(value)


def typed(column: str, kind: str, dtype: pl.DataType) -> pl.Expr:
    """An expression turning ``column`` (any dtype) into the canonical type ``kind``; null where a
    value cannot be read as that kind (a fraction where a whole number is expected, NaN, infinity,
    '1,5', a number where true/false is expected other than 1 or 0) — ``parse_columns`` rejects
    those rows, so nothing is silently truncated or guessed."""
    if kind == "datetime":
        if dtype == pl.Date:
            return pl.col(column).cast(pl.Datetime("us"))
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone:
                return pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(pl.Datetime("us"))
            return pl.col(column).cast(pl.Datetime("us"))
        if dtype in (pl.String, pl.Categorical, pl.Enum):
            return _datetime_from_text(column)
        return pl.lit(None, dtype=pl.Datetime("us"))
    if kind == "date":
        if dtype == pl.Date:
            return pl.col(column)
        if isinstance(dtype, pl.Datetime):
            return pl.col(column).dt.date()
        if dtype in (pl.String, pl.Categorical, pl.Enum):
            return _datetime_from_text(column).dt.date()
        return pl.lit(None, dtype=pl.Date)
    if kind == "boolean":
        if dtype == pl.Boolean:
            return pl.col(column)
        if dtype.is_numeric():
            value = pl.col(column).cast(pl.Float64)
            return pl.when(value == 1).then(True).when(value == 0).then(False)
        text = _text(column).str.to_lowercase()
        return pl.when(text.is_in(TRUE_WORDS)).then(True).when(text.is_in(FALSE_WORDS)).then(False)
    if kind in ("integer", "number"):
        if dtype.is_numeric():
            return _number(pl.col(column).cast(pl.Float64, strict=False), kind)
        text = _text(column)
        readable = pl.when(text.str.contains(NUMBER_TEXT)).then(text.str.replace_all(",", "", literal=True))
        return _number(readable.cast(pl.Float64, strict=False), kind)
    if kind == "string":
        if dtype == pl.Categorical:
            return pl.col(column)
        return _text(column)
    raise ValueError(f"unknown column kind {kind!r}")


def _present(column: str, dtype: pl.DataType) -> pl.Expr:
    """The raw value was given (non-empty text, or any non-null value of another type)."""
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return _text(column).is_not_null()
    return pl.col(column).is_not_null()


def parse_columns(frame: pl.LazyFrame, kinds: dict[str, str], source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every column named in ``kinds``; return (typed rows, rejections of unparseable values).

    A row is rejected for each column whose value was present but could not be read as its
    kind, whatever type the column had (text, or a typed Parquet column whose values do not fit:
    1.5 actions, NaN, an appeal flag of 0.5); columns already of the right type pass through.
    """
    schema = frame.collect_schema()
    present = {c: k for c, k in kinds.items() if c in schema}
    exact = {"datetime": pl.Datetime("us"), "date": pl.Date, "boolean": pl.Boolean, "integer": pl.Int64}
    failures = {
        c: (pl.col(c).is_null() & _present(f"__raw_{c}", schema[c]))
        for c, k in present.items()
        if k != "string" and schema[c] != exact.get(k)
    }
    staged = frame.with_columns(
        *[pl.col(c).alias(f"__raw_{c}") for c in failures],
    ).with_columns(typed(c, k, schema[c]).alias(c) for c, k in present.items())
    if failures:
        staged = staged.with_columns(__failed=pl.any_horizontal(*failures.values()))
    converted = staged.collect()
    if not failures or not converted["__failed"].any():
        return converted.drop([f"__raw_{c}" for c in failures] + (["__failed"] if failures else [])), as_rejections(
            converted.head(0), ""
        )
    rejected = []
    originals = [pl.col(f"__raw_{c}").alias(c) if c in failures else pl.col(c) for c in schema.names()]
    for column, failed in failures.items():
        bad = converted.filter(failed)
        if not bad.is_empty():
            reason = pl.format(
                f"{column} is {{}}: expected {EXPECTED[present[column]]}", pl.col(column).cast(pl.String)
            )
            rejected.append(as_rejections(bad.select(originals), reason, column, source=source))
    good = converted.filter(~pl.col("__failed")).drop([f"__raw_{c}" for c in failures] + ["__failed"])
    return good, pl.concat(rejected, how="diagonal_relaxed")

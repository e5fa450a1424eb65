"""Canonical tables (event-level or pre-aggregated) from files → Cube.

Steps: read (``tables``) → map the user's column names → tell event-level from
pre-aggregated → type the columns (``parsing``) → value checks (pandera) → resolve codes
(``codes``) → aggregate (``aggregation``) → Cube. Every rejected row is kept with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from insights.cube import Caveat, Cube, Provenance, empty_rejections, known_sum
from insights.engines.choice import choose_engine, duckdb_events, spark_events
from insights.errors import DataError
from insights.metrics import MEASURES, measures
from insights.model import DIMENSIONS, EVENT_COLUMNS
from insights.periods import Grain
from insights.sources import codes
from insights.sources.aggregation import aggregate_events
from insights.sources.parsing import parse_columns
from insights.sources.rejections import as_rejections, combine
from insights.sources.tables import RawTable, files_in, is_table_path, is_uploaded_file, read_tables

CATEGORICAL = [d for d in DIMENSIONS if d not in ("date", "region")]
AGGREGATE_COLUMNS = {
    "date": "date",
    **dict.fromkeys(CATEGORICAL, "string"),
    **{name: "integer" if m.whole else "number" for name, m in measures().items()},
}


def detect_kind(columns: list[str], name: str) -> str:
    """'events' for one row per action, 'aggregate' for pre-aggregated rows; DataError otherwise."""
    if "actioned_at" in columns:
        return "events"
    if "date" in columns and any(m in columns for m in MEASURES):
        return "aggregate"
    raise DataError(
        f"{name}: cannot tell event-level from pre-aggregated input. Expected an 'actioned_at' column "
        f"(one row per enforcement action) or a 'date' column plus measure columns such as 'actions'; "
        f"found columns {columns}. Map your column names with columns={{'your name': 'actioned_at'}}."
    )


def rename_columns(table: RawTable, columns: Mapping[str, str] | None) -> pl.LazyFrame:
    """Apply the user's column mapping and lower-case/trim the remaining names."""
    frame = table.frame
    names = frame.collect_schema().names()
    mapping = dict(columns or {})
    renames = {}
    for col in names:
        if col.startswith("_"):
            continue
        target = mapping.get(col, col.strip().lower().replace(" ", "_"))
        if target != col:
            renames[col] = target
    missing = [c for c in mapping if c not in names]
    if missing:
        shown = [c for c in names if not c.startswith("_")]
        raise DataError(
            f"{table.name}: the column mapping names {missing}, which the file does not have; its columns are {shown}"
        )
    meaning: dict[str, list[str]] = {}
    for col in names:
        meaning.setdefault(renames.get(col, col), []).append(col)
    for target, sources in meaning.items():
        if len(sources) > 1:
            raise DataError(
                f"{table.name}: the columns {sources} all mean {target!r}; keep one of them (or map the others "
                "to other names with columns={...})"
            )
    return frame.rename(renames)


def _value_schema(kind: str, columns: list[str]) -> pa.DataFrameSchema:
    """Pandera checks on typed values (types are already settled by ``parsing``)."""
    checks: dict[str, pa.Column] = {}
    if kind == "events":
        checks["actioned_at"] = pa.Column(nullable=False, required=True)
        if "views_before_action" in columns:
            checks["views_before_action"] = pa.Column(
                checks=pa.Check.ge(0, error="expected a number ≥ 0"), nullable=True
            )
    else:
        checks["date"] = pa.Column(nullable=False)
        for measure in MEASURES:
            if measure in columns:
                checks[measure] = pa.Column(checks=pa.Check.ge(0, error="expected a count ≥ 0"), nullable=True)
    return pa.DataFrameSchema(checks, strict=False)


def value_failures(frame: pl.DataFrame, kind: str, source: str) -> pl.DataFrame:
    """Rows that fail the value checks, as rejections (pandera finds them; we word the reason)."""
    schema = _value_schema(kind, frame.columns)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.filter(pl.col("index").is_not_null())
        reason = (
            pl.when(pl.col("check") == "not_nullable")
            .then(pl.format("{} is empty", pl.col("column")))
            .otherwise(pl.format("{} is {}: {}", pl.col("column"), pl.col("failure_case"), pl.col("check")))
        )
        rows = frame.with_row_index("__index").join(
            cases.select(
                pl.col("index").cast(pl.UInt32).alias("__index"),
                reason.alias("__reason"),
                pl.col("column").alias("__column"),
            ),
            on="__index",
        )
        return as_rejections(rows, pl.col("__reason"), pl.col("__column"), source=source)
    return empty_rejections()


def _created_after_action(frame: pl.DataFrame, source: str) -> tuple[pl.Expr, pl.DataFrame]:
    """Actions dated before their content was created."""
    if "created_at" not in frame.columns:
        return pl.lit(False), empty_rejections()
    # an unknown creation time is not a fault: null must not drop the row from both sides of the filter
    later = (pl.col("created_at") > pl.col("actioned_at")).fill_null(False)
    if not frame.select(later.any()).item():
        return pl.lit(False), empty_rejections()
    reason = "created_at is after actioned_at: content cannot be actioned before it exists"
    return later, as_rejections(frame.filter(later), reason, "created_at", source=source)


def duplicate_event_ids(ids: list[tuple[str, pl.DataFrame]]) -> pl.DataFrame:
    """The (file, row) of every copy of an event id after its first, across all files.

    ``ids`` holds, per file, its ``event_id`` and ``_row`` columns. Returns ``_source``,
    ``_row`` and ``__first`` (where the id was first seen); empty when ids are unique.
    """
    if not ids or _ids_increasing([f["event_id"] for _, f in ids]):
        return pl.DataFrame()
    all_ids = pl.concat([f["event_id"] for _, f in ids], rechunk=True)
    if all_ids.n_unique() == len(all_ids):
        return pl.DataFrame()
    tagged = pl.concat([f.with_columns(_source=pl.lit(name)) for name, f in ids], how="vertical_relaxed")
    first = pl.format("{} row {}", "_source", "_row").first().over("event_id")
    return (
        tagged.with_columns(__first=first)
        .filter(~pl.col("event_id").is_first_distinct())
        .select("_source", "_row", "__first")
    )


def _ids_increasing(ids: list[pl.Series]) -> bool:
    """Cheap proof of uniqueness: ids strictly increasing within and across files."""
    if not ids[0].dtype.is_integer():
        return False
    previous = None
    for series in ids:
        if series.is_empty():
            continue
        if series.null_count() or not (series.diff().drop_nulls() > 0).all():
            return False
        if previous is not None and series[0] <= previous:
            return False
        previous = series[-1]
    return True


@dataclass
class TypedFile:
    """One file after typing and row checks, before aggregation."""

    name: str
    frame: pl.DataFrame
    rejected: list[pl.DataFrame]
    rows_read: int
    rows_accepted: int = 0


def type_file(table: RawTable, columns: Mapping[str, str] | None) -> tuple[str, TypedFile]:
    """Rename, detect the kind, type the columns and run the row checks of one file."""
    frame = rename_columns(table, columns)
    kind = detect_kind([c for c in frame.collect_schema().names() if not c.startswith("_")], table.name)
    wanted = EVENT_COLUMNS if kind == "events" else AGGREGATE_COLUMNS
    typed, unparsed = parse_columns(frame, wanted, table.name)
    rejected = [table.rejected, unparsed]
    rows_read = len(typed) + _rejected_rows(unparsed) + _rejected_rows(table.rejected)
    bad_values = value_failures(typed, kind, table.name)
    bad = pl.lit(False)
    if not bad_values.is_empty():
        rejected.append(bad_values)
        bad = pl.col("_row").is_in(bad_values["_row"].unique().implode())
    if kind == "events":
        later, found = _created_after_action(typed, table.name)
        rejected.append(found)
        bad = bad | later
    if not all(r.is_empty() for r in rejected[2:]):
        typed = typed.filter(~bad)
    return kind, TypedFile(table.name, typed, rejected, rows_read)


def _place(typed: TypedFile, maps: codes.CodeMaps) -> None:
    """Reject rows whose country is not a country or that have no harm area."""
    frame = typed.frame
    if maps.bad_countries and "country" in frame.columns:
        # an empty country is not a bad one: null must not drop the row from both sides of the filter
        not_country = pl.col("country").cast(pl.String).is_in(maps.bad_countries).fill_null(False)
        not_a_country = pl.format(
            "country {} is not a country: expected an ISO 3166-1 alpha-2 code such as US", pl.col("country")
        )
        typed.rejected.append(as_rejections(frame.filter(not_country), not_a_country, "country", source=typed.name))
        frame = frame.filter(~not_country)
    unplaced = codes.harm_area_missing(frame.columns, maps)
    if ("harm_area" not in frame.columns or frame["harm_area"].null_count()) and frame.select(unplaced.any()).item():
        reason = "no harm area: harm_area is empty and the policy is not in the taxonomy"
        typed.rejected.append(as_rejections(frame.filter(unplaced), reason, "harm_area", source=typed.name))
        frame = frame.filter(~unplaced)
    typed.frame = frame


@dataclass
class FileCube:
    """One file aggregated: its kind, bookkeeping, cube in raw codes and code maps."""

    table: RawTable
    kind: str
    typed: TypedFile
    raw: pl.DataFrame
    maps: codes.CodeMaps


def _aggregate_file(
    table: RawTable, columns: Mapping[str, str] | None, duplicates: pl.DataFrame
) -> tuple[FileCube, pl.DataFrame | None]:
    """Type, check, place and aggregate one file (dropping the rows listed in ``duplicates``)."""
    kind, typed = type_file(table, columns)
    mine = duplicates.filter(pl.col("_source") == table.name) if len(duplicates) else duplicates
    if len(mine):
        rows = typed.frame.join(mine.drop("_source"), on="_row")
        reason = pl.format("duplicate event_id {} (first seen at {})", pl.col("event_id"), pl.col("__first"))
        typed.rejected.append(as_rejections(rows, reason, "event_id", source=table.name))
        typed.frame = typed.frame.join(mine.select("_row"), on="_row", how="anti")
    dims = [d for d in CATEGORICAL if d in typed.frame.columns]
    maps = codes.maps_for(typed.frame, dims)
    _place(typed, maps)
    typed.rows_accepted = len(typed.frame)
    raw = aggregate_events(typed.frame.lazy(), dims).collect() if kind == "events" else typed.frame.drop("_row")
    ids = typed.frame.select("event_id", "_row") if "event_id" in typed.frame.columns else None
    typed.frame = typed.frame.head(0)  # keep the schema, free the rows
    return FileCube(table, kind, typed, raw, maps), ids


def load_table(
    src: Any, columns: Mapping[str, str] | None = None, encoding: str = "utf-8", source_name: str | None = None
) -> Cube:
    """Load event-level or pre-aggregated canonical tables (CSV/Parquet/folder/upload) into a Cube.

    Files are typed, checked and aggregated one at a time, so memory stays bounded by the
    largest file, not by the whole input. Event ids must be unique across all files: when
    they are not, the files with repeated ids are aggregated again without the copies.
    """
    tables = read_tables(src, encoding)
    name = source_name or str(getattr(src, "name", None) or src)
    results, ids = [], []
    for table in tables:
        result, file_ids = _aggregate_file(table, columns, pl.DataFrame())
        results.append(result)
        if file_ids is not None:
            ids.append((table.name, file_ids))
    kinds = {r.kind for r in results}
    if len(kinds) > 1:
        raise DataError(f"{name}: mixes event-level and pre-aggregated files; load them as separate sources")
    kind = kinds.pop()
    duplicates = duplicate_event_ids(ids)
    if len(duplicates):
        redo = set(duplicates["_source"].unique())
        results = [_aggregate_file(r.table, columns, duplicates)[0] if r.table.name in redo else r for r in results]
    files = [r.typed for r in results]
    dims = [d for d in CATEGORICAL if d in files[0].frame.columns]
    if "harm_area" not in dims and "policy" not in dims:
        raise DataError(
            f"{name}: has neither a 'harm_area' nor a 'policy' column; every action must belong to a harm area"
        )
    maps = codes.merge_maps([r.maps for r in results])
    rejected = combine(*[r for f in files for r in f.rejected])
    raws = [r.raw for r in results if len(r.raw)]
    if not raws:
        raise DataError(
            f"{name}: every row was rejected; "
            f"first reasons: {rejected['_reason'].unique(maintain_order=True).head(5).to_list()}"
        )
    raw = pl.concat(raws, how="diagonal_relaxed") if len(raws) > 1 else raws[0]
    proactive_known = ("proactive" if kind == "events" else "proactive_actions") in files[0].frame.columns
    notes = [Caveat(n, kind="validation") for t in tables for n in t.notes]
    return finish_raw_cube(
        raw,
        kind,
        name,
        sum(f.rows_read for f in files),
        [rejected],
        notes,
        _rejected_rows(rejected),
        proactive_known,
        maps,
        regroup=_dates_overlap(raws),
        rows_accepted=sum(f.rows_accepted for f in files),
    )


def _dates_overlap(raws: list[pl.DataFrame]) -> bool:
    """True when two raw cubes share a date (so they may share cells that must be merged)."""
    spans = sorted((_date(r["date"].min()), _date(r["date"].max())) for r in raws)
    return any(later[0] <= earlier[1] for earlier, later in pairwise(spans))


def _date(value: object) -> dt.date:
    """A date a Polars aggregate returned (its static type is any scalar)."""
    assert isinstance(value, dt.date), value
    return value


def _rejected_rows(rejected: pl.DataFrame) -> int:
    """Rows rejected (a row with several faults counts once)."""
    return rejected.select(pl.struct("_source", "_row").n_unique()).item() if len(rejected) else 0


def finish_raw_cube(
    raw: pl.DataFrame,
    kind: str,
    name: str,
    rows_read: int,
    rejected: list[pl.DataFrame],
    caveats: list[Caveat],
    rejected_rows: int = 0,
    proactive_known: bool = True,
    maps: codes.CodeMaps | None = None,
    regroup: bool = False,
    rows_accepted: int | None = None,
) -> Cube:
    """Resolve the codes of a cube still in raw values, derive what can be derived, wrap it.

    Cells that cannot be placed (a country that is not a country, no harm area) are rejected
    with the number of actions they carry. ``maps`` is passed when the rows were already
    placed (the file path rejects such rows one by one, before aggregating);
    ``regroup`` merges cells that several inputs share (always done for pre-aggregated input).
    """
    dims = [d for d in CATEGORICAL if d in raw.columns]
    if "harm_area" not in dims and "policy" not in dims:
        raise DataError(
            f"{name}: has neither a 'harm_area' nor a 'policy' column; every action must belong to a harm area"
        )
    placed = maps is not None
    maps = maps or codes.maps_for(raw, dims)
    unplaced = codes.harm_area_missing(raw.columns, maps)
    if maps.bad_countries:
        unplaced = unplaced | pl.col("country").cast(pl.String).is_in(maps.bad_countries).fill_null(False)
    bad_cells = raw.head(0) if placed else raw.filter(unplaced)
    if not bad_cells.is_empty():
        weight = bad_cells["actions"].sum() if "actions" in bad_cells.columns else len(bad_cells)
        rejected_rows += int(weight)
        rejected.append(
            as_rejections(
                bad_cells.with_columns(_source=pl.lit(name), _row=pl.lit(None, dtype=pl.Int64)),
                pl.format(
                    "{} actions that cannot be placed: country {} / harm area {} / policy {}",
                    *[
                        pl.col(c).cast(pl.String) if c in raw.columns else pl.lit("-")
                        for c in ("actions", "country", "harm_area", "policy")
                    ],
                ),
            )
        )
        raw = raw.filter(~unplaced)
    if not proactive_known and "detection_source" in dims and "actions" in raw.columns:
        raw = raw.with_columns(
            proactive_actions=pl.when(codes.proactive_from_source(maps)).then(pl.col("actions")).otherwise(0)
        )
    caveats = caveats + codes.unknown_code_caveats(maps, _raw_counts(raw, maps))
    cube = codes.apply_maps(raw.lazy(), maps, raw.columns)
    cube_dims = [d for d in DIMENSIONS if d in cube.collect_schema().names() and d != "date"]
    measure_cols = [m for m in MEASURES if m in raw.columns]
    whole = [
        m
        for m in measure_cols
        if raw.schema[m].is_float() and raw.select((pl.col(m) == pl.col(m).round()).all()).item()
    ]
    cube = cube.with_columns(pl.col(whole).cast(pl.Int64))
    if regroup or not maps.is_identity() or kind == "aggregate":
        cube = cube.group_by("date", *cube_dims).agg(known_sum(m).alias(m) for m in measure_cols)
    data = cube.with_columns(pl.col(d).cast(pl.Categorical) for d in cube_dims).collect()
    return finish(data, name, kind, rows_read, combine(*rejected), caveats, rejected_rows, rows_accepted=rows_accepted)


def _raw_counts(raw_cube: pl.DataFrame, maps: codes.CodeMaps) -> dict[tuple[str, str], int]:
    """Actions carried by each unknown raw code (for the caveat text)."""
    counts: dict[tuple[str, str], int] = {}
    if "actions" not in raw_cube.columns:
        return counts
    for dim, raws in maps.unknown.items():
        per = (
            raw_cube.filter(pl.col(dim).cast(pl.String).is_in(raws))
            .group_by(pl.col(dim).cast(pl.String))
            .agg(pl.col("actions").sum())
        )
        counts.update({(dim, r): int(n or 0) for r, n in per.iter_rows()})
    return counts


def finish(
    data: pl.DataFrame,
    name: str,
    kind: str,
    rows_read: int,
    rejected: pl.DataFrame,
    caveats: list[Caveat],
    rows_rejected: int,
    time_grain: Grain = "day",
    rows_accepted: int | None = None,
) -> Cube:
    """Wrap a finished cube frame with its provenance."""
    provenance = Provenance(
        source=name,
        kind=kind,
        rows_read=rows_read,
        rows_rejected=rows_rejected,
        rows_accepted=rows_accepted,
        as_of=_date(data["date"].max()) if len(data) else None,
        rejected=rejected,
        caveats=caveats,
    )
    return Cube(data, provenance, time_grain=time_grain)


class TableImporter:
    """Canonical CSV/Parquet files (event-level or pre-aggregated), folders of them, uploads."""

    kind = "table"
    description = "CSV or Parquet in the canonical model (event-level or pre-aggregated)"
    engines: tuple[str, ...] = ("polars", "duckdb", "spark")

    def claims(self, src: Any, **options: Any) -> bool:
        """Any CSV/Parquet path, folder or uploaded file."""
        return is_table_path(src) or is_uploaded_file(src)

    def load(self, src: Any, engine: str | None = None, **options: Any) -> Cube:
        """Load with ``columns=`` (name mapping) and ``encoding=`` options. Parquet events go to
        the engine ``choose_engine`` picks (``engine=`` overrides): in memory, DuckDB or Spark."""
        if is_uploaded_file(src):
            return load_table(src, **options)
        path = Path(src)
        files = files_in(path)
        chosen = choose_engine(files, engine)
        if chosen == "polars" or not _events_in(files[0], options.get("columns")):
            return load_table(src, **options)
        opener = duckdb_events if chosen == "duckdb" else spark_events
        return opener(files, lambda: files_in(path), str(src), options.get("columns"))


def _events_in(path: Path, columns: Mapping[str, str] | None) -> bool:
    """True when a Parquet file holds event rows (an ``actioned_at`` column, after the mapping)."""
    names = pl.scan_parquet(path).collect_schema().names()
    return "actioned_at" in [(columns or {}).get(c, c.strip().lower()) for c in names]

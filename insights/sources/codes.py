"""Resolving the codes of categorical dimensions against the taxonomy and code lists.

Maps are computed once per distinct raw value (never per row). Unknown harm areas, policies
and other codes are kept under a readable slug and reported as caveats; values that cannot
be placed at all (a country that is not a country, a row with no harm area) are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from insights.cube import Caveat
from insights.geo import region_of, to_iso2
from insights.model import CODED_DIMENSIONS, DIMENSION_LABELS, normalise_code, policy_harm_areas, proactive_sources


def slug(value: str) -> str:
    """'Spam Bots!' → 'spam_bots'."""
    return re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_")


@dataclass
class CodeMaps:
    """Raw value → canonical code, per dimension; ``unknown`` lists values kept as slugs."""

    maps: dict[str, dict[str, str | None]]
    unknown: dict[str, list[str]]
    bad_countries: list[str]

    def is_identity(self) -> bool:
        """True when no raw value changes (the data already uses canonical codes)."""
        return all(raw == code for m in self.maps.values() for raw, code in m.items())


def distinct(frame: pl.DataFrame | pl.LazyFrame, column: str) -> list[str]:
    """Distinct non-null values of a column, as text."""
    values = frame.lazy().select(pl.col(column).unique().drop_nulls().cast(pl.String))
    return values.collect()[column].to_list()


def code_maps(values: dict[str, list[str]]) -> CodeMaps:
    """Build the maps for the distinct raw values of each dimension present."""
    maps: dict[str, dict[str, str | None]] = {}
    unknown: dict[str, list[str]] = {}
    bad_countries: list[str] = []
    for dim, raw_values in values.items():
        if dim == "country":
            iso = to_iso2(raw_values)
            bad_countries = sorted(v for v, code in iso.items() if code is None)
            maps[dim] = {v: code for v, code in iso.items() if code is not None}
        elif dim in CODED_DIMENSIONS:
            maps[dim] = {}
            for raw in raw_values:
                code = normalise_code(dim, raw)
                if code is None:
                    unknown.setdefault(dim, []).append(raw)
                    code = slug(raw) or raw
                maps[dim][raw] = code
        elif dim in ("language", "platform"):
            maps[dim] = {raw: raw.strip().lower() if dim == "language" else raw.strip() for raw in raw_values}
    return CodeMaps(maps, unknown, bad_countries)


def merge_maps(parts: list[CodeMaps]) -> CodeMaps:
    """One set of maps from the maps of several files."""
    maps: dict[str, dict[str, str | None]] = {}
    unknown: dict[str, list[str]] = {}
    for part in parts:
        for dim, mapping in part.maps.items():
            maps.setdefault(dim, {}).update(mapping)
        for dim, raws in part.unknown.items():
            unknown.setdefault(dim, [])
            unknown[dim] += [r for r in raws if r not in unknown[dim]]
    bad = sorted({c for part in parts for c in part.bad_countries})
    return CodeMaps(maps, unknown, bad)


def maps_for(frame: pl.DataFrame | pl.LazyFrame, dims: list[str]) -> CodeMaps:
    """Code maps for the dimensions of a frame."""
    return code_maps({d: distinct(frame, d) for d in dims})


def harm_area_missing(frame_columns: list[str], maps: CodeMaps) -> pl.Expr:
    """Rows that cannot be given a harm area (no usable harm_area and no known policy)."""
    known_policies = [raw for raw, code in maps.maps.get("policy", {}).items() if code in policy_harm_areas()]
    has_area = pl.col("harm_area").is_not_null() if "harm_area" in frame_columns else pl.lit(False)
    has_policy = (
        pl.col("policy").cast(pl.String).is_in(known_policies).fill_null(False)
        if "policy" in frame_columns
        else pl.lit(False)
    )
    return ~(has_area | has_policy)  # never null: a row is either placed or rejected, never neither


def proactive_from_source(maps: CodeMaps) -> pl.Expr:
    """The proactive flag derived from the detection source (for sources without one)."""
    raw = [r for r, code in maps.maps.get("detection_source", {}).items() if code in proactive_sources()]
    return pl.when(pl.col("detection_source").is_not_null()).then(pl.col("detection_source").cast(pl.String).is_in(raw))


def apply_maps(frame: pl.LazyFrame, maps: CodeMaps, columns: list[str]) -> pl.LazyFrame:
    """Replace raw values by canonical codes; fill harm_area from policy; derive region."""
    exprs = [
        pl.col(dim).replace_strict(mapping, default=None, return_dtype=pl.Categorical).alias(dim)
        for dim, mapping in maps.maps.items()
        if dim in columns and any(raw != code for raw, code in mapping.items())
    ]
    frame = frame.with_columns(exprs)
    if "policy" in columns:
        parent = pl.col("policy").replace_strict(policy_harm_areas(), default=None, return_dtype=pl.Categorical)
        frame = frame.with_columns(harm_area=pl.coalesce("harm_area", parent) if "harm_area" in columns else parent)
    if "country" in columns:
        regions = {c: region_of(c) for c in maps.maps.get("country", {}).values() if c}
        frame = frame.with_columns(
            region=pl.col("country").replace_strict(regions, default=None, return_dtype=pl.Categorical)
        )
    return frame


def unknown_code_caveats(maps: CodeMaps, counts: dict[tuple[str, str], int]) -> list[Caveat]:
    """One caveat per unknown code that was kept, with the number of actions it carries."""
    caveats = []
    for dim, raws in maps.unknown.items():
        for raw in raws:
            n = counts.get((dim, raw), 0)
            caveats.append(
                Caveat(
                    f"{DIMENSION_LABELS[dim]} {raw!r} is not in the taxonomy; "
                    f"kept as {maps.maps[dim][raw]!r} ({n:,} actions)",
                    kind="validation",
                )
            )
    return caveats

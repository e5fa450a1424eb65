"""The regional picture: a metric by country, UN M49 region or sub-region, or company region;
rankings, the biggest movers between two periods, exposure-normalised rates and map frames.

Geographies the cube does not carry (sub-regions, company regions) are built from its
``country`` dimension: the numerator and denominator sums per country are summed per
geography, so rates stay ratios of sums at every level.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import polars as pl

from insights.cube import Cube, known_sum
from insights.disclosure import WITHHELD_TYPE, Withheld, withheld_column, withheld_of
from insights.errors import DataError
from insights.filters import Filters
from insights.formatting import value_text
from insights.geo import CompanyRegions, company_regions, geography
from insights.metrics import Metric, as_metric, per_exposure
from insights.periods import Period, grain_of
from insights.significance import Noise
from insights.trends.deltas import compare_sums, covered_days, slice_noise

Level = Literal["country", "subregion", "region", "company_region"]
Exposure = Literal["uploads", "views"]
CompanyMapping = str | Path | Mapping[str, str] | CompanyRegions | None


def _resolve(metric: str | Metric, per: Exposure | None) -> Metric:
    """The metric, or its exposure-normalised version from the registry (``per_exposure``)."""
    return per_exposure(metric, per) if per else as_metric(metric)


def by_geography(
    cube: Cube,
    metric: str | Metric,
    level: Level = "country",
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
    per: Exposure | None = None,
    company: CompanyMapping = None,
) -> pl.DataFrame:
    """A metric per geography: the ``level`` key, ``numerator``, ``denominator`` and the metric.

    ``level`` is ``country`` (ISO2), ``region`` or ``subregion`` (UN M49) or ``company_region``
    (``company``: the default mapping, a TOML file, a ``{country: region}`` dict or a
    ``CompanyRegions``). ``per`` normalises a count by an exposure measure (uploads, views)
    through the registry's per-exposure metric. Countries no company region covers are summed
    under a null key.
    """
    wanted = _resolve(metric, per)
    if level in cube.dimensions:
        return cube.sums(wanted, by=[level], filters=filters, start=start, end=end)
    if level not in ("subregion", "company_region"):
        raise ValueError(f"level must be country, region, subregion or company_region, not {level!r}")
    if "country" not in cube.dimensions:
        raise DataError(f"{level} is derived from countries, which source {cube.provenance.source!r} does not have")
    countries = cube.sums(wanted, by=["country"], filters=filters, start=start, end=end)
    places = geography(countries["country"].to_list(), company_regions(company)).select("country", level)
    sums = ["numerator", "denominator"]
    withheld = [s for s in sums if withheld_column(s) in countries.columns]
    summed = (
        countries.join(places, on="country", how="left")
        .group_by(level)
        .agg(*(known_sum(s).alias(s) for s in sums), *(_withheld_part(s) for s in withheld))
        .with_columns(pl.when(pl.col(withheld_column(s)).is_null()).then(pl.col(s)).alias(s) for s in withheld)
    )
    companion = [withheld_of(wanted.name, sums if wanted.is_ratio else sums[:1])] if withheld else []
    value = wanted.from_sums(pl.col("numerator"), pl.col("denominator")).alias(wanted.name)
    return summed.with_columns(value, *companion).sort(level, nulls_last=True)


def _withheld_part(column: str) -> pl.Expr:
    """A geography summed from countries one of which small-cell suppression withheld is withheld
    too (its sum would fall short, or give the hidden part away against a total): as a
    complement, under the strictest threshold of its parts."""
    parts = pl.col(withheld_column(column))
    threshold = parts.struct.field("threshold").max()
    found = pl.struct(threshold=threshold, reason=pl.lit("complement"))
    return (
        pl.when(parts.is_not_null().any())
        .then(found)
        .otherwise(None)
        .cast(WITHHELD_TYPE)
        .alias(withheld_column(column))
    )


def _names(frame: pl.DataFrame, level: Level, company: CompanyMapping) -> pl.Expr:
    """Display names of a level's keys: country names, company-region labels, or the key."""
    keys = frame[level].drop_nulls().unique().to_list()
    if level == "country":
        places = geography(keys)
        names = dict(zip(places["country"], places["country_name"], strict=True))
    elif level == "company_region":
        names = {k: company_regions(company).label(k) for k in keys}
    else:
        names = {}
    return pl.col(level).replace_strict(names, default=pl.col(level), return_dtype=pl.String).fill_null("(unassigned)")


def ranking(
    cube: Cube,
    metric: str | Metric,
    level: Level = "country",
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
    per: Exposure | None = None,
    company: CompanyMapping = None,
    top: int | None = None,
) -> pl.DataFrame:
    """Geographies ranked by a metric, highest first (ties share a rank; unknown values last).

    Columns: ``rank``, the ``level`` key, ``name``, ``value``, ``numerator``, ``denominator``,
    ``share`` (of the slice's numerator) and ``text`` (the value formatted for display).
    """
    wanted = _resolve(metric, per)
    frame = by_geography(cube, wanted, level, filters, start, end, per=None, company=company)
    companion = [c for c in [withheld_column(wanted.name)] if c in frame.columns]
    ranked = frame.select(
        rank=pl.col(wanted.name).rank("min", descending=True).cast(pl.Int64),
        **{level: pl.col(level)},
        name=_names(frame, level, company),
        value=pl.col(wanted.name).cast(pl.Float64),
        numerator="numerator",
        denominator="denominator",
        share=pl.col("numerator") / pl.col("numerator").sum(),
        text=pl.struct(wanted.name, *companion).map_elements(
            lambda row: value_text(wanted, row[wanted.name], Withheld.of(row, wanted.name)), return_dtype=pl.String
        ),
    ).sort("rank", level, nulls_last=True)
    return ranked.head(top) if top else ranked


def movers(
    cube: Cube,
    metric: str | Metric,
    *,
    current: Period,
    baseline: Period,
    level: Level = "country",
    filters: Filters | None = None,
    per: Exposure | None = None,
    company: CompanyMapping = None,
    noise: Noise | None = None,
    alpha: float = 0.05,
    top: int | None = None,
) -> pl.DataFrame:
    """Geographies by how much the metric moved from ``baseline`` to ``current``, biggest first.

    Columns: the ``level`` key, ``name``, then those of ``insights.trends.compare`` (``value``,
    ``baseline_value``, ``change``, ``pct_change``, ``p_value``, ``significant`` and the sums).
    Sorted by the size of the absolute change (a rate's change is in proportion points);
    ``significant`` says whether it is more than the slice's noise (see
    ``insights.significance``; ``noise`` defaults to the slice's own at the grain of
    ``current``).
    """
    wanted = _resolve(metric, per)
    if noise is None:
        noise = slice_noise(cube, wanted, grain_of(current), filters, end=current.end)
    now, before = (
        by_geography(cube, wanted, level, filters, p.start, p.end, company=company).drop(wanted.name)
        for p in (current, baseline)
    )
    days = (covered_days(cube, current), covered_days(cube, baseline))
    moved = compare_sums(wanted, current=now, baseline=before, keys=[level], days=days, noise=noise, alpha=alpha)
    ordered = moved.select(level, _names(moved, level, company).alias("name"), *moved.columns[1:]).sort(
        pl.col("change").abs(), level, descending=[True, False], nulls_last=True
    )
    return ordered.head(top) if top else ordered


def choropleth_frame(
    cube: Cube,
    metric: str | Metric,
    filters: Filters | None = None,
    start: object = None,
    end: object = None,
    per: Exposure | None = None,
) -> pl.DataFrame:
    """One row per mappable country: ``country`` (ISO2), ``iso3``, ``name``, ``region``,
    ``value`` and ``text`` (formatted), ready for a choropleth. Pseudo-countries (EU, unknown)
    and countries without a value are left out. On a suppressing cube a withheld country stays,
    its value null, its text '<10' and the like, with a ``value__withheld`` companion."""
    wanted = _resolve(metric, per)
    frame = by_geography(cube, wanted, "country", filters, start, end)
    places = geography(frame["country"].to_list()).select("country", "iso3", name="country_name", region="region")
    companion = withheld_column(wanted.name)
    withheld = [companion] if companion in frame.columns else []
    known = pl.col(wanted.name).is_not_null() | (pl.col(companion).is_not_null() if withheld else False)
    text = pl.struct(wanted.name, *withheld).map_elements(
        lambda row: value_text(wanted, row[wanted.name], Withheld.of(row, wanted.name)), return_dtype=pl.String
    )
    return (
        frame.join(places, on="country", how="inner")
        .filter(pl.col("iso3").is_not_null() & known)
        .select(
            "country",
            "iso3",
            "name",
            "region",
            value=pl.col(wanted.name).cast(pl.Float64),
            text=text,
            **({withheld_column("value"): pl.col(companion)} if withheld else {}),
        )
        .sort("country")
    )

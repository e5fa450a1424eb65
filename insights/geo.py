"""Countries, world regions (UN M49, through country_converter) and company regions.

Conversions run once per distinct value, never per row, and are cached.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import country_converter as coco
import polars as pl

from insights.definitions import DEFINITIONS

_NOT_FOUND = "\x00not found"

#: country_converter's continent names → UN M49 region names.
_REGION_NAMES = {"America": "Americas"}

#: Pseudo-country codes that public reports use; kept as they are, flagged as not a country.
NON_COUNTRY_CODES = {"EU": "European Union", "EEA": "European Economic Area", "ZZ": "Unknown / global"}


@cache
def _converter() -> coco.CountryConverter:
    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return coco.CountryConverter()


@cache
def _to_iso2(name: str) -> str | None:
    if name.upper() in NON_COUNTRY_CODES:
        return name.upper()
    found = _converter().convert(name, to="ISO2", not_found=_NOT_FOUND)
    return None if found == _NOT_FOUND or isinstance(found, list) else found


def to_iso2(names: list[str]) -> dict[str, str | None]:
    """Map country names or codes (ISO2, ISO3, names) to ISO 3166-1 alpha-2; None when unknown."""
    return {name: _to_iso2(name.strip()) if name and name.strip() else None for name in names}


@cache
def _convert(iso2: str, to: str) -> str | None:
    if iso2 in NON_COUNTRY_CODES:
        return None
    found = _converter().convert(iso2, src="ISO2", to=to, not_found=_NOT_FOUND)
    return None if found == _NOT_FOUND or isinstance(found, list) else str(found)


def region_of(iso2: str) -> str | None:
    """UN M49 region (Africa, Americas, Asia, Europe, Oceania) of an ISO2 country."""
    region = _convert(iso2, "continent")
    return _REGION_NAMES.get(region, region) if region else None


def subregion_of(iso2: str) -> str | None:
    """UN M49 sub-region (e.g. 'Western Europe') of an ISO2 country."""
    return _convert(iso2, "UNregion")


def iso3_of(iso2: str) -> str | None:
    """ISO 3166-1 alpha-3 code of an ISO2 country (for choropleths)."""
    return _convert(iso2, "ISO3")


def country_name(iso2: str) -> str:
    """Short English name of an ISO2 country; pseudo-codes get their own name."""
    return NON_COUNTRY_CODES.get(iso2) or _convert(iso2, "name_short") or iso2


@dataclass(frozen=True)
class CompanyRegions:
    """Country → company region (NA, LATAM, EMEA, APAC …), the way a business groups countries.

    A country's company region is the one its ISO2 code is assigned to (``countries``), else the
    one of its UN M49 sub-region, else the one of its region; None when nothing assigns it.
    """

    labels: dict[str, str]
    countries: dict[str, str] = field(default_factory=dict)
    subregions: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)

    def of(self, iso2: str) -> str | None:
        """The company region of an ISO2 country."""
        return (
            self.countries.get(iso2)
            or self.subregions.get(subregion_of(iso2) or "")
            or self.regions.get(region_of(iso2) or "")
        )

    def label(self, code: str) -> str:
        """Display name of a company region ('EMEA' → 'Europe, Middle East and Africa')."""
        return self.labels.get(code, code)


def company_regions(source: str | Path | Mapping[str, str] | CompanyRegions | None = None) -> CompanyRegions:
    """Company regions: the default (``definitions/company_regions.toml``), a TOML file of the same
    shape, a plain ``{country ISO2: company region}`` mapping, or a ``CompanyRegions`` as it is."""
    if isinstance(source, CompanyRegions):
        return source
    if isinstance(source, Mapping):
        return CompanyRegions(labels={}, countries={str(k).upper(): v for k, v in source.items()})
    spec = tomllib.loads(Path(source or DEFINITIONS / "company_regions.toml").read_text())
    assign = lambda key: {name: code for code, entry in spec["regions"].items() for name in entry.get(key, ())}  # noqa: E731
    return CompanyRegions(
        labels={code: entry.get("label", code) for code, entry in spec["regions"].items()},
        countries=dict(spec.get("countries", {})),
        subregions=assign("subregions"),
        regions=assign("regions"),
    )


def geography(countries: Iterable[str], company: CompanyRegions | None = None) -> pl.DataFrame:
    """One row per distinct ISO2 country: ``country``, ``iso3``, ``country_name``, ``region``,
    ``subregion`` (UN M49) and ``company_region`` (default company regions unless given)."""
    company = company or company_regions()
    codes = sorted({c for c in countries if c})
    return pl.DataFrame(
        {
            "country": codes,
            "iso3": [iso3_of(c) for c in codes],
            "country_name": [country_name(c) for c in codes],
            "region": [region_of(c) for c in codes],
            "subregion": [subregion_of(c) for c in codes],
            "company_region": [company.of(c) for c in codes],
        },
        schema=dict.fromkeys(("country", "iso3", "country_name", "region", "subregion", "company_region"), pl.String),
    )

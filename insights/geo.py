"""Countries and world regions (UN M49, through country_converter).

Conversions run once per distinct value, never per row, and are cached.
"""

from __future__ import annotations

import logging
from functools import cache

import country_converter as coco

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

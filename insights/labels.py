"""Display labels: every code a user sees is shown in words (harm areas, policies, countries…)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import cache

from insights.definitions import DEFINITIONS
from insights.geo import country_name
from insights.model import DIMENSION_LABELS, labels


@cache
def language_names() -> dict[str, str]:
    """ISO 639-1 code → English name (``definitions/languages.csv``)."""
    with (DEFINITIONS / "languages.csv").open(encoding="utf-8") as rows:
        return {row["code"]: row["name"] for row in csv.DictReader(rows)}


def label(dimension: str, code: str | None) -> str:
    """Display label of a code: country and language names for ISO codes, the taxonomy's labels for
    the other coded dimensions; unknown codes are shown as they are."""
    if code is None:
        return "(none)"
    if dimension == "country":
        return country_name(code)
    if dimension == "language":
        return language_names().get(code.lower(), code)
    return labels(dimension).get(code, code)


def dimension_label(dimension: str) -> str:
    """'detection_source' → 'Detection source'."""
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


def segment_label(segment: Mapping[str, str]) -> str:
    """``{"country": "FR", "language": "fr"}`` → 'France · fr' (values in words)."""
    return " · ".join(label(dimension, value) for dimension, value in segment.items())

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


def plain(text: str) -> str:
    """Text from data made inert for the places that read markup in text: chart labels and hover
    texts (Plotly reads ``<a href>``, ``<br>`` and ``%{…}``) — angle brackets become look-alike
    guillemets, a template's ``%{`` is broken. Markdown has its own escape
    (``insights.formatting.escape_markdown``), CSV downloads their own (``insights.export``)."""
    return text.replace("<", "‹").replace(">", "›").replace("%{", "%\u200b{")


def label(dimension: str, code: str | None) -> str:
    """Display label of a code: country and language names for ISO codes, the taxonomy's labels for
    the other coded dimensions; unknown codes (data a user or a file brought) as they are, made
    inert (``plain``)."""
    if code is None:
        return "(none)"
    if dimension == "country":
        return plain(country_name(code))
    if dimension == "language":
        return language_names().get(code.lower(), plain(code))
    return labels(dimension).get(code, plain(code))


def dimension_label(dimension: str) -> str:
    """'detection_source' → 'Detection source'."""
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


def segment_label(segment: Mapping[str, str]) -> str:
    """``{"country": "FR", "language": "fr"}`` → 'France · fr' (values in words)."""
    return " · ".join(label(dimension, value) for dimension, value in segment.items())

"""Display labels: every code a user sees is shown in words (harm areas, policies, countries…)."""

from __future__ import annotations

from collections.abc import Mapping

from insights.geo import country_name
from insights.model import DIMENSION_LABELS, labels


def label(dimension: str, code: str | None) -> str:
    """Display label of a code (country names for ISO codes); unknown codes are shown as they are."""
    if code is None:
        return "(none)"
    if dimension == "country":
        return country_name(code)
    return labels(dimension).get(code, code)


def dimension_label(dimension: str) -> str:
    """'detection_source' → 'Detection source'."""
    return DIMENSION_LABELS.get(dimension, dimension.replace("_", " ").capitalize())


def segment_label(segment: Mapping[str, str]) -> str:
    """``{"country": "FR", "language": "fr"}`` → 'France · fr' (values in words)."""
    return " · ".join(label(dimension, value) for dimension, value in segment.items())

"""Filters: which slice of the data a question is about, in one normal form.

A filter maps a dimension to a value or a list of values (``{"harm_area": "self_harm",
"country": ["FR", "BE"]}``); ``None`` or an empty list means "not filtered". Every function
that takes filters reads them through ``normalise_filters``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Filters = Mapping[str, object]


def filter_values(value: object) -> list[str]:
    """The values one filter allows, as a list of text (empty: not filtered)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def normalise_filters(filters: Filters | None) -> dict[str, list[str]]:
    """``{dimension: [values]}`` for the dimensions that are filtered, in the given order."""
    normal = {dimension: filter_values(value) for dimension, value in (filters or {}).items()}
    return {dimension: values for dimension, values in normal.items() if values}


def fixed_dimensions(filters: Filters | None) -> set[str]:
    """Dimensions the filters fix to a single value (a breakdown by them has one row)."""
    return {dimension for dimension, values in normalise_filters(filters).items() if len(values) == 1}

"""The canonical enforcement model: dimensions, event-level columns and code lists.

Everything here is read from the TOML files in ``insights/definitions`` so that the taxonomy
and code lists are data, visible in the app and the docs, and editable without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from insights.definitions import read_toml

#: Dimensions of a cube, in display order. A source provides what it has.
DIMENSIONS: tuple[str, ...] = (
    "date",
    "harm_area",
    "policy",
    "country",
    "region",
    "language",
    "content_type",
    "detection_source",
    "action",
    "platform",
)

#: Categorical dimensions that are normalised against a code list.
CODED_DIMENSIONS: tuple[str, ...] = ("harm_area", "policy", "detection_source", "content_type", "action")

#: Event-level columns (one row per enforcement action) and their logical types.
EVENT_COLUMNS: dict[str, str] = {
    "event_id": "string",
    "actioned_at": "datetime",
    "created_at": "datetime",
    "harm_area": "string",
    "policy": "string",
    "country": "string",
    "language": "string",
    "content_type": "string",
    "detection_source": "string",
    "action": "string",
    "platform": "string",
    "proactive": "boolean",
    "automated": "boolean",
    "views_before_action": "integer",
    "appealed": "boolean",
    "overturned": "boolean",
}

#: Event columns without which a row cannot be placed in a cube.
REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("actioned_at",)

DIMENSION_LABELS: dict[str, str] = {
    "date": "Date",
    "period": "Period",
    "harm_area": "Harm area",
    "policy": "Policy",
    "country": "Country",
    "region": "Region",
    "language": "Language",
    "content_type": "Content type",
    "detection_source": "Detection source",
    "action": "Action",
    "platform": "Platform",
}


@dataclass(frozen=True)
class Code:
    """One value of a coded dimension: its code, display label and the names it is known by."""

    dimension: str
    code: str
    label: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None  # the harm area of a policy
    colour: str | None = None
    proactive: bool | None = None  # for detection sources


def _alias_key(text: str) -> str:
    """Normalise a name for alias lookup: case, spaces, dashes and '&' do not matter."""
    return " ".join(text.strip().lower().replace("_", " ").replace("-", " ").replace("&", "and").split())


@cache
def codes() -> tuple[Code, ...]:
    """All codes of all coded dimensions, read from the definitions folder."""
    taxonomy = read_toml("taxonomy.toml")
    others = read_toml("codes.toml")
    found: list[Code] = []
    for area, spec in taxonomy["harm_areas"].items():
        found.append(Code("harm_area", area, spec["label"], tuple(spec.get("aliases", ())), colour=spec["colour"]))
        for policy, label in spec["policies"].items():
            found.append(Code("policy", policy, label, parent=area))
    for dimension, entries in others.items():
        for code, spec in entries.items():
            found.append(
                Code(dimension, code, spec["label"], tuple(spec.get("aliases", ())), proactive=spec.get("proactive"))
            )
    return tuple(found)


@cache
def code_lookup(dimension: str) -> dict[str, str]:
    """Map every known spelling (code, label, alias; case-insensitive) of a dimension to its code."""
    lookup: dict[str, str] = {}
    for code in codes():
        if code.dimension == dimension:
            for name in (code.code, code.label, *code.aliases):
                lookup[_alias_key(name)] = code.code
    return lookup


def normalise_code(dimension: str, value: str | None) -> str | None:
    """Return the canonical code for ``value`` in ``dimension``, or None when it is unknown."""
    if value is None:
        return None
    return code_lookup(dimension).get(_alias_key(value))


@cache
def labels(dimension: str) -> dict[str, str]:
    """Code → display label for one coded dimension."""
    return {c.code: c.label for c in codes() if c.dimension == dimension}


@cache
def harm_area_colours() -> dict[str, str]:
    """Harm area code → its colour, used for that harm area in every chart."""
    return {c.code: c.colour for c in codes() if c.dimension == "harm_area" and c.colour}


@cache
def policy_harm_areas() -> dict[str, str]:
    """Policy code → the harm area it belongs to."""
    return {c.code: c.parent for c in codes() if c.dimension == "policy" and c.parent}


@cache
def proactive_sources() -> frozenset[str]:
    """Detection sources that count as proactive (found before any user report)."""
    return frozenset(c.code for c in codes() if c.dimension == "detection_source" and c.proactive)


def taxonomy_table() -> list[dict[str, str]]:
    """The harm-area taxonomy as rows (harm area, policy, labels), for display and docs."""
    areas = labels("harm_area")
    return [
        {"harm_area": c.parent, "harm_area_label": areas[c.parent], "policy": c.code, "policy_label": c.label}
        for c in codes()
        if c.dimension == "policy" and c.parent
    ]

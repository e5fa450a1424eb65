"""The state of a view and its one URL form: filters, dates, grain and a page's own choices.

A copied link reopens exactly the view it was copied from, so everything a user chooses lives
in the query string: ``harm_area`` and every other dimension filter (one parameter per value),
``start`` / ``end`` (ISO dates), ``grain``, and page choices prefixed ``p_`` (``p_metric``,
``p_baseline=2026-03-02..2026-03-29``…). Decoding never fails: what cannot be read is left out,
and the page falls back to its defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from insights.model import DIMENSIONS
from insights.periods import GRAINS, Grain, Period, as_grain

#: Dimensions a view can filter on, in URL order.
FILTER_DIMENSIONS: tuple[str, ...] = tuple(d for d in DIMENSIONS if d != "date")
#: Prefix of a page's own parameters.
PAGE_PREFIX = "p_"
#: The ``harm_area`` value that means every harm area (no ``harm_area`` parameter at all means the
#: app's default: the core harm areas).
ALL_HARM_AREAS = "all"
#: The app's address for links when ``HARM_INSIGHTS_BASE_URL`` is not set.
DEFAULT_BASE_URL = "http://localhost:8501"
#: Longest value kept from a URL parameter (longer ones are not a code or a choice).
MAX_VALUE_LENGTH = 200
#: Most values kept per filter.
MAX_VALUES = 500

QueryParams = Mapping[str, str | Iterable[str]]


@dataclass(frozen=True)
class ViewState:
    """What a view shows: ``filters`` (dimension → values), ``start`` / ``end`` (None: the data's
    whole range), ``grain`` (None: the page's default) and ``page`` choices (name → value)."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    start: dt.date | None = None
    end: dt.date | None = None
    grain: Grain | None = None
    page: dict[str, str] = field(default_factory=dict)

    def to_query(self) -> dict[str, list[str]]:
        """The query-string parameters of this view (each a list of values)."""
        query: dict[str, list[str]] = {d: list(v) for d, v in self.filters.items() if v}
        if self.grain:
            query["grain"] = [self.grain]
        if self.start is not None and self.end is not None:
            query |= {"start": [self.start.isoformat()], "end": [self.end.isoformat()]}
        query |= {PAGE_PREFIX + name: [value] for name, value in self.page.items() if value}
        return query

    @classmethod
    def from_query(cls, params: QueryParams) -> ViewState:
        """The view a query string describes; unreadable parameters are left out."""
        values = {name: _values(raw) for name, raw in params.items()}
        filters = {d: values[d][:MAX_VALUES] for d in FILTER_DIMENSIONS if values.get(d)}
        grain = _first(values.get("grain"))
        start, end = _date(_first(values.get("start"))), _date(_first(values.get("end")))
        if start is None or end is None or end < start:
            start = end = None
        page = {
            name[len(PAGE_PREFIX) :]: first
            for name, found in values.items()
            if name.startswith(PAGE_PREFIX) and (first := _first(found)) is not None
        }
        return cls(filters, start, end, as_grain(grain) if grain in GRAINS else None, page)


def _values(raw: str | Iterable[str]) -> list[str]:
    """The usable values of one parameter: text, trimmed, not empty, not absurdly long, each once."""
    items = [raw] if isinstance(raw, str) else list(raw)
    kept: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and len(text) <= MAX_VALUE_LENGTH and text not in kept:
            kept.append(text)
    return kept


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def period_param(period: Period) -> str:
    """A period as one URL value: '2026-03-02..2026-03-29'."""
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


def parse_period_param(text: str | None) -> Period | None:
    """The period of a ``period_param`` value; None when it is not one (or ends before it starts)."""
    start, separator, end = (text or "").partition("..")
    first, last = _date(start), _date(end)
    if not separator or first is None or last is None or last < first:
        return None
    return Period(first, last)


def segment_param(segment: Mapping[str, str]) -> str:
    """A segment (a decomposition-tree node) as one URL value: 'country:FR|content_type:live'."""
    return "|".join(f"{dimension}:{value}" for dimension, value in segment.items())


def parse_segment_param(text: str | None) -> dict[str, str]:
    """The segment of a ``segment_param`` value; parts that are not ``dimension:value`` of a known
    dimension are left out."""
    segment: dict[str, str] = {}
    for part in (text or "").split("|"):
        dimension, separator, value = part.partition(":")
        if separator and dimension in FILTER_DIMENSIONS and value and dimension not in segment:
            segment[dimension] = value
    return segment

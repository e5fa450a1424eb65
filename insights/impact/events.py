"""The slice an annotated event launched in, for an impact estimate opened from the event.

An annotated event (``date, title, kind, harm_area, region``; see ``insights.trends.read_events``)
says when and roughly where something went out. ``launch_slice`` turns it into the treated slice
of ``estimate_impact``, most specific first:

1. an event with a region: the countries of the view's country filter when they all lie in that
   region, else every country of the region in the data (the event's harm area, if it has one,
   becomes the harm-area filter);
2. an event with a harm area only (a launch everywhere for one policy area): that harm area,
   with the other harm areas as donors;
3. an event that names neither: the view's own filters — its countries, else its first other
   filtered dimension but harm area, else its harm areas when they are some but not all of the data's;
4. nothing names a slice: None.

``donor_launches`` turns the same reading around: donors that lie in the slice of another
annotated launch had a launch of their own, which the estimate assumes they did not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from insights.cube import Cube
from insights.filters import Filters, normalise_filters
from insights.geo import region_of

#: Event kinds that are launches of something (preferred when a page opens on the latest launch).
LAUNCH_KINDS = ("product_launch", "policy_change")


@dataclass(frozen=True)
class LaunchSlice:
    """A treated slice: ``dimension`` and its launched ``values``; ``harm_area``: the harm area to
    restrict the estimate to (None: keep the view's)."""

    dimension: str
    values: list[str]
    harm_area: str | None = None


def launch_slice(cube: Cube, event: Mapping[str, object], filters: Filters | None = None) -> LaunchSlice | None:
    """The slice ``event`` launched in, from its region or harm area, else from the view's
    ``filters`` (see the module's docstring); None when nothing names one."""
    view = normalise_filters(filters)
    areas = cube.values("harm_area") if "harm_area" in cube.dimensions else []
    area = event.get("harm_area")
    area = str(area) if area in areas else None
    region = event.get("region")
    if region and "country" in cube.dimensions:
        countries = (
            cube.values("country", filters={"region": [str(region)]})
            if "region" in cube.dimensions
            else [c for c in cube.values("country") if region_of(c) == region]
        )
        chosen = [c for c in view.get("country", []) if c in countries]
        if chosen and len(chosen) == len(view.get("country", [])):
            countries = chosen
        if countries:
            return LaunchSlice("country", countries, area)
    if area is not None:
        return LaunchSlice("harm_area", [area])
    for dimension in sorted(view, key=lambda d: d != "country"):  # a country filter is the most specific
        if dimension != "harm_area" and dimension in cube.dimensions and view[dimension]:
            return LaunchSlice(dimension, list(view[dimension]))
    chosen_areas = [a for a in view.get("harm_area", []) if a in areas]
    if chosen_areas and len(chosen_areas) < len(areas):
        return LaunchSlice("harm_area", chosen_areas)
    return None


#: Dimensions nested with another: a filter on one narrows the other's values.
NESTED = {"country": ("region",), "region": ("country",), "harm_area": ("policy",), "policy": ("harm_area",)}


def linked_dimensions(dimension: str) -> tuple[str, ...]:
    """Dimensions whose filters would leave a slice of ``dimension`` without its donors: the
    dimension itself and those nested with it (countries and regions; harm areas and policies).
    An impact estimate compares the values of ``dimension``, so it does not apply these filters."""
    return (dimension, *NESTED.get(dimension, ()))


def donor_launches(
    cube: Cube,
    events: pl.DataFrame,
    *,
    dimension: str,
    treated: Sequence[str],
    donors: Sequence[str],
    launch: object,
    label: Callable[[str], str] = str,
) -> list[str]:
    """Warnings, in words, for donors that had a launch of their own: annotated launches (``LAUNCH_KINDS``)
    other than the one on ``launch`` whose slice (``launch_slice``) is of ``dimension`` and takes in
    some of ``donors``. ``label`` names a donor in the warning."""
    launches: dict[tuple[str, ...], list[str]] = {}  # the donors hit → the launches that hit them
    for event in events.filter(pl.col("kind").is_in(LAUNCH_KINDS)).iter_rows(named=True):
        if event["date"] == launch:
            continue
        launched = launch_slice(cube, event)
        if launched is None or launched.dimension != dimension:
            continue
        hit = tuple(d for d in donors if d in set(launched.values) and d not in set(treated))
        if hit:
            launches.setdefault(hit, []).append(f"“{event['title']}” ({event['date']:%d %b %Y})")
    found = []
    for hit, named in launches.items():
        names = ", ".join(label(d) for d in hit[:6]) + (f" and {len(hit) - 6} more" if len(hit) > 6 else "")
        one = len(hit) == 1
        found.append(
            f"A donor with its own launch: {names} {'is' if one else 'are'} in the slice of "
            f"{' and of '.join(named)}, so {'it' if one else 'they'} may not show what would have happened without "
            f"a launch; consider leaving {'it' if one else 'them'} out of the donors."
        )
    return found

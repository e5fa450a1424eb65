"""Cubes built by hand for the suppression tests: every cell's count is known, so a test can say
which cells must be withheld and check that their numbers appear nowhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from insights.cube import Cube, Provenance

WEEK_1, WEEK_2 = dt.date(2025, 3, 3), dt.date(2025, 3, 10)
AS_OF = dt.date(2025, 3, 16)


def cube_of(cells: Mapping[tuple[dt.date, str, str], tuple[int, int]]) -> Cube:
    """A cube with one row per ``(day, harm_area, country) → (actions, proactive_actions)``."""
    frame = pl.DataFrame(
        [(day, area, country, actions, proactive) for (day, area, country), (actions, proactive) in cells.items()],
        schema=["date", "harm_area", "country", "actions", "proactive_actions"],
        orient="row",
    ).with_columns(pl.col("harm_area", "country").cast(pl.Categorical))
    return Cube(frame, Provenance(source="hand-built", kind="table", rows_read=len(frame), as_of=AS_OF))


#: Two weeks of spam and child safety in four countries: FR's spam is small in week 2 (3 actions),
#: child safety is small in DE (12, under its stricter threshold of 20), and MX's proactive
#: actions are small (4 of 400).
CELLS: dict[tuple[dt.date, str, str], tuple[int, int]] = {
    (WEEK_1, "spam", "FR"): (40, 30),
    (WEEK_1, "spam", "DE"): (55, 50),
    (WEEK_1, "spam", "US"): (300, 250),
    (WEEK_1, "spam", "MX"): (120, 100),
    (WEEK_2, "spam", "FR"): (3, 2),
    (WEEK_2, "spam", "DE"): (60, 50),
    (WEEK_2, "spam", "US"): (310, 260),
    (WEEK_2, "spam", "MX"): (400, 4),
    (WEEK_1, "child_safety", "FR"): (45, 40),
    (WEEK_1, "child_safety", "DE"): (12, 11),
    (WEEK_1, "child_safety", "US"): (90, 80),
    (WEEK_2, "child_safety", "FR"): (50, 45),
    (WEEK_2, "child_safety", "DE"): (30, 25),
    (WEEK_2, "child_safety", "US"): (95, 85),
}

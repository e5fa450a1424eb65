"""Regional rankings on a suppressing cube: '<10' in the text, and no geography summed short."""

from __future__ import annotations

import polars as pl

from insights import regional
from insights.disclosure import Suppression, Withheld
from tests.disclosure.cubes import CELLS, WEEK_2, cube_of


def test_rankings_show_withheld_countries_and_withhold_regions_they_belong_to():
    cube = cube_of(CELLS).with_suppression(Suppression())
    ranked = regional.ranking(cube, "actions", "country", filters={"harm_area": "spam"}, start=WEEK_2)
    assert dict(zip(ranked["country"], ranked["text"], strict=True)) == {
        "MX": "400",
        "US": "310",
        "DE": "withheld",
        "FR": "<10",
    }
    regions = regional.by_geography(cube, "actions", "subregion", filters={"harm_area": "spam"}, start=WEEK_2)
    europe = regions.filter(pl.col("subregion") == "Western Europe").row(0, named=True)
    assert europe["actions"] is None, "63 = DE + FR would be summed short of FR, or give FR away"
    assert Withheld.of(europe, "actions") == Withheld(10, "complement")
    americas = regions.filter(pl.col("subregion") == "Northern America").row(0, named=True)
    assert americas["actions"] == 310

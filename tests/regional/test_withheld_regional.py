"""Regional rankings on a suppressing cube: '<10' in the text, and no geography summed short."""

from __future__ import annotations

import datetime as dt

import polars as pl

from insights import charts, regional
from insights.disclosure import Suppression, Withheld
from insights.periods import Period
from tests.disclosure.cubes import AS_OF, CELLS, WEEK_1, WEEK_2, cube_of


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


def test_movers_and_small_multiples_say_what_they_leave_out():
    cube = cube_of(CELLS).with_suppression(Suppression())
    weekly = cube.query("actions", by=["country"], grain="week", filters={"harm_area": "spam"})
    multiples = charts.small_multiples(weekly, "actions", "country")
    [note] = [a.text for a in multiples.figure.layout.annotations if "withheld" in a.text]
    assert note.replace("<br>", " ") == "Gaps: withheld (counts under 10 and values that would reveal them)"
    moved = regional.movers(
        cube,
        "actions",
        current=Period(WEEK_2, AS_OF),
        baseline=Period(WEEK_1, WEEK_1 + dt.timedelta(days=6)),
        filters={"harm_area": "spam"},
    )
    assert moved.filter(pl.col("change").is_null())["country"].sort().to_list() == ["DE", "FR"]
    title = charts.movers(moved, "country", "actions").figure.layout.xaxis.title.text.replace("<br>", " ")
    assert title.endswith("(counts under 10 and values that would reveal them); those geographies are left out")


def test_a_map_greys_withheld_countries_and_says_why():
    cube = cube_of(CELLS).with_suppression(Suppression())
    frame = regional.choropleth_frame(cube, "actions", filters={"harm_area": "spam"}, start=WEEK_2)
    assert dict(zip(frame["country"], frame["text"], strict=True)) == {
        "DE": "withheld",
        "FR": "<10",
        "MX": "400",
        "US": "310",
    }
    figure = charts.choropleth(frame, "actions").figure
    coloured, grey = figure.data
    assert list(coloured.locations) == ["MEX", "USA"] and list(grey.locations) == ["DEU", "FRA"]
    assert list(grey.text) == ["Germany: withheld", "France: <10"]
    [note] = [a.text.replace("<br>", " ") for a in figure.layout.annotations]
    assert note == "Grey: withheld (counts under 10 and values that would reveal them)"

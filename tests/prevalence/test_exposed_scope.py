"""A restricted exposed cube: a user scoped to some harm areas and places sees per-exposure rates
and prevalence of their scope only — numerators of their harm areas and places, denominators of
their places' views and uploads, prevalence of their harm areas over their places' sampled
views — on the events in memory and in DuckDB."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import insights
from insights.access import Grant, Scope, restrict
from insights.exposed import ExposedCube
from insights.geo import region_of

HATE, SELF_HARM = "hateful_behavior", "self_harm"


def scope(*grants: tuple[set[str] | None, set[str] | None]) -> Scope:
    return Scope(
        user="u@example.com",
        groups=("g",),
        grants=tuple(
            Grant(None if a is None else frozenset(a), None if p is None else frozenset(p)) for a, p in grants
        ),
    )


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def exposed(sample_dir: Path, request) -> ExposedCube:
    cube = insights.load_source(sample_dir.parent, engine=request.param)
    assert isinstance(cube, ExposedCube)
    return cube


def countries_in(cube: ExposedCube, region: str) -> list[str]:
    return [c for c in cube.values("country") if region_of(c) == region]


@pytest.mark.parametrize("metric", ["actions_per_million_views", "actions_per_10k_uploads", "removal_rate"])
@pytest.mark.parametrize(("by", "grain"), [((), None), (("country",), None), (("harm_area",), "month")])
def test_rates_of_a_scope_are_the_rates_of_its_slice(exposed, metric, by, grain):
    user = restrict(exposed, scope(({HATE}, {"Europe"})))
    assert isinstance(user, ExposedCube) and metric in user.available_metrics()
    got = user.sums(metric, list(by), grain=grain)
    want = exposed.sums(metric, list(by), {"harm_area": HATE, "region": "Europe"}, grain=grain)
    keys = [c for c in want.columns if c not in ("numerator", "denominator", metric)]
    assert got.sort(keys).equals(want.sort(keys).select(got.columns)), "the denominator is Europe's exposure only"
    outside = user.sums(metric, filters={"country": "US"})
    assert outside["numerator"].sum() == 0 and not (outside["denominator"].fill_null(0) > 0).any()


def test_prevalence_of_a_scope_is_its_harm_areas_over_its_places(exposed):
    user = restrict(exposed, scope(({HATE}, {"Europe"}), ({SELF_HARM}, {"Asia"})))
    assert sorted(user.prevalence_source.harm_areas()) == [HATE, SELF_HARM]
    got = user.prevalence("quarter")
    assert set(got["harm_area"]) == {HATE, SELF_HARM}
    for area, region in [(HATE, "Europe"), (SELF_HARM, "Asia")]:
        want = exposed.prevalence("quarter", filters={"country": countries_in(exposed, region)}, harm_areas=[area])
        mine = got.filter(pl.col("harm_area") == area)
        # estimated over the sampled views of the region only (sums in another order: float rounding)
        assert_frame_equal(mine, want, check_exact=False, rel_tol=1e-12)
    assert user.prevalence("quarter", harm_areas=["spam"]).height == 0, "a harm area outside the scope"
    assert user.prevalence("quarter", filters={"country": "US"}).height == 0, "a place outside the scope"


def test_a_harm_area_scope_sees_every_place_and_a_scope_of_nothing_sees_nothing(exposed):
    areas = restrict(exposed, scope(({HATE}, None)))
    assert_frame_equal(
        areas.prevalence("quarter"), exposed.prevalence("quarter", harm_areas=[HATE]), check_exact=False, rel_tol=1e-12
    )
    whole = areas.sums("actions_per_million_views")
    assert whole.equals(exposed.sums("actions_per_million_views", filters={"harm_area": HATE}))
    nothing = restrict(exposed, scope(({"no_such_area"}, None)))
    assert nothing.prevalence_source.harm_areas() == []
    assert nothing.prevalence("quarter").height == 0
    assert nothing.sums("actions_per_million_views")["numerator"].sum() == 0

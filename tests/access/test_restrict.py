"""A restricted cube holds exactly the user's cells: its answers equal those of a cube loaded from
only the in-scope events (an oracle that never sees the rest), and nothing built on it — totals,
regional movers, root cause, narrative, decks — names a harm area or a country outside the scope."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pptx import Presentation

import insights
from insights import export
from insights.access import Grant, Scope, restrict
from insights.charts import trend
from insights.disclosure import Suppression
from insights.geo import region_of
from insights.labels import label
from insights.narrative import narrate
from insights.periods import Period
from insights.regional import by_geography, movers
from insights.rootcause import explain_change
from sample_data import generate

HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation", "bullying"]
PLACES = ["Europe", "Asia", "Americas", "BR", "IN", "DE", "NG"]


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> Path:
    """A small generated sample (the raw events, so the oracle can filter rows itself)."""
    return generate.generate(events=40_000, out=tmp_path_factory.mktemp("access"))


@pytest.fixture(scope="module", params=["polars", "duckdb"])
def cube(events, request) -> insights.Cube:
    """The sample in memory, and in DuckDB (a scope restricts any engine's answers)."""
    return insights.load_source(events, engine=request.param)


@pytest.fixture(scope="module")
def raw(events) -> pl.DataFrame:
    frame = pl.concat([pl.read_parquet(p) for p in sorted(events.glob("*.parquet"))], how="vertical_relaxed")
    return frame.with_columns(
        pl.col("country").map_elements(region_of, return_dtype=pl.String).alias("_region"),
    )


def oracle(raw: pl.DataFrame, scope: Scope, folder: Path) -> insights.Cube | None:
    """The cube of the in-scope events only, loaded like any file (rows checked one by one in Python);
    None when the scope admits no event."""

    def inside(grant: Grant, area: str | None, region: str | None, country: str | None) -> bool:
        area_ok = grant.harm_areas is None or area in grant.harm_areas
        place_ok = grant.places is None or region in grant.places or country in grant.places
        return area_ok and place_ok

    keep = [
        any(inside(g, *row) for g in scope.grants) for row in raw.select("harm_area", "_region", "country").iter_rows()
    ]
    if not any(keep):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "in_scope.parquet"
    raw.filter(pl.Series(keep)).drop("_region").write_parquet(path)
    return insights.load_source(path)


def answers_nothing(frame: pl.DataFrame, by: tuple[str, ...]) -> bool:
    """An answer over no cells: no rows, or (for a total without a breakdown) one row whose every
    value is 0, unknown or withheld."""
    if frame.height == 0:
        return True
    shown = [c for c in frame.columns if c not in ("period", *by) and not c.endswith("__withheld")]
    values = [v for c in shown for v in frame[c].to_list()]
    return not by and frame.height == 1 and all(v in (0, None) for v in values)


scopes = st.builds(
    lambda grants: Scope(user="u@example.com", groups=("g",), grants=tuple(grants)),
    st.lists(
        st.builds(
            Grant,
            harm_areas=st.none() | st.frozensets(st.sampled_from(HARM_AREAS), min_size=1),
            places=st.none() | st.frozensets(st.sampled_from(PLACES), min_size=1),
        ),
        min_size=1,
        max_size=3,
    ),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scope=scopes,
    metric=st.sampled_from(["actions", "proactive_rate", "appeal_rate", "median_views_before_action"]),
    by=st.sampled_from([(), ("harm_area",), ("region",), ("country", "detection_source")]),
    grain=st.sampled_from([None, "month"]),
)
def test_a_restricted_cube_answers_as_a_cube_of_only_the_in_scope_events(
    cube, raw, tmp_path_factory, scope, metric, by, grain
):
    if metric not in cube.available_metrics():
        metric = "actions"
    restricted = restrict(cube, scope)
    truth = oracle(raw, scope, tmp_path_factory.mktemp("oracle"))
    got = restricted.query(metric, by=list(by), grain=grain)
    if truth is None:
        assert answers_nothing(got, by) and restricted.values("harm_area") == [], (scope, got)
        return
    expected = truth.query(metric, by=list(by), grain=grain)
    assert got.equals(expected), (scope, metric, by, grain)
    assert set(restricted.values("harm_area")) == set(truth.values("harm_area"))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scope=scopes,
    threshold=st.sampled_from([10, 50, 200]),
    metric=st.sampled_from(["actions", "appeal_rate"]),
    by=st.sampled_from([(), ("harm_area",), ("region",), ("country", "detection_source")]),
    grain=st.sampled_from([None, "month"]),
)
def test_a_restricted_suppressing_cube_suppresses_what_the_user_may_see(
    cube, raw, tmp_path_factory, scope, threshold, metric, by, grain
):
    """Restrict first, then suppress: the cells withheld are those a cube of only the in-scope
    events withholds (a scoped total under the threshold is hidden even where the whole is not),
    whichever of the two calls comes first."""
    policy = Suppression(threshold, {"self_harm": threshold * 2})
    truth = oracle(raw, scope, tmp_path_factory.mktemp("oracle"))
    assert restrict(cube.with_suppression(policy), scope).suppression == policy
    for suppressed in (restrict(cube.with_suppression(policy), scope), restrict(cube, scope).with_suppression(policy)):
        got = suppressed.sums(metric, by=list(by), grain=grain)
        if truth is None:
            assert answers_nothing(got, by), (scope, got)
            continue
        assert got.to_dicts() == truth.with_suppression(policy).sums(metric, by=list(by), grain=grain).to_dicts()


VE_EUROPE = Scope(
    user="ana@example.com", groups=("ve",), grants=(Grant(frozenset({"violent_extremism"}), frozenset({"Europe"})),)
)


def texts_of(frame: pl.DataFrame) -> set[str]:
    return {str(v) for column in frame.columns for v in frame[column].to_list() if isinstance(v, str)}


def test_nothing_built_on_a_restricted_cube_names_what_is_outside_it(cube):
    restricted = restrict(cube, VE_EUROPE)
    _first, last = restricted.date_range
    current = Period(last - dt.timedelta(days=27), last)
    baseline = Period(current.start - dt.timedelta(days=28), current.start - dt.timedelta(days=1))
    outside_areas = {label("harm_area", h) for h in cube.values("harm_area") if h != "violent_extremism"}
    outside_countries = set(cube.values("country")) - set(restricted.values("country"))
    assert outside_countries and restricted.values("harm_area") == ["violent_extremism"]
    assert set(restricted.values("region")) == {"Europe"}

    shown: set[str] = set()
    shown |= texts_of(by_geography(restricted, "actions", level="country"))
    shown |= texts_of(movers(restricted, "actions", current=current, baseline=baseline))
    explanation = explain_change(restricted, "actions", current=current, baseline=baseline)
    shown |= texts_of(explanation.contributors)
    story = narrate(restricted, "actions", current=current, baseline=baseline)
    shown |= {story.text}
    chart = trend(restricted.query("actions", by=["country"], grain="week"), "actions", by="country")
    deck = export.build_deck(
        export.Deck("Review", "", [export.Section(title="Trends", subtitle="", charts=[chart], kpis=[], link="")])
    )
    shown |= {
        shape.text_frame.text
        for slide in Presentation(io.BytesIO(deck)).slides
        for shape in slide.shapes
        if shape.has_text_frame
    }
    shown |= texts_of(chart.data)
    words = " ".join(shown)
    assert not [a for a in outside_areas if a in words]
    assert not outside_countries & shown
    # Totals are totals of what the user may see.
    total = restricted.query("actions")["actions"][0]
    assert total == cube.query("actions", filters={"harm_area": "violent_extremism", "region": "Europe"})["actions"][0]


def test_filters_outside_the_scope_find_nothing(cube):
    restricted = restrict(cube, VE_EUROPE)
    assert not restricted.has_data({"harm_area": "self_harm"})
    assert not restricted.has_data({"country": "BR"})
    assert restricted.query("actions", filters={"country": "BR"})["actions"].to_list() in ([None], [0], [])


def test_a_scope_on_a_dimension_the_data_lacks_admits_nothing(cube):
    by_area = cube.query("actions", by=["harm_area"], grain="day").rename({"period": "date"})
    without_places = insights.Cube(by_area, cube.provenance, cube.time_grain)
    assert not restrict(without_places, VE_EUROPE).has_data()


def test_caveats_of_other_harm_areas_and_rejected_rows_stay_with_the_admin(cube):
    restricted = restrict(cube, VE_EUROPE)
    assert all(c.harm_area in (None, "violent_extremism") for c in restricted.provenance.caveats)
    assert restricted.provenance.rejected.is_empty()
    assert restrict(cube, Scope.local()) is cube

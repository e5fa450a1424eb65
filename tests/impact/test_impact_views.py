"""What the Impact page shows, as library values: the charts of an estimate (their data is the
estimate's), the sentence (its numbers are the estimate's, whatever the effect), the placebo gaps,
the slice an annotated event launched in, donors with a launch of their own, and the deck export."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from insights import export
from insights.formatting import signed, signed_amount_text
from insights.impact import Effect, ImpactEstimate, estimate_impact
from insights.impact import charts as impact_charts
from insights.impact.events import donor_launches, launch_slice, linked_dimensions
from insights.impact.narrative import effect_sentence, impact_text
from insights.labels import label
from tests.impact.test_impact import LAUNCH, launch_cube

TREATED = ["BR", "MX", "CO"]


@pytest.fixture(scope="module")
def cube():
    return launch_cube()


@pytest.fixture(scope="module")
def rate(cube) -> ImpactEstimate:
    return estimate_impact(cube, metric="proactive_rate", treated={"country": TREATED}, launch=LAUNCH)


@pytest.fixture(scope="module")
def count(cube) -> ImpactEstimate:
    return estimate_impact(cube, metric="actions", treated={"country": TREATED}, launch=LAUNCH)


def test_placebo_gaps_are_the_gaps_the_test_ranks(rate, count):
    for estimate in (rate, count):
        space = estimate.placebo_space
        assert space is not None and space.gaps is not None
        gaps = space.gaps.join(estimate.series.select("period", "post"), on="period")
        for row in space.results.iter_rows(named=True):
            unit = gaps.filter(pl.col("unit") == row["unit"])
            pre = unit.filter(~pl.col("post"))["gap"].to_numpy()
            post = unit.filter(pl.col("post"))["gap"].to_numpy()
            assert np.sqrt(np.mean(pre**2)) == pytest.approx(row["pre_rmspe"], rel=1e-9)
            assert np.sqrt(np.mean(post**2)) == pytest.approx(row["post_rmspe"], rel=1e-9)
        own = gaps.filter(pl.col("unit") == estimate.treated)
        assert own["gap"].to_numpy() == pytest.approx(estimate.series["effect"].to_numpy())


def test_the_counterfactual_chart_draws_the_estimates_series(rate):
    chart = impact_charts.counterfactual(rate, treated_label="Brazil, Mexico and Colombia")
    assert chart.kind == "other" and chart.metric == "proactive_rate"
    traces = {t.name: t for t in chart.figure.data if t.name}
    assert list(traces["Actual: Brazil, Mexico and Colombia"].y) == pytest.approx(rate.series["actual"].to_list())
    assert list(traces["Without the launch (counterfactual)"].y) == pytest.approx(
        rate.series["counterfactual"].to_list()
    )
    band = traces["Without the launch: 90% interval"]
    post = rate.series.filter("post")
    assert list(band.x) == post["period"].to_list() and list(band.y) == pytest.approx(post["lower"].to_list())
    assert chart.data.columns == ["period", "post", "actual", "counterfactual", "lower", "upper"]
    assert "Brazil, Mexico and Colombia" in chart.title


def test_the_effect_chart_has_the_fit_error_before_and_the_effect_with_its_interval_after(count):
    chart = impact_charts.effect_per_period(count)
    before, after, average = chart.figure.data[:3]
    post = count.series.filter("post")
    assert list(before.y) == pytest.approx(count.series.filter(~pl.col("post"))["effect"].to_list())
    assert list(after.y) == pytest.approx(post["effect"].to_list())
    assert list(np.array(after.y) + np.array(after.error_y.array)) == pytest.approx(post["effect_upper"].to_list())
    assert list(np.array(after.y) - np.array(after.error_y.arrayminus)) == pytest.approx(post["effect_lower"].to_list())
    assert list(average.y) == pytest.approx([count.average.value] * 2)
    # the launch line sits between the last bar before the launch and the first after it
    line = next(s for s in chart.figure.layout.shapes if s.yref == "paper")
    last, first = count.series.filter(~pl.col("post"))["period"][-1], post["period"][0]
    assert dt.datetime.combine(last, dt.time()) < line.x0 < dt.datetime.combine(first, dt.time())


def test_donor_weights_are_the_heaviest_donors_by_name(count):
    chart = impact_charts.donor_weights(count, dimension="country", top=5)
    (bars,) = chart.figure.data
    used = count.weights.filter(pl.col("weight").abs() > 1e-4)
    heaviest = used.sort(pl.col("weight").abs(), descending=True).head(5)
    assert f"{len(heaviest)} donors" in chart.title
    assert list(bars.customdata) == heaviest["donor"].to_list()
    assert list(bars.x) == pytest.approx(heaviest["weight"].to_list())
    assert list(bars.y) == [label("country", d) for d in heaviest["donor"]]


def test_placebo_charts_carry_the_placebos(rate):
    space = impact_charts.placebo_in_space(rate, treated_label="the launched countries", dimension="country")
    treated = space.figure.data[-1]
    assert treated.name == "the launched countries"
    assert list(treated.y) == pytest.approx(rate.series["effect"].to_list())
    assert space.data["unit"].n_unique() == len(space.figure.data)
    assert rate.placebo_space is not None and f"ranks {rate.placebo_space.rank} of" in space.title
    timing = impact_charts.placebo_in_time(rate)
    assert rate.placebo_time is not None
    assert timing.data["effect"].to_list() == pytest.approx([rate.placebo_time.average.value, rate.average.value])
    assert timing.data["lower"].to_list() == pytest.approx([rate.placebo_time.average.lower, rate.average.lower])
    with pytest.raises(ValueError, match="no placebo in time"):
        impact_charts.placebo_in_time(replace(rate, placebo_time=None))


def test_effects_are_written_in_the_metrics_units_or_plainly(rate, count):
    assert rate.amount_text(0.0123) == "+1.2 pp" and count.amount_text(-17.2) == "-17"
    assert replace(rate, metric="cigsale").amount_text(-2.583) == "-2.58", "a panel's own outcome"


def test_the_charts_go_into_a_deck_as_pictures(rate):
    made = [
        impact_charts.counterfactual(rate),
        impact_charts.effect_per_period(rate),
        impact_charts.donor_weights(rate, dimension="country"),
        impact_charts.placebo_in_space(rate),
        impact_charts.placebo_in_time(rate),
    ]
    section = export.Section("Impact", made, narrative="the effect in words")
    deck = export.Deck("Impact", "a launch", [section])
    slides = list(Presentation(io.BytesIO(export.build_deck(deck))).slides)[1:]
    assert len(slides) == len(made)
    for slide in slides:
        assert not any(shape.has_chart for shape in slide.shapes)
        assert any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in slide.shapes)


def test_the_sentence_states_the_effect_its_interval_and_what_it_assumes(rate, count):
    text = impact_text(rate, treated_label="Brazil, Mexico and Colombia", grain="week", dimension="country")
    average = rate.average
    assert f"{signed_amount_text('proactive_rate', average.lower)} to" in text
    assert signed_amount_text("proactive_rate", average.upper) in text
    assert "higher than the donors predict" in text and "proactive actions over" in text
    assert "assumes that no donor had a launch" in text and "did not reach the donors" in text
    assert "placebo in space" in text and "placebo in time" in text
    words = impact_text(count, treated_label="Brazil, Mexico and Colombia", grain="week")
    assert "per week" in words


EFFECTS = st.floats(-1e4, 1e4, allow_nan=False)
PERCENTS = st.one_of(st.none(), st.floats(-99, 500))


@settings(max_examples=60, deadline=None)
@given(value=EFFECTS, spread=st.floats(0, 1e4), percent=PERCENTS, infinite=st.booleans())
def test_the_sentence_reads_any_effect(count, value, spread, percent, infinite):
    """Whatever the effect (either sign, no percent, an unbounded interval), the sentence says its
    direction and its interval, and never fails."""
    lower, upper = value - spread, (np.inf if infinite else value + spread)
    percents = (percent, None if percent is None else percent - 1, None if percent is None else percent + 1)
    effect = Effect(value, lower, upper, *percents)
    text = effect_sentence(replace(count, average=effect, cumulative=effect), treated_label="X", grain="week")
    if round(value) != 0:
        assert ("higher" if value > 0 else "lower") in text
    else:
        assert "about the same as the donors predict" in text
    assert signed_amount_text("actions", lower) in text
    assert ("+∞" if infinite else signed_amount_text("actions", upper)) in text
    assert (percent is None) == (f"({signed(percent or 0, '%')}; 90% interval" not in text)


def test_an_event_with_a_region_launches_in_its_countries_or_the_views_own(sample_cube):
    event = {"date": dt.date(2026, 1, 19), "region": "Americas", "harm_area": "human_exploitation"}
    everywhere = launch_slice(sample_cube, event)
    assert everywhere is not None and everywhere.dimension == "country"
    assert {"BR", "MX", "CO", "US", "CA"} <= set(everywhere.values) and "FR" not in everywhere.values
    assert everywhere.harm_area == "human_exploitation"
    narrowed = launch_slice(sample_cube, event, {"country": ["BR", "MX", "CO"]})
    assert narrowed is not None and narrowed.values == ["BR", "MX", "CO"]
    outside = launch_slice(sample_cube, event, {"country": ["BR", "FR"]})  # not all in the region
    assert outside is not None and set(outside.values) == set(everywhere.values)
    area = launch_slice(sample_cube, {"region": None, "harm_area": "hateful_behavior"}, {"country": ["FR"]})
    assert area is not None and (area.dimension, area.values) == ("harm_area", ["hateful_behavior"])
    view = launch_slice(sample_cube, {"region": None, "harm_area": None}, {"region": ["Europe"], "country": ["FR"]})
    assert view is not None and (view.dimension, view.values) == ("country", ["FR"])
    assert launch_slice(sample_cube, {"region": None, "harm_area": None}, {}) is None
    assert linked_dimensions("country") == ("country", "region")


def test_donors_with_a_launch_of_their_own_are_named(sample_cube):
    events = pl.DataFrame(
        {
            "date": [dt.date(2025, 9, 1), dt.date(2026, 1, 19), dt.date(2025, 10, 6)],
            "title": ["Trusted flaggers in Africa", "The launch itself", "Attack in Western Europe"],
            "kind": ["product_launch", "product_launch", "world_event"],
            "harm_area": ["human_exploitation", "human_exploitation", "violent_extremism"],
            "region": ["Africa", "Americas", "Europe"],
        }
    )
    donors = [c for c in sample_cube.values("country") if c not in TREATED]
    found = donor_launches(
        sample_cube, events, dimension="country", treated=TREATED, donors=donors, launch=dt.date(2026, 1, 19)
    )
    assert len(found) == 1 and "Trusted flaggers in Africa" in found[0] and "NG" in found[0]
    none = donor_launches(
        sample_cube, events, dimension="country", treated=TREATED, donors=["FR", "DE"], launch=dt.date(2026, 1, 19)
    )
    assert none == []

"""What pages show of prevalence: the cube's prevalence path, KPI cards with a tested change, the
trend with its band, and enforcement against prevalence."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import insights
from insights import charts
from insights.errors import DataError
from insights.exposed import ExposedCube
from insights.kpis import prevalence_cards, prevalence_change
from insights.more_or_found import enforcement_against_prevalence, more_or_found
from insights.periods import Period
from insights.prevalence import estimate_prevalence, load_view_sample

CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
Q3 = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
Q2 = Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30))


@pytest.fixture(scope="module")
def exposed(sample_dir: Path) -> ExposedCube:
    cube = insights.load_source(sample_dir.parent)
    assert isinstance(cube, ExposedCube)
    return cube


# ---- the cube's prevalence path -----------------------------------------------------------------


def test_the_cube_estimates_from_its_view_sample(exposed, sample_dir):
    sample = load_view_sample(sample_dir.parent)
    got = exposed.prevalence("month", filters={"harm_area": ["self_harm"], "region": "Europe"}, start="2026-01-01")
    want = estimate_prevalence(
        sample, "month", harm_areas=["self_harm"], filters={"region": "Europe"}, start="2026-01-01"
    )
    assert_frame_equal(got, want, rel_tol=1e-12)  # sums in another order: equal to the last bits


def test_filters_prevalence_cannot_apply_are_named_not_silently_applied(exposed):
    applied, not_applied = exposed.prevalence_filters(
        {"harm_area": "spam", "country": ["BR"], "policy": ["spam"], "detection_source": "automated"}
    )
    assert applied == {"country": ["BR"]} and not_applied == ["policy", "detection_source"]
    with_policy = exposed.prevalence("quarter", filters={"harm_area": "spam", "country": "BR", "policy": "spam"})
    without = exposed.prevalence("quarter", filters={"harm_area": "spam", "country": "BR"})
    assert_frame_equal(with_policy, without, rel_tol=1e-12)
    with pytest.raises(DataError, match="cannot be split by"):
        exposed.prevalence("quarter", by=["policy"])
    assert exposed.prevalence("quarter", filters={"harm_area": "no_such_area"}).is_empty()
    with pytest.raises(DataError, match="no labelled view sample"):
        ExposedCube(exposed.cube, exposed.exposure).prevalence()


# ---- the change of an estimate ------------------------------------------------------------------


def row(estimate, lower, upper, status="estimate"):
    return {"estimate": estimate, "lower": lower, "upper": upper, "status": status}


def test_the_change_interval_is_newcombes_from_the_two_intervals():
    change = prevalence_change(row(0.0010, 0.0008, 0.0012), row(0.0006, 0.0005, 0.0008))
    assert change.change == pytest.approx(0.0004)
    assert change.lower == pytest.approx(0.0004 - math.sqrt(0.0002**2 + 0.0002**2))
    assert change.upper == pytest.approx(0.0004 + math.sqrt(0.0002**2 + 0.0001**2))
    assert change.different and change.direction == "up" and change.overlap
    assert change.text() == "+0.040 pp (+0.012 to +0.062 pp): higher", "overlapping intervals, yet different"
    noise = prevalence_change(row(0.0010, 0.0008, 0.0012), row(0.0009, 0.0007, 0.0011))
    assert not noise.different and noise.direction == "flat" and noise.text().endswith("could be noise")


def test_upper_bounds_and_withheld_figures():
    bound = row(None, 0.0, 0.0003, "upper_bound")
    assert prevalence_change(row(0.0010, 0.0008, 0.0012), bound).text() == "higher: the intervals do not overlap"
    untested = prevalence_change(row(0.0002, 0.0001, 0.0004), bound)
    assert untested.different is None and "only an upper bound" in untested.text()
    withheld = prevalence_change(row(None, None, None, "withheld"), row(0.0010, 0.0008, 0.0012))
    assert withheld.different is None and "withheld" in withheld.text()


fractions = st.floats(1e-6, 0.05)


@given(p1=fractions, p0=fractions, a=fractions, b=fractions, c=fractions, d=fractions)
def test_the_change_interval_holds_the_change_and_disjoint_intervals_are_different(p1, p0, a, b, c, d):
    now, before = row(p1, max(p1 - a, 0), p1 + b), row(p0, max(p0 - c, 0), p0 + d)
    change = prevalence_change(now, before)
    assert change.lower <= change.change <= change.upper
    if not change.overlap:
        assert change.different


# ---- cards --------------------------------------------------------------------------------------


def test_cards_show_the_reported_figure_and_its_tested_change(exposed):
    period, cards = prevalence_cards(exposed, filters={"harm_area": CORE, "policy": ["hate_speech"]})
    assert period == Q3, "the last complete quarter of data ending 2026-11-22"
    assert [c.harm_area for c in cards] == CORE
    q3 = exposed.prevalence("all", filters={"harm_area": CORE}, start=Q3.start, end=Q3.end)
    q2 = exposed.prevalence("all", filters={"harm_area": CORE}, start=Q2.start, end=Q2.end)
    for card, now, before in zip(cards, q3.iter_rows(named=True), q2.iter_rows(named=True), strict=True):
        assert card.text == now["reported"] and card.baseline_text == before["reported"]
        tested = prevalence_change(now, before)
        assert card.change.change == pytest.approx(tested.change, rel=1e-9)
        assert (card.change.different, card.change.overlap) == (tested.different, tested.overlap)
        assert card.not_applied == ("policy",)
        assert card.text.endswith("%)") and card.status == "estimate"
    weekly = prevalence_cards(exposed, "week", filters={"harm_area": "violent_extremism", "country": "NZ"})[1]
    assert weekly[0].text.startswith(("≤", "withheld")), "a week of one small country: no point estimate"


# ---- charts -------------------------------------------------------------------------------------


def test_the_trend_draws_bands_bounds_and_withheld_periods_in_words():
    frame = pl.DataFrame(
        {
            "period": [dt.date(2026, 1, 5), dt.date(2026, 1, 12), dt.date(2026, 1, 19), dt.date(2026, 1, 26)],
            "harm_area": ["self_harm"] * 4,
            "estimate": [0.0006, None, None, 0.0007],
            "lower": [0.0005, 0.0, None, 0.0006],
            "upper": [0.0007, 0.0004, None, 0.0008],
            "status": ["estimate", "upper_bound", "withheld", "estimate"],
            "reported": ["0.060 % (0.050–0.070 %)", "≤ 0.040 %", "withheld: n < 500", "0.070 % (0.060–0.080 %)"],
        }
    )
    chart = charts.prevalence_trend(frame)
    names = [t.name for t in chart.figure.data]
    assert names == [
        "Mental health / self-harm: 95% interval",
        "Mental health / self-harm",
        "Mental health / self-harm: upper bound only",
        "Mental health / self-harm: withheld",
    ]
    band = chart.figure.data[0]
    assert list(band.y) == [0.0007, 0.0008, 0.0006, 0.0005] and band.fill == "toself"
    assert list(chart.figure.data[2].text) == ["≤ 0.040 %"]
    assert (
        "upper bound only (▽) in 2026-01-12" in chart.notes
        and "withheld, too few sampled views (×) in 2026-01-19" in chart.notes
    )
    assert "upper bound only" in chart.figure.layout.annotations[0].text
    assert chart.kind == "other" and chart.data.height == 4


def test_enforcement_against_prevalence_answers_more_or_found(exposed):
    frame = enforcement_against_prevalence(exposed, filters={"harm_area": CORE}, start=dt.date(2025, 1, 1), end=Q3.end)
    assert frame.height == 4 * 7 and frame["prevalence_status"].unique().to_list() == ["estimate"]
    q3 = frame.filter(pl.col("period") == Q3.start).sort("harm_area")
    sums = exposed.sums("actions_per_million_views", ["harm_area"], {"harm_area": CORE}, start=Q3.start, end=Q3.end)
    assert q3["enforcement"].to_list() == pytest.approx(sums.sort("harm_area")["actions_per_million_views"].to_list())
    assert q3["actions_per_violating_view"].to_list() == pytest.approx(
        (q3["numerator"] / (q3["prevalence"] * q3["denominator"])).to_list()
    )
    for area in CORE:
        split = more_or_found(frame, area)
        assert split.prevalence_part + split.found_part == pytest.approx(split.change, rel=1e-12)
        assert "from prevalence" in split.text()
    chart = charts.enforcement_vs_prevalence(frame)
    assert chart.figure.layout.xaxis.type == "log" and chart.figure.layout.yaxis.type == "log"
    paths = [t for t in chart.figure.data if t.mode == "lines+markers+text"]
    assert [t.name for t in paths] == [
        "Violent extremism",
        "Hateful behavior",
        "Mental health / self-harm",
        "Human exploitation",
    ]
    assert "more because there is more" in chart.notes
    with pytest.raises(ValueError, match="not per view"):
        enforcement_against_prevalence(exposed, "actions_per_10k_uploads")


def test_prevalence_values_keep_two_significant_digits():
    from insights.formatting import value_text

    assert [value_text("prevalence", v) for v in (0.00062, 0.012, None)] == ["0.062%", "1.2%", "n/a"]
    assert value_text("proactive_rate", 0.00062) == "0.1%", "other rates as before"


class _Silent:
    """A watcher that lets every question run (what the app's status does for a fast one)."""

    def waiting(self, seconds: float) -> None:
        pass

    def answered(self) -> None:
        pass


def test_a_suppressed_and_watched_cube_keeps_its_exposure_and_its_policy(exposed):
    """The app suppresses, then watches, the exposed cube: neither step may drop the exposure (its
    per-exposure metrics and prevalence) or the suppression of the enforcement counts."""
    from insights.disclosure import Suppression

    policy = Suppression(10_000)
    page_cube = exposed.with_suppression(policy).watched(_Silent())
    assert isinstance(page_cube, ExposedCube)
    assert "actions_per_million_views" in page_cube.available_metrics()
    assert page_cube.suppression == policy
    weekly = page_cube.query("actions", by=["harm_area"], grain="week", filters={"harm_area": ["self_harm"]})
    assert weekly["actions__withheld"].drop_nulls().len() > 0, "counts under 10,000 a week are withheld"
    assert_frame_equal(
        page_cube.prevalence("quarter", filters={"harm_area": ["self_harm"]}),
        exposed.prevalence("quarter", filters={"harm_area": ["self_harm"]}),
    )

"""The split of a per-exposure rate's change into enforcement and exposure: exact, and right in
the cases whose answer is known."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import insights
from insights.periods import Period
from insights.rootcause import exposure_split, exposure_splits, split_rate_change

counts = st.integers(min_value=0, max_value=10**9)
exposures = st.integers(min_value=1, max_value=10**12)
scales = st.sampled_from([1.0, 1e4, 1e6])


@given(n0=counts, d0=exposures, n1=counts, d1=exposures, scale=scales)
def test_the_parts_add_up_exactly_to_the_change(n0, d0, n1, d1, scale):
    enforcement, exposure, method = split_rate_change(n0, d0, n1, d1, scale)
    change = scale * n1 / d1 - scale * n0 / d0
    # up to float rounding of the parts, which can be far larger than a small change
    rounding = 1e-12 * max(abs(enforcement), abs(exposure), abs(change), 1e-300)
    assert enforcement + exposure == pytest.approx(change, rel=1e-9, abs=rounding)
    assert method == ("lmdi" if n0 and n1 else "symmetric")


@given(n0=st.integers(1, 10**9), d0=exposures, n1=st.integers(1, 10**9), d1=exposures, scale=scales)
def test_it_is_symmetric_in_time(n0, d0, n1, d1, scale):
    forward = split_rate_change(n0, d0, n1, d1, scale)
    backward = split_rate_change(n1, d1, n0, d0, scale)
    assert forward is not None and backward is not None
    assert forward[0] == pytest.approx(-backward[0], rel=1e-9, abs=1e-12)
    assert forward[1] == pytest.approx(-backward[1], rel=1e-9, abs=1e-12)


@given(n=st.integers(0, 10**9), d0=exposures, d1=exposures, n1=counts)
def test_a_factor_that_did_not_move_gets_nothing(n, d0, d1, n1):
    steady_exposure = split_rate_change(n, d0, n1, d0, 1e6)
    assert steady_exposure is not None and steady_exposure[1] == pytest.approx(0.0, abs=1e-12)
    steady_enforcement = split_rate_change(n, d0, n, d1, 1e6)
    assert steady_enforcement is not None and steady_enforcement[0] == pytest.approx(0.0, abs=1e-12)


def test_known_answers():
    # actions +10 %, views +10 %: the rate does not move, two equal and opposite parts
    enforcement, exposure, _ = split_rate_change(100, 1_000_000, 110, 1_100_000, 1e6)
    assert enforcement == pytest.approx(-exposure) and enforcement == pytest.approx(100 * math.log(1.1))
    # actions doubled, views the same: all of the change is enforcement
    assert split_rate_change(50, 10**6, 100, 10**6, 1e6)[:2] == pytest.approx((50.0, 0.0))
    # no exposure in a period: no rate, no split
    assert split_rate_change(5, 0, 10, 100) is None


@pytest.fixture(scope="module")
def exposed(sample_dir: Path):
    return insights.load_source(sample_dir.parent)


def test_on_the_sample_it_adds_up_to_the_change_the_pages_show(exposed):
    current, baseline = (
        Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        Period(dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
    )
    split = exposure_split(exposed, "actions_per_million_views", current=current, baseline=baseline)
    now = exposed.sums("actions_per_million_views", start=current.start, end=current.end).row(0, named=True)
    before = exposed.sums("actions_per_million_views", start=baseline.start, end=baseline.end).row(0, named=True)
    assert split.value == pytest.approx(now["actions_per_million_views"], rel=1e-12)
    assert split.baseline_value == pytest.approx(before["actions_per_million_views"], rel=1e-12)
    assert split.enforcement + split.exposure == pytest.approx(split.change, rel=1e-12)
    assert split.exposure < 0 < split.exposure_pct, "views grew (12 %/year in the sample), pulling the rate down"
    assert "from enforcement" in split.text() and "from exposure (views +" in split.text()
    per_area = exposure_splits(
        exposed, "actions_per_million_views", current=current, baseline=baseline, by=["harm_area"]
    )
    assert (per_area["enforcement"] + per_area["exposure"] - per_area["change"]).abs().max() < 1e-9
    assert per_area["change"].sum() == pytest.approx(split.change, rel=1e-9), (
        "harm areas share the slice's views, so their rates' changes add up to the slice's"
    )
    assert per_area["baseline_denominator"].n_unique() == 1
    with pytest.raises(ValueError, match="only a rate"):
        exposure_split(exposed, "actions", current=current, baseline=baseline)


def test_root_cause_of_a_per_exposure_rate_breaks_it_down_where_exposure_is_cut(exposed):
    """Views are per country × content type, not per harm area: the change of actions per million
    views is decomposed over exposure's dimensions, and every breakdown adds up to the change."""
    from insights.rootcause import decomposition_tree, explain_change

    current, baseline = ("2026-07-01", "2026-09-30"), ("2026-04-01", "2026-06-30")
    hate = {"harm_area": "hateful_behavior"}
    why = explain_change(exposed, "actions_per_million_views", current=current, baseline=baseline, filters=hate)
    assert set(why.dims) <= {"country", "region", "content_type"}
    totals = why.contributors.group_by("cuboid").agg(pl.col("contribution").sum())
    assert totals["contribution"].to_list() == pytest.approx([why.headline.change] * totals.height, rel=1e-9)
    node = decomposition_tree(exposed, "actions_per_million_views", current=current, baseline=baseline, filters=hate)
    assert node.split_dimension in ("country", "region", "content_type")
    assert sum(c.contribution for c in node.children) == pytest.approx(why.headline.change, rel=1e-9)

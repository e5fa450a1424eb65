"""The digest's drill-down: a segment of a followed slice that moved beyond its own noise.

Known answers on generated panels: a story in one segment (a country, a content type, a
detection source) too small to move the whole slice by what is watched is found, named in words
and charted; panels with no story stay quiet at the drill-down's level whatever their shape; and
Holm's procedure is checked against its definition.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from insights.cube import Cube, Provenance
from insights.digest.content import DigestBuilder, comparison_level, contributor_line, segment_line
from insights.digest.drilldown import MIN_SEGMENT_SHARE, examined_segments, holm_levels
from insights.digest.subscriptions import Channels, Follow, Subscription, Watch
from insights.labels import segment_label
from insights.periods import Period, previous_period
from insights.trends import measure_change, trend

MONDAY = dt.date(2025, 1, 6)
WEEK = dt.timedelta(days=7)
#: The panel's segments, by dimension, with their shares of the harm area's actions.
SHARES: dict[str, dict[str, float]] = {
    "country": {"US": 0.34, "BR": 0.2, "IN": 0.16, "DE": 0.12, "FR": 0.1, "NG": 0.08},
    "content_type": {"video": 0.6, "live": 0.28, "comment": 0.12},
    "detection_source": {"automated": 0.7, "user_report": 0.2, "trusted_flagger": 0.1},
}
AREA = "violent_extremism"
FOLLOW = Follow({"harm_area": AREA}, (Watch("actions", "both", min_change_pct=10),), min_volume=100)
#: The same without a threshold: only the noise test stands between noise and a digest.
ANY_CHANGE = Follow({"harm_area": AREA}, (Watch("actions"),), min_volume=100)


def panel(
    weeks: int,
    daily: float,
    seed: int,
    story: Mapping[str, str] | None = None,
    lift: float = 0.0,
    spread: float = 0.0,
) -> Cube:
    """Daily actions of one harm area (and a little of another) by country × content type ×
    detection source over ``weeks`` weeks from a Monday: Poisson counts around ``daily`` split by
    ``SHARES``, each day's cells scaled by a common gamma factor of coefficient of variation
    ``spread`` (a day busier than another everywhere). In the last week, the cells of ``story``
    (one value of one dimension) have ``lift`` more actions."""
    rng = np.random.default_rng(seed)
    days = weeks * 7
    cells = list(itertools.product(*(shares.items() for shares in SHARES.values())))
    mean = np.array([daily * np.prod([share for _, share in cell]) for cell in cells])
    busy = rng.gamma(1 / spread**2, spread**2, size=days) if spread else np.ones(days)
    lifted = np.array([1 + lift if story and _in(cell, story) else 1.0 for cell in cells])
    rows = []
    for day in range(days):
        scale = mean * busy[day] * (lifted if day >= days - 7 else 1.0)
        date = MONDAY + dt.timedelta(days=day)
        for area, factor in ((AREA, 1.0), ("spam", 0.05)):
            for cell, count in zip(cells, rng.poisson(scale * factor), strict=True):
                values = dict(zip(SHARES, (value for value, _ in cell), strict=True))
                rows.append({"date": date, "harm_area": area, **values, "actions": int(count)})
    frame = pl.DataFrame(rows).with_columns(pl.col(pl.String).cast(pl.Categorical))
    last = MONDAY + dt.timedelta(days=days - 1)
    return Cube(frame, Provenance(source="panel", kind="table", rows_read=len(frame), as_of=last))


def _in(cell: tuple[tuple[str, float], ...], story: Mapping[str, str]) -> bool:
    values = dict(zip(SHARES, (value for value, _ in cell), strict=True))
    return all(values[d] == v for d, v in story.items())


def last_week(cube: Cube) -> Period:
    """The panel's last (complete, Monday–Sunday) week."""
    assert cube.date_range is not None
    end = cube.date_range[1]
    return Period(end - dt.timedelta(days=6), end)


def follower(follow: Follow = FOLLOW) -> Subscription:
    return Subscription("ana", "Ana", "0 7 * * MON", Channels(email="ana@example.org"), (follow,))


def builder(cube: Cube, charts: bool = False) -> DigestBuilder:
    return DigestBuilder(lambda _: cube, charts=charts)


STORIES = [(d, v) for d, shares in SHARES.items() for v, share in shares.items() if share <= 0.12]


@settings(max_examples=8, deadline=None)
@given(
    story=st.sampled_from(STORIES),
    lift=st.sampled_from([-0.45, 0.5]),
    seed=st.integers(0, 2**16),
    spread=st.sampled_from([0.0, 0.05]),
)
def test_a_story_in_one_segment_is_found_and_named_when_the_slice_does_not_show_it(story, lift, seed, spread):
    dimension, value = story
    share = SHARES[dimension][value]
    # at most 6 % on the whole slice (its noise: about 1.4 %), 45 % or more in a segment of 800 actions or more
    cube = panel(weeks=16, daily=1_400, seed=seed, story={dimension: value}, lift=lift, spread=spread)
    week = last_week(cube)
    made = builder(cube, charts=True)
    report = made.report(follower(), week)
    [found] = report.slices
    [result] = found.results
    # the premise: the slice as a whole does not show it (a large segment's lift can move it)
    assume(abs(result.change.pct_change or 0) < 0.1 or not result.change.significant)
    assert not result.reported and result.segments, (share * lift, result.change)
    first = result.segments[0]
    assert first.segment == {dimension: value}, [s.segment for s in result.segments]

    # the segment's numbers are the library's: its change against its own noise, at its Holm level
    inside = {"harm_area": AREA, dimension: value}
    own = trend(cube, "actions", "week", inside, end=week.end)
    again = measure_change(
        cube, "actions", current=week, baseline=previous_period(week, "week"), filters=inside, noise=own.noise
    )
    assert (first.change.value, first.change.baseline_value, first.change.p_value) == (
        again.value,
        again.baseline_value,
        again.p_value,
    )
    examined = examined_segments(cube, FOLLOW, current=week, baseline=previous_period(week, "week"))
    assert first.examined == len(examined)
    level = comparison_level(0.05, report.comparisons)
    assert first.change.alpha == pytest.approx(level / len(examined)) and first.change.significant

    # and in words: the section says the slice did not move, what the segment did, and charts it
    digest = made.compose(report)
    [section] = digest.sections
    label = segment_label({dimension: value})
    assert section.numbers[0].startswith("Violent extremism as a whole did not change")
    assert section.numbers[1] == segment_line(first, "actions")
    assert section.numbers[1].startswith(f"But {label} (") and f"{len(examined)} parts looked at" in section.numbers[1]
    said = [f"In {label}: {contributor_line('actions', c)}" for c in first.contributors]
    assert said and said == [line for line in section.contributors if line.startswith(f"In {label}: ")]
    assert section.chart_png and label in section.chart_alt
    assert f"{dimension}={value}" in (section.link or "")
    assert digest.unchanged is None and not digest.is_quiet


@settings(max_examples=6, deadline=None, derandomize=True)
@given(
    daily=st.sampled_from([500.0, 1500.0]),
    spread=st.sampled_from([0.0, 0.05, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_quiet_panels_stay_quiet(daily, spread, seed):
    """Twenty quiet weeks of one panel, any change watched: the slice and its drill-down share the
    digest's 5 % a week, so 20 weeks bring at most one false alarm on average; six would be a
    one-in-1,700 event. Days busier everywhere (``spread``) are noise a segment's own test must
    know: tested as if its counts were Poisson, segments flag ten times as often."""
    cube = panel(weeks=30, daily=daily, seed=seed, spread=spread)
    made = builder(cube)
    flagged = []
    for back in range(20):
        week = last_week(cube)
        week = Period(week.start - back * WEEK, week.end - back * WEEK)
        report = made.report(follower(ANY_CHANGE), week)
        [found] = report.slices
        assert found.judged
        flagged += [(week.start, s.segment) for r in found.results for s in r.segments]
        flagged += [(week.start, "slice") for r in found.results if r.reported]
    assert len(flagged) <= 5, flagged


def test_a_segment_that_is_the_same_events_as_one_listed_is_not_listed_again():
    story = panel(weeks=16, daily=1_400, seed=5, story={"country": "FR"}, lift=0.5)
    french = pl.when(pl.col("country") == "FR").then(pl.lit("fr")).otherwise(pl.lit("en")).cast(pl.Categorical)
    cube = Cube(story.data.with_columns(language=french), story.provenance)
    [found] = builder(cube).report(follower(), last_week(cube)).slices
    [result] = found.results
    segments = [s.segment for s in result.segments]
    assert segments[0] in ({"country": "FR"}, {"language": "fr"}) and {"country": "FR"} not in segments[1:]
    assert {"language": "fr"} not in segments[1:]


def test_examined_segments_are_those_big_enough_in_either_week():
    cube = panel(weeks=3, daily=400, seed=3)
    week = last_week(cube)
    examined = examined_segments(cube, FOLLOW, current=week, baseline=previous_period(week, "week"))
    # about 2,800 actions a week: every segment holds 8 % or more, so those of 100 actions or more
    big = {(d, v) for d, shares in SHARES.items() for v, share in shares.items() if share * 2_800 >= 115}
    assert set(examined.select("dimension", "value").iter_rows()) == big
    assert examined["share"].min() >= MIN_SEGMENT_SHARE
    assert examined.group_by("dimension").agg(pl.col("share").sum())["share"].max() <= 1.0 + 1e-9
    small = examined_segments(
        cube,
        Follow(FOLLOW.filters, FOLLOW.watches, min_volume=10),
        current=week,
        baseline=previous_period(week, "week"),
    )
    assert len(small) == sum(len(s) for s in SHARES.values())  # the harm area is fixed: never a segment
    assert examined_segments(
        cube, Follow(FOLLOW.filters, FOLLOW.watches, volume_measure="appeals"), current=week, baseline=week
    ).is_empty()


def _holm(p_values: list[float | None], level: float, tests: int) -> list[bool]:
    """Holm's procedure by its definition: reject the i-th smallest while every p-value up to it
    is below level / (tests - rank)."""
    order = sorted((1.0 if p is None else p, i) for i, p in enumerate(p_values))
    rejected = [False] * len(p_values)
    for rank, (p, i) in enumerate(order):
        if not p < level / (tests - rank):
            break
        rejected[i] = True
    return rejected


@given(
    p_values=st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=12),
    extra=st.integers(0, 20),
    level=st.sampled_from([0.05, 0.01, 0.0025]),
)
def test_holm_rejects_as_defined_and_never_less_than_bonferroni(p_values, extra, level):
    tests = len(p_values) + extra
    if tests == 0:
        return
    levels = holm_levels(p_values, level, tests)
    assert [at is not None for at in levels] == _holm(p_values, level, tests)
    for p, at in zip(p_values, levels, strict=True):
        if p is not None and p < level / tests:
            assert at is not None  # Bonferroni would reject it
        if at is not None:
            assert p is not None and p < at and level / tests <= at <= level


def test_holm_refuses_more_p_values_than_tests():
    with pytest.raises(ValueError):
        holm_levels([0.01, 0.02], 0.05, 1)

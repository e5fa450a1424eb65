"""The digest's content on the generated sample: what it reports, and that every number is the library's.

Each test recomputes what the digest says with the library's own functions (``trend``,
``measure_change``, ``explain_change``, ``events_near``) and the shared formatter, and compares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from insights.cube import Cube
from insights.digest import content
from insights.digest.content import (
    CHART_HEIGHT,
    CHART_SCALE,
    CHART_WIDTH,
    DEFAULT_METRICS,
    ContentConfig,
    CubeSource,
    DigestBuilder,
    SliceReport,
    comparison_level,
    comparison_periods,
    default_follow,
)
from insights.digest.ramp import ramp_change, ramp_periods
from insights.digest.subscriptions import Channels, Follow, Subscription, Watch
from insights.disclosure import Suppression
from insights.errors import DataError
from insights.formatting import evidence_text, p_value_text, signed_amount_text, value_text
from insights.labels import segment_label
from insights.metrics import metric
from insights.periods import Period
from insights.rootcause import explain_change
from insights.trends import events_near, measure_change, read_events, trend
from insights.viewstate import ViewState, parse_period_param

ROOT = Path(__file__).resolve().parents[2]
EVENTS = read_events(ROOT / "sample_data" / "events.csv")
CORE = ("violent_extremism", "hateful_behavior", "self_harm", "human_exploitation")
SPIKE = Period(dt.date(2026, 6, 15), dt.date(2026, 6, 21))  # the self-harm story's first week
SPIKE_BASELINE = Period(dt.date(2026, 6, 8), dt.date(2026, 6, 14))
QUIET = Period(dt.date(2025, 6, 2), dt.date(2025, 6, 8))  # no story of a core harm area near it
BASE_URL = "https://insights.example.org"


def subscriber(*follows: Follow, ident: str = "ana@example.org") -> Subscription:
    return Subscription(ident, "Ana Lima", "0 7 * * MON", Channels(email=ident), follows)


def core_follower() -> Subscription:
    return subscriber(*(default_follow({"harm_area": area}) for area in CORE))


def builder(cube: Cube, **options) -> DigestBuilder:
    return DigestBuilder(lambda _: cube, events=EVENTS, base_url=BASE_URL, **options)


@pytest.fixture(scope="module")
def spike_digest(sample_cube):
    """The core follower's digest of the self-harm spike's first week, with its chart."""
    made = builder(sample_cube)
    report = made.report(core_follower(), SPIKE)
    return report, made.compose(report)


def test_the_story_week_reports_the_spike_and_every_number_is_the_librarys(sample_cube, spike_digest):
    report, digest = spike_digest
    assert (report.current, report.baseline) == (SPIKE, SPIKE_BASELINE)
    assert report.comparisons == len(CORE) * len(DEFAULT_METRICS)
    level = comparison_level(0.05, report.comparisons)
    assert level == 0.05 / (2 * report.comparisons)  # half for the slice, half for its drill-down
    # every comparison, recomputed: the slice's own noise (its trend's), at the slice's level split
    # between the week before and the ramp
    for found in report.slices:
        filters = found.follow.cube_filters()
        for result in found.results:
            noise = trend(sample_cube, result.change.metric, "week", filters, end=SPIKE.end).noise
            again = measure_change(
                sample_cube,
                result.change.metric,
                current=SPIKE,
                baseline=SPIKE_BASELINE,
                filters=filters,
                noise=noise,
                alpha=level / 2,
            )
            assert result.rule == "week" and result.change == again
            assert result.reported == (again.significant and result.watch.matters(again.change, again.pct_change))
    assert [s.follow.filters["harm_area"] for s in report.changed] == [("self_harm",)]
    [section] = digest.sections
    assert section.title == "Mental health / self-harm"

    change = measure_change(
        sample_cube, "actions", current=SPIKE, baseline=SPIKE_BASELINE, filters={"harm_area": "self_harm"}
    )
    assert section.numbers[0] == (
        f"Actions: {value_text('actions', change.value)} against {value_text('actions', change.baseline_value)} "
        f"the week before ({change.change_text()}) — {evidence_text(change.p_value, level)} "
        f"({p_value_text(change.p_value)})"
    )
    assert change.change_text() == "+41.7%" and value_text("actions", change.value) in section.numbers[0]

    fitted = trend(sample_cube, "actions", "week", {"harm_area": "self_harm"}, end=SPIKE.end)
    week = fitted.series.filter(pl.col("period") == SPIKE.start).row(0, named=True)
    for key in ("expected", "lower", "upper"):
        assert value_text("actions", week[key]) in section.numbers[1]
    assert "above that range" in section.numbers[1] and week["actions"] > week["upper"]

    # contributors: rows of explain_change's contributors, in words
    why = explain_change(
        sample_cube, "actions", current=SPIKE, baseline=SPIKE_BASELINE, filters={"harm_area": "self_harm"}
    )
    rows = why.contributors.filter(~pl.col("other")).with_columns(
        text=pl.struct(why.dims).map_elements(
            lambda r: segment_label({d: v for d, v in r.items() if v is not None}), return_dtype=pl.String
        )
    )
    assert section.contributors, "a real change is explained"
    for line in section.contributors:
        name, _, rest = line.partition(": ")
        numbers = re.fullmatch(r"(.+) → (.+) \((.+), (\d+)% of the change\)", rest)
        assert numbers, line
        candidates = list(rows.filter(pl.col("text") == name).iter_rows(named=True))
        assert any(
            (value_text("actions", r["before"]), value_text("actions", r["after"])) == (numbers[1], numbers[2])
            and signed_amount_text("actions", r["contribution"]) == numbers[3]
            and f"{r['share']:.0%}" == f"{numbers[4]}%"
            for r in candidates
        ), line
    assert section.contributors[0].startswith("Dangerous challenges · Portuguese · Live stream: ")  # localize found it

    nearby = events_near(EVENTS, [(SPIKE.start, SPIKE.end)], 7, {"harm_area": "self_harm"})
    assert section.events == tuple(
        f"{r['date']:%Y-%m-%d}: {r['title']} (in the period)" for r in nearby.iter_rows(named=True)
    )
    assert section.events == ("2026-06-15: Viral self-harm challenge on live streams (in the period)",)

    # the chart: the band chart as PNG at the digest's size, described in words
    image = Image.open(io.BytesIO(section.chart_png))
    assert image.size == (CHART_WIDTH * CHART_SCALE, CHART_HEIGHT * CHART_SCALE)
    assert value_text("actions", change.value) in section.chart_alt and "expected band" in section.chart_alt

    assert digest.unchanged == (
        "No change beyond the usual variation in Violent extremism, Hateful behavior and Human exploitation."
    )
    assert digest.quiet is None and "20 comparisons" in (digest.intro or "")
    assert digest.title == "Harm Insights, week of 2026-06-15 – 2026-06-21: 1 change"


def test_links_open_the_exact_view(spike_digest):
    _, digest = spike_digest
    [section] = digest.sections
    url = urlsplit(section.link)
    assert f"{url.scheme}://{url.netloc}" == BASE_URL and url.path == "/root_cause"
    view = ViewState.from_query(parse_qs(url.query))
    assert view.filters == {"harm_area": ["self_harm"]} and view.grain == "week"
    assert view.page["metric"] == "actions"
    assert parse_period_param(view.page["current"]) == SPIKE
    assert parse_period_param(view.page["baseline"]) == SPIKE_BASELINE
    assert view.end == SPIKE.end
    overview = urlsplit(digest.link)
    assert overview.path == "/overview"
    assert ViewState.from_query(parse_qs(overview.query)).filters == {"harm_area": list(CORE)}


def test_a_quiet_week_says_so_in_one_line(sample_cube):
    digest = builder(sample_cube, charts=False)(core_follower(), QUIET)
    assert digest.is_quiet and digest.unchanged is None
    assert digest.title == "Harm Insights, week of 2025-06-02 – 2025-06-08: a quiet week"
    assert digest.quiet == (
        "A quiet week: nothing you follow changed beyond its usual variation (Violent extremism, Hateful behavior, "
        "Mental health / self-harm and Human exploitation)."
    )


def test_the_watch_decides_what_is_reported(sample_cube):
    made = builder(sample_cube, charts=False)
    spike = {"harm_area": "self_harm"}

    def found(follow: Follow) -> SliceReport:
        [one] = made.report(subscriber(follow), SPIKE).slices
        return one

    def reported(follow: Follow) -> bool:
        return bool(found(follow).reported)

    assert reported(Follow(spike, (Watch("actions", "up", min_change_pct=40),)))
    assert not found(Follow(spike, (Watch("actions", "down"),))).changed  # a rise, and only falls matter
    assert not found(Follow(spike, (Watch("actions", "up", min_change=400),))).changed  # +309 actions, +265 inside
    # +41.7 % is under 50 %, but inside it the Portuguese live streams rose from 5 to 267
    over_half = found(Follow(spike, (Watch("actions", "up", min_change_pct=50),)))
    assert not reported(over_half.follow) and over_half.changed
    [result] = over_half.drilled
    story = [{"content_type": "live"}, {"policy": "dangerous_challenges"}, {"language": "pt"}, {"country": "BR"}]
    assert result.segments and all(s.segment in story for s in result.segments)
    small = made(subscriber(Follow(spike, (Watch("actions"),), min_volume=5_000)), SPIKE)
    assert small.is_quiet and "too small to judge this week: Mental health / self-harm (under 5,000 actions)" in (
        small.quiet or ""
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chosen=st.lists(
        st.tuples(
            st.sampled_from(CORE),
            st.lists(st.sampled_from(DEFAULT_METRICS), min_size=1, max_size=3, unique=True),
            st.sampled_from(["up", "down", "both"]),
            st.sampled_from([None, 5.0, 30.0]),
            st.sampled_from([0.0, 800.0]),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    ),
    week=st.sampled_from([SPIKE, QUIET, Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))]),
)
def test_a_digests_comparisons_share_the_level_and_each_verdict_is_the_rule(sample_cube, chosen, week):
    follows = [
        Follow(
            {"harm_area": area},
            tuple(Watch(m, direction, min_change_pct=pct) for m in metrics),  # type: ignore[arg-type]
            min_volume=floor,
        )
        for area, metrics, direction, pct, floor in chosen
    ]
    report = builder(sample_cube, charts=False).report(subscriber(*follows), week)
    judged = [s for s in report.slices if s.judged]
    assert report.comparisons == sum(len(s.follow.watches) for s in judged)
    for found in report.slices:
        assert found.judged == (found.volume is not None and found.volume >= found.follow.min_volume)
        for result in found.results:
            change = result.change
            level = 0.05 / (2 * report.comparisons)
            each = level / 2  # the slice's half, split between the week before and the ramp
            assert change.alpha == pytest.approx(each)
            rule = (
                change.p_value is not None
                and change.p_value < each
                and result.watch.matters(change.change, change.pct_change)
            )
            if result.rule == "ramp":  # reported over weeks: the week against the week before was not
                assert result.reported and rule
                assert (change.current, change.baseline) == ramp_periods(report.current)
                fitted = trend(sample_cube, change.metric, "week", found.follow.cube_filters(), end=report.current.end)
                again = ramp_change(
                    sample_cube,
                    fitted,
                    report.current,
                    found.follow.cube_filters(),
                    first_day=report.first_day,
                    alpha=each,
                )
                assert again == change
            else:
                assert (change.current, change.baseline) == (report.current, report.baseline)
                assert result.reported == rule
            assert bool(result.contributors) <= result.reported
            assert not (result.reported and result.segments)  # a drill-down only where the slice is quiet
            for inside in result.segments:  # each beyond its own noise at its share of the level
                moved = inside.change
                assert moved.p_value is not None and moved.alpha is not None
                assert moved.p_value < moved.alpha <= level
                assert result.watch.matters(moved.change, moved.pct_change)
                followed = {d: list(v) for d, v in found.follow.filters.items()}
                assert moved.filters == followed | {d: [v] for d, v in inside.segment.items()}


@settings(deadline=None)  # a pure function; a busy machine is no failure
@given(
    start=st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
    length=st.sampled_from([1, 7, 7, 7, 30, 31]),
    lag=st.integers(0, 40),
)
def test_a_digest_compares_the_last_complete_period_with_the_one_before(start, length, lag):
    period = Period(start, start + dt.timedelta(days=length - 1))
    as_of = period.end - dt.timedelta(days=lag)
    current, baseline = comparison_periods(period, as_of)
    last = min(period.end, as_of)
    assert current.end <= last and baseline.end == current.start - dt.timedelta(days=1)
    if length == 7:
        assert current.start.weekday() == 0 and current.days == baseline.days == 7
        assert last - current.end < dt.timedelta(days=7)


def test_data_that_stops_early_or_starts_late_is_said(sample_cube):
    made = builder(sample_cube, charts=False)
    late = made(core_follower(), Period(dt.date(2026, 12, 7), dt.date(2026, 12, 13)))
    assert late.intro is not None and late.intro.startswith(
        "The data runs to 2026-11-22, so this digest covers the last complete week in it."
    )
    assert "week of 2026-11-16 – 2026-11-22" in late.title
    early = made(core_follower(), Period(dt.date(2024, 11, 18), dt.date(2024, 11, 24)))
    assert early.quiet == (
        "Nothing to compare yet: the data starts on 2024-11-18, so there is no week before the week of "
        "2024-11-18 – 2024-11-24."
    )


def test_each_subscriber_reads_the_cube_it_is_given(sample_cube):
    """The access seam: ``cube_for`` is asked per subscriber, and a digest sees only that cube."""
    asked = []
    only_self_harm = Cube(sample_cube.data.filter(pl.col("harm_area") == "self_harm"), sample_cube.provenance)

    def cube_for(subscription: Subscription) -> Cube:
        asked.append(subscription.id)
        return only_self_harm if subscription.id == "scoped@example.org" else sample_cube

    made = DigestBuilder(cube_for, events=EVENTS, base_url=BASE_URL, charts=False)
    scoped = made.report(subscriber(*core_follower().follows, ident="scoped@example.org"), SPIKE)
    assert asked == ["scoped@example.org"]
    assert {s.follow.filters["harm_area"][0]: s.volume for s in scoped.slices if s.volume == 0} == {
        "violent_extremism": 0,
        "hateful_behavior": 0,
        "human_exploitation": 0,
    }
    assert [s.follow.filters["harm_area"][0] for s in scoped.changed] == ["self_harm"]


def test_the_small_cell_seam_sees_results_before_any_text(sample_cube):
    seen: list[SliceReport] = []

    def withhold_contributors(found: SliceReport) -> SliceReport:
        seen.append(found)
        return dataclasses.replace(found, results=tuple(dataclasses.replace(r, contributors=()) for r in found.results))

    digest = builder(sample_cube, charts=False, disclose=withhold_contributors)(core_follower(), SPIKE)
    assert len(seen) == len(CORE)
    [section] = digest.sections
    assert section.numbers and not section.contributors


def test_a_rate_contributor_says_how_its_weight_and_rate_moved(sample_cube):
    week = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))  # the hate-speech classifier's first week
    follow = default_follow({"harm_area": "hateful_behavior"})
    report = builder(sample_cube, charts=False).report(subscriber(follow), week)
    [found] = report.changed
    [result] = found.reported
    assert result.change.metric == "proactive_rate"
    top = result.contributors[0]
    assert top.segment == {"detection_source": "user_report"} and top.weight_after < top.weight_before
    digest = builder(sample_cube, charts=False).compose(report)
    several = len(found.reported) + len(found.drilled) > 1  # then each line names its metric
    assert digest.sections[0].contributors[0] == ("Proactive rate: " if several else "") + (
        f"User report: {top.weight_before:.1%} → {top.weight_after:.1%} of actions, its proactive rate "
        f"{value_text('proactive_rate', top.before)} → {value_text('proactive_rate', top.after)} "
        f"({signed_amount_text('proactive_rate', top.contribution)}, {top.share:.0%} of the change)"
    )


def test_the_default_follow_watches_the_kpi_metrics_with_thresholds_by_kind():
    follow = default_follow({"harm_area": "Hate speech"})
    assert follow.key == "harm_area=hateful_behavior" and follow.min_volume == 100
    assert [w.metric for w in follow.watches] == list(DEFAULT_METRICS)
    for watch in follow.watches:
        assert watch.direction == "both"
        rate = metric(watch.metric).is_ratio
        assert (watch.min_change, watch.min_change_pct) == ((0.02, None) if rate else (None, 10.0))


def test_the_cube_source_loads_once_and_again_when_old(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,actioned_at,harm_area,country\n1,2026-01-05T10:00:00,self_harm,BR\n2,2026-01-06T11:00:00,self_harm,PT\n"
    )
    now = [0.0]
    source = CubeSource(events, max_age=dt.timedelta(minutes=15), clock=lambda: now[0])
    first = source(subscriber())
    assert source(subscriber()) is first and first.provenance.rows_read == 2
    with events.open("a") as more:
        more.write("3,2026-01-07T12:00:00,self_harm,BR\n")
    now[0] = 16 * 60
    again = source(subscriber())
    assert again is not first and again.provenance.rows_read == 3


def test_each_subscriber_reads_only_their_scope_and_an_unnamed_one_nothing(tmp_path, monkeypatch):
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,actioned_at,harm_area,country\n1,2026-01-05T10:00:00,self_harm,BR\n"
        "2,2026-01-06T11:00:00,violent_extremism,DE\n3,2026-01-06T12:00:00,violent_extremism,BR\n"
    )
    policy = tmp_path / "access.toml"
    policy.write_text(
        '[groups.ve_europe]\nharm_areas = ["violent_extremism"]\nregions = ["Europe"]\n'
        '[[members]]\nemail = "ana@example.com"\ngroups = ["ve_europe"]\n'
    )
    source = CubeSource(events)
    assert source(subscriber(ident="ana@example.com")).query("actions")["actions"][0] == 3  # no policy: everything
    monkeypatch.setenv("HARM_INSIGHTS_ACCESS", str(policy))
    ana = source(subscriber(ident="ana@example.com"))
    assert ana.values("harm_area") == ["violent_extremism"] and ana.values("country") == ["DE"]
    assert not source(subscriber(ident="bo@example.com")).has_data()


def test_the_environment_names_the_source_the_events_and_the_address(sample_dir, monkeypatch):
    config = ContentConfig.from_env({"HARM_INSIGHTS_SOURCE": str(sample_dir), "HARM_INSIGHTS_BASE_URL": BASE_URL})
    assert (config.source, config.events, config.base_url) == (str(sample_dir), None, BASE_URL)  # no sample events
    with pytest.raises(DataError, match="is not an http"):
        ContentConfig.from_env({"HARM_INSIGHTS_SOURCE": str(sample_dir), "HARM_INSIGHTS_BASE_URL": "javascript:x"})
    monkeypatch.setattr(content, "_default", None)  # ``render`` builds its builder once, from the environment
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    assert content.render(core_follower(), QUIET).is_quiet


def test_what_the_data_cannot_show_is_said_not_skipped(sample_cube):
    narrower = Cube(sample_cube.data.drop("appeals", "overturns", "language"), sample_cube.provenance)
    follows = (default_follow({"harm_area": "self_harm"}), default_follow({"language": "pt"}))
    report = DigestBuilder(lambda _: narrower, base_url=BASE_URL, charts=False).report(subscriber(*follows), QUIET)
    assert [s.status for s in report.slices] == ["judged", "absent"]
    assert report.slices[0].missing == ("appeal_rate", "overturn_rate") and report.comparisons == 3
    digest = DigestBuilder(lambda _: narrower, base_url=BASE_URL, charts=False).compose(report)
    assert digest.quiet == (
        "A quiet week: nothing you follow changed beyond its usual variation (Mental health / self-harm); "
        "not in the data you can see: All harm areas · Language: Portuguese; "
        "not measurable in this data: appeal rate, overturn rate (Mental health / self-harm)."
    )


def test_a_digest_reads_the_suppressed_scope_and_says_less_than_the_threshold(tmp_path, monkeypatch, sample_cube):
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,actioned_at,harm_area,country\n1,2026-01-05T10:00:00,self_harm,BR\n"
        "2,2026-01-06T11:00:00,violent_extremism,DE\n3,2026-01-06T12:00:00,violent_extremism,BR\n"
    )
    settings_file = tmp_path / "suppression.toml"
    settings_file.write_text("[suppression]\nthreshold = 10\n")
    monkeypatch.setenv("HARM_INSIGHTS_SUPPRESSION", str(settings_file))
    cube = CubeSource(events)(subscriber())
    assert cube.suppression == Suppression(10)
    assert cube.query("actions")["actions"].to_list() == [None], "3 actions: under 10, withheld"
    # A change between two withheld weeks is written with the threshold, never the count.
    suppressed = sample_cube.with_suppression(Suppression(1000))
    change = measure_change(
        suppressed, "actions", current=SPIKE, baseline=SPIKE_BASELINE, filters={"harm_area": "violent_extremism"}
    )
    assert content.change_line(change).startswith("Actions: <1000 against <1000 the week before")

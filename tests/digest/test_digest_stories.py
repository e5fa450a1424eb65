"""The digest judged on the sample's stories (bench/digest_stories.py on the 1M-event sample).

Targets: over the quiet weeks (no story of a core harm area in any day a digest compares), a
follower of the four core harm areas gets at most one flagged section per ten weekly digests;
each story whose first week moves its harm area's metric beyond noise by the library's own test
(``measure_change`` at its default 5 %, nothing shared) is flagged in the digest of a follower
of that harm area, with the story's segment among the contributors.

The other stories are not visible in a week-over-week digest of the whole harm area, and the
test records it rather than hiding it: the violent-extremism level shift (+80 % in three
countries) moves the harm area by about a tenth, within its weekly noise; the human-exploitation
trusted-flagger ramp adds well under 1 % in its first week; the upload classifier removes 30 %
of three countries' actions, a few percent of the harm area. The ramp finds two of them within
weeks, in a segment the drill-down examines (a hundredth of the harm area is enough): France's
violent-extremism actions once four weeks of them stand against four weeks two months earlier,
and the trusted flaggers' human-exploitation actions (with Africa as what explains them) once the
programme has built up. The upload classifier's 30 % in countries of a few dozen actions a week
stays within their noise on this sample.
"""

from __future__ import annotations

from bench import digest_stories as bench
from insights.digest.content import DigestBuilder
from insights.periods import previous_period
from insights.trends import measure_change, read_events

DETECTABLE = {"hate_classifier_launch", "self_harm_spike", "harassment_overturn_regression"}


def test_the_digest_flags_the_stories_it_can_see_and_names_their_segment(sample_cube):
    stories = bench.load_stories()
    builder = DigestBuilder(lambda _: sample_cube, events=read_events(bench.EVENTS), charts=False)
    visible = set()
    for story in stories:
        week = bench.story_week(story)
        baseline = previous_period(week, "week")
        alone = measure_change(
            sample_cube, story["metric"], current=week, baseline=baseline, filters={"harm_area": story["harm_area"]}
        )
        if alone.significant:
            visible.add(story["id"])
    assert visible == DETECTABLE
    results = {r.story: r for r in (bench.judge_story(builder, s, {"harm_area": s["harm_area"]}) for s in stories)}
    caught = {name for name, r in results.items() if r.caught}
    assert caught >= visible, {name: results[name] for name in visible - caught}
    assert results["self_harm_spike"].named is True and results["harassment_overturn_regression"].named is True
    assert len(caught) / len(stories) >= 0.5  # the recall in the first week: 3 of 6


def test_the_ramp_finds_the_level_shift_and_the_slow_rise_within_weeks_and_names_them(sample_cube):
    stories = {s["id"]: s for s in bench.load_stories()}
    builder = DigestBuilder(lambda _: sample_cube, events=read_events(bench.EVENTS), charts=False)
    for name, weeks in (("ve_level_shift", 4), ("exploitation_trusted_flagger_rise", 10)):
        later = bench.first_caught(builder, stories[name], weeks)
        assert later is not None and later.caught and later.named is True, name
        assert later.flagged == "drill-down ramp", later


def test_quiet_weeks_bring_at_most_one_flagged_section_in_ten_digests(sample_cube):
    stories = bench.load_stories()
    builder = DigestBuilder(lambda _: sample_cube, events=read_events(bench.EVENTS), charts=False)
    quiet = bench.judge_quiet(builder, sample_cube, stories, broader=False)
    assert quiet.weeks >= 30  # about forty weeks before the first story of a core harm area
    assert quiet.per_ten <= 1.0, quiet.flagged_weeks


def test_a_first_week_signal_tests_the_story_segment_against_the_week_before(sample_cube):
    stories = {s["id"]: s for s in bench.load_stories()}
    spike = bench.first_week_signal(sample_cube, stories["self_harm_spike"])
    week = bench.story_week(stories["self_harm_spike"])
    segment = {
        "harm_area": ["self_harm"],
        "language": ["pt"],
        "content_type": ["live"],
        "policy": ["dangerous_challenges"],
    }
    now = sample_cube.query("actions", filters=segment, start=week.start, end=week.end)["actions"][0]
    assert spike.startswith("actions ") and f"→ {now:,}, p < 0.001" in spike
    ramp = bench.first_week_signal(sample_cube, stories["exploitation_trusted_flagger_rise"])
    assert float(ramp.rsplit("p = ", 1)[1]) > 0.5  # a ramp adds nothing in its first week
    rate = bench.first_week_signal(sample_cube, stories["hate_classifier_launch"])
    assert rate.startswith("proactive rate ") and "(of " in rate

"""insights.narrative: every number in the sentences is a computed result; drivers add up."""

import datetime as dt
import re

import polars as pl
import pytest

from insights.cube import Cube, Provenance
from insights.formatting import value_text
from insights.metrics import metric
from insights.narrative import (
    Driver,
    Narrative,
    describe_slice,
    drivers_from_explanation,
    narrate,
    one_dimension_drivers,
)
from insights.periods import Period
from insights.rootcause import explain_change
from insights.trends import read_events
from tests.conftest import ROOT

EVENTS = read_events(ROOT / "sample_data" / "events.csv")
VE = {"harm_area": "violent_extremism", "country": ["FR", "BE", "NL"]}
AFTER, BEFORE = Period(dt.date(2025, 10, 6), dt.date(2025, 11, 2)), Period(dt.date(2025, 9, 8), dt.date(2025, 10, 5))


def computed_numbers(story: Narrative) -> list[str]:
    """Every number the narrative may state, formatted as it states them (and the event titles,
    which may hold digits of their own)."""
    m = metric(story.change.metric)
    d = story.change
    amount = (lambda x: f"{abs(x) * 100:.1f} pp") if m.format == "percent" else (lambda x: value_text(m, abs(x)))
    numbers = [
        value_text(m, d.value),
        value_text(m, d.baseline_value),
        amount(d.change),
        d.current.label(),
        d.baseline.label(),
    ]
    if d.pct_change is not None:
        numbers.append(f"{abs(d.pct_change):.1%}")
    numbers.append("p < 0.001" if d.p_value < 0.001 else f"p = {d.p_value:.3f}")
    numbers += [amount(x.contribution) for x in story.drivers]
    if story.events is not None:
        numbers += [f"{day:%Y-%m-%d}" for day in story.events["date"]] + story.events["title"].to_list()
    return numbers


def assert_numbers_are_results(story: Narrative) -> None:
    text = story.text
    for number in sorted(computed_numbers(story), key=len, reverse=True):
        text = text.replace(number, "")
    assert not re.search(r"\d", text), f"a number not taken from the results is left: {text!r}"


def test_the_violent_extremism_shift_told_with_its_numbers_drivers_and_event(sample_cube):
    story = narrate(sample_cube, "actions", current=AFTER, baseline=BEFORE, filters=VE, events=EVENTS)
    d = story.change
    first = story.sentences[0]
    assert first.startswith("Actions for Violent extremism in France, Belgium and Netherlands rose by ")
    assert f"{d.pct_change:.1%} (+{d.change:,.0f})" in first
    assert f"from {d.baseline_value:,.0f} in {BEFORE.label()} to {d.value:,.0f} in {AFTER.label()}" in first
    assert story.change.significant and "more than this slice's usual variation" in story.sentences[1]
    assert story.drivers and all(x.contribution > 0 for x in story.drivers)
    assert "Attack in Western Europe (2025-10-06)" in story.sentences[-1]
    assert_numbers_are_results(story)


def test_a_rate_change_is_told_in_points(sample_cube):
    story = narrate(
        sample_cube,
        "proactive_rate",
        current=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 29)),
        baseline=Period(dt.date(2026, 2, 2), dt.date(2026, 3, 1)),
        filters={"harm_area": "hateful_behavior"},
        events=EVENTS,
    )
    assert f"rose by {story.change.change * 100:.1f} pp" in story.sentences[0]
    assert "detection source User report" in story.sentences[2], "the reports the classifier took over"
    assert "Hate-speech classifier v3 launched (2026-03-02)" in story.text
    assert_numbers_are_results(story)


def test_noise_is_not_told_as_a_change_and_holidays_are_nearby(sample_cube):
    story = narrate(
        sample_cube,
        "actions",
        current=Period(dt.date(2024, 12, 23), dt.date(2024, 12, 29)),
        baseline=Period(dt.date(2024, 12, 16), dt.date(2024, 12, 22)),
        filters={"harm_area": "spam", "country": "GB"},
        events=EVENTS,
    )
    assert not story.change.significant
    assert "so it is not reported as a change" in story.sentences[1]
    assert not any("contributions" in s for s in story.sentences), "no drivers for noise"
    assert story.sentences[-1] == "Events nearby: Christmas and end-of-year holidays (2024-12-25)."
    assert_numbers_are_results(story)


def test_drivers_from_elsewhere_are_told_as_given(sample_cube):
    given = [({"country": "FR", "language": "fr"}, 42.0), Driver({"content_type": "video"}, 7.0)]
    story = narrate(sample_cube, "actions", current=AFTER, baseline=BEFORE, filters=VE, drivers=given)
    assert story.drivers == [Driver({"country": "FR", "language": "fr"}, 42.0), Driver({"content_type": "video"}, 7.0)]
    assert (
        story.sentences[2]
        == "The largest contributions came from country France × language French (+42) and content type Video (+7)."
    )
    assert len(story.sentences) == 3, "no events sentence without an events file"


def test_drivers_from_a_root_cause_explanation(sample_cube):
    current, baseline = (
        Period(dt.date(2026, 6, 15), dt.date(2026, 6, 28)),
        Period(dt.date(2026, 6, 1), dt.date(2026, 6, 14)),
    )
    filters = {"harm_area": "self_harm"}
    why = explain_change(sample_cube, "actions", current=current, baseline=baseline, filters=filters)
    drivers = drivers_from_explanation(why)
    assert drivers[0].segment.get("content_type") == "live" and drivers[0].segment.get("language") == "pt"
    story = narrate(
        sample_cube, "actions", current=current, baseline=baseline, filters=filters, drivers=drivers, events=EVENTS
    )
    assert "content type Live stream" in story.sentences[2] and "Viral self-harm challenge" in story.sentences[3]
    assert_numbers_are_results(story)


@pytest.fixture(scope="module")
def two_countries() -> Cube:
    rows = [  # date, country, actions, proactive
        (dt.date(2025, 1, 1), "US", 100, 50),
        (dt.date(2025, 1, 1), "FR", 100, 80),
        (dt.date(2025, 2, 1), "US", 300, 240),
        (dt.date(2025, 2, 1), "FR", 100, 80),
    ]
    frame = pl.DataFrame(rows, schema=["date", "country", "actions", "proactive_actions"], orient="row")
    frame = frame.with_columns(pl.col("country").cast(pl.Categorical))
    return Cube(frame, Provenance(source="t", kind="table", rows_read=4, as_of=dt.date(2025, 2, 28)))


def test_count_contributions_are_each_values_change(two_countries):
    drivers = one_dimension_drivers(
        two_countries,
        "actions",
        current=Period(dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        baseline=Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
    )
    assert drivers == [Driver({"country": "US"}, 200.0)], "FR did not change, so it is no driver"


def test_rate_contributions_add_up_to_the_change(two_countries):
    # rate 130/200 = 0.65 → 320/400 = 0.80, centred on their mean R̄ = 0.725 as root cause is
    # (one formula on every page). US: (240 − 0.725·300)/400 − (50 − 0.725·100)/200 = 0.16875;
    # FR: (80 − 0.725·100)/400 − (80 − 0.725·100)/200 = −0.01875; together +0.15.
    drivers = one_dimension_drivers(
        two_countries,
        "proactive_rate",
        current=Period(dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        baseline=Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
    )
    assert [(d.segment, round(d.contribution, 6)) for d in drivers] == [({"country": "US"}, 0.16875)]


def test_describe_slice():
    assert describe_slice(None) == ""
    assert (
        describe_slice({"harm_area": "self_harm", "language": "pt"})
        == " for Mental health / self-harm, language Portuguese"
    )
    assert describe_slice({"region": ["Europe", "Africa"]}) == " in Europe and Africa"

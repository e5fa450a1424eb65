"""Narratives and KPI cards on a suppressing cube say '<10', never the hidden count, never 0."""

from __future__ import annotations

import datetime as dt

from insights.disclosure import Suppression, Withheld
from insights.kpis import kpi_cards
from insights.narrative import narrate
from insights.periods import Period
from tests.disclosure.cubes import AS_OF, CELLS, WEEK_1, WEEK_2, cube_of

WEEK = dt.timedelta(days=6)
CURRENT, BASELINE = Period(WEEK_2, WEEK_2 + WEEK), Period(WEEK_1, WEEK_1 + WEEK)
FRANCE_SPAM = {"harm_area": "spam", "country": "FR"}


def test_a_withheld_count_is_told_as_under_the_threshold():
    cube = cube_of(CELLS).with_suppression(Suppression())
    story = narrate(cube, "actions", current=CURRENT, baseline=BASELINE, filters=FRANCE_SPAM, drivers=[])
    assert story.change.withheld == Withheld(10, "count")
    assert story.sentences[0] == (
        f"Actions for Spam & fake engagement in France: <10 in {CURRENT.label()}, against 40 in {BASELINE.label()}."
    ), "a slice's single answer has no siblings to hide, so week 1's 40 stays"
    assert ": 3 in" not in story.text and ": 0 in" not in story.text


def test_a_rate_over_a_small_base_is_withheld_in_words():
    cube = cube_of(CELLS).with_suppression(Suppression(10, {"child_safety": 20}))
    filters = {"harm_area": "child_safety", "country": "DE"}
    story = narrate(cube, "proactive_rate", current=CURRENT, baseline=BASELINE, filters=filters, drivers=[])
    assert f"against withheld (<20) in {BASELINE.label()}" in story.text
    assert "91.7%" not in story.text, "11 of 12 would be 91.7%"


def test_kpi_cards_show_withheld_values_as_their_threshold():
    cube = cube_of(CELLS).with_suppression(Suppression())
    _, cards = kpi_cards(cube, ["actions"], by="country", filters={"harm_area": "spam"}, as_of=AS_OF)
    shown = {card.key: card.change.value_text() for card in cards}
    assert shown == {"DE": "withheld", "FR": "<10", "MX": "400", "US": "310"}
    assert all(card.value is None for card in cards if card.key in ("DE", "FR")), "the number is gone, not 0"

"""Cadences: which digests are due when, and which days each covers, against croniter's own semantics."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.digest.cadence import due, due_on, latest_tick, next_run, period_for
from insights.digest.subscriptions import Channels, Subscription
from insights.periods import Period, latest_complete_period


def subscriber(cadence: str, timezone: str = "UTC", ident: str = "ana") -> Subscription:
    return Subscription(ident, ident.title(), cadence, Channels(email=f"{ident}@example.org"), (), timezone)


def at(text: str, zone: str = "UTC") -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_a_monday_digest_covers_the_week_before_like_the_kpi_cards():
    monday = subscriber("0 7 * * MON")
    [found] = due([monday], at("2026-11-23T07:00"))
    assert found.period == Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert found.period == latest_complete_period(dt.date(2026, 11, 23), "week")
    assert found.scheduled_at == at("2026-11-23T07:00")


def test_due_from_the_tick_for_a_day_and_not_before():
    monday = subscriber("0 7 * * MON")
    assert due([monday], at("2026-11-23T06:59:59")) == []
    assert len(due([monday], at("2026-11-23T07:00:30"))) == 1
    assert len(due([monday], at("2026-11-24T06:59"))) == 1  # a late run still catches the tick
    assert due([monday], at("2026-11-24T07:00")) == []  # a day later it is no longer due
    assert due([monday], at("2026-11-23T09:00"), since=at("2026-11-23T08:00")) == []  # already looked since


def test_daily_monthly_and_time_zones():
    daily = subscriber("30 6 * * *", "Pacific/Auckland")
    # 17:30 UTC on 22 Nov is 06:30 on 23 Nov in Auckland: the digest covers Auckland's 22 Nov
    [found] = due([daily], at("2026-11-22T17:30"))
    assert found.period == Period(dt.date(2026, 11, 22), dt.date(2026, 11, 22))
    monthly = subscriber("0 7 1 * *", "Europe/Berlin")
    [found] = due_on([monthly], dt.date(2026, 12, 1))
    assert found.period == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert due_on([monthly], dt.date(2026, 12, 2)) == []


def test_due_on_a_day_picks_the_subscribers_whose_tick_falls_on_it():
    monday, tuesday = subscriber("0 7 * * MON", ident="mo"), subscriber("0 7 * * TUE", ident="tu")
    assert [d.subscription.id for d in due_on([monday, tuesday], dt.date(2026, 11, 24))] == ["tu"]


def test_next_run_is_the_earliest_tick_across_time_zones():
    tokyo = subscriber("0 7 * * *", "Asia/Tokyo", "tokyo")  # 22:00 UTC the day before
    london = subscriber("0 7 * * *", "Europe/London", "london")  # 07:00 UTC
    assert next_run([london, tokyo], at("2026-11-23T08:00")) == at("2026-11-23T22:00")
    assert next_run([], at("2026-11-23T08:00")) is None


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        due([subscriber("0 7 * * MON")], dt.datetime(2026, 11, 23, 7))


def test_across_a_daylight_saving_change_the_weeks_still_tile():
    berlin = subscriber("0 7 * * MON", "Europe/Berlin")  # clocks go back on Sunday 25 October 2026
    ticks = [latest_tick(berlin, at("2026-10-19T12:00")), latest_tick(berlin, at("2026-10-26T12:00"))]
    assert [t.isoformat() for t in ticks] == ["2026-10-19T07:00:00+02:00", "2026-10-26T07:00:00+01:00"]
    assert period_for(berlin, ticks[1]) == Period(dt.date(2026, 10, 19), dt.date(2026, 10, 25))


# Cadences that fire at most once a day: one minute, one hour, any day-of-month / month / day-of-week.
cadences = st.builds(
    lambda minute, hour, dom, month, dow: f"{minute} {hour} {dom} {month} {dow}",
    st.integers(0, 59),
    st.integers(0, 23),
    st.sampled_from(["*", "1", "15", "1,15", "28", "*/2", "10-20"]),
    st.sampled_from(["*", "1", "*/3", "2,8"]),
    st.sampled_from(["*", "MON", "1-5", "SUN", "0,3"]),
)
zones = st.sampled_from(["UTC", "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham"])
moments = st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2028, 12, 31), timezones=st.just(dt.UTC)).map(
    lambda t: t.replace(microsecond=0)
)


@settings(max_examples=80, deadline=None)
@given(
    cadence=cadences,
    zone=zones,
    start=moments,
    after_tick=st.integers(0, 24 * 60),
    seconds=st.integers(0, 59),
    look_back=st.integers(1, 36 * 60),
)
def test_due_is_the_latest_minute_croniter_matches_in_the_window(cadence, zone, start, after_tick, seconds, look_back):
    """Reference: walk the window back minute by minute asking croniter.match; ``due`` must agree.

    ``now`` is placed ``after_tick`` minutes after a tick, so windows with and without a tick both occur.
    """
    sub = subscriber(cadence, zone)
    tick = croniter(cadence, start.astimezone(ZoneInfo(zone))).get_next(dt.datetime).astimezone(dt.UTC)
    now = tick + dt.timedelta(minutes=after_tick, seconds=seconds)
    since = now - dt.timedelta(minutes=look_back)
    expected, minute = None, now.replace(second=0)
    while minute > since:
        if croniter.match(cadence, minute.astimezone(ZoneInfo(zone))):
            expected = minute
            break
        minute -= dt.timedelta(minutes=1)
    found = due([sub], now, since=since)
    assert [d.scheduled_at for d in found] == ([] if expected is None else [expected])
    assert all(d.scheduled_at.tzinfo == ZoneInfo(zone) for d in found)


@settings(max_examples=60, deadline=None)
@given(cadence=cadences, zone=zones, now=moments)
def test_consecutive_digests_tile_the_calendar(cadence, zone, now):
    sub = subscriber(cadence, zone)
    first = latest_tick(sub, now)
    second = croniter(cadence, first).get_next(dt.datetime)
    a, b = period_for(sub, first), period_for(sub, second)
    assert a.start <= a.end < b.start <= b.end
    assert b.start == a.end + dt.timedelta(days=1)  # no gap, no overlap
    assert b.end == second.date() - dt.timedelta(days=1)  # up to the day before the send

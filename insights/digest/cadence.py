"""When digests are due, and which days each one covers.

A subscriber's cadence is a cron expression read in their time zone (croniter). A digest sent at
one tick covers the whole days since the previous tick: with ``0 7 * * MON`` the digest of
Monday 23 November covers Monday 16 – Sunday 22 November; with ``0 7 * * *`` it covers the day
before; with ``0 7 1 * *`` the previous calendar month. Consecutive digests' periods tile the
calendar with no gap and no overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from croniter import croniter

from insights.digest.subscriptions import Subscription
from insights.periods import Period

#: How far back ``due`` looks for a tick it has not been told about (``since``): a run that
#: starts late (a host rebooted at the send time) still sends, and the delivery log keeps a
#: second run from sending again.
CATCH_UP = dt.timedelta(days=1)

_MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class DueDigest:
    """One digest to build and send: whose, at which tick, and the days it covers."""

    subscription: Subscription
    scheduled_at: dt.datetime  # the cadence tick, in the subscriber's time zone
    period: Period


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime (for example with tzinfo=dt.UTC)")
    return moment


def latest_tick(subscription: Subscription, now: dt.datetime) -> dt.datetime:
    """The subscriber's latest cadence tick at or before ``now`` (in their time zone)."""
    local = _aware(now).astimezone(subscription.zone)
    # croniter's get_prev is strictly before its start; start just after now's minute so a tick at now counts
    start = local.replace(second=0, microsecond=0) + _MINUTE
    return croniter(subscription.cadence, start).get_prev(dt.datetime)


def next_tick(subscription: Subscription, after: dt.datetime) -> dt.datetime:
    """The subscriber's first cadence tick strictly after ``after`` (in their time zone)."""
    local = _aware(after).astimezone(subscription.zone)
    return croniter(subscription.cadence, local).get_next(dt.datetime)


def period_for(subscription: Subscription, tick: dt.datetime) -> Period:
    """The whole days a digest sent at ``tick`` covers: from the previous tick's day to the day before ``tick``."""
    local = _aware(tick).astimezone(subscription.zone)
    previous = croniter(subscription.cadence, local).get_prev(dt.datetime)
    return Period(previous.date(), local.date() - dt.timedelta(days=1))


def due(
    subscriptions: Iterable[Subscription], now: dt.datetime, *, since: dt.datetime | None = None
) -> list[DueDigest]:
    """The digests due at ``now``: each subscription whose latest tick is in ``(since, now]``.

    ``since`` is when the caller last looked (the scheduler passes its previous wake-up); by
    default :data:`CATCH_UP` before ``now``. Only the latest tick counts: a subscriber whose daily
    digests were missed for three days gets the latest one, not three stale ones.
    """
    since = _aware(since) if since is not None else _aware(now) - CATCH_UP
    found = []
    for subscription in subscriptions:
        tick = latest_tick(subscription, now)
        if since < tick:
            found.append(DueDigest(subscription, tick, period_for(subscription, tick)))
    return found


def due_on(subscriptions: Iterable[Subscription], day: dt.date) -> list[DueDigest]:
    """The digests whose tick falls on ``day`` in the subscriber's own time zone (``digest --as-of DAY``)."""
    found = []
    for subscription in subscriptions:
        end_of_day = dt.datetime.combine(day, dt.time(23, 59), tzinfo=subscription.zone)
        tick = latest_tick(subscription, end_of_day)
        if tick.date() == day:
            found.append(DueDigest(subscription, tick, period_for(subscription, tick)))
    return found


def next_run(subscriptions: Iterable[Subscription], after: dt.datetime) -> dt.datetime | None:
    """The earliest tick of any subscription strictly after ``after`` (None when there are none)."""
    ticks = [next_tick(s, after) for s in subscriptions]
    return min(ticks, key=lambda t: t.astimezone(dt.UTC)) if ticks else None

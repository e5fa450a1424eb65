"""The long-lived scheduler: sleep until the next cadence tick, send what is due, repeat.

Each wake-up re-reads the subscriptions file (a Follow click is picked up without a restart),
sends every digest due within the catch-up window that the delivery log says is not delivered
yet, and goes back to sleep until the earliest next tick, or at most ``poll`` (so a subscriber
added with an earlier tick, and failed deliveries, are seen). :meth:`Scheduler.stop` (the CLI
wires it to SIGTERM and SIGINT) ends the sleep at once; a digest being delivered is finished
first.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable

from insights.digest.cadence import due, next_run
from insights.digest.delivery import DeliverySettings, RetryPolicy
from insights.digest.delivery_log import DeliveryLog
from insights.digest.dispatch import DigestOutcome, Render, send_due
from insights.digest.subscriptions import Subscriptions
from insights.errors import DataError

log = logging.getLogger("insights.digest")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    """Runs digests on their cadences until stopped.

    ``clock`` and ``wait`` are the scheduler's sense of time: ``wait(seconds)`` sleeps and
    returns True when woken by :meth:`stop`. By default they are the wall clock and an event
    wait; tests pass a clock that ``wait`` advances.
    """

    def __init__(
        self,
        load: Callable[[], Subscriptions],
        render: Render,
        *,
        settings: DeliverySettings,
        delivery_log: DeliveryLog,
        policy: RetryPolicy | None = None,
        poll: dt.timedelta = dt.timedelta(minutes=5),
        retry_failed_after: dt.timedelta = dt.timedelta(minutes=15),
        clock: Callable[[], dt.datetime] = _utc_now,
        wait: Callable[[float], bool] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.load = load
        self.render = render
        self.settings = settings
        self.delivery_log = delivery_log
        self.policy = policy or RetryPolicy()
        self.poll = poll
        self.retry_failed_after = retry_failed_after
        self.clock = clock
        self._stopping = threading.Event()
        self.wait = wait or self._stopping.wait
        self.rng = rng
        self._subscriptions: Subscriptions | None = None

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask the scheduler to stop after what it is doing (safe from a signal handler)."""
        self._stopping.set()

    def _current_subscriptions(self) -> Subscriptions:
        try:
            self._subscriptions = self.load()
        except DataError as exc:  # a bad edit: keep serving the last good file, say so every time
            if self._subscriptions is None:
                raise
            log.error("%s; still using the subscriptions read before", exc)
        assert self._subscriptions is not None
        return self._subscriptions

    def run_once(self) -> tuple[list[DigestOutcome], dt.datetime]:
        """Send what is due now; return the outcomes and when to wake next."""
        subscriptions = self._current_subscriptions()
        now = self.clock()
        outcomes = send_due(
            due(subscriptions, now),
            self.render,
            settings=self.settings,
            delivery_log=self.delivery_log,
            policy=self.policy,
            sleep=self._sleep_between_retries,
            rng=self.rng,
            retry_failed_after=self.retry_failed_after,
            now=self.clock,
        )
        after = self.clock()
        tick = next_run(subscriptions, after)
        wake = after + self.poll if tick is None else min(tick.astimezone(dt.UTC), after + self.poll)
        return outcomes, wake

    def _sleep_between_retries(self, seconds: float) -> None:
        self.wait(seconds)  # a stop cuts the back-off short: the remaining attempts follow at once

    def run(self) -> None:
        """Loop until :meth:`stop`: send what is due, sleep until the next tick (or ``poll``)."""
        log.info("digest scheduler started")
        while not self.stopping:
            try:
                _, wake = self.run_once()
            except DataError:
                raise  # no usable subscriptions file at all
            except Exception:  # a locked log, a full disk: say so, and try again at the next wake-up
                log.exception("digest run failed; trying again in %s", self.poll)
                wake = self.clock() + self.poll
            seconds = max(0.0, (wake - self.clock()).total_seconds())
            log.info("sleeping until %s", wake.astimezone(dt.UTC).isoformat(timespec="seconds"))
            if self.wait(seconds):
                break
        log.info("digest scheduler stopped")

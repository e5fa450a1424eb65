"""From due digests to deliveries: render each one (through a pluggable content builder) and send it.

The content builder is any callable ``render(subscription, period) -> Digest``
(:data:`Render`). It is called only for a digest that still has a channel to deliver to, so a
scheduler that wakes often does not rebuild digests already sent. A builder that raises for one
subscriber does not stop the others: its failure is reported and logged per channel like a
failed delivery, and tried again by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from insights.digest.cadence import DueDigest
from insights.digest.delivery import (
    DeliveryResult,
    DeliverySettings,
    RetryPolicy,
    channels_for,
    deliver,
    skipped_result,
)
from insights.digest.delivery_log import DeliveryKey, DeliveryLog
from insights.digest.message import Digest
from insights.digest.subscriptions import Subscription
from insights.periods import Period

log = logging.getLogger("insights.digest")

#: The content builder's signature: a subscriber's digest for a period.
Render = Callable[[Subscription, Period], Digest]


@dataclass(frozen=True)
class DigestOutcome:
    """One due digest after a run: the digest (None when not built) and one result per channel.

    Channels already delivered for the period (or paused after a failure) are 'skipped' results.
    """

    due: DueDigest
    digest: Digest | None
    results: tuple[DeliveryResult, ...]

    @property
    def failed(self) -> bool:
        """True when some channel's delivery failed."""
        return any(r.status == "failed" for r in self.results)


def send_due(
    due_digests: Iterable[DueDigest],
    render: Render,
    *,
    settings: DeliverySettings,
    delivery_log: DeliveryLog,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    retry_failed_after: dt.timedelta = dt.timedelta(0),
    now: Callable[[], dt.datetime] | None = None,
) -> list[DigestOutcome]:
    """Render and deliver each due digest that has a channel left to deliver to."""
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    outcomes = []
    for item in due_digests:
        subscription, period = item.subscription, item.period
        channels = channels_for(subscription, settings)
        keys = {c.kind: DeliveryKey(subscription.id, c.kind, period) for c in channels}
        pending = [
            c
            for c in channels
            if delivery_log.pending(keys[c.kind], now=clock(), retry_failed_after=retry_failed_after)
        ]
        skipped = [
            skipped_result(subscription.id, c, period, delivery_log.get(keys[c.kind]))
            for c in channels
            if c not in pending
        ]
        if not pending:
            outcomes.append(DigestOutcome(item, None, tuple(skipped)))
            continue
        try:
            digest = render(subscription, period)
        except Exception as exc:
            log.exception("building the digest of %s for %s failed", subscription.id, period.label())
            failed = _render_failed(item, pending, exc, delivery_log, clock)
            outcomes.append(DigestOutcome(item, None, tuple(skipped + failed)))
            continue
        results = deliver(
            digest,
            subscription,
            period,
            pending,
            delivery_log,
            policy=policy,
            sleep=sleep,
            rng=rng,
            now=clock,
            retry_failed_after=retry_failed_after,
        )
        outcomes.append(DigestOutcome(item, digest, tuple(skipped + results)))
    return outcomes


def _render_failed(
    item: DueDigest, channels: list, exc: Exception, delivery_log: DeliveryLog, clock: Callable[[], dt.datetime]
) -> list[DeliveryResult]:
    """Log a content-builder failure against each pending channel, so the next run tries again."""
    reason = f"building the digest failed: {type(exc).__name__}: {exc}"
    results = []
    for channel in channels:
        key = DeliveryKey(item.subscription.id, channel.kind, item.period)
        if delivery_log.claim(key, digest_hash="", target=channel.target, now=clock()):
            delivery_log.finish(key, delivered=False, attempts=0, reason=reason, now=clock())
        results.append(
            DeliveryResult(item.subscription.id, channel.kind, channel.target, item.period, "failed", 0, reason)
        )
    return results

"""Follow a harm area: subscriptions, digests as values, delivery and scheduling.

The flow, one direction::

    subscriptions.toml ──► due(subscriptions, now) ──► render(subscription, period) ──► deliver(...)
    (who follows what,      (cadence ticks and the      (the content builder:          (email / Slack / webhook,
     when, where to)         days each digest covers)    returns a Digest value)        retried, logged once per period)

- :mod:`~insights.digest.subscriptions`: the TOML file ⇄ frozen dataclasses; ``add_follow`` /
  ``remove_follow`` for the app's Follow button.
- :mod:`~insights.digest.cadence`: ``due``, ``due_on``, ``next_run``, ``period_for`` (croniter).
- :mod:`~insights.digest.message`: ``Digest`` and ``Section`` (plain text, PNG charts), the JSON
  webhook schema; :mod:`~insights.digest.email_message` and :mod:`~insights.digest.slack_blocks`
  render it for email and Slack.
- :mod:`~insights.digest.delivery`: channels (SMTP, Slack incoming webhook, signed JSON webhook),
  retries, ``deliver``; :mod:`~insights.digest.delivery_log`: the SQLite log that keeps a digest
  from being sent twice for a period.
- :mod:`~insights.digest.content`: the content builder, ``DigestBuilder`` (which followed slices
  really changed, by how much, why; charts and links) and ``default_follow`` (what the Follow
  button follows). Imported on its own: it loads the analytics stack.
- :mod:`~insights.digest.dispatch`: ``send_due`` (render through a pluggable ``Render`` and
  deliver); :mod:`~insights.digest.schedule`: the long-lived ``Scheduler``;
  :mod:`~insights.digest.cli`: the ``digest`` and ``schedule`` commands.
"""

from insights.digest.cadence import DueDigest, due, due_on, next_run, period_for
from insights.digest.delivery import (
    DeliveryError,
    DeliveryResult,
    DeliverySettings,
    RetryPolicy,
    SmtpSettings,
    channels_for,
    deliver,
    verify_signature,
)
from insights.digest.delivery_log import DeliveryLog
from insights.digest.dispatch import DigestOutcome, Render, send_due
from insights.digest.message import Digest, Section, webhook_payload
from insights.digest.subscriptions import (
    Channels,
    Follow,
    Subscription,
    Subscriptions,
    Watch,
    add_follow,
    follow_of,
    load_subscriptions,
    parse_subscriptions,
    remove_follow,
    slice_key,
)

__all__ = [
    "Channels",
    "DeliveryError",
    "DeliveryLog",
    "DeliveryResult",
    "DeliverySettings",
    "Digest",
    "DigestOutcome",
    "DueDigest",
    "Follow",
    "Render",
    "RetryPolicy",
    "Section",
    "SmtpSettings",
    "Subscription",
    "Subscriptions",
    "Watch",
    "add_follow",
    "channels_for",
    "deliver",
    "due",
    "due_on",
    "follow_of",
    "load_subscriptions",
    "next_run",
    "parse_subscriptions",
    "period_for",
    "remove_follow",
    "send_due",
    "slice_key",
    "verify_signature",
    "webhook_payload",
]

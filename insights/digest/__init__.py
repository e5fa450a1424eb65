"""Follow a harm area: subscriptions, digests as values, delivery and scheduling.

- :mod:`~insights.digest.subscriptions`: the TOML file ⇄ frozen dataclasses; ``add_follow`` /
  ``remove_follow`` for the app's Follow button.
"""

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
)

__all__ = [
    "Channels",
    "Follow",
    "Subscription",
    "Subscriptions",
    "Watch",
    "add_follow",
    "follow_of",
    "load_subscriptions",
    "parse_subscriptions",
    "remove_follow",
]

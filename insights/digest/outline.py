"""A stand-in content builder: what a subscriber follows, with no numbers.

The real content (which slices changed, by how much, why, charts) is built by the content
builder on top of this package; until it is wired in, this outline lets the subscription,
scheduling and delivery layer run end to end (tests, dry runs). The CLI refuses to *send*
outlines unless asked to explicitly.
"""

from __future__ import annotations

from insights.digest.message import Digest, Section
from insights.digest.subscriptions import Follow, Subscription
from insights.labels import dimension_label, label
from insights.metrics import metric
from insights.periods import Period


def slice_title(follow: Follow) -> str:
    """A follow's label, or its slice in words: 'Harm area: Violent extremism · Country: Germany'."""
    if follow.label:
        return follow.label
    if not follow.filters:
        return "Everything"
    return " · ".join(
        f"{dimension_label(d)}: {', '.join(label(d, v) for v in values)}" for d, values in follow.filters.items()
    )


def watch_lines(follow: Follow) -> tuple[str, ...]:
    """One line per watched metric: 'Actions: rises of 10 % or more'."""
    lines = []
    for watch in follow.watches:
        way = {"up": "rises", "down": "falls", "both": "changes"}[watch.direction]
        limits = []
        if watch.min_change is not None:
            rate = metric(watch.metric).format == "percent"  # a rate's change is in proportion points
            limits.append(f"{watch.min_change * 100:g} pp or more" if rate else f"{watch.min_change:g} or more")
        if watch.min_change_pct is not None:
            limits.append(f"{watch.min_change_pct:g} % or more")
        lines.append(f"{metric(watch.metric).label}: {way}{' of ' + ' and '.join(limits) if limits else ''}")
    return tuple(lines)


def outline_digest(subscription: Subscription, period: Period) -> Digest:
    """The outline of a subscriber's digest: one section per follow, naming the metrics watched."""
    sections = tuple(Section(title=slice_title(f), numbers=watch_lines(f)) for f in subscription.follows)
    return Digest(
        subscriber_id=subscription.id,
        subscriber_name=subscription.name,
        period=period,
        title=f"Harm Insights digest, {period.label()}",
        sections=sections,
        intro="Outline only: the numbers are not computed in this build.",
        quiet=None if sections else "You do not follow any harm area yet.",
    )

"""Trends: series, changes, bands, anomalies, change points and the events near them.

- ``trend_series`` / ``rolling``: a metric per period for any slice, with the sums behind it.
- ``trend``: the series with its expected band, anomaly flags, change points and noise model.
- ``measure_change`` / ``compare`` / ``period_over_period`` / ``period_changes``: changes between
  periods (``insights.change.Change``) with a significance test suited to counts and rates.
- ``read_events`` / ``events_in_scope`` / ``match_events`` / ``events_near``: annotated events.
"""

from insights.trends.anomalies import Trend, trend
from insights.trends.changepoints import change_points
from insights.trends.deltas import compare, measure_change, period_changes, period_over_period
from insights.trends.events import events_in_scope, events_near, match_events, read_events
from insights.trends.series import rolling, trend_series

__all__ = [
    "Trend",
    "change_points",
    "compare",
    "events_in_scope",
    "events_near",
    "match_events",
    "measure_change",
    "period_changes",
    "period_over_period",
    "read_events",
    "rolling",
    "trend",
    "trend_series",
]

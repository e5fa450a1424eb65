"""Trends: series, deltas, bands, anomalies, change points and the events near them.

- ``trend_series`` / ``rolling``: a metric per period for any slice, with the sums behind it.
- ``trend``: the series with its expected band, anomaly flags, change points and noise model.
- ``delta`` / ``compare`` / ``period_over_period`` / ``period_deltas``: changes between periods
  with a significance test suited to counts and rates (``significance``).
- ``read_events`` / ``match_events`` / ``events_near``: annotated events near moments and periods.
"""

from insights.trends.anomalies import Trend, trend
from insights.trends.changepoints import change_points
from insights.trends.deltas import Delta, compare, delta, period_deltas, period_over_period
from insights.trends.events import events_near, match_events, read_events
from insights.trends.series import rolling, trend_series
from insights.trends.significance import Noise

__all__ = [
    "Delta",
    "Noise",
    "Trend",
    "change_points",
    "compare",
    "delta",
    "events_near",
    "match_events",
    "period_deltas",
    "period_over_period",
    "read_events",
    "rolling",
    "trend",
    "trend_series",
]

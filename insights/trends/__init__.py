"""Trends: series, deltas, bands, anomalies and change points."""

from insights.trends.changepoints import change_points

__all__ = ["change_points"]

"""Harm Insights: trend, root cause and regional picture of Trust & Safety enforcement data.

A library first (usable from a notebook; no Streamlit here), with the app as a thin view::

    import insights
    cube = insights.load_source("sample_data/generated/events")
    cube.query(["actions", "proactive_rate"], by=["harm_area"], grain="month")
"""

from insights.cube import Caveat, Cube, Provenance
from insights.errors import DataError
from insights.metrics import metric, metrics
from insights.sources.registry import load_source

__all__ = ["Caveat", "Cube", "DataError", "Provenance", "load_source", "metric", "metrics"]

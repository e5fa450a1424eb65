"""Harm area deep dive: policies, detection sources, content types, time to action, appeals and overturns."""

import streamlit as st

from insights import charts
from insights.model import label
from pages.common import caveat_notes, current, events_for, finish, show

data, view = current()
areas = ", ".join(label("harm_area", h) for h in view.harm_areas) or "all harm areas"
st.title(f"Deep dive: {areas}")
window = dict(filters=view.filters, start=view.start, end=view.end)

left, right = st.columns(2)
with left:
    if "policy" in data.dimensions:
        show(charts.breakdown(data.query("actions", by=["policy"], **window), "policy", "actions", key="deep_policies"), drill="policy")
with right:
    if "detection_source" in data.dimensions:
        show(charts.breakdown(data.query("actions", by=["detection_source"], **window), "detection_source", "actions", key="deep_sources"), drill="detection_source")
left, right = st.columns(2)
with left:
    if "content_type" in data.dimensions:
        show(charts.breakdown(data.query("actions", by=["content_type"], **window), "content_type", "actions", key="deep_content"), drill="content_type")
with right:
    speed = [m for m in ("within_1h_rate", "within_24h_rate", "within_7d_rate") if m in data.available_metrics()]
    if speed:
        shares = data.query(speed, by=["harm_area"], **window)
        show(charts.time_to_action(shares, speed, key="deep_time_to_action"), drill="harm_area")
appeal_metrics = [m for m in ("appeal_rate", "overturn_rate") if m in data.available_metrics()]
if appeal_metrics:
    for name in appeal_metrics:
        series = data.query(name, by=["harm_area"], grain=view.grain, **window)
        show(charts.trend(series, name, by="harm_area", events=events_for(view.harm_areas, view.start, view.end), caveats=data.provenance.caveats, key=f"deep_{name}"))
caveat_notes(data, view.harm_areas)
finish()

"""Root cause: a metric and two periods; which segments explain the change."""

import datetime as dt

import streamlit as st

from insights import charts
from insights.kpis import latest_complete_period, previous_period
from insights.metrics import metric
from insights.model import DIMENSION_LABELS
from pages.common import current, finish, metric_label, page_param, remember_page_param, show

data, view = current()
st.title("Root cause")
metrics = data.available_metrics()
chosen = st.selectbox("Metric", metrics, key=page_param("metric", metrics, "actions"), format_func=metric_label)
remember_page_param("metric")
current_period = latest_complete_period(min(view.end, data.provenance.as_of), "week")
baseline_period = previous_period(current_period, "week")
left, right = st.columns(2)
baseline = left.date_input("Baseline", (baseline_period.start, baseline_period.end), key="rc_baseline")
now = right.date_input("Current", (current_period.start, current_period.end), key="rc_current")
if len(baseline) != 2 or len(now) != 2:
    st.stop()
dims = [d for d in data.dimensions if d not in ("region",)]
for dim in dims[:4]:
    before = data.query(chosen, by=[dim], filters=view.filters, start=baseline[0], end=baseline[1])
    after = data.query(chosen, by=[dim], filters=view.filters, start=now[0], end=now[1])
    st.caption(DIMENSION_LABELS[dim])
    show(charts.breakdown(after, dim, chosen, title=f"{metric(chosen).label} by {DIMENSION_LABELS[dim].lower()}, current period", key=f"rc_{dim}"))
finish()

"""Trends: any metric × grain × breakdown, with annotated events, caveats and change points."""

import streamlit as st

from insights import charts
from insights.metrics import metric
from insights.model import DIMENSION_LABELS
from pages.common import caveat_notes, current, events_for, finish, metric_label, page_param, remember_page_param, show

data, view = current()
st.title("Trends")
metrics = data.available_metrics()
breakdowns = ["harm_area", *[d for d in data.dimensions if d != "harm_area"]]
left, middle = st.columns(2)
chosen = left.selectbox("Metric", metrics, key=page_param("metric", metrics, "actions"), format_func=metric_label)
by = middle.selectbox("Break down by", breakdowns, key=page_param("by", breakdowns, "harm_area"), format_func=lambda d: DIMENSION_LABELS[d])
remember_page_param("metric")
remember_page_param("by")

series = data.query(chosen, by=[by], filters=view.filters, grain=view.grain, start=view.start, end=view.end)
top = data.values(by, filters=view.filters)[:8]
series = series.filter(series[by].is_in(top))
events = events_for(view.harm_areas)
events = events.filter(events["date"].is_between(view.start, view.end))
chart = charts.trend(series, chosen, by=by, events=events, caveats=data.provenance.caveats, key=f"trend_{chosen}_{by}",
                     title=f"{metric(chosen).label} by {DIMENSION_LABELS[by].lower()}, per {view.grain}")
show(chart, drill=by)

with st.expander("Add an event to the timeline", icon=":material/event:"):
    with st.form("add_event", clear_on_submit=True):
        when = st.date_input("Date", value=view.end, min_value=view.start, max_value=view.end)
        title = st.text_input("What happened")
        if st.form_submit_button("Add event") and title:
            st.session_state.setdefault("added_events", []).append(
                {"date": when, "title": title, "kind": "user", "harm_area": None, "region": None}
            )
            st.rerun()
caveat_notes(data, view.harm_areas)
finish()

"""Trends: any metric × grain × breakdown, with annotated events and caveats; two slices side by side."""

import streamlit as st

from insights import charts
from insights.metrics import metric
from insights.model import DIMENSION_LABELS, label
from insights.trends import match_events, trend
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
events = events_for(view.harm_areas, view.start, view.end)


def trend_of(filters: dict, title: str, key: str) -> charts.Chart:
    """The chosen metric by the chosen breakdown (its 8 largest values) for one slice."""
    series = data.query(chosen, by=[by], filters=filters, grain=view.grain, start=view.start, end=view.end)
    top = data.values(by, filters=filters)[:8]
    return charts.trend(series.filter(series[by].is_in(top)), chosen, by=by, events=events,
                        caveats=data.provenance.caveats, key=key, title=title)


with st.spinner("Fitting the expected band…"):
    fitted = trend(data, chosen, grain=view.grain, filters=view.filters, start=view.start, end=view.end)
band = charts.expected_band(fitted, events=events, caveats=data.provenance.caveats, key=f"band_{chosen}",
                            title=f"{metric(chosen).label}, per {view.grain}: expected band, anomalies and change points")
show(band)
moments = match_events(fitted.moments(), events, filters=view.filters)
if len(moments):
    with st.expander(f"Anomalies and change points near annotated events ({moments['start'].n_unique()})", icon=":material/event_note:"):
        st.dataframe(moments.select("start", "kind", "title", "days_apart"), hide_index=True,
                     column_config={"start": "Period", "kind": "What", "title": "Event", "days_apart": "Days apart"})

name = f"{metric(chosen).label} by {DIMENSION_LABELS[by].lower()}, per {view.grain}"
slice_dims = [d for d in data.dimensions if d != by]
st.session_state.setdefault("p_compare", st.query_params.get("p_compare") == "1")
compare = st.toggle("Compare two slices side by side", key="p_compare", help="Same metric and breakdown, for two values of another dimension")
if not compare:
    show(trend_of(view.filters, name, f"trend_{chosen}_{by}"), drill=by)
else:
    dimension = st.selectbox("Slices differ by", slice_dims, key=page_param("slice", slice_dims, "region" if "region" in slice_dims else slice_dims[0]),
                             format_func=lambda d: DIMENSION_LABELS[d])
    remember_page_param("slice")
    values = data.values(dimension, filters=view.filters)
    for column, side, default in zip(st.columns(2), ("a", "b"), values[:2]):
        with column:
            value = st.selectbox(f"Slice {side.upper()}", values, key=page_param(side, values, default), format_func=lambda c: label(dimension, c))
            remember_page_param(side)
            sliced = {**view.filters, dimension: [value]}
            show(trend_of(sliced, f"{name} · {label(dimension, value)}", f"trend_{chosen}_{by}_{side}"), drill=by)
if compare:
    st.query_params["p_compare"] = "1"
else:
    st.query_params.pop("p_compare", None)

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

"""Regional: choropleth, region and country rankings, small multiples per region."""

import streamlit as st

from insights import charts
from insights.kpis import latest_complete_period, previous_period
from insights.metrics import metric
from insights.regional import choropleth_frame, movers
from pages.common import caveat_notes, current, events_for, finish, metric_label, page_param, remember_page_param, show, stop_page

data, view = current()
st.title("Regional")
metrics = data.available_metrics()
chosen = st.selectbox("Metric", metrics, key=page_param("metric", metrics, "actions"), format_func=metric_label)
remember_page_param("metric")
if "country" not in data.dimensions:
    st.info(f"This source ({data.provenance.source}) has no country breakdown: the regional picture needs one.", icon=":material/public_off:")
    stop_page()

by_country = data.query(chosen, by=["country"], filters=view.filters, start=view.start, end=view.end)
show(charts.choropleth(choropleth_frame(data, chosen, filters=view.filters, start=view.start, end=view.end), chosen, key=f"regional_map_{chosen}"), drill="country")

left, right = st.columns(2)
with left:
    by_region = data.query(chosen, by=["region"], filters=view.filters, start=view.start, end=view.end)
    show(charts.breakdown(by_region, "region", chosen, key=f"regional_regions_{chosen}"), drill="region")
with right:
    show(charts.breakdown(by_country, "country", chosen, title=f"{metric(chosen).label}: top countries", key=f"regional_countries_{chosen}"), drill="country")
period = latest_complete_period(min(view.end, data.provenance.as_of), view.grain)
moved = movers(data, chosen, period, previous_period(period, view.grain), level="country", filters=view.filters, top=12)
show(charts.movers(moved, "country", chosen, title=f"Biggest movers: {period.label()} against the {view.grain} before", key=f"regional_movers_{chosen}"), drill="country")
per_region = data.query(chosen, by=["region"], filters=view.filters, grain=view.grain, start=view.start, end=view.end)
events = events_for(view.harm_areas, view.start, view.end)
show(charts.small_multiples(per_region, chosen, "region", title=f"{metric(chosen).label} by region, per {view.grain}", key=f"regional_multiples_{chosen}",
                            events=events, caveats=data.provenance.caveats))
caveat_notes(data, view.harm_areas)
finish()

"""Regional: choropleth, region and country rankings, small multiples per region."""

import streamlit as st

from insights import charts
from insights.metrics import metric
from insights.periods import latest_complete_period, previous_period
from insights.regional import choropleth_frame, movers
from pages.common import metric_label, start_page

page = start_page()
data, view = page.data, page.view
page.header("Regional", "The map, regions and countries, and who moved most.")
metrics = data.available_metrics()
chosen = st.selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
page.keep("metric", chosen)
if "country" not in data.dimensions:
    st.info(
        f"This source ({data.provenance.source}) has no country breakdown: the regional picture needs one.",
        icon=":material/public_off:",
    )
    page.stop()
if not page.has_data():
    page.stop()

window = {"filters": view.filters, "start": view.start, "end": view.end}
by_country = data.query(chosen, by=["country"], **window)
page.show(
    charts.choropleth(choropleth_frame(data, chosen, **window), chosen, key=f"regional_map_{chosen}"), drill="country"
)

left, right = st.columns(2)
with left:
    by_region = data.query(chosen, by=["region"], **window)
    page.show(charts.breakdown(by_region, "region", chosen, key=f"regional_regions_{chosen}"), drill="region")
with right:
    page.show(
        charts.breakdown(
            by_country,
            "country",
            chosen,
            title=f"{metric(chosen).label}: top countries",
            key=f"regional_countries_{chosen}",
        ),
        drill="country",
    )
period = latest_complete_period(min(view.end, data.provenance.as_of), view.grain)
moved = movers(
    data,
    chosen,
    current=period,
    baseline=previous_period(period, view.grain),
    level="country",
    filters=view.filters,
    top=12,
)
page.show(
    charts.movers(
        moved,
        "country",
        chosen,
        title=f"Biggest movers: {period.label()} against the {view.grain} before",
        key=f"regional_movers_{chosen}",
    ),
    drill="country",
    current=period,
    baseline=previous_period(period, view.grain),
)
per_region = data.query(chosen, by=["region"], grain=view.grain, **window)
page.show(
    charts.small_multiples(
        per_region,
        chosen,
        "region",
        title=f"{metric(chosen).label} by region, per {view.grain}",
        key=f"regional_multiples_{chosen}",
        events=page.events(view.start, view.end),
        caveats=data.provenance.caveats,
    )
)
page.caveats()
page.finish()

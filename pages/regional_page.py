"""Regional: choropleth, region and country rankings, small multiples per region."""

import streamlit as st

from insights import charts
from insights.metrics import metric, per_exposure
from insights.periods import latest_complete_period, previous_period
from insights.regional import choropleth_frame, movers
from pages.common import chart_columns, exposures, metric_label, start_page

page = start_page()
data, view = page.data, page.view
page.header("Regional", "The map, regions and countries, and who moved most.")
#: How a count can be shown on the map: as it is, or per the views / uploads of each place.
PER = {"": "As counted", "views": "Per views", "uploads": "Per uploads"}
metrics = data.available_metrics()
left, right = st.columns([3, 1], vertical_alignment="bottom")
counted = left.selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
page.keep("metric", counted)
per_options = ["", *exposures(data)] if not metric(counted).is_ratio else [""]
per = right.selectbox(
    "Normalise", per_options, key=page.choice("per", per_options, ""), format_func=PER.__getitem__,
    disabled=len(per_options) == 1, help="A count per million views or per 10k uploads of each place",
)  # fmt: skip
page.keep("per", per or None)
try:
    chosen = per_exposure(counted, per).name if per else counted
except ValueError:  # the registry has no version of this count per that exposure
    st.caption(f"{metric(counted).label} has no per-{per[:-1]} version; shown as counted.")
    chosen = counted
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

left, right = chart_columns("regional_breakdowns")
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

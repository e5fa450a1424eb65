"""Overview (leadership): KPI cards per harm area, the narrative, the map, the biggest movers."""

import streamlit as st

from insights import charts
from insights.export import Kpi
from insights.formatting import value_text
from insights.kpis import kpi_cards
from insights.labels import dimension_label, label
from insights.metrics import metric
from insights.narrative import narrate
from insights.periods import previous_period
from insights.regional import choropleth_frame, movers
from insights.trends import measure_change
from pages.common import colour, start_page

CARD_METRICS = ["actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate"]

page = start_page()
data, view = page.data, page.view
metrics = [m for m in CARD_METRICS if m in data.available_metrics()]
period, cards = kpi_cards(
    data, metrics, by="harm_area", filters=view.filters, grain=view.grain, as_of=min(view.end, data.provenance.as_of)
)
baseline = previous_period(period, view.grain)
history = data.query(metrics, by=["harm_area"], filters=view.filters, grain=view.grain, end=period.end)

st.title("Overview")
st.caption(
    f"{view.grain.capitalize()} of {period.label()} · change against the {view.grain} before (tested against each "
    f"slice's usual variation; the year-earlier change is in each card's help) · data as of {data.provenance.as_of}"
)
if not view.harm_areas:
    st.info("Choose one or more harm areas in the sidebar.")
for area in view.harm_areas:
    with st.container(border=True):
        head, link = st.columns([5, 1])
        head.markdown(
            f"#### <span style='color:{colour(area)}'>■</span> {label('harm_area', area)}", unsafe_allow_html=True
        )
        link.page_link(
            "pages/deep_dive_page.py",
            label="Details",
            icon=":material/arrow_forward:",
            query_params={"harm_area": area, "grain": view.grain},
        )
        spark = history.filter(history["harm_area"] == area).tail(26)
        for column, name in zip(st.columns(len(metrics)), metrics, strict=True):
            card = next((c for c in cards if c.key == area and c.metric == name), None)
            definition = metric(name)
            yoy = card.year_ago.change_text() if card else None
            column.metric(
                definition.label,
                value_text(definition, card.value if card else None),
                delta=card.change.change_text() if card else None,
                delta_color="normal" if definition.higher_is_better else "inverse",
                help=definition.definition + (f"\n\nAgainst a year earlier: {yoy}." if yoy else ""),
                delta_description="significant" if card and card.change.significant else "within noise",
            )
            column.markdown(charts.sparkline_svg(spark[name].to_list(), colour(area)), unsafe_allow_html=True)
            if card and card.value is not None:
                page.kpis.append(
                    Kpi(
                        f"{definition.label} · {label('harm_area', area)}",
                        value_text(definition, card.value),
                        card.change.change_text(),
                    )
                )

headline = measure_change(data, "actions", current=period, baseline=baseline, filters=view.filters)
story = narrate(
    data, "actions", current=period, baseline=baseline, filters=view.filters, change=headline, events=page.events()
)
st.info(story.text, icon=":material/summarize:")
page.narrative = story.text

if "country" in data.dimensions:
    left, right = st.columns([3, 2])
    with left:
        by_country = choropleth_frame(data, "actions", filters=view.filters, start=period.start, end=period.end)
        page.show(
            charts.choropleth(by_country, "actions", title=f"Actions by country, {period.label()}", key="overview_map"),
            drill="country",
        )
    with right:
        moved = movers(
            data,
            "actions",
            current=period,
            baseline=baseline,
            level="country",
            filters=view.filters,
            noise=headline.noise,
            top=10,
        )
        page.show(
            charts.movers(
                moved,
                "country",
                "actions",
                title=f"Biggest movers against the {view.grain} before",
                key="overview_movers",
            ),
            drill="country",
        )
else:
    st.caption(f"This source ({data.provenance.kind}) has no country breakdown, so there is no map.")
    other = next((d for d in ("platform", "policy") if d in data.dimensions), None)
    if other:
        by_other = data.query("actions", by=[other], filters=view.filters, start=period.start, end=period.end)
        page.show(
            charts.breakdown(
                by_other,
                other,
                "actions",
                title=f"Actions by {dimension_label(other).lower()}, {period.label()}",
                key="overview_breakdown",
            ),
            drill=other,
        )
page.caveats()
page.finish()

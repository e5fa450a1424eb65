"""Overview: KPI cards per harm area for the latest complete week."""

import streamlit as st

from insights.kpis import kpi_cards
from insights.metrics import metric
from insights.model import label
from pages.common import colour, cube, harm_area_filter

CARD_METRICS = ["actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate"]

data = cube()
harm_areas = harm_area_filter(data)
metrics = [m for m in CARD_METRICS if m in data.available_metrics()]
period, cards = kpi_cards(data, metrics, by="harm_area", filters={"harm_area": harm_areas}, grain="week")

st.title("Overview")
st.caption(f"Week of {period.label()} · change against the week before and the same week a year earlier · data as of {data.provenance.as_of}")
if not harm_areas:
    st.info("Choose one or more harm areas in the sidebar.")
for area in harm_areas:
    with st.container(border=True):
        st.markdown(f"#### <span style='color:{colour(area)}'>■</span> {label('harm_area', area)}", unsafe_allow_html=True)
        columns = st.columns(len(metrics))
        for column, name in zip(columns, metrics):
            card = next((c for c in cards if c.key == area and c.metric == name), None)
            definition = metric(name)
            yoy = card.delta_text("year") if card else None
            column.metric(
                definition.label,
                definition.format_value(card.value if card else None),
                delta=card.delta_text() if card else None,
                delta_color="normal" if definition.higher_is_better else "inverse",
                help=definition.definition + (f"\n\nAgainst a year earlier: {yoy}" if yoy else ""),
            )
            if yoy:
                column.caption(f"vs a year ago: {yoy}")

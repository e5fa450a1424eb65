"""Overview (leadership): KPI cards per harm area, the map, the biggest movers."""

import streamlit as st

from insights import charts
from insights.export import Kpi
from insights.kpis import kpi_cards, previous_period
from insights.metrics import metric
from insights.model import label
from insights.narrative import narrate
from insights.regional import choropleth_frame, movers
from insights.trends import compare
from pages.common import caveat_notes, colour, current, events_for, finish, show

CARD_METRICS = ["actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate"]

data, view = current()
metrics = [m for m in CARD_METRICS if m in data.available_metrics()]
filters = {d: v for d, v in view.filters.items() if d != "harm_area"}
period, cards = kpi_cards(data, metrics, by="harm_area", filters=view.filters, grain=view.grain, as_of=min(view.end, data.provenance.as_of))
tested = {name: compare(data, name, period, previous_period(period, view.grain), by=["harm_area"], filters=view.filters) for name in metrics}
significant = {(area, name): flag for name, frame in tested.items() for area, flag in zip(frame["harm_area"], frame["significant"])}
history = data.query(metrics, by=["harm_area"], filters=view.filters, grain=view.grain, end=period.end)

st.title("Overview")
st.caption(f"{view.grain.capitalize()} of {period.label()} · change against the {view.grain} before (tested against each slice's usual variation; the year-earlier change is in each card's help) · data as of {data.provenance.as_of}")
if not view.harm_areas:
    st.info("Choose one or more harm areas in the sidebar.")
for area in view.harm_areas:
    with st.container(border=True):
        head, link = st.columns([5, 1])
        head.markdown(f"#### <span style='color:{colour(area)}'>■</span> {label('harm_area', area)}", unsafe_allow_html=True)
        link.page_link("pages/deep_dive_page.py", label="Details", icon=":material/arrow_forward:", query_params={"harm_area": area, "grain": view.grain})
        spark = history.filter(history["harm_area"] == area).tail(26)
        for column, name in zip(st.columns(len(metrics)), metrics):
            card = next((c for c in cards if c.key == area and c.metric == name), None)
            definition = metric(name)
            yoy = card.delta_text("year") if card else None
            column.metric(
                definition.label,
                definition.format_value(card.value if card else None),
                delta=card.delta_text() if card else None,
                delta_color="normal" if definition.higher_is_better else "inverse",
                help=definition.definition + (f"\n\nAgainst a year earlier: {yoy}." if yoy else ""),
                delta_description="significant" if significant.get((area, name)) else "within noise",
            )
            column.markdown(charts.sparkline_svg(spark[name].to_list(), colour(area)), unsafe_allow_html=True)
            if card and card.value is not None:
                st.session_state["deck_kpis"].append(Kpi(f"{definition.label} · {label('harm_area', area)}", definition.format_value(card.value), card.delta_text()))

story = narrate(data, "actions", period, previous_period(period, view.grain), filters=view.filters, events=events_for(view.harm_areas))
st.info(" ".join(story.sentences), icon=":material/summarize:")
st.session_state["deck_narrative"] = " ".join(story.sentences)

if "country" in data.dimensions:
    left, right = st.columns([3, 2])
    with left:
        by_country = choropleth_frame(data, "actions", filters=view.filters, start=period.start, end=period.end)
        show(charts.choropleth(by_country, "actions", title=f"Actions by country, {period.label()}", key="overview_map"), drill="country")
    with right:
        moved = movers(data, "actions", period, previous_period(period, view.grain), level="country", filters=view.filters, top=10)
        show(charts.movers(moved, "country", "actions", title=f"Biggest movers against the {view.grain} before", key="overview_movers"), drill="country")
else:
    st.caption(f"This source ({data.provenance.kind}) has no country breakdown, so there is no map.")
    other = next((d for d in ("platform", "policy") if d in data.dimensions), None)
    if other:
        by_other = data.query("actions", by=[other], filters=view.filters, start=period.start, end=period.end)
        show(charts.breakdown(by_other, other, "actions", title=f"Actions by {other}, {period.label()}", key="overview_breakdown"), drill=other)
caveat_notes(data, view.harm_areas)
finish()

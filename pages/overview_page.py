"""Overview (leadership): KPI cards per harm area, the narrative, the map, the biggest movers."""

import streamlit as st

from insights import charts
from insights.export import Kpi
from insights.formatting import escape_markdown, evidence_text, p_value_text, value_text, withheld_card
from insights.kpis import KpiCard, PrevalenceCard, kpi_cards, prevalence_cards
from insights.labels import dimension_label, label
from insights.metrics import metric
from insights.narrative import narrate
from insights.periods import previous_period
from insights.regional import choropleth_frame, movers
from insights.trends import measure_change
from pages.common import chart_columns, colour, start_page, with_prevalence

CARD_METRICS = ["actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate"]
#: Width of one KPI card in pixels: cards wrap onto more rows on narrow screens.
CARD_WIDTH = 200
#: What a prevalence figure that is not an estimate means, in words.
PREVALENCE_WORDS = {
    "upper_bound": "an upper bound: too few violating views were sampled for an estimate",
    "withheld": "withheld: too few views were sampled for a figure",
    "range": "the range the publisher gives",
}

page = start_page()
data, view = page.data, page.view
metrics = [m for m in CARD_METRICS if m in data.available_metrics()]
as_of = min(view.end, data.provenance.as_of or view.end)
by = "harm_area" if view.harm_areas else None
period, cards = kpi_cards(data, metrics, by=by, filters=view.filters, grain=view.grain, as_of=as_of)
baseline = previous_period(period, view.grain)

page.header(
    "Overview",
    f"{view.grain.capitalize()} of {period.label()} · change against the {view.grain} before (tested against each "
    f"slice's usual variation; the year-earlier change is in each card's help) · data as of {data.provenance.as_of}",
)
if not page.has_data():
    page.stop()
history = data.query(metrics, by=[by] if by else [], filters=view.filters, grain=view.grain, end=period.end)


def card(column, area: str | None, found: KpiCard | None, name: str) -> None:
    """One KPI: value, change (with whether it is more than noise), the year-earlier change in its help."""
    definition = metric(name)
    change = found.change if found else None
    yoy = found.year_ago.change_text() if found else None
    verdict = evidence_text(change.p_value, change.alpha) if change else "no data"
    help_text = definition.definition + f"\n\nAgainst the {view.grain} before: {verdict}"
    help_text += f" ({p_value_text(change.p_value)})." if change else "."
    if yoy:
        help_text += f"\n\nAgainst a year earlier: {yoy}."
    shown, why = value_text(definition, None), "within noise"
    if change:
        shown, why = change.value_text(), "significant" if change.significant else "within noise"
    if change and change.withheld:  # small-cell suppression: the short form, and why under it
        shown, why = withheld_card(change.withheld)
    elif change and change.baseline_withheld:  # nothing to compare with
        shown, why = change.value_text(), f"the {view.grain} before: {change.baseline_text()}"
    column.metric(
        definition.label,
        shown,
        delta=change.change_text() if change else None,
        delta_color="normal" if definition.higher_is_better else "inverse",
        help=help_text,
        delta_description=why,
    )
    spark = history.filter(history[by] == area) if by else history
    column.markdown(charts.sparkline_svg(spark.tail(26)[name].to_list(), colour(area or "")), unsafe_allow_html=True)
    if change and (change.value is not None or change.withheld is not None):
        title = f"{definition.label} · {label('harm_area', area) if area else 'All harm areas'}"
        page.kpis.append(Kpi(title, change.value_text(), change.change_text()))


def prevalence_card(column, found: PrevalenceCard, title: str) -> None:
    """One harm area's prevalence: the figure as reported, its interval or bound in words, the
    move against the quarter before tested with its own interval."""
    change = found.change
    row = found.current_row or {}
    column.metric(
        title,
        value_text("prevalence", found.estimate) if found.status == "estimate" else found.text,
        delta=change.points_text(),
        delta_color="inverse",
        delta_description="significant" if change.different else "within noise",
        help=f"{metric('prevalence').definition}\n\n{found.current.label()}: {found.text}. Against "
        f"{found.baseline.label()} ({found.baseline_text}): {change.text()}.{ignored}",
    )
    if found.status == "estimate":
        words = f"95 % interval {value_text('prevalence', row['lower'])}–{value_text('prevalence', row['upper'])}"
    else:
        words = PREVALENCE_WORDS.get(found.status, "")
    column.caption(escape_markdown(f"{words} · {found.current.label()}"))
    name = label("harm_area", found.harm_area)
    page.kpis.append(Kpi(f"Prevalence · {name}", found.text, change.text()))


prevalent = with_prevalence(data)
estimated: list[PrevalenceCard] = []
ignored = ""
if prevalent is not None:
    _, estimated = prevalence_cards(prevalent, "quarter", filters=view.filters, as_of=as_of)
    _, not_applied = prevalent.prevalence_filters(view.filters)
    if not_applied:
        ignored = f"\n\nThe {', '.join(not_applied)} filter does not narrow it: views are not sampled by it."


for area in view.harm_areas or [None]:
    with st.container(border=True):
        head, actions = st.columns([3, 2], vertical_alignment="center")
        name = label("harm_area", area) if area else "All harm areas"
        head.markdown(f"#### <span style='color:{colour(area or '')}'>■</span> {name}", unsafe_allow_html=True)
        links = actions.container(horizontal=True, horizontal_alignment="right", gap="small")
        page.follow({**view.filters, "harm_area": [area] if area else []}, name, links)
        if area:
            links.page_link(
                "pages/deep_dive_page.py",
                label="Details",
                icon=":material/arrow_forward:",
                query_params=page.query(harm_area=[area]),
            )
        row = st.container(horizontal=True, gap="medium")
        for name in metrics:
            found = next((c for c in cards if c.key == area and c.metric == name), None)
            card(row.container(width=CARD_WIDTH), area, found, name)
        share = next((p for p in estimated if p.harm_area == area), None)
        if share is not None:
            prevalence_card(row.container(width=CARD_WIDTH), share, "Prevalence (quarter)")
if estimated and not view.harm_areas:  # all harm areas together: prevalence is per harm area, never summed
    with st.container(border=True):
        st.markdown("#### Prevalence: the share of views that were of violating content")
        row = st.container(horizontal=True, gap="medium")
        for share in estimated:
            prevalence_card(row.container(width=CARD_WIDTH), share, label("harm_area", share.harm_area))


# The cards measured the slice's noise already (the same slice and grain): the headline reuses it.
noise = next((c.change.noise for c in cards if c.metric == "actions"), None)
headline = measure_change(data, "actions", current=period, baseline=baseline, filters=view.filters, noise=noise)
story = narrate(
    data, "actions", current=period, baseline=baseline, filters=view.filters, change=headline, events=page.events()
)
st.info(escape_markdown(story.text), icon=":material/summarize:")
page.narrative = story.text

if "country" in data.dimensions:
    left, right = chart_columns("overview_geo")
    with left:
        by_country = choropleth_frame(data, "actions", filters=view.filters, start=period.start, end=period.end)
        page.show(
            charts.choropleth(by_country, "actions", title=f"Actions by country, {period.label()}", key="overview_map"),
            drill="country",
            current=period,
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
            current=period,
            baseline=baseline,
        )
else:
    st.caption(f"This source ({data.provenance.kind}) has no country breakdown, so there is no map.")
    other = next((d for d in ("platform", "policy") if d in data.dimensions), None)
    if other:
        by_other = data.query("actions", by=[other], filters=view.filters, start=period.start, end=period.end)
        title = f"Actions by {dimension_label(other).lower()}, {period.label()}"
        chart = charts.breakdown(by_other, other, "actions", title=title, key="overview_breakdown")
        page.show(chart, drill=other, current=period)
page.caveats()
page.finish()

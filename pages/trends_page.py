"""Trends: any metric × grain × breakdown, with annotated events and caveats; two slices side by side."""

import streamlit as st

from insights import charts
from insights.exposed import ExposedCube
from insights.formatting import escape_markdown
from insights.labels import dimension_label, label
from insights.metrics import metric
from insights.more_or_found import enforcement_against_prevalence, more_or_found
from insights.narrative import describe_slice
from insights.trends import match_events, trend
from pages.common import chart_columns, impact_links, metric_label, start_page, with_prevalence

page = start_page()
data, view = page.data, page.view
page.header("Trends", "Any metric over time with its expected band; click a line to drill into its value.")
if not page.has_data():
    page.stop()
prevalent = with_prevalence(data)
metrics = data.available_metrics() + (["prevalence"] if prevalent is not None else [])
breakdowns = sorted(data.dimensions, key=lambda d: d != "harm_area")
left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
chosen = left.selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
by = middle.selectbox(
    "Break down by",
    breakdowns,
    key=page.choice("by", breakdowns, "harm_area"),
    format_func=dimension_label,
    disabled=chosen == "prevalence",
    help="Prevalence is shown per harm area" if chosen == "prevalence" else None,
)
page.keep("metric", chosen)
page.keep("by", by)
page.follow(view.filters, "actions" + (describe_slice(view.filters) or " for all harm areas"), right)
events = page.events(view.start, view.end)


def prevalence_view(cube: ExposedCube) -> None:
    """Prevalence per period with its band, and enforcement against prevalence per harm area."""
    grain = view.grain if view.grain in ("month", "quarter", "year") else "month"
    if grain != view.grain:
        st.caption(f"Prevalence per month: a {view.grain}'s sample holds too few violating views for most harm areas.")
    window = {"filters": view.filters, "start": view.start, "end": view.end}
    figures = cube.prevalence(grain, **window)
    page.show(
        charts.prevalence_trend(
            figures, title=f"Prevalence per {grain} with its 95 % interval", key=f"prevalence_{grain}"
        )
    )
    if "actions_per_million_views" not in cube.available_metrics():
        return
    against = enforcement_against_prevalence(cube, grain=grain, **window)
    page.show(
        charts.enforcement_vs_prevalence(
            against, title="More harm, or more found? Enforcement against prevalence", key=f"more_or_found_{grain}"
        )
    )
    for area in against["harm_area"].unique(maintain_order=True).to_list():
        if against.filter(against["harm_area"] == area).height >= 2:
            st.caption(escape_markdown(more_or_found(against, area).text()))


if chosen == "prevalence" and prevalent is not None:
    prevalence_view(prevalent)
    page.caveats()
    page.stop()


def trend_of(filters: dict, title: str, key: str) -> charts.Chart:
    """The chosen metric by the chosen breakdown (its 8 largest values) for one slice."""
    series = data.query(chosen, by=[by], filters=filters, grain=view.grain, start=view.start, end=view.end)
    top = data.values(by, filters=filters)[:8]
    return charts.trend(
        series.filter(series[by].is_in(top)),
        chosen,
        by=by,
        events=events,
        caveats=data.provenance.caveats,
        key=key,
        title=title,
    )


with st.spinner("Fitting the expected band…"):
    fitted = trend(data, chosen, grain=view.grain, filters=view.filters, start=view.start, end=view.end)
band = charts.expected_band(
    fitted,
    events=events,
    caveats=data.provenance.caveats,
    key=f"band_{chosen}",
    title=f"{metric(chosen).label}, per {view.grain}: expected band, anomalies and change points",
)
page.show(band)
moments = match_events(fitted.moments(), events, filters=view.filters)
if len(moments):
    with st.expander(
        f"Anomalies and change points near annotated events ({moments['start'].n_unique()})",
        icon=":material/event_note:",
    ):
        st.dataframe(
            moments.select("start", "kind", "title", "days_apart"),
            hide_index=True,
            column_config={"start": "Period", "kind": "What", "title": "Event", "days_apart": "Days apart"},
        )
impact_links(page, events, chosen)

name = f"{metric(chosen).label} by {dimension_label(by).lower()}, per {view.grain}"
slice_dims = [d for d in data.dimensions if d != by]
compare = st.toggle(
    "Compare two slices side by side",
    key=page.flag("compare"),
    help="Same metric and breakdown, for two values of another dimension",
)
page.keep("compare", "1" if compare else None)
if not compare:
    page.show(trend_of(view.filters, name, f"trend_{chosen}_{by}"), drill=by)
else:
    dimension = st.selectbox(
        "Slices differ by",
        slice_dims,
        key=page.choice("slice", slice_dims, "region" if "region" in slice_dims else slice_dims[0]),
        format_func=dimension_label,
    )
    page.keep("slice", dimension)
    values = data.values(dimension, filters=view.filters)
    for column, side, default in zip(chart_columns("trends_slices"), ("a", "b"), values[:2], strict=False):
        with column:
            value = st.selectbox(
                f"Slice {side.upper()}",
                values,
                key=page.choice(side, values, default),
                format_func=lambda c: label(dimension, c),
            )
            page.keep(side, value)
            sliced = {**view.filters, dimension: [value]}
            page.show(trend_of(sliced, f"{name} · {label(dimension, value)}", f"trend_{chosen}_{by}_{side}"), drill=by)

with st.expander("Add an event to the timeline", icon=":material/event:"), st.form("add_event", clear_on_submit=True):
    when = st.date_input("Date", value=view.end, min_value=view.start, max_value=view.end)
    title = st.text_input("What happened")
    if st.form_submit_button("Add event") and title:
        st.session_state.setdefault("added_events", []).append(
            {"date": when, "title": title, "kind": "user", "harm_area": None, "region": None}
        )
        st.rerun()
page.caveats()
page.finish()

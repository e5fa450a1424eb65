"""Impact: did a launch move a metric? The launched slice against what its donors predict without it."""

import datetime as dt

import polars as pl
import streamlit as st

import insights
from insights import charts
from insights.export import Kpi
from insights.formatting import escape_markdown, evidence_text, p_value_text, signed, signed_amount_text
from insights.impact import charts as impact_charts
from insights.impact import estimate_impact
from insights.impact.events import LAUNCH_KINDS, donor_launches, launch_slice, linked_dimensions
from insights.impact.narrative import impact_text, method_text
from insights.labels import dimension_label, label
from insights.metrics import measures, metric
from insights.periods import Period
from pages.common import MORE_FILTERS, SEPARATOR, metric_label, start_page

#: Most periods an estimate is run on from the page (its conformal intervals refit once per
#: period and candidate effect: a day-grain estimate over two years takes minutes).
MAX_PERIODS = 366
#: Width of one number card in pixels (the interval's is wider).
CARD_WIDTH = 190
METHOD_NAMES = {"auto": "Automatic", "synthetic": "Synthetic control", "augmented": "Augmented synthetic control",
                "structural": "Structural time series"}  # fmt: skip


page = start_page()
data, view = page.data, page.view
page.header("Impact", "Did a launch move the metric? The launched slice against what the slices it missed predict.")
if not page.has_data():
    page.stop()
metrics = data.available_metrics()
dimensions = [d for d in ["country", "region", "harm_area", *MORE_FILTERS] if d in data.dimensions]
if not dimensions:
    st.info("This source has no dimension to compare slices by (country, harm area, content type…).")
    page.stop()

# The page opens on the latest launch annotated for this view (or the one in the URL).
events = page.events(view.start + dt.timedelta(days=1), view.end)
launches = events.filter(pl.col("kind").is_in([*LAUNCH_KINDS, "user"]))
latest = launches.row(-1, named=True) if len(launches) else None
opened = launch_slice(data, latest, view.filters) if latest else None
default_launch = latest["date"] if latest else view.start + (view.end - view.start) * 2 // 3

top = st.columns([5, 4, 3])
chosen = top[0].selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
definition = metric(chosen)
first_dimension = opened.dimension if opened and opened.dimension in dimensions else dimensions[0]
dimension = top[1].selectbox(
    "Launched in which",
    dimensions,
    key=page.choice("dimension", dimensions, first_dimension),
    format_func=dimension_label,
)
launch = top[2].date_input("Launch date", key=page.day("launch", default_launch), format="YYYY-MM-DD")
if not isinstance(launch, dt.date):
    st.info("Pick the launch date.", icon=":material/event:")
    page.stop()
page.keep("metric", chosen)
page.keep("dimension", dimension)
page.keep("launch", launch.isoformat())

# The values of the dimension are the units: filters on it (and on the dimension nested with it)
# would leave the launched slice without donors, so they are not applied here.
ignored = [d for d in linked_dimensions(dimension) if view.filters.get(d)]
filters = {d: v for d, v in view.filters.items() if v and d not in linked_dimensions(dimension)}
values = data.values(dimension, filters=filters)
if opened and opened.dimension == dimension:
    default_treated = opened.values
else:
    default_treated = view.filters.get(dimension) or values[:1]
treated = st.multiselect(
    f"{dimension_label(dimension)}: launched in",
    values,
    key=page.selection("treated", values, default_treated),
    format_func=lambda v: label(dimension, v),
    placeholder="Pick the values the launch went out in",
)
page.keep("treated", SEPARATOR.join(treated))
others = [v for v in values if v not in treated]
left, right = st.columns([3, 1])
donors = left.multiselect(
    "Donors: the slices the launch did not reach",
    others,
    key=page.selection("donors", others, []),
    format_func=lambda v: label(dimension, v),
    placeholder=f"All other values of {dimension_label(dimension).lower()} ({len(others)})",
    help="Leave out slices that had a launch of their own, or that the launch may have reached.",
)
page.keep("donors", SEPARATOR.join(donors))
methods = list(METHOD_NAMES)
method = right.selectbox(
    "Method",
    methods,
    key=page.choice("method", methods, "auto"),
    format_func=METHOD_NAMES.__getitem__,
    help="Automatic: a synthetic control, ridge-augmented when its fit before the launch is poor, and a "
    "structural time-series model when there are fewer than 4 donors.",
)
page.keep("method", method if method != "auto" else None)
if latest and opened and launch == latest["date"]:
    st.caption(f"Opened on an annotated launch: {escape_markdown(latest['title'])} ({latest['date']:%d %b %Y}).")
if ignored:
    names = " and ".join(dimension_label(d).lower() for d in ignored)
    st.caption(f"The {names} filter of the sidebar is not applied here: the donors are the other values.")

if not treated:
    st.info("Pick the values the launch went out in.", icon=":material/touch_app:")
    page.stop()
periods = {"day": (view.end - view.start).days + 1}.get(view.grain, 0)
if periods > MAX_PERIODS:
    st.info(
        f"**At day grain these dates span {periods} days**: the estimate refits its counterfactual for every day and "
        f"every candidate effect, which would take minutes. Pick the week grain in the sidebar, or narrow the dates "
        f"to at most {MAX_PERIODS} days around the launch.",
        icon=":material/hourglass_empty:",
    )
    page.stop()

design = {
    "metric": chosen,
    "treated": {dimension: treated},
    "launch": launch,
    "grain": view.grain,
    "filters": filters or None,
    "donors": donors or None,
    "method": method,
    "start": view.start,
    "end": view.end,
}
try:
    with st.spinner("Fitting the counterfactual, its intervals and the placebos…"):
        result = page.shared(lambda: estimate_impact(data, **design), "estimate_impact", design)
except insights.DataError as error:
    st.info(
        f"**No estimate for this design:** {escape_markdown(str(error))}. Try another launch date (with more "
        f"periods before and after it), a coarser grain, wider dates, or other {dimension_label(dimension).lower()} "
        "values or donors.",
        icon=":material/info:",
    )
    page.stop()

treated_words = impact_charts.slice_label(dimension, treated)
post = result.series.filter("post")
pre = result.series.filter(~pl.col("post"))
after = Period(post["period"][0], view.end)
before = Period(pre["period"][0], post["period"][0] - dt.timedelta(days=1))
slice_words = charts.subtitle_text(
    {**filters, dimension: treated}, current=after, baseline=before, as_of=data.provenance.as_of
)

average, cumulative = result.average, result.cumulative
per = "" if definition.is_ratio else f" per {view.grain}"


def bound(value: float) -> str:
    """One end of an interval in the metric's units (an unbounded end as ∞)."""
    return signed_amount_text(definition, value) if abs(value) < float("inf") else ("-∞" if value < 0 else "+∞")


interval = f"{bound(average.lower).removesuffix(' pp')} to {bound(average.upper)}"
unit = measures()[cumulative.unit].label.lower() if cumulative.unit in measures() else definition.label.lower()
row = st.container(horizontal=True, gap="medium")  # cards wrap onto more rows on narrow screens
cards = [row.container(width=width) for width in (CARD_WIDTH, round(1.6 * CARD_WIDTH), CARD_WIDTH, CARD_WIDTH)]
cards[0].metric(
    f"Effect{per}",
    signed_amount_text(definition, average.value),
    delta=signed(average.percent, "%") if average.percent is not None else None,
    delta_color={None: "off", True: "normal", False: "inverse"}[definition.higher_is_better],
    help=f"Actual minus the counterfactual, averaged over the {len(post)} {view.grain}s after the launch.",
)
cards[1].metric(f"{result.level:.0%} interval", interval, help="Conformal interval of the average effect.")
cards[2].metric(
    f"Over {len(post)} {view.grain}s",
    f"{cumulative.value:+,.0f}",
    help=f"The cumulative effect: {unit} the launch added (+) or removed (-).",
)
cards[3].metric(
    "More than noise?",
    "Yes" if average.significant else "No",
    help=f"{evidence_text(result.p_value, 1 - result.level).capitalize()} ({p_value_text(result.p_value)}).",
)
page.kpis += [
    Kpi(f"{definition.label}: effect{per}", signed_amount_text(definition, average.value),
        signed(average.percent, "%") if average.percent is not None else None),
    Kpi(f"{result.level:.0%} interval", interval),
    Kpi(f"Over {len(post)} {view.grain}s", f"{cumulative.value:+,.0f}"),
]  # fmt: skip

story = impact_text(result, treated_label=treated_words, grain=view.grain, dimension=dimension)
st.info(escape_markdown(story), icon=":material/summarize:")
page.narrative = story
own_launches = donor_launches(
    data,
    page.events(view.start, view.end, filters=filters),
    dimension=dimension,
    treated=treated,
    donors=result.weights["donor"].to_list(),
    launch=launch,
    label=lambda v: label(dimension, v),
)
for warning in [*result.warnings, *own_launches]:
    st.warning(escape_markdown(warning), icon=":material/warning:")


def show(chart: charts.Chart) -> None:
    """Show a chart with the launched slice and the periods before and after the launch as its subtitle."""
    chart.subtitle = slice_words
    page.show(chart)


show(impact_charts.counterfactual(result, treated_label=treated_words))
show(impact_charts.effect_per_period(result))
# One chart per row: side by side, at 1024 px the weights' names left their bars no room.
if result.donors:
    show(impact_charts.donor_weights(result, dimension=dimension))
else:
    st.markdown("**What the counterfactual is made of**")
    made_of = method_text(result.method, len(result.weights))
    st.caption(f"The counterfactual is {made_of}: it has no donor weights to show.")
if result.placebo_time is not None:
    show(impact_charts.placebo_in_time(result))
else:
    st.caption("No placebo in time: too few periods before the launch to move it earlier.")
if result.placebo_space is not None and result.placebo_space.gaps is not None:
    show(impact_charts.placebo_in_space(result, treated_label=treated_words, dimension=dimension))
fit = result.fit
explained = f", which explains {max(fit.r2, 0):.0%} of its variation" if fit.r2 == fit.r2 else ""  # NaN: not known
how = [
    f"**Method:** {method_text(result.method, len(result.weights))}; intervals at {result.level:.0%}.",
    f"**Before the launch:** {fit.periods} {view.grain}s; the counterfactual's error there (RMSPE) is "
    f"{fit.rmspe:,.4g}{explained}.",
    *(["**Rates are ratios of sums:** each slice's rate is fitted, each period weighted by its denominator; "
       "the average effect is the change of the pooled rate."] if definition.is_ratio else []),
    *(escape_markdown(f"{note[:1].upper()}{note[1:]}.") for note in result.notes),
]  # fmt: skip
with st.expander("How this was estimated", icon=":material/info:"):
    st.markdown("\n".join(f"- {line}" for line in how))
page.caveats()
page.finish()

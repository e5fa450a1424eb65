"""Root cause: a metric and two periods; which dimensions and segments explain the change."""

import polars as pl
import streamlit as st

from insights import charts
from insights.formatting import value_text
from insights.labels import dimension_label, label
from insights.metrics import metric
from insights.narrative import drivers_from_explanation, narrate
from insights.periods import Period, latest_complete_period, previous_period
from insights.rootcause import decomposition_tree, explain_change
from insights.trends import measure_change
from pages.common import metric_label, start_page

page = start_page()
data, view = page.data, page.view
st.title("Root cause")
st.caption(
    f"Defaults: the last complete {view.grain} against the one before "
    "(change the grain in the sidebar, or pick any two periods)."
)
metrics = data.available_metrics()
chosen = st.selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
page.keep("metric", chosen)
definition = metric(chosen)

latest = latest_complete_period(min(view.end, data.provenance.as_of), view.grain)
defaults = {"baseline": previous_period(latest, view.grain), "current": latest}


def period_input(name: str, column) -> Period:
    """A date-range input seeded from the URL (``p_<name>=start..end``), default the last complete period
    or the one before."""
    chosen_range = column.date_input(name.capitalize(), key=page.period(name, defaults[name]), format="YYYY-MM-DD")
    if len(chosen_range) != 2:
        st.info(f"Pick the last day of the {name} period.", icon=":material/date_range:")
        page.stop()
    period = Period(*chosen_range)
    page.keep_period(name, period)
    return period


left, right = st.columns(2)
baseline, now = period_input("baseline", left), period_input("current", right)
headline = measure_change(
    data, chosen, current=now, baseline=baseline, filters=view.filters
)  # the cards first, the explanation after

cards = st.columns(4)
cards[0].metric("Baseline", value_text(definition, headline.baseline_value), help=baseline.label())
cards[1].metric("Current", value_text(definition, headline.value), help=now.label())
cards[2].metric(
    "Change",
    headline.change_text() or "n/a",
    delta=f"{headline.pct_change:+.1%}" if headline.pct_change is not None else None,
    delta_color="normal" if definition.higher_is_better else "inverse",
)
cards[3].metric(
    "More than noise?",
    "Yes" if headline.significant else "No",
    help=f"p = {headline.p_value:.3g} against the slice's own period-to-period noise"
    if headline.p_value is not None
    else None,
)
with st.spinner("Explaining the change…"):
    explanation = explain_change(data, chosen, current=now, baseline=baseline, filters=view.filters, change=headline)
story = narrate(
    data,
    chosen,
    current=now,
    baseline=baseline,
    filters=view.filters,
    change=headline,
    events=page.events(),
    drivers=drivers_from_explanation(explanation),
)
st.info(story.text, icon=":material/summarize:")
page.narrative = story.text
if headline.significant is False:
    st.warning(
        "This change is within the slice's usual variation, so there is little to explain: the breakdown below "
        "mostly shows movements that offset each other, and a share of so small a change can run far past 100%. "
        "Pick two periods around a real change (the Trends page flags anomalies and change points).",
        icon=":material/info:",
    )

st.subheader("Which dimensions explain it")
power = charts.explanatory_power(
    explanation.dimensions,
    title=f"Which dimensions explain the change in {definition.label.lower()}",
    key="rc_dimensions",
)
if len(power.data):
    page.show(power)
st.dataframe(
    power.data.with_columns(pl.col("dimension").map_elements(dimension_label, return_dtype=pl.String)),
    hide_index=True,
    column_config={
        "dimension": "Dimension",
        "explanatory_power": st.column_config.ProgressColumn(
            "Share of the change explained", format="percent", min_value=0, max_value=1
        ),
        "surprise": st.column_config.NumberColumn(
            "Surprise", help="How unexpected the shift of its values' shares is (Jensen–Shannon)", format="%.4f"
        ),
        "explaining_values": "Values that moved most",
    },
)
if explanation.dimensions.is_empty() or headline.value is None or headline.baseline_value is None:
    st.info(f"{definition.label} is not defined in both periods for this slice, so there is no change to break down.")
else:
    top_dimension = explanation.dimensions["dimension"][0]
    depth_one = explanation.contributors.filter(pl.col("cuboid") == top_dimension)
    page.show(
        charts.waterfall(
            depth_one,
            chosen,
            headline.baseline_value,
            headline.value,
            title=f"{definition.label}: contributions by {dimension_label(top_dimension).lower()}",
            key="rc_waterfall",
        )
    )

if explanation.localized:
    st.subheader("Where it is concentrated")
    for combination in explanation.localized:
        st.markdown("- " + " · ".join(f"**{dimension_label(d)}** {label(d, v)}" for d, v in combination.items()))

with st.expander("All contributing segments (depth 1–3)"):
    st.dataframe(
        explanation.contributors.filter(~pl.col("other")).select(
            "segment", "depth", "before", "after", "contribution", "share", "p_value"
        ),
        hide_index=True,
        column_config={
            "share": st.column_config.NumberColumn("Share of change", format="percent"),
            "p_value": st.column_config.NumberColumn("p", format="%.2g"),
        },
    )

if explanation.mix_rate is not None and not explanation.mix_rate.is_empty():
    st.subheader("Mix or rate?")
    st.caption(
        "For a rate, how much of the change came from rates moving within each dimension's values, and how much "
        "from volume moving between values with different rates. The two add up to the change."
    )
    page.show(charts.mix_or_rate(explanation.mix_rate, chosen, key="rc_mix_rate"))
    with st.expander("Mix and rate effects as a table"):
        st.dataframe(
            explanation.mix_rate.with_columns(
                pl.col("dimension").map_elements(dimension_label, return_dtype=pl.String)
            ),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.4f") for c in ("rate_effect", "mix_effect", "change")
            }
            | {"mix_share": st.column_config.NumberColumn("Mix share", format="percent")},
        )

st.subheader("Decomposition tree")
st.caption(
    "Each level splits the slice by the dimension that best explains its change. "
    "Click a segment to go one level deeper."
)
path: list[dict[str, str]] = st.session_state.setdefault("rc_path", [])
node_filter = {k: v for step in path for k, v in step.items()}
crumbs = st.columns(len(path) + 1)
if crumbs[0].button("All", key="rc_root", type="tertiary"):
    path.clear()
    st.rerun()
for index, step in enumerate(path):
    dimension, value = next(iter(step.items()))
    if crumbs[index + 1].button(f"› {label(dimension, value)}", key=f"rc_crumb_{index}", type="tertiary"):
        del path[index + 1 :]
        st.rerun()
node = decomposition_tree(data, chosen, current=now, baseline=baseline, node=node_filter, filters=view.filters)
if node.split_dimension is None:
    st.write("No further split explains this segment's change.")
else:
    st.caption(f"Split by {dimension_label(node.split_dimension).lower()}")
    for child in sorted(node.children, key=lambda c: -abs(c.contribution or 0))[:8]:
        value = child.segment[node.split_dimension]
        share = f"{child.share:.0%} of the change" if child.share is not None else ""
        if st.button(
            f"{label(node.split_dimension, value)}: {value_text(definition, child.before)} → "
            f"{value_text(definition, child.after)} ({share})",
            key=f"rc_child_{value}",
            use_container_width=True,
        ):
            path.append({node.split_dimension: value})
            st.rerun()
page.caveats()
page.finish()

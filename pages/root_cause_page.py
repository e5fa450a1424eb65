"""Root cause: a metric and two periods; which dimensions and segments explain the change."""

import polars as pl
import streamlit as st

from insights import charts
from insights.exposed import ExposedCube
from insights.formatting import escape_markdown, evidence_text, p_value_text, signed_amount_text, value_text
from insights.labels import dimension_label, label, segment_label
from insights.metrics import measures, metric
from insights.narrative import drivers_from_explanation, narrate
from insights.periods import Period, latest_complete_period, previous_period
from insights.rootcause import (
    TreeNode,
    decomposition_tree,
    explain_change,
    exposure_split,
    exposure_splits,
    suggest_periods,
)
from insights.trends import measure_change
from insights.viewstate import parse_segment_param, period_param, segment_param
from pages.common import metric_label, set_choice, start_page

page = start_page()
data, view = page.data, page.view
page.header("Root cause", "Which dimensions and segments explain a change between two periods.")
if not page.has_data():
    page.stop()
metrics = data.available_metrics()
chosen = st.selectbox("Metric", metrics, key=page.choice("metric", metrics, "actions"), format_func=metric_label)
page.keep("metric", chosen)
definition = metric(chosen)

as_of = min(view.end, data.provenance.as_of or view.end)
latest = latest_complete_period(as_of, view.grain)
last_pair = (previous_period(latest, view.grain), latest)
if "p_current" not in st.session_state and "current" not in page.url.page:
    # No periods chosen yet: open on the most recent change that is more than noise.
    suggestion = page.shared(
        lambda: suggest_periods(data, chosen, grain=view.grain, filters=view.filters, start=view.start, as_of=as_of),
        "suggest_periods",
        chosen,
        view.grain,
        view.filters,
        view.start,
        as_of,
    )
    st.session_state["rc_reason"] = (period_param(suggestion.current), suggestion.reason)
    defaults = {"baseline": suggestion.baseline, "current": suggestion.current}
else:
    defaults = {"baseline": last_pair[0], "current": last_pair[1]}


def period_input(name: str, column) -> Period:
    """A date-range input seeded from the URL (``p_<name>=start..end``), else the suggested periods."""
    chosen_range = column.date_input(name.capitalize(), key=page.period(name, defaults[name]), format="YYYY-MM-DD")
    if len(chosen_range) != 2:
        st.info(f"Pick the last day of the {name} period.", icon=":material/date_range:")
        page.stop()
    period = Period(*chosen_range)
    page.keep_period(name, period)
    return period


def use_periods(baseline: Period, current: Period) -> None:
    """Button callback: compare other periods (and start the tree at its root)."""
    set_choice("baseline", (baseline.start, baseline.end))
    set_choice("current", (current.start, current.end))
    set_choice("node", "")


left, right = st.columns(2)
baseline, now = period_input("baseline", left), period_input("current", right)
picked, reason = st.session_state.get("rc_reason", ("", ""))
if picked == period_param(now):
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"Opened on {reason}.")
        if (baseline, now) != last_pair:
            st.button(
                f"Compare the last {view.grain} with the one before instead",
                type="tertiary",
                icon=":material/history:",
                on_click=use_periods,
                args=last_pair,
                key="rc_last",
            )

headline = measure_change(data, chosen, current=now, baseline=baseline, filters=view.filters)
cards = st.columns(4)
cards[0].metric("Baseline", value_text(definition, headline.baseline_value), help=baseline.label())
cards[1].metric("Current", value_text(definition, headline.value), help=now.label())
cards[2].metric(
    "Change",
    signed_amount_text(definition, headline.change) if headline.change is not None else "n/a",
    delta=f"{headline.pct_change:+.1%}" if headline.pct_change is not None else None,
    delta_color="normal" if definition.higher_is_better else "inverse",
)
cards[3].metric(
    "More than noise?",
    "Yes" if headline.significant else "No",
    help=f"{evidence_text(headline.p_value, headline.alpha).capitalize()} ({p_value_text(headline.p_value)}), "
    "against the slice's own period-to-period variation.",
)
with st.spinner("Explaining the change…"):
    explanation = page.shared(
        lambda: explain_change(data, chosen, current=now, baseline=baseline, filters=view.filters, change=headline),
        "explain_change",
        chosen,
        now,
        baseline,
        view.filters,
    )
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
st.info(escape_markdown(story.text), icon=":material/summarize:")
page.narrative = story.text
if headline.significant is False:
    st.warning(
        "This change is within the slice's usual variation, so there is little to explain: the breakdown below "
        "mostly shows movements that offset each other, and a share of so small a change can run far past 100%. "
        "Pick two periods around a real change (the Trends page flags anomalies and change points).",
        icon=":material/info:",
    )

if isinstance(data, ExposedCube) and data.denominator_dimensions(chosen) is not None:
    st.subheader("Enforcement or exposure?")
    split = exposure_split(data, chosen, current=now, baseline=baseline, filters=view.filters)
    st.info(escape_markdown(split.text()), icon=":material/call_split:")
    if "harm_area" in data.dimensions:
        parts = exposure_splits(data, chosen, current=now, baseline=baseline, by=["harm_area"], filters=view.filters)
        st.dataframe(
            parts.select(
                pl.col("harm_area").map_elements(lambda a: label("harm_area", a), return_dtype=pl.String),
                "baseline_value",
                "value",
                "change",
                "enforcement",
                "exposure",
            ),
            hide_index=True,
            column_config={
                "harm_area": "Harm area",
                "baseline_value": st.column_config.NumberColumn("Baseline", format="%.2f"),
                "value": st.column_config.NumberColumn("Current", format="%.2f"),
                "change": st.column_config.NumberColumn("Change", format="%+.2f"),
                "enforcement": st.column_config.NumberColumn(
                    "From enforcement", format="%+.2f", help=f"The part of the change due to {definition.numerator}"
                ),
                "exposure": st.column_config.NumberColumn(
                    "From exposure", format="%+.2f", help=f"The part of the change due to {definition.denominator}"
                ),
            },
        )

st.subheader("Which dimensions explain it")
power = charts.explanatory_power(
    explanation.dimensions,
    key="rc_dimensions",
    title=f"Which dimensions explain the change in {definition.label.lower()}",
)
if len(power.data):
    page.show(power, current=now, baseline=baseline)
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
            key="rc_waterfall",
            title=f"{definition.label}: contributions by {dimension_label(top_dimension).lower()}",
        ),
        current=now,
        baseline=baseline,
    )

if explanation.localized:
    st.subheader("Where it is concentrated")
    for combination in explanation.localized:
        parts = (f"**{dimension_label(d)}** {escape_markdown(label(d, v))}" for d, v in combination.items())
        st.markdown("- " + " · ".join(parts))

with st.expander("All contributing segments (depth 1–3)"):
    listed = explanation.contributors.filter(~pl.col("other"))
    segments = [
        segment_label({d: r[d] for d in explanation.dims if r[d] is not None}) for r in listed.iter_rows(named=True)
    ]
    st.dataframe(
        pl.DataFrame(
            {
                "Segment": segments,
                "Dimensions": listed["depth"],
                "Before": [value_text(definition, v) for v in listed["before"]],
                "After": [value_text(definition, v) for v in listed["after"]],
                "Contribution": [signed_amount_text(definition, v) for v in listed["contribution"]],
                "Share of change": listed["share"],
                "More than noise?": [evidence_text(p) for p in listed["p_value"]],
            }
        ),
        hide_index=True,
        column_config={"Share of change": st.column_config.NumberColumn(format="percent")},
    )

if explanation.mix_rate is not None and not explanation.mix_rate.is_empty():
    st.subheader("Mix or rate?")
    st.caption(
        "For a rate, how much of the change came from rates moving within each dimension's values, and how much "
        "from volume moving between values with different rates. The two add up to the change."
    )
    page.show(charts.mix_or_rate(explanation.mix_rate, chosen, key="rc_mix_rate"), current=now, baseline=baseline)
    with st.expander("Mix and rate effects as a table"):
        mix = explanation.mix_rate
        st.dataframe(
            pl.DataFrame(
                {
                    "Dimension": [dimension_label(d) for d in mix["dimension"]],
                    "Rates within values moved": [signed_amount_text(definition, v) for v in mix["rate_effect"]],
                    "Volume moved between values": [signed_amount_text(definition, v) for v in mix["mix_effect"]],
                    "Change": [signed_amount_text(definition, v) for v in mix["change"]],
                    "Share from volume": mix["mix_share"],
                }
            ),
            hide_index=True,
            column_config={"Share from volume": st.column_config.NumberColumn(format="percent")},
        )


def child_text(node: TreeNode, child: TreeNode) -> str:
    """A child of the tree in words: its rate (and, for a rate, its volume) on each side, its part of the change."""
    assert node.split_dimension is not None
    name = label(node.split_dimension, child.segment[node.split_dimension])
    share = f"{child.share:.0%} of the change" if child.share is not None else "no change to share"
    if definition.denominator and child.weight_before is not None and child.weight_after is not None:
        unit = measures()[definition.denominator].label.lower()
        effect = "mostly volume" if abs(child.mix_effect or 0) > abs(child.rate_effect or 0) else "mostly rate"
        return (
            f"{name}: {child.weight_before:.0%} → {child.weight_after:.0%} of {unit} · {definition.label.lower()} "
            f"{value_text(definition, child.before)} → {value_text(definition, child.after)} ({share}, {effect})"
        )
    return f"{name}: {value_text(definition, child.before)} → {value_text(definition, child.after)} ({share})"


st.subheader("Decomposition tree")
st.caption(
    "Each level splits the slice by the dimension that best explains its change. "
    "Click a segment to go one level deeper; the browser's Back button goes back up."
)
path = parse_segment_param(page.text("node"))
path = {d: v for d, v in path.items() if d in data.dimensions}
crumbs = st.container(horizontal=True, gap="small")
crumbs.button("All", key="rc_root", type="tertiary", on_click=set_choice, args=("node", ""))
steps = list(path.items())
for index, (dimension, value) in enumerate(steps):
    crumbs.button(
        f"› {label(dimension, value)}",
        key=f"rc_crumb_{index}",
        type="tertiary",
        on_click=set_choice,
        args=("node", segment_param(dict(steps[: index + 1]))),
    )
node = page.shared(
    lambda: decomposition_tree(data, chosen, current=now, baseline=baseline, node=path, filters=view.filters),
    "decomposition_tree",
    chosen,
    now,
    baseline,
    path,
    view.filters,
)
if node.split_dimension is None or not node.explains:
    st.write("No single dimension explains most of this segment's change, so it is not split further.")
else:
    st.caption(
        f"Split by {dimension_label(node.split_dimension).lower()} "
        f"(its values that moved most carry {node.explained:.0%} of the change)"
    )
    for child in sorted(node.children, key=lambda c: -abs(c.contribution or 0))[:8]:
        value = child.segment[node.split_dimension]
        st.button(
            child_text(node, child),
            key=f"rc_child_{value}",
            width="stretch",
            on_click=set_choice,
            args=("node", segment_param(child.segment)),
        )
page.caveats()
page.finish()

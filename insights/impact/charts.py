"""Charts of an impact estimate, as values (``insights.charts.Chart``): the page shows them, the
deck exports the same objects, tests inspect them.

* ``counterfactual``: the treated slice's series and what it would have been without the launch,
  with the interval after the launch.
* ``effect_per_period``: the gap per period — before the launch the fit's error, after it the
  effect with its interval — and the average effect.
* ``donor_weights``: which donors the counterfactual is made of.
* ``placebo_in_space``: the gap of every donor treated as if it had launched, against the
  treated slice's.
* ``placebo_in_time``: the effect at the real launch against the effect at a fake, earlier one.

Every chart draws bands, whiskers or many lines, which a native PowerPoint chart cannot, so they
are of kind ``"other"`` (a deck takes them as pictures).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from insights.charts import ACCENT, GRID, MUTED, SERIES_COLOURS, Chart, axis_format, change_axis_format, style
from insights.formatting import day_text
from insights.impact.result import ImpactEstimate
from insights.labels import label
from insights.metrics import Metric, as_metric

#: The counterfactual's colour (the actual series keeps the house accent).
COUNTERFACTUAL = SERIES_COLOURS[1]
#: Grey of what is context, not the answer: pre-launch gaps, placebo donors.
CONTEXT = "#9AA5B1"
#: Donors whose pre-launch fit is this many times worse than the treated slice's are left out of
#: the placebo plot (Abadie, Diamond & Hainmueller 2010): their gaps say nothing about a launch.
POOR_PLACEBO_FIT = 5.0


def slice_label(dimension: str, values: Sequence[str]) -> str:
    """The treated values in words: 'Brazil, Mexico and Colombia'."""
    names = [label(dimension, v) for v in values]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _metric(estimate: ImpactEstimate) -> Metric | None:
    return as_metric(estimate.metric) if estimate.metric else None


def _between_periods(estimate: ImpactEstimate) -> object:
    """Where the launch line goes on a bar chart of periods: halfway between the last bar before
    the launch and the first after it (on a line chart it goes at the first post-launch period)."""
    periods = estimate.series["period"].to_list()
    first = int(estimate.series["post"].arg_max() or 0)
    if first == 0 or not all(isinstance(p, dt.date) for p in periods[first - 1 : first + 1]):
        return estimate.launch
    before, after = periods[first - 1], periods[first]
    return dt.datetime.combine(before, dt.time()) + (after - before) / 2


def _launch_line(figure: go.Figure, launch: object) -> None:
    """A dashed vertical line at the launch, labelled at its top."""
    figure.add_shape(
        type="line", xref="x", x0=launch, x1=launch, yref="paper", y0=0, y1=1,
        line={"color": MUTED, "dash": "dash", "width": 1.5},
    )  # fmt: skip
    figure.add_annotation(  # inside the plot, right of the line: above it, it would sit on the legend
        x=launch, xref="x", y=1, yref="paper", yanchor="top", xanchor="left", xshift=4, text="Launch",
        showarrow=False, font={"size": 13, "color": MUTED},
    )  # fmt: skip


def _periods(frame: pl.DataFrame) -> list[object]:
    return frame["period"].to_list()


def counterfactual(
    estimate: ImpactEstimate, *, treated_label: str | None = None, title: str | None = None,
    key: str = "impact_counterfactual",
) -> Chart:  # fmt: skip
    """The treated slice's series (accent) and its counterfactual (dashed), with the counterfactual's
    interval after the launch (``ImpactEstimate.series``)."""
    definition = _metric(estimate)
    name = treated_label or estimate.treated
    series = estimate.series
    banded = series.filter(pl.col("post") & pl.col("lower").is_not_null())
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=_periods(banded), y=banded["upper"].to_list(), mode="lines", line={"width": 0},
            hoverinfo="skip", showlegend=False,
        )
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            x=_periods(banded),
            y=banded["lower"].to_list(),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(230,159,0,0.22)",
            name=f"Without the launch: {estimate.level:.0%} interval",
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=_periods(series),
            y=series["counterfactual"].to_list(),
            mode="lines",
            name="Without the launch (counterfactual)",
            line={"width": 2.5, "color": COUNTERFACTUAL, "dash": "dash"},
            hovertemplate="%{x|%d %b %Y}: %{y:,.4g} without the launch<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=_periods(series),
            y=series["actual"].to_list(),
            mode="lines",
            name=f"Actual: {name}",
            line={"width": 2.5, "color": ACCENT},
            hovertemplate="%{x|%d %b %Y}: %{y:,.4g}<extra></extra>",
        )
    )
    _launch_line(figure, estimate.launch)
    if definition is not None:
        figure.update_yaxes(**axis_format(definition.name), title=definition.label)
    heading = title or f"{definition.label if definition else 'Outcome'} in {name}: actual and without the launch"
    style(figure, heading, height=440)
    data = series.select("period", "post", "actual", "counterfactual", "lower", "upper")
    notes = (
        f"The counterfactual is what the donors predict for {name} without the launch ({estimate.method} fit on the "
        f"periods before it); the band is its {estimate.level:.0%} conformal interval after the launch."
    )
    return Chart(key, heading, figure, data, "other", "period", None, ["actual", "counterfactual"],
                 estimate.metric, notes)  # fmt: skip


def effect_per_period(estimate: ImpactEstimate, *, title: str | None = None, key: str = "impact_effect") -> Chart:
    """The gap between actual and counterfactual per period: grey before the launch (the fit's
    error), coloured after it (the effect) with its interval as whiskers, and the average effect
    over the post-launch periods as a line."""
    definition = _metric(estimate)
    series = estimate.series
    before, after = series.filter(~pl.col("post")), series.filter(pl.col("post"))
    good_up = definition.higher_is_better if definition is not None else None
    effects = after["effect"].to_list()
    colours = [ACCENT if good_up is None else "#2F855A" if ((v or 0) > 0) == good_up else "#C05621" for v in effects]
    upper = (after["effect_upper"] - after["effect"]).fill_null(0).to_list()
    lower = (after["effect"] - after["effect_lower"]).fill_null(0).to_list()
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=_periods(before),
            y=before["effect"].to_list(),
            name="Before the launch: the fit's error",
            marker={"color": CONTEXT},
            hovertemplate="%{x|%d %b %Y}: %{y:+,.4g} (fit error)<extra></extra>",
        )
    )
    figure.add_trace(
        go.Bar(
            x=_periods(after),
            y=effects,
            name=f"After: the effect ({estimate.level:.0%} interval)",
            marker={"color": colours},
            error_y={"type": "data", "symmetric": False, "array": upper, "arrayminus": lower, "color": MUTED,
                     "thickness": 1.2, "width": 0},
            hovertemplate="%{x|%d %b %Y}: %{y:+,.4g}<extra></extra>",
        )
    )  # fmt: skip
    if len(after):
        average = estimate.average.value
        figure.add_trace(
            go.Scatter(
                x=[after["period"][0], after["period"][-1]],
                y=[average, average],
                mode="lines",
                name=f"Average effect: {estimate.amount_text(average)}",
                line={"color": "#1F2933", "width": 2, "dash": "dot"},
                hoverinfo="skip",
            )
        )
    _launch_line(figure, _between_periods(estimate))
    figure.update_layout(bargap=0.15)
    figure.update_yaxes(
        zeroline=True, zerolinecolor=MUTED, rangemode="normal",
        title=f"Actual − without the launch{f' ({definition.label.lower()})' if definition else ''}",
        **(change_axis_format(definition.name) if definition else {}),
    )  # fmt: skip
    heading = title or "The effect per period: actual minus the counterfactual"
    style(figure, heading, height=420)
    data = series.select("period", "post", "effect", "effect_lower", "effect_upper")
    notes = (
        "Before the launch the bars are the counterfactual's error (how well the donors track the slice); after it, "
        f"the effect in each period with its {estimate.level:.0%} interval."
    )
    return Chart(key, heading, figure, data, "other", "period", None, ["effect"], estimate.metric, notes)


def donor_weights(
    estimate: ImpactEstimate, *, dimension: str | None = None, top: int = 15, title: str | None = None,
    key: str = "impact_weights",
) -> Chart:  # fmt: skip
    """Horizontal bars of the donors' weights in the counterfactual (the ``top`` heaviest, by size;
    negative weights of the ridge-augmented fit drawn in orange)."""
    weights = (
        estimate.weights.filter(pl.col("weight").abs() > 1e-4)
        .sort(pl.col("weight").abs(), descending=True)
        .head(top)
        .with_columns(
            name=pl.col("donor").map_elements(lambda d: label(dimension, d) if dimension else d, return_dtype=pl.String)
        )
    )
    values = weights["weight"].to_list()
    figure = go.Figure(
        go.Bar(
            x=values,
            y=weights["name"].to_list(),
            orientation="h",
            marker={"color": [ACCENT if w >= 0 else SERIES_COLOURS[5] for w in values]},
            text=[f"{w:.0%}" for w in values],
            textposition="outside",
            cliponaxis=False,
            customdata=weights["donor"].to_list(),
            hovertemplate="%{y}: %{x:.1%} of the counterfactual<extra></extra>",
        )
    )
    high = max([0.0, *values])
    low = min([0.0, *values])
    span = (high - low) or 1.0
    figure.update_yaxes(autorange="reversed", title=None)
    figure.update_xaxes(
        tickformat=".0%", title="Weight", nticks=5, zeroline=True, zerolinecolor=GRID,
        range=[low - 0.18 * span if low < 0 else 0.0, high + 0.18 * span],
    )  # fmt: skip
    shown = len(weights)
    total = int((estimate.weights["weight"].abs() > 1e-4).sum())
    more = f" (of {total} with a weight)" if total > shown else ""
    heading = title or f"What the counterfactual is made of: {shown} donors{more}"
    style(figure, heading, height=max(300, 30 * shown + 130))
    notes = "Each donor's weight in the counterfactual (the weights sum to 100 %; negative ones come from the ridge "
    notes += "correction of the augmented fit)."
    data = weights.select("donor", "name", "weight")
    return Chart(key, heading, figure, data, "other", "name", None, ["weight"], None, notes)


def _rmspe(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.sqrt(np.mean(values**2))) if len(values) else float("nan")


def placebo_in_space(
    estimate: ImpactEstimate, *, treated_label: str | None = None, dimension: str | None = None,
    title: str | None = None, key: str = "impact_placebo_space",
) -> Chart:  # fmt: skip
    """The gap (actual − counterfactual) of every donor fitted as if it had launched (grey) and of the
    treated slice (accent). A launch that worked stands out after the launch line.

    Gaps are in % of each unit's pre-launch mean when the fit matched shapes (counts of slices of
    different sizes), else in the metric's units. Donors whose pre-launch fit is more than
    ``POOR_PLACEBO_FIT`` times worse than the treated slice's are left out of the plot (not of the
    test). ``ValueError`` when the estimate has no placebo gaps.
    """
    space = estimate.placebo_space
    if space is None or space.gaps is None:
        raise ValueError("this estimate has no placebo in space (placebos=False, or a single donor)")
    definition = _metric(estimate)
    relative = estimate.scaling == "index"
    column = "relative_gap" if relative else "gap"
    gaps = space.gaps.drop_nulls(column)
    treated = estimate.treated
    pre = gaps.filter(pl.col("period").is_in(estimate.series.filter(~pl.col("post"))["period"].implode()))
    fit = {unit: _rmspe(part[column].to_numpy()) for (unit,), part in pre.group_by("unit")}
    bound = POOR_PLACEBO_FIT * fit.get(treated, float("inf"))
    kept = [u for u in space.results["unit"].to_list() if u != treated and fit.get(u, float("inf")) <= bound]
    figure = go.Figure()
    for index, unit in enumerate(kept):
        part = gaps.filter(pl.col("unit") == unit)
        name = label(dimension, unit) if dimension else unit
        figure.add_trace(
            go.Scattergl(
                x=_periods(part),
                y=part[column].to_list(),
                mode="lines",
                name="Donors as if launched (placebos)",
                legendgroup="placebos",
                showlegend=index == 0,
                line={"width": 1, "color": "rgba(97,110,124,0.45)"},
                hovertemplate=f"{name} %{{x|%d %b %Y}}: %{{y:+,.3g}}<extra></extra>",
            )
        )
    own = gaps.filter(pl.col("unit") == treated)
    name = treated_label or treated
    figure.add_trace(
        go.Scatter(
            x=_periods(own),
            y=own[column].to_list(),
            mode="lines",
            name=name,
            line={"width": 3, "color": ACCENT},
            hovertemplate=f"{name} %{{x|%d %b %Y}}: %{{y:+,.3g}}<extra></extra>",
        )
    )
    _launch_line(figure, estimate.launch)
    if relative:
        figure.update_yaxes(tickformat=".0%", title="Gap, share of its pre-launch level")
    elif definition is not None:
        figure.update_yaxes(**change_axis_format(definition.name), title=f"Gap ({definition.label.lower()})")
    figure.update_yaxes(zeroline=True, zerolinecolor=MUTED, rangemode="normal")
    units = len(space.results)
    heading = title or (
        f"Placebos in space: the launched slice ranks {space.rank} of {units} by how much its gap grows after "
        "the launch"
    )
    style(figure, heading, height=440)
    left_out = units - 1 - len(kept)
    notes = (
        "Every donor was fitted from the other donors as if it had launched on the same date; the rank is by the "
        f"ratio of the gap after the launch to the gap before it (p = {space.p_value:.2f})."
        + (
            f" {left_out} donor(s) whose fit before the launch was more than {POOR_PLACEBO_FIT:.0f} times worse than "
            f"{name}'s are left out of the plot (not of the test)."
            if left_out
            else ""
        )
    )
    data = gaps.filter(pl.col("unit").is_in([*kept, treated])).with_columns(treated=pl.col("unit") == treated)
    return Chart(key, heading, figure, data, "other", "period", "unit", [column], estimate.metric, notes)


def placebo_in_time(estimate: ImpactEstimate, *, title: str | None = None, key: str = "impact_placebo_time") -> Chart:
    """The average effect at the real launch and at a fake launch before it (estimated on the
    pre-launch data only), each with its interval: the fake one should cover 0.
    ``ValueError`` when the estimate has no placebo in time."""
    timing = estimate.placebo_time
    if timing is None:
        raise ValueError("this estimate has no placebo in time (too few periods before the launch)")
    definition = _metric(estimate)
    rows = [
        (f"Fake launch<br>{day_text(timing.launch)}", timing.average, CONTEXT),
        (f"Real launch<br>{day_text(estimate.launch)}", estimate.average, ACCENT),
    ]
    figure = go.Figure()
    for name, effect, colour in rows:
        finite = np.isfinite([effect.lower, effect.upper]).all()
        figure.add_trace(
            go.Scatter(
                x=[effect.value],
                y=[name],
                mode="markers+text",
                marker={"size": 14, "color": colour},
                text=[estimate.amount_text(effect.value)],
                textposition="top center",
                error_x={"type": "data", "symmetric": False, "array": [effect.upper - effect.value],
                         "arrayminus": [effect.value - effect.lower], "color": colour, "thickness": 2.5,
                         "width": 8} if finite else None,
                showlegend=False,
                hovertemplate=f"{name}: %{{x:+,.4g}} ({estimate.level:.0%} interval "
                f"{estimate.amount_text(effect.lower)} to {estimate.amount_text(effect.upper)})<extra></extra>",
            )
        )  # fmt: skip
    ends = [v for _, e, _ in rows for v in (e.lower, e.upper, e.value) if np.isfinite(v)]
    low, high = min([0.0, *ends]), max([0.0, *ends])
    span = (high - low) or 1.0
    figure.add_vline(x=0, line={"color": MUTED, "width": 1.5})
    figure.update_xaxes(
        range=[low - 0.12 * span, high + 0.12 * span], zeroline=False,
        title="Average effect per period",
        **(change_axis_format(definition.name) if definition else {}),
    )  # fmt: skip
    figure.update_yaxes(title=None, rangemode="normal", range=[-0.6, 1.7])  # room for the labels above the dots
    covered = timing.average.lower <= 0 <= timing.average.upper
    heading = title or (
        "Placebo in time: a fake launch before the real one finds "
        + ("no effect (its interval covers 0)" if covered else "an effect already: the estimate is in doubt")
    )
    style(figure, heading, height=300)
    data = pl.DataFrame(
        {
            "launch": ["fake", "real"],
            "date": [str(timing.launch), str(estimate.launch)],
            "effect": [timing.average.value, estimate.average.value],
            "lower": [timing.average.lower, estimate.average.lower],
            "upper": [timing.average.upper, estimate.average.upper],
        }
    )
    notes = (
        f"The same estimate with the launch moved to {day_text(timing.launch)}, fitted on the data before the real "
        f"launch only; {estimate.level:.0%} intervals."
    )
    return Chart(key, heading, figure, data, "other", "launch", None, ["effect"], estimate.metric, notes)

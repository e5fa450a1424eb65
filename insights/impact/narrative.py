"""An impact estimate in words: the effect with its interval (in the metric's units and in %), how
strongly it speaks against noise, and what it assumes.

``impact_text(estimate, treated_label="Brazil, Mexico and Colombia", grain="week", dimension="country")``
→ 'After the launch on 19 Jan 2026, actions in Brazil, Mexico and Colombia were 17 per week lower
than the donors predict without it (-28.0%; 90% interval -21 to -15, -31.4% to -25.1%), about
769 fewer over 44 weeks. ...'
"""

from __future__ import annotations

import numpy as np
import polars as pl

from insights.formatting import amount_text, day_text, evidence_text, p_value_text, signed, signed_amount_text
from insights.impact.result import Effect, ImpactEstimate
from insights.labels import label
from insights.metrics import Metric, as_metric, measures

#: What each method's counterfactual is, in words (``{donors}``: "12 donors").
METHODS = {
    "synthetic": "a weighted average of {donors} (synthetic control)",
    "augmented": "a weighted average of {donors} with a ridge correction (augmented synthetic control)",
    "structural": "a structural time-series model of the slice on {donors} (local level plus regression)",
    "did": "the trend of {donors} that never launched (staggered difference-in-differences)",
}


def method_text(method: str, donors: int) -> str:
    """A method's counterfactual in words: 'a weighted average of 12 donors (synthetic control)'."""
    return METHODS.get(method, method + " on {donors}").format(donors=_plural(donors, "donor"))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _bounds(definition: Metric, effect: Effect) -> str:
    ends = []
    for value in (effect.lower, effect.upper):
        ends.append(signed_amount_text(definition, value) if np.isfinite(value) else ("-∞" if value < 0 else "+∞"))
    return f"{ends[0]} to {ends[1]}"


def effect_sentence(estimate: ImpactEstimate, *, treated_label: str, grain: str) -> str:
    """The effect in one sentence: average per period (or pooled, for a rate) with its interval, in
    the metric's units and in %, and the cumulative effect (``estimate.metric`` must be a registry
    metric, as ``estimate_impact`` sets it)."""
    if estimate.metric is None:
        raise ValueError("the estimate names no registry metric: its effect cannot be put in the metric's units")
    definition = as_metric(estimate.metric)
    average, cumulative = estimate.average, estimate.cumulative
    post = int(estimate.series["post"].sum())
    per = "" if definition.is_ratio else f" per {grain}"
    size = amount_text(definition, average.value)
    if any(digit in size for digit in "123456789"):
        moved = f"{size}{per} {'higher' if average.value > 0 else 'lower'} than"
    else:  # rounds to nothing
        moved = "about the same as"
    detail = [f"{estimate.level:.0%} interval {_bounds(definition, average)}{per}"]
    if average.percent is not None:
        detail.insert(0, signed(average.percent, "%"))
        if average.percent_lower is not None and average.percent_upper is not None:
            detail[-1] += f", {signed(average.percent_lower, '%')} to {signed(average.percent_upper, '%')}"
    text = (
        f"After the launch on {day_text(estimate.launch)}, {definition.label.lower()} in {treated_label} "
        f"{'was' if definition.is_ratio else 'were'} {moved} the donors predict without it ({'; '.join(detail)})"
    )
    if np.isfinite(cumulative.value) and round(cumulative.value) != 0:
        known = measures()
        unit = ""
        if definition.is_ratio:
            unit = " " + (known[cumulative.unit].label.lower() if cumulative.unit in known else cumulative.unit)
        more = "more" if cumulative.value > 0 else "fewer"
        text += f", about {abs(cumulative.value):,.0f} {more}{unit} over {_plural(post, grain)}"
    return text + "."


def evidence_sentence(estimate: ImpactEstimate, *, treated_label: str) -> str:
    """How strongly the estimate speaks against noise: the conformal test, the placebos."""
    parts = [
        f"The gap is {evidence_text(estimate.p_value, 1 - estimate.level)} ({p_value_text(estimate.p_value)})"
        + (" and its interval excludes 0" if estimate.average.significant else ", and its interval includes 0")
    ]
    space = estimate.placebo_space
    if space is not None:
        parts.append(
            f"the launched slice ranks {space.rank} of {len(space.results)} by how much its gap grows after the "
            f"launch when every donor is treated as if it had launched too (placebo in space, p = {space.p_value:.2f})"
        )
    timing = estimate.placebo_time
    if timing is not None:
        found = "no effect" if not timing.average.significant else "an effect already"
        parts.append(f"a fake launch on {day_text(timing.launch)} finds {found} (placebo in time)")
    return "; ".join(parts) + "."


def assumption_sentence(estimate: ImpactEstimate, *, grain: str, dimension: str | None = None) -> str:
    """What the counterfactual is and what the estimate assumes, in words."""
    ranked = estimate.weights.filter(pl.col("weight").abs() > 1e-4).sort(pl.col("weight").abs(), descending=True)
    heaviest = ", ".join(f"{label(dimension, d) if dimension else d} ({w:.0%})" for d, w in ranked.head(3).iter_rows())
    fit = estimate.fit
    error = f"{amount_text(estimate.metric, fit.rmspe)}" if estimate.metric and np.isfinite(fit.rmspe) else ""
    explained = (
        f", where it explains {max(fit.r2, 0):.0%} of the slice's variation"
        + (f" (typical error {error} per {grain})" if error else "")
        if np.isfinite(fit.r2)
        else ""
    )
    text = (
        f"The counterfactual is {method_text(estimate.method, len(estimate.weights))}, fitted on the "
        f"{_plural(fit.periods, grain)} before the launch{explained}."
    )
    if heaviest and estimate.method in ("synthetic", "augmented"):
        text += f" The heaviest donors are {heaviest}."
    return text + (
        " The estimate assumes that no donor had a launch or a break of its own after that date, that the launch "
        "did not reach the donors, and that the donors would have kept tracking the slice as they did before it."
    )


def impact_text(estimate: ImpactEstimate, *, treated_label: str, grain: str, dimension: str | None = None) -> str:
    """The estimate in a few sentences: the effect with its interval, the evidence, the assumptions."""
    return " ".join(
        (
            effect_sentence(estimate, treated_label=treated_label, grain=grain),
            evidence_sentence(estimate, treated_label=treated_label),
            assumption_sentence(estimate, grain=grain, dimension=dimension),
        )
    )

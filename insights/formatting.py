"""One formatter for every number the product shows: values the way the metric registry says,
changes as '+12.3%' for counts and '+1.2 pp' for rates, signs always ASCII '+' / '-', and a
change that rounds to zero reads '+0.0', never '-0.0'.
"""

from __future__ import annotations

import math

from insights.metrics import Metric, as_metric

MISSING = "n/a"


def value_text(metric: str | Metric, value: float | None) -> str:
    """A value as the registry formats the metric: '92.3%', '1,234', '1.23M', '0.35'; 'n/a' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    definition = as_metric(metric)
    if definition.format == "percent" and definition.is_estimated:
        return _small_percent(value)
    if definition.format == "percent":
        return f"{value:.1%}"
    if definition.format == "count":
        return _compact_count(value)
    return f"{value:,.2f}"


def _small_percent(value: float) -> str:
    """A share that is often well under 1 % (prevalence) to two significant digits: '0.062%', '1.2%'."""
    percent = value * 100
    digits = 2 if percent <= 0 else max(1, 1 - math.floor(math.log10(percent)))
    return f"{percent:.{digits}f}%"


def _compact_count(value: float) -> str:
    """1234 → '1,234'; 1_234_567 → '1.23M'."""
    for limit, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= limit:
            return f"{value / limit:.2f}{suffix}"
    return f"{value:,.0f}"


def amount_text(metric: str | Metric, change: float) -> str:
    """The size of a change in the metric's unit, without sign: '8.2 pp', '90', '1.25'."""
    if as_metric(metric).format == "percent":
        return f"{abs(change) * 100:.1f} pp"
    return value_text(metric, abs(change))


def signed_amount_text(metric: str | Metric, change: float) -> str:
    """A change in the metric's unit with its sign: '+8.2 pp', '-90', '+1.25'."""
    if as_metric(metric).format == "percent":
        return signed(change * 100, " pp")
    text = value_text(metric, abs(change))
    return ("-" if change < 0 and _nonzero(text) else "+") + text


def _nonzero(text: str) -> bool:
    return any(character in "123456789" for character in text)


def change_text(metric: str | Metric, change: float | None, pct_change: float | None) -> str | None:
    """A change as on a card: '+12.3%' for counts (the absolute change when the baseline is 0),
    '+1.2 pp' for rates; None when the change is unknown."""
    if change is None:
        return None
    if as_metric(metric).format != "percent" and pct_change is not None:
        return signed(pct_change * 100, "%")
    return signed_amount_text(metric, change)


def signed(number: float, unit: str = "") -> str:
    """A signed number to one decimal: '+12.3%', '-0.5 pp'; a change that rounds to zero reads '+0.0'."""
    return f"{round(number, 1) + 0.0:+.1f}{unit}"


def evidence_text(p_value: float | None, alpha: float = 0.05) -> str:
    """How strongly a test speaks against "this is noise", in words (the number belongs on hover:
    ``p_value_text``)."""
    if p_value is None:
        return "too little data to tell"
    if p_value < 0.001:
        return "very unlikely to be noise"
    if p_value < 0.01:
        return "unlikely to be noise"
    if p_value < alpha:
        return "probably not noise"
    if p_value < 0.2:
        return "could well be noise"
    return "within the usual variation"


def p_value_text(p_value: float | None) -> str:
    """A p-value for hover text: 'p < 0.001', 'p = 0.034'; 'not tested' when unknown."""
    if p_value is None:
        return "not tested"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


#: Characters that make markup in the Markdown Streamlit renders anywhere in a line: emphasis,
#: code, links and images (``[``, ``]``), HTML, tables, strike-through, LaTeX (``$``), headings.
MARKDOWN_SPECIALS = frozenset("\\`*_[]<>|~$#")


def escape_markdown(text: str) -> str:
    """Text from data or a URL as literal Markdown: every character that could make markup is
    escaped (a line of its own is joined with a space), so '[x](http://…)' stays text, never a
    link or an image, and '**' never bold."""
    flat = " ".join(text.splitlines())
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in flat)

"""One formatter for every number the product shows: values the way the metric registry says,
changes as '+12.3%' for counts and '+1.2 pp' for rates, signs always ASCII '+' / '-', and a
change that rounds to zero reads '+0.0', never '-0.0'. Values withheld by small-cell suppression
(``insights.disclosure``) read '<10' (a count below the threshold of 10), 'withheld (<10)' (a rate
computed from one) or 'withheld' (hidden to protect a small cell); this module is the only place
that writes them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import polars as pl

from insights.disclosure import WITHHELD_SUFFIX, Withheld
from insights.metrics import Metric, as_metric

MISSING = "n/a"


def value_text(metric: str | Metric, value: float | None, withheld: Withheld | None = None) -> str:
    """A value as the registry formats the metric: '92.3%', '1,234', '1.23M', '0.35'; 'n/a' when
    unknown; '<10' and the like (``withheld_text``) when small-cell suppression withheld it."""
    if withheld is not None:
        return withheld_text(withheld)
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


def withheld_text(withheld: Withheld) -> str:
    """A withheld value in words, with the threshold that applied: '<10' for a count below it,
    'withheld (<10)' for a rate computed from such a count, 'withheld' for a value hidden only so
    that a small cell next to it cannot be worked out (it is not small itself)."""
    if withheld.reason == "count":
        return f"<{withheld.threshold}"
    if withheld.reason == "rate":
        return f"withheld (<{withheld.threshold})"
    return "withheld"


def withheld_card(withheld: Withheld) -> tuple[str, str]:
    """A withheld value on a KPI card, short enough for its width: the value ('<10' for a small
    count, else 'withheld') and the line under it saying why ('fewer than 10', 'from fewer than
    10', 'would reveal fewer than 10')."""
    under = f"fewer than {withheld.threshold}"
    if withheld.reason == "count":
        return f"<{withheld.threshold}", under
    return "withheld", f"from {under}" if withheld.reason == "rate" else f"would reveal {under}"


def withheld_in(frame: pl.DataFrame, column: str) -> list[Withheld | None]:
    """Why each value of ``column`` is withheld (None where it is shown, or everywhere when the
    frame has no ``<column>__withheld`` companion)."""
    companion = column + WITHHELD_SUFFIX
    if companion not in frame.columns:
        return [None] * len(frame)
    return [None if w is None else Withheld(w["threshold"], w["reason"]) for w in frame[companion].to_list()]


def withheld_note(withheld: Iterable[Withheld | None], lead: str = "Gaps") -> str | None:
    """A chart's note on its withheld values: 'Gaps: withheld (counts under 10 and values that would
    reveal them)', or after another ``lead`` ('Grey' on a map); None when nothing is withheld."""
    thresholds = sorted({w.threshold for w in withheld if w is not None})
    if not thresholds:
        return None
    under = " or ".join(str(t) for t in thresholds)
    return f"{lead}: withheld (counts under {under} and values that would reveal them)"


def shown_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame as a table or a CSV file shows it: each column with a ``<column>__withheld``
    companion becomes text (its numbers as they are, withheld cells as ``withheld_text`` says) and
    the companions are dropped. A frame without companions is returned as it is."""
    companions = [c for c in frame.columns if c.endswith(WITHHELD_SUFFIX)]
    texts = [
        pl.when(pl.col(companion).is_null())
        .then(pl.col(value).cast(pl.String))
        .otherwise(
            pl.col(companion).map_elements(
                lambda found: withheld_text(Withheld(found["threshold"], found["reason"])), return_dtype=pl.String
            )
        )
        .alias(value)
        for companion in companions
        if (value := companion.removesuffix(WITHHELD_SUFFIX)) in frame.columns
    ]
    return frame.with_columns(texts).drop(companions) if companions else frame


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


def day_text(value: object) -> str:
    """A day as the product writes it in prose: '19 Jan 2026' (anything not a date as its text)."""
    return f"{value:%d %b %Y}" if isinstance(value, dt.date) else str(value)


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

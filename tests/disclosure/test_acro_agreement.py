"""Our primary suppression against ACRO's threshold rule (``MinimumThresholdCheck``) on generated
enforcement events: ACRO builds the crosstab from the events, we answer the same question from a
cube built from them, and both must flag the same cells.

The one documented difference: ACRO flags a cell with no events (0 < threshold, and zeros are
disclosive in its default settings); a cube answer has no row for it, and a zero we do show is
never withheld. So the comparison is over the cells with at least one event, and a separate check
says ACRO flags every empty cell.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.cube import Cube, Provenance
from insights.disclosure import Suppression, Withheld

acro = pytest.importorskip("acro")
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # ACRO's own pandas deprecations

AREAS = ["spam", "self_harm", "privacy"]
COUNTRIES = ["FR", "DE", "US", "BR"]


def _acro(threshold: int):
    """ACRO with our threshold, checking only (no mitigation), quiet."""
    logging.getLogger("acro").setLevel(logging.ERROR)
    checker = acro.ACRO(suppress=False)
    checker.config["safe_threshold"] = threshold  # the checks read this very dict
    return checker


def _flags(checker, check: str) -> set[tuple[str, str]]:
    """The (harm area, country) cells the latest ACRO output flags with ``check``."""
    record = checker.results.get_index(len(checker.results.results) - 1)
    table = record.output[0]
    return {(table.index[i], table.columns[j]) for i, j in record.sdc["cells"].get(check, [])}


@st.composite
def events(draw) -> pd.DataFrame:
    """Enforcement events: per (harm area, country) a count that is often small or zero, each event
    proactive or not."""
    rows = []
    for area in AREAS:
        for country in COUNTRIES:
            count = draw(st.one_of(st.integers(0, 15), st.integers(0, 60)))
            proactive = draw(st.integers(0, count))
            rows += [(area, country, int(i < proactive)) for i in range(count)]
    if not rows:
        rows = [("spam", "FR", 1)]
    return pd.DataFrame(rows, columns=["harm_area", "country", "proactive"])


def _cube(frame: pd.DataFrame) -> Cube:
    cells = (
        pl.from_pandas(frame)
        .group_by("harm_area", "country")
        .agg(actions=pl.len().cast(pl.Int64), proactive_actions=pl.col("proactive").sum().cast(pl.Int64))
        .with_columns(pl.col("harm_area", "country").cast(pl.Categorical), date=pl.lit(dt.date(2025, 1, 6)))
    )
    return Cube(cells, Provenance(source="generated", kind="events", rows_read=len(frame)))


def _ours(answer: pl.DataFrame, column: str, reason: str) -> set[tuple[str, str]]:
    return {
        (row["harm_area"], row["country"])
        for row in answer.iter_rows(named=True)
        if (found := Withheld.of(row, column)) is not None and found.reason == reason
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=events(), threshold=st.integers(2, 30))
def test_primary_suppression_flags_the_cells_acros_threshold_rule_flags(frame, threshold):
    checker = _acro(threshold)
    checker.crosstab(frame.harm_area, frame.country)
    flagged = _flags(checker, "MinimumThresholdCheck")
    table = checker.results.get_index(0).output[0]
    counts = {(a, c): int(table.loc[a, c]) for a in table.index for c in table.columns}

    answer = _cube(frame).with_suppression(Suppression(threshold)).query("actions", by=["harm_area", "country"])
    present = {(r["harm_area"], r["country"]) for r in answer.iter_rows(named=True)}
    assert present == {cell for cell, n in counts.items() if n > 0}
    assert _ours(answer, "actions", "count") == flagged & present, "the threshold rule, cell by cell"
    assert flagged - present == {cell for cell, n in counts.items() if n == 0}, "ACRO also flags empty cells"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=events(), threshold=st.integers(2, 30))
def test_a_rate_is_withheld_wherever_acro_flags_its_mean(frame, threshold):
    """ACRO checks a table of means against the number of records behind each: our rate's
    denominator. We withhold those rates and, beyond ACRO, rates of a small numerator (rate ×
    base would give it back) and rates whose sums hide a neighbour."""
    checker = _acro(threshold)
    checker.crosstab(frame.harm_area, frame.country, values=frame.proactive, aggfunc="mean")
    flagged = _flags(checker, "MinimumThresholdCheck")

    answer = _cube(frame).with_suppression(Suppression(threshold)).sums("proactive_rate", by=["harm_area", "country"])
    present = {(r["harm_area"], r["country"]) for r in answer.iter_rows(named=True)}
    small_base = _ours(answer, "denominator", "count")
    small_cases = _ours(answer, "numerator", "count")
    assert small_base == flagged & present, "the base of a rate follows ACRO's threshold rule"
    assert _ours(answer, "proactive_rate", "rate") == small_base | small_cases

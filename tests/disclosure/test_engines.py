"""Suppression on every engine: the sample in DuckDB answers with the same cells withheld, for the
same reasons, as the sample in memory (suppression runs on the store's answer, sorted first, so
neither the engine nor the order it answers in changes which complement is chosen)."""

from __future__ import annotations

import pytest

from insights.disclosure import Suppression, withheld_column

POLICY = Suppression(30, {"child_safety": 60})  # small cells in each question, complements in most
QUESTIONS = [
    {"metric": "actions", "by": ["harm_area", "country"], "grain": "month"},
    {"metric": "proactive_rate", "by": ["region"], "grain": "week", "filters": {"harm_area": "self_harm"}},
    {"metric": "overturn_rate", "by": ["country"], "filters": {"region": ["Europe", "Africa"]}},
    {"metric": "actions", "by": ["detection_source", "policy"], "start": "2026-01-01", "end": "2026-03-31"},
]


@pytest.mark.parametrize("question", QUESTIONS, ids=[" ".join(q["by"]) for q in QUESTIONS])
def test_duckdb_withholds_what_polars_withholds(sample_cube, duckdb_cube, question):
    asked = dict(question)
    metric = asked.pop("metric")
    in_memory = sample_cube.with_suppression(POLICY).sums(metric, **asked)
    in_duckdb = duckdb_cube.with_suppression(POLICY).sums(metric, **asked)
    reasons = set(in_memory[withheld_column("numerator")].drop_nulls().struct.field("reason"))
    assert "count" in reasons, "the question has small cells"
    assert in_duckdb.columns == in_memory.columns
    assert in_duckdb.to_dicts() == in_memory.to_dicts(), question

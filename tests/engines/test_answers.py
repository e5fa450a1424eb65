"""Answers kept per store: bounded by count and bytes, least recently used dropped first."""

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.engines.answers import Answers
from insights.engines.request import Request
from insights.metrics import as_metric


def request(day: int) -> Request:
    return Request(
        metrics=(as_metric("actions"),), by=(), filters=(), grain=None, start=dt.date(2026, 1, 1) + dt.timedelta(day)
    )


def frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"actions": list(range(rows))}, schema={"actions": pl.Int64})


def test_an_answer_kept_is_given_back_and_a_dropped_one_is_not():
    answers = Answers(size=2)
    answers.keep(request(0), frame(1))
    answers.keep(request(1), frame(2))
    assert answers.get(request(0)) is not None  # now the most recently used
    answers.keep(request(2), frame(3))
    assert answers.get(request(1)) is None
    assert answers.get(request(0)).height == 1 and answers.get(request(2)).height == 3


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 400)), max_size=60), st.integers(1, 8))
def test_never_more_than_its_bounds_and_always_the_latest_answer(asks, size):
    """Whatever is kept, the count and the bytes stay within bounds, and what a request gives back
    is the answer most recently kept for it."""
    answers = Answers(size=size, max_bytes=2_000)
    latest: dict[int, int] = {}
    for day, rows in asks:
        answers.keep(request(day), frame(rows))
        latest[day] = rows
        assert len(answers) <= size
        sizes = [int(a.estimated_size()) for a, _ in answers._kept.values()]
        assert sum(sizes) == answers._bytes <= 2_000
        for asked, rows_kept in latest.items():
            got = answers.get(request(asked))
            assert got is None or got.height == rows_kept
    answers.clear()
    assert len(answers) == 0 and answers.get(request(0)) is None


def test_requests_asking_the_same_sums_share_an_answer():
    """A metric renamed or relabelled (a noise model's own weight metric) asks the same sums."""
    answers = Answers()
    answers.keep(request(0), frame(3))
    relabelled = dataclasses.replace(as_metric("actions"), label="a count", definition="")
    assert answers.get(dataclasses.replace(request(0), metrics=(relabelled,))).height == 3
    rate = dataclasses.replace(request(0), metrics=(as_metric("proactive_rate"),))
    assert answers.get(rate) is None


def test_the_in_memory_store_answers_a_question_once(sample_cube, monkeypatch):
    """Asked again (another session, another page), the in-memory store answers from memory."""
    store = sample_cube.store
    store.answers.clear()
    first = sample_cube.query("actions", by=["country"], grain="month")
    monkeypatch.setattr(type(store), "rollup", lambda *args: pytest.fail("asked the frame again"))
    assert sample_cube.query("actions", by=["country"], grain="month").equals(first)

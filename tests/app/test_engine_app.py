"""The app over an engine cube, in-process with AppTest: the sidebar says how far the aggregates
are while pages answer from the events; a source that changed is said so with a Reload that
loads it anew; a question the engine cannot answer is a message with the filters still there; a
view whose questions were cancelled waits for other filters or *Try again*."""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from pages.common import CANCELLED, LAST_URL, load_cube
from tests.conftest import ROOT


@pytest.fixture()
def events(sample_dir, engine_cache, monkeypatch, tmp_path) -> Path:
    """A folder of the sample's Parquet files of its own (the app's cubes are cached by source),
    loaded on DuckDB."""
    folder = tmp_path / "events"
    folder.mkdir()
    for file in sorted(sample_dir.glob("*.parquet")):
        os.link(file, folder / file.name)
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(folder))
    monkeypatch.setenv("HARM_INSIGHTS_ENGINE", "duckdb")
    return folder


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def changed_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if i.value.startswith("The data changed")]


def captions(where) -> list[str]:
    return [c.value for c in where.caption]


def test_the_sidebar_says_how_far_the_aggregates_are_while_pages_answer(events, held_aggregates):
    building, release = held_aggregates.building, held_aggregates.release
    at = app().run()
    try:
        assert not at.exception and not at.error
        assert at.metric, "the page answers from the raw events meanwhile"
        assert building.wait(60)
        at.run()
        preparing = [c for c in captions(at.sidebar) if "Preparing faster answers" in c]
        assert len(preparing) == 1
        assert re.fullmatch(
            r":material/hourglass_top: Preparing faster answers: 0 of \d+ aggregates ready "
            r"\(building harm area × country\)\.",
            preparing[0],
        ), preparing
    finally:
        release.set()
    progress = load_cube(str(events), ()).store.aggregates.wait(300)
    assert progress.done and progress.ready == progress.planned >= 6
    at.run()
    assert not [c for c in captions(at.sidebar) if "Preparing" in c]


def test_a_changed_source_is_said_and_reload_loads_it_anew(sample_dir, engine_cache, monkeypatch, tmp_path):
    folder = tmp_path / "changing"
    folder.mkdir()
    frame = pl.read_parquet(sorted(sample_dir.glob("*.parquet"))[0]).head(5000)
    frame.write_parquet(folder / "a.parquet")
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(folder))
    monkeypatch.setenv("HARM_INSIGHTS_ENGINE", "duckdb")
    at = app().run()
    assert not at.exception and not changed_notes(at)
    frame.head(10).write_parquet(folder / "b.parquet")
    at.run()
    assert changed_notes(at) == [
        "The data changed since it was loaded: these numbers are from before. Reload to see the new data."
    ]
    assert load_cube(str(folder), ()).provenance.rows_read == 5000
    at.button(key="reload_data").click().run()
    assert not at.exception and not changed_notes(at)
    assert load_cube(str(folder), ()).provenance.rows_read == 5010


def test_a_question_the_engine_cannot_answer_is_a_message(events):
    at = app().run()
    assert not at.exception and at.metric
    for file in events.glob("*.parquet"):
        file.unlink()
        file.write_bytes(b"not a parquet file")
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith("**The data source could not answer.** DuckDB could not answer: ")
    assert errors[0].endswith(". Change the filters or try again.") and "Traceback" not in errors[0]
    assert at.sidebar.multiselect(key="f_harm_area"), "the filters stay, to choose another view"


def test_a_cancelled_view_waits_for_other_filters_or_try_again(sample_dir, monkeypatch):
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(sample_dir))
    at = app().run()
    cards = len(at.metric)
    assert cards
    at.session_state[CANCELLED] = (at.session_state["page_path"], at.session_state[LAST_URL])  # what Cancel remembers
    at.run()
    assert not at.exception and not at.metric
    assert [w.value for w in at.warning] == ["Cancelled — change the filters or try again."]
    assert at.sidebar.multiselect(key="f_harm_area"), "the filters stay, to choose another view"
    at.button(key="try_again").click().run()
    assert len(at.metric) == cards and not at.warning
    at.session_state[CANCELLED] = (at.session_state["page_path"], at.session_state[LAST_URL])
    at.run()
    assert not at.metric
    at.multiselect(key="f_harm_area").set_value(["spam"]).run()
    assert at.metric and not at.warning, "other filters are asked"

"""Text from data and URLs stays text: markdown and HTML in codes never become links (in notes,
narrative, chart legends and hovers), and no download cell can run as a spreadsheet formula."""

from __future__ import annotations

import io

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from insights.export import FORMULA_STARTS, safe_csv
from tests.app.drawn import drawn
from tests.app.test_app import PAGES
from tests.conftest import ROOT
from tests.sources.hostile import CORPUS

EVIL = "evil.example"


@pytest.fixture(scope="module")
def markup_source(tmp_path_factory):
    return CORPUS["markdown and HTML in codes"](tmp_path_factory.mktemp("markup"))


def links_on_screen(at: AppTest) -> list[str]:
    """Markdown links and HTML anchors anywhere the page renders markdown or a chart."""
    found = []
    for element in [*at.markdown, *at.caption, *at.info, *at.get("alert"), *at.title]:
        text = str(getattr(element, "value", ""))
        if f"]({'http://' + EVIL}" in text or "<a " in text:
            found.append(text)
    for spec in drawn(at):
        names = [t.get("name") or "" for t in spec["data"]] + [str(t.get("text", "")) for t in spec["data"]]
        found += [n for n in names if "<a " in n or "<a\u00a0" in n]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_markup_in_the_data_is_shown_as_text_on_every_page(markup_source, monkeypatch, page):
    monkeypatch.setenv("HARM_INSIGHTS_SOURCE", str(markup_source))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"harm_area": "all", "country": "[Session expired - sign in again](http://evil.example)"})
    at = at.switch_page(f"pages/{page}_page.py").run()
    assert not at.exception, at.exception
    assert links_on_screen(at) == []


@given(st.lists(st.text(max_size=12), min_size=1, max_size=8), st.lists(st.integers(-5, 5), min_size=1, max_size=8))
def test_no_downloaded_text_cell_starts_a_formula(texts, numbers):
    n = min(len(texts), len(numbers))
    frame = pl.DataFrame({"name": texts[:n], "value": numbers[:n]})
    back = pl.read_csv(io.BytesIO(safe_csv(frame)), schema=frame.schema)
    for original, written in zip(frame["name"], back["name"], strict=True):
        if original and original[0] in FORMULA_STARTS:
            assert written == "'" + original
        else:
            assert written == original
    assert back["value"].to_list() == frame["value"].to_list(), "numbers stay numbers"


def test_the_formula_corpus_file_downloads_inert(tmp_path):
    frame = pl.read_csv(CORPUS["formula injection values"](tmp_path), infer_schema=False)
    text = safe_csv(frame).decode()
    for cell in ('=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "+cmd|' /C calc'!A0"):
        assert cell in str(frame.to_dicts())
        assert f",{cell}" not in text and f"\n{cell}" not in text

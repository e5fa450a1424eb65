"""The pages' chart element (``pages/chart_element.py``): which Plotly build a figure is drawn
with, and that the builds served are the Plotly the Python package carries."""

from __future__ import annotations

import re
from pathlib import Path

import plotly
from hypothesis import given
from hypothesis import strategies as st

from pages.chart_element import FULL_BUILD, PARTIAL_BUILDS, STATIC, build_for
from tests.conftest import unavailable

KINDS = ["scatter", "bar", "pie", "choropleth", "scattergeo", "waterfall", "scattergl", "heatmap"]
BUILDS = [*PARTIAL_BUILDS, FULL_BUILD]


@given(kinds=st.lists(st.sampled_from(KINDS), max_size=4), served=st.sets(st.sampled_from(BUILDS)))
def test_a_figure_gets_the_smallest_served_build_that_draws_all_its_traces(tmp_path_factory, kinds, served):
    static = tmp_path_factory.mktemp("static")
    for build in served:
        (static / build).write_text("")
    figure = {"data": [{"type": kind} for kind in kinds]}
    build = build_for(figure, static)
    drawing = [b for b in PARTIAL_BUILDS if b in served and set(kinds) <= PARTIAL_BUILDS[b]]
    if drawing:
        assert build == drawing[0]
    else:
        assert build == (FULL_BUILD if FULL_BUILD in served else None)


def test_a_trace_without_a_type_is_a_scatter(tmp_path):
    (tmp_path / FULL_BUILD).write_text("")
    untyped = {"data": [{"x": [1], "y": [2]}]}
    assert build_for(untyped, tmp_path) == FULL_BUILD
    (tmp_path / "plotly-basic.min.js").write_text("")
    assert build_for(untyped, tmp_path) == "plotly-basic.min.js"


def _version(path: Path) -> str:
    match = re.search(r"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)", path.read_text(encoding="utf-8")[:400])
    assert match, f"{path} does not say its plotly.js version"
    return match.group(1)


def test_the_served_builds_are_the_plotly_of_the_python_package():
    missing = [build for build in BUILDS if not (STATIC / build).is_file()]
    if missing:
        unavailable(f"chart builds not made (make static/.builds): {', '.join(missing)}")
    carried = _version(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")
    assert {build: _version(STATIC / build) for build in BUILDS} == dict.fromkeys(BUILDS, carried)

"""The pages' chart element: a Plotly figure drawn in the page by the smallest Plotly build that
draws it.

Streamlit's own Plotly element carries the whole of Plotly (4.7 MB) and the page waits for the
browser to run it before its first element appears: 1.6 s of a first visit on a 2-core machine.
Most charts need only lines and bars (Plotly's ``basic`` build, 1.2 MB) or a map (``geo``,
1.4 MB); this element loads the build the figure needs, once per page, and the full build only
for other kinds (a WebGL scatter). The builds are the app's static files (``static/``,
fetched by ``make``: the partial builds from npm at the version of the Python package's own
Plotly, the full build copied from it). Without them, pages use Streamlit's element.

A click on a point of a selectable chart comes back as its ``selection``: the points clicked,
each with its ``customdata`` (the codes a chart carries to drill by).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

#: Where Streamlit serves the app's static files from (``server.enableStaticServing``).
STATIC = Path(__file__).resolve().parents[1] / "static"
#: The partial builds, smallest first, with the trace types each draws.
PARTIAL_BUILDS: dict[str, frozenset[str]] = {
    "plotly-basic.min.js": frozenset({"scatter", "bar", "pie"}),
    "plotly-geo.min.js": frozenset({"scatter", "scattergeo", "choropleth"}),
}
#: The full build: every trace type.
FULL_BUILD = "plotly.min.js"
#: The builds, smallest first: charts asked for at once load their builds in this order.
BUILD_ORDER = [*PARTIAL_BUILDS, FULL_BUILD]

_element = st.components.v2.component(
    "harm_insights_chart", js=Path(__file__).with_suffix(".js").read_text(encoding="utf-8"), isolate_styles=False
)


def build_for(figure: Mapping[str, Any], static: Path = STATIC) -> str | None:
    """The smallest Plotly build in ``static`` that draws every trace of ``figure`` (a figure's
    JSON), or None when no build is there."""
    kinds = {trace.get("type", "scatter") for trace in figure.get("data", [])}
    for build, draws in PARTIAL_BUILDS.items():
        if kinds <= draws and (static / build).is_file():
            return build
    return FULL_BUILD if (static / FULL_BUILD).is_file() else None


def _url(build: str) -> str:
    """A build's address, relative to the page (so it holds under a ``server.baseUrlPath``)."""
    return f"app/static/{build}"


def chart_element(
    figure: go.Figure, *, key: str, config: Mapping[str, Any], on_select: Callable[[], None] | None = None
) -> bool:
    """Draw ``figure`` with the build it needs (``config`` is Plotly's); with ``on_select``, a
    click on a point sets ``st.session_state[key]["selection"]`` and calls it. False when no
    build is served, and nothing was drawn."""
    text = figure.to_json()
    spec = json.loads(text)
    build = build_for(spec)
    if build is None:
        return False
    data = {
        "figure": spec,
        "config": dict(config),
        "build": _url(build),
        "rank": BUILD_ORDER.index(build),
        "selectable": on_select is not None,
    }
    # a page's rerun sends every chart again; the browser redraws only those whose version changed
    drawn = f"{text}{json.dumps(data['config'])}{build}{data['selectable']}"
    data["version"] = hashlib.blake2b(drawn.encode(), digest_size=8).hexdigest()
    _element(key=key, data=data, on_selection_change=on_select or _ignore)
    return True


def builds_served(static: Path = STATIC) -> bool:
    """True when the app serves at least one Plotly build (else pages use Streamlit's element)."""
    return build_for({"data": []}, static) is not None


def _ignore() -> None:
    """A click on a chart that does not drill."""

"""The charts an AppTest run drew, as their figures (dicts): the pages' chart element
(``pages/chart_element.py``), or Streamlit's Plotly element where the app has no chart builds."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def drawn(at: AppTest) -> list[dict]:
    """Every chart's figure on the page, in the page's order (an element with nothing to draw,
    the one that starts loading the chart library, is not a chart)."""
    payloads = (json.loads(element.proto.json) for element in at.get("bidi_component"))
    figures = [payload["figure"] for payload in payloads if payload.get("figure")]
    return figures + [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def plotted(at: AppTest, index: int = 0) -> dict:
    """The figure of the index-th chart on the page, with the title the page writes above it (the
    figure on screen carries it as data: its own title would be cut on a phone)."""
    spec = drawn(at)[index]
    spec["layout"]["title"] = {"text": spec["layout"]["meta"]["title"]}
    return spec


def figures(at: AppTest) -> dict[str, dict]:
    """Every chart on the page by its title."""
    return {f["layout"]["title"]["text"]: f for f in (plotted(at, i) for i in range(len(drawn(at))))}

"""Glue shared by the pages: the cached cube and the sidebar filters. No computation here."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

import insights
from insights.model import harm_area_colours, label

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "generated" / "events"
CORE_HARM_AREAS = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]


def source() -> str:
    """The data source: $HARM_INSIGHTS_SOURCE, else the bundled sample."""
    return os.environ.get("HARM_INSIGHTS_SOURCE", str(SAMPLE))


@st.cache_resource(show_spinner="Loading enforcement data…")
def load_cube(src: str) -> insights.Cube:
    """Load a source once per process; every page, rerun and session of it reuses the cube."""
    return insights.load_source(src)


def cube() -> insights.Cube:
    """The cube of the current source."""
    return load_cube(source())


def harm_area_filter(cube: insights.Cube) -> list[str]:
    """The sidebar's harm-area selector (state kept in the URL)."""
    available = cube.values("harm_area")
    default = [h for h in CORE_HARM_AREAS if h in available] or available[:4]
    chosen = st.sidebar.multiselect(
        "Harm areas",
        options=available,
        default=[h for h in st.query_params.get_all("harm_area") if h in available] or default,
        format_func=lambda code: label("harm_area", code),
        key="harm_areas",
    )
    st.query_params["harm_area"] = chosen
    return chosen


def colour(harm_area: str) -> str:
    """The harm area's colour (grey for areas outside the taxonomy)."""
    return harm_area_colours().get(harm_area, "#555555")

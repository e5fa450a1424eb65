"""Map shapes shipped with the package, so maps render and export without reaching a CDN."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

#: Folder of the topojson files Plotly.js reads (``world_110m.json``).
TOPOJSON_DIR = Path(__file__).resolve().parent


def topojson_url() -> str:
    """The folder as a ``file://`` URL with a trailing slash (for kaleido's ``topojson=``)."""
    return TOPOJSON_DIR.as_uri() + "/"


@cache
def topojson_data_url() -> str:
    """The world map as a ``data:`` URL for Plotly.js' ``topojsonURL`` config in a browser.

    Plotly.js appends ``/world_110m.json`` to the URL it is given; the trailing ``#`` turns that
    into a fragment, which a ``data:`` URL ignores, so the browser needs no file server.
    """
    encoded = base64.b64encode((TOPOJSON_DIR / "world_110m.json").read_bytes()).decode("ascii")
    return f"data:application/json;base64,{encoded}#"

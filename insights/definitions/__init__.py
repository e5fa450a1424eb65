"""The canonical model's definitions as data: taxonomy, code lists, metrics, regions, mappings."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

#: This folder (package data: TOML and CSV files).
DEFINITIONS = Path(__file__).resolve().parent


def read_toml(name: str) -> dict[str, Any]:
    """One definitions file (``taxonomy.toml``…) as a dict."""
    return tomllib.loads((DEFINITIONS / name).read_text(encoding="utf-8"))

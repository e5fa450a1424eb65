"""The importer registry: one small importer per input format, listed in one place.

Each importer can say whether an input is its own (``claims``) and load it into a Cube
(``load``). ``load_source`` asks them in order; ``kind=`` picks one by name. A new format is
one new module plus one line in ``IMPORTERS``.
"""

from __future__ import annotations

from typing import Any, Protocol

from insights.cube import Cube
from insights.errors import DataError
from insights.sources.dsa import DsaStatementsImporter
from insights.sources.dsa_summary import DsaSummaryImporter
from insights.sources.meta import MetaImporter
from insights.sources.sql import SqlImporter
from insights.sources.tabular import TableImporter
from insights.sources.tiktok import TikTokImporter


class Importer(Protocol):
    """A source format: recognises its inputs and loads them into a Cube."""

    kind: str
    description: str

    def claims(self, src: Any, **options: Any) -> bool:
        """True when ``src`` is in this importer's format."""
        ...

    def load(self, src: Any, **options: Any) -> Cube:
        """Load ``src`` into a Cube."""
        ...


def importers() -> list[Importer]:
    """Every importer, most specific first (the generic table importer last)."""
    return [
        SqlImporter(),
        TikTokImporter(),
        MetaImporter(),
        DsaSummaryImporter(),
        DsaStatementsImporter(),
        TableImporter(),
    ]


def load_source(src: Any, kind: str | None = None, **options: Any) -> Cube:
    """Load any supported input into a Cube.

    ``src`` is a path (CSV, Parquet, or a folder of them), an uploaded file object, or a
    SQLAlchemy URL (with ``table=`` or ``query=``). Event-level and pre-aggregated inputs are
    told apart automatically, and so are the public reports (TikTok CGER, Meta CSER, EU DSA
    Transparency Database statements and daily summary; ``breakdown=`` picks the partition
    where a report publishes several). ``columns={"their name": "canonical name"}`` maps
    column names; ``kind`` forces an importer (see ``importers()``). Raises ``DataError`` for
    unusable input.
    """
    candidates = importers()
    if kind is not None:
        chosen = [i for i in candidates if i.kind == kind]
        if not chosen:
            raise DataError(f"unknown source kind {kind!r}; known kinds: {[i.kind for i in candidates]}")
        return chosen[0].load(src, **options)
    for importer in candidates:
        if importer.claims(src, **options):
            return importer.load(src, **options)
    raise DataError(
        f"cannot load {src!r}: expected a .csv or .parquet file, a folder of them, an uploaded file, "
        f"or a SQLAlchemy URL such as postgresql+psycopg://user@host/db with table= or query="
    )

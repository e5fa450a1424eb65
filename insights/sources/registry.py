"""The importer registry: one small importer per input format, listed in one place.

Each importer can say whether an input is its own (``claims``) and load it into a Cube
(``load``). ``load_source`` asks them in order; ``kind=`` picks one by name. A new format is
one new module plus one line in ``IMPORTERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from insights.cube import Cube
from insights.errors import DataError
from insights.exposed import is_sample_layout, with_exposure
from insights.sources.dsa import DsaStatementsImporter
from insights.sources.dsa_summary import DsaSummaryImporter
from insights.sources.meta import KIND as META_KIND
from insights.sources.meta import MetaImporter, published_prevalence
from insights.sources.sql import SqlImporter
from insights.sources.tabular import TableImporter
from insights.sources.tiktok import TikTokImporter


class Importer(Protocol):
    """A source format: recognises its inputs and loads them into a Cube."""

    kind: str
    description: str
    #: the engines it can load onto (public reports: in memory only)
    engines: tuple[str, ...]

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


def _load_with(importer: Importer, src: Any, engine: str | None, options: dict[str, Any]) -> Cube:
    """Load with the importer, on ``engine`` where it takes one."""
    if engine is None or engine == "auto":
        return importer.load(src, **options)
    if engine not in importer.engines:
        raise DataError(f"a {importer.description} loads with engine {' or '.join(importer.engines)}, not {engine!r}")
    return importer.load(src, engine=engine, **options)


def load_source(
    src: Any,
    kind: str | None = None,
    engine: str | None = None,
    *,
    exposure: Any = None,
    view_sample: Any = None,
    **options: Any,
) -> Cube:
    """Load any supported input into a Cube.

    ``src`` is a path (CSV, Parquet, or a folder of them), an uploaded file object, or a
    SQLAlchemy URL (with ``table=`` or ``query=``). Event-level and pre-aggregated inputs are
    told apart automatically, and so are the public reports (TikTok CGER, Meta CSER, EU DSA
    Transparency Database statements and daily summary; ``breakdown=`` picks the partition
    where a report publishes several). ``columns={"their name": "canonical name"}`` maps
    column names; ``kind`` forces an importer (see ``importers()``). ``engine`` chooses where
    the questions run — ``"polars"`` (in memory), ``"duckdb"`` (Parquet scanned in place),
    ``"spark"`` — else $HARM_INSIGHTS_ENGINE, else by source and size (``insights.engines.choice``);
    a SQL database always answers its own questions. Raises ``DataError`` for unusable input.

    Exposure and prevalence come beside the cube (``insights.exposed.ExposedCube``):

    - a folder laid out like the bundled sample (``events/``, ``exposure/`` and optionally
      ``view_sample/``, e.g. ``sample_data/generated``) loads the events and attaches the
      exposure tables and the labelled view sample;
    - ``exposure=`` (a folder of exposure tables or a frame) and ``view_sample=`` (a folder or a
      frame) attach them to any source;
    - a Meta CSER report comes with Meta's published prevalence.
    """
    if kind is None and is_sample_layout(src):
        folder = Path(src)
        exposure = exposure if exposure is not None else folder / "exposure"
        if view_sample is None and (folder / "view_sample").is_dir():
            view_sample = folder / "view_sample"
        src = str(folder / "events")
    cube = _load(src, kind, engine, options)
    if cube.provenance.kind == META_KIND and exposure is None and view_sample is None:
        return with_exposure(cube, prevalence=published_prevalence(src))
    if exposure is not None or view_sample is not None:
        return with_exposure(cube, exposure, view_sample)
    return cube


def _load(src: Any, kind: str | None, engine: str | None, options: dict[str, Any]) -> Cube:
    """The cube of ``src`` from the importer ``kind`` names, or the first that claims it."""
    candidates = importers()
    if kind is not None:
        chosen = [i for i in candidates if i.kind == kind]
        if not chosen:
            raise DataError(f"unknown source kind {kind!r}; known kinds: {[i.kind for i in candidates]}")
        return _load_with(chosen[0], src, engine, options)
    for importer in candidates:
        if importer.claims(src, **options):
            return _load_with(importer, src, engine, options)
    raise DataError(
        f"cannot load {src!r}: expected a .csv or .parquet file, a folder of them, an uploaded file, "
        f"or a SQLAlchemy URL such as postgresql+psycopg://user@host/db with table= or query="
    )

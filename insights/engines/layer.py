"""A store over another store: what a layer (a user's scope, a watched page) passes through
unchanged — the shape of the cells, the engine, preparing, change, progress and cancelling."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from insights.engines.aggregates import Progress

if TYPE_CHECKING:
    from insights.cube import Store


class StoreOver:
    """The part of a store that a layer over ``inner`` takes from it as it is; the layer answers
    ``sums`` (and ``date_range``) itself."""

    def __init__(self, inner: Store):
        self.inner = inner
        self.dimensions = inner.dimensions
        self.measures = inner.measures
        self.complete = inner.complete

    @property
    def engine(self) -> str:
        """The engine of the store underneath."""
        return self.inner.engine

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Prepare the store underneath."""
        self.inner.warm(dimension_sets)

    def changed(self) -> bool:
        """True when the source underneath changed."""
        return self.inner.changed()

    def progress(self) -> Progress | None:
        """Materialisation of the store underneath."""
        return self.inner.progress()

    def cancel(self, thread: int | None = None) -> None:
        """Stop the questions running underneath."""
        self.inner.cancel(thread)

"""Questions the caller watches while they run, and can give up.

A ``Watched`` store asks each question of the store underneath on a worker thread of its own,
while the caller's thread waits and calls ``Watcher.waiting`` every ``every`` seconds with the
time spent so far (an app shows progress there and a Cancel button). When ``waiting`` raises —
the user gave up, or asked for something else — the engine cancels that question (not those
other users ask of it) and the exception goes on to the caller; an engine's own error arrives
as the ``DataError`` the engine raised.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Protocol

import polars as pl

from insights.engines.layer import StoreOver
from insights.engines.request import Request

if TYPE_CHECKING:
    from insights.cube import Store

#: Seconds between two calls of ``Watcher.waiting``.
EVERY = 0.25


class Watcher(Protocol):
    """Told how long a question has been running, and when it is answered."""

    def waiting(self, seconds: float) -> None:
        """The question has run ``seconds`` so far; raise to give it up (the engine cancels it)."""
        ...

    def answered(self) -> None:
        """The question has its answer (or the engine's error)."""
        ...


class Watched(StoreOver):
    """A store whose questions run on a worker thread while a ``Watcher`` follows them."""

    def __init__(self, inner: Store, watcher: Watcher, every: float = EVERY):
        super().__init__(inner)
        self.watcher = watcher
        self.every = every

    def sums(self, request: Request) -> pl.DataFrame:
        """The answer of the store underneath, asked on a worker thread and watched meanwhile."""
        answer: Future[pl.DataFrame] = Future()

        def ask() -> None:
            try:
                answer.set_result(self.inner.sums(request))
            except BaseException as error:  # handed to the waiting caller, whatever it is
                answer.set_exception(error)

        worker = threading.Thread(target=ask, name="harm-insights-question", daemon=True)
        worker.start()
        started = time.monotonic()
        try:
            while not wait([answer], self.every).done:
                self.watcher.waiting(time.monotonic() - started)
        except BaseException:
            self.inner.cancel(worker.ident)  # this question only: others share the engine
            raise
        self.watcher.answered()
        return answer.result()

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start of the store underneath."""
        return self.inner.date_range()

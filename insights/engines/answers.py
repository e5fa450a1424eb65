"""Answers kept per store: the same question asked again (by another page, another session, a
redraw) is answered from memory, least recently used answers dropped first."""

from __future__ import annotations

import threading
from collections import OrderedDict

import polars as pl

from insights.engines.request import Request

#: Answers kept per store, at most…
CACHED_ANSWERS = 2048
#: …and at most this many bytes of them.
CACHED_BYTES = 128 * 2**20


class Answers:
    """A thread-safe, bounded map of requests to their answers (Polars frames are never changed
    in place, so one answer can be handed to every asker)."""

    def __init__(self, size: int = CACHED_ANSWERS, max_bytes: int = CACHED_BYTES):
        self.size = size
        self.max_bytes = max_bytes
        self._kept: OrderedDict[tuple[object, ...], tuple[pl.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, request: Request) -> pl.DataFrame | None:
        """The answer kept for ``request``'s question (``Request.question``), if any (it becomes
        the most recently used)."""
        with self._lock:
            kept = self._kept.get(request.question)
            if kept is None:
                return None
            self._kept.move_to_end(request.question)
            return kept[0]

    def keep(self, request: Request, answer: pl.DataFrame) -> pl.DataFrame:
        """Keep ``answer`` to ``request``, dropping the least recently used answers beyond ``size``
        answers or ``max_bytes`` bytes (an answer larger than that is not kept); returns it."""
        size = int(answer.estimated_size())
        with self._lock:
            previous = self._kept.pop(request.question, None)
            self._bytes -= previous[1] if previous else 0
            if size > self.max_bytes:
                return answer
            self._bytes += size
            self._kept[request.question] = (answer, size)
            while len(self._kept) > self.size or self._bytes > self.max_bytes:
                _, (_, dropped) = self._kept.popitem(last=False)
                self._bytes -= dropped
        return answer

    def clear(self) -> None:
        """Forget every answer (the data changed)."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._kept)

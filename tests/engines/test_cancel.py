"""Cancelling: a long DuckDB query stopped from another thread ends with a clear DataError, and
only the asking thread's query stops; a watched question is cancelled when its watcher gives up;
a source that changed stops preparing its aggregates."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest

import insights
from insights import DataError
from insights.engines.connections import DuckDBConnection
from insights.engines.request import Request
from insights.engines.watch import Watched

#: A query DuckDB needs minutes for (hashing billions of rows): it ends only when cancelled.
LONG = "SELECT sum(hash(i)) AS n FROM range(50000000000) t(i)"


class Asker(threading.Thread):
    """Runs one query on a connection and keeps what came back (an answer or an error)."""

    def __init__(self, connection: DuckDBConnection):
        super().__init__(daemon=True)
        self.connection = connection
        self.outcome: object = None

    def run(self) -> None:
        try:
            self.outcome = self.connection.run(LONG)
        except DataError as error:
            self.outcome = error

    def running(self) -> bool:
        """True once its query is on the engine."""
        with self.connection._lock:
            return self.ident in self.connection._running.values()


def started(*askers: Asker) -> None:
    for asker in askers:
        asker.start()
    deadline = time.monotonic() + 30
    while not all(a.running() for a in askers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(a.running() for a in askers), "the queries never started"
    time.sleep(0.2)


def test_a_long_duckdb_query_cancelled_from_another_thread_says_so(duckdb_cube):
    connection = duckdb_cube.store.connection
    mine, theirs = Asker(connection), Asker(connection)
    started(mine, theirs)
    duckdb_cube.cancel(mine.ident)
    mine.join(30)
    try:
        assert not mine.is_alive(), "the cancelled query is still running"
        assert isinstance(mine.outcome, DataError) and str(mine.outcome) == "the query was cancelled"
        time.sleep(1)  # an interrupt takes effect within milliseconds: theirs would have ended by now
        assert theirs.is_alive() and theirs.running(), "another thread's query was cancelled too"
    finally:
        duckdb_cube.cancel()
        theirs.join(30)
    assert isinstance(theirs.outcome, DataError) and "cancelled" in str(theirs.outcome)
    assert duckdb_cube.query("actions").item() > 0, "the cube answers again after a cancel"


class GaveUpError(Exception):
    """What a watcher raises when the user gives up."""


class Watcher:
    def __init__(self, give_up_after: float | None = None):
        self.give_up_after = give_up_after
        self.waited: list[float] = []
        self.answers = 0

    def waiting(self, seconds: float) -> None:
        self.waited.append(seconds)
        if self.give_up_after is not None and seconds >= self.give_up_after:
            raise GaveUpError

    def answered(self) -> None:
        self.answers += 1


class LongStore:
    """A store whose every question is ``LONG`` on a real DuckDB connection."""

    engine = "duckdb"
    dimensions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ("actions",)
    complete = frozenset(measures)

    def __init__(self, fail: bool = False):
        self.connection = DuckDBConnection()
        self.sql = "SELECT no_such_column FROM range(3)" if fail else LONG
        self.outcomes: list[object] = []
        self.cancelled: list[int | None] = []

    def sums(self, request: Request) -> pl.DataFrame:
        try:
            answer = self.connection.run(self.sql)
        except DataError as error:
            self.outcomes.append(error)
            raise
        self.outcomes.append(answer)
        return answer

    def cancel(self, thread: int | None = None) -> None:
        self.cancelled.append(thread)
        self.connection.cancel(thread)


ASK = Request.of([], ())


def test_a_watched_question_is_cancelled_on_the_engine_when_its_watcher_gives_up():
    store, watcher = LongStore(), Watcher(give_up_after=0.5)
    with pytest.raises(GaveUpError):
        Watched(store, watcher, every=0.05).sums(ASK)
    assert watcher.waited and watcher.waited == sorted(watcher.waited), "told the time as it ran"
    assert watcher.answers == 0
    assert len(store.cancelled) == 1 and store.cancelled[0] not in (None, threading.get_ident()), (
        "only the worker's question is cancelled"
    )
    deadline = time.monotonic() + 30
    while not store.outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(store.outcomes[0], DataError) and "cancelled" in str(store.outcomes[0])


def test_an_engine_error_reaches_the_watched_caller_as_a_data_error():
    store, watcher = LongStore(fail=True), Watcher()
    with pytest.raises(DataError, match="DuckDB could not answer: Binder Error"):
        Watched(store, watcher).sums(ASK)
    assert watcher.answers == 1 and store.cancelled == []


def test_a_watched_cube_answers_as_the_cube_does(sample_cube):
    watcher = Watcher()
    watched = sample_cube.watched(watcher)
    question = {"metrics": ["actions", "appeal_rate"], "by": ["harm_area"], "grain": "month"}
    assert watched.query(**question).equals(sample_cube.query(**question))
    assert watcher.answers == 1
    assert watched.values("country") == sample_cube.values("country")


def test_a_changed_source_stops_preparing_its_aggregates(tmp_path, sample_dir, engine_cache, held_aggregates):
    building, release = held_aggregates.building, held_aggregates.release
    frame = pl.read_parquet(sorted(sample_dir.glob("*.parquet"))[0]).head(5000)
    frame.write_parquet(tmp_path / "a.parquet")
    cube = insights.load_source(tmp_path, engine="duckdb")
    cube.warm()
    assert building.wait(60)
    frame.head(10).write_parquet(tmp_path / "b.parquet")
    assert cube.changed()
    release.set()
    progress = cube.store.aggregates.wait(60)
    assert progress.done, f"still preparing after the change: {progress.text()}"
    assert (progress.ready, progress.planned) == (1, 1), "only the one building when the source changed"

"""Appends from many threads of one server and from several processes at once form one chain:
no number twice, none skipped, every record there, and the chain verifies."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from insights.audit import AuditLog

from .helpers import drop, new_table

ROOT = Path(__file__).resolve().parents[2]

#: One writer process: it opens the log, waits until every writer has (a file each in the start
#: folder), then appends RECORDS page views from each of THREADS threads.
WRITER = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from insights.audit import AuditLog

url, table, name, threads, records = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
start, writers = Path(sys.argv[6]), int(sys.argv[7])
log = AuditLog(url, table=table)
(start / name).touch()
while len(list(start.iterdir())) < writers:
    time.sleep(0.01)

def write(thread):
    for number in range(records):
        log.record(f"{name}-{thread}@example.org", "page_view", {"page": "trends", "n": number})

with ThreadPoolExecutor(threads) as pool:
    list(pool.map(write, range(threads)))
"""


def one_chain(frame: pl.DataFrame, expected: dict[str, int]) -> None:
    assert frame["seq"].to_list() == list(range(1, len(frame) + 1))
    assert frame["prev_hash"][1:].to_list() == frame["hash"][:-1].to_list()
    counts = dict(frame.group_by("who").len().iter_rows())
    assert counts == expected


def test_threads_appending_at_once_make_one_chain(backend):
    threads, records = 8, 25
    with backend.fresh() as fresh:

        def write(thread: int) -> None:
            for number in range(records):
                fresh.log.record(f"thread-{thread}@example.org", "page_view", {"n": number})

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, range(threads)))
        assert fresh.log.verify().ok
        one_chain(fresh.log.records(), {f"thread-{t}@example.org": records for t in range(threads)})


def start_writers(url: str, table: str, threads: int, records: int, start: Path) -> list[subprocess.Popen]:
    """Two writer processes, ``a`` and ``b``, that begin appending together."""
    command = [sys.executable, "-c", WRITER, url, table]
    options = [str(threads), str(records), str(start), "2"]
    return [subprocess.Popen([*command, name, *options], cwd=ROOT) for name in ("a", "b")]


def test_processes_appending_at_once_make_one_chain(backend, tmp_path):
    """Two processes (four threads each) append to the same log at the same time."""
    threads, records = 4, 20
    with backend.fresh() as fresh:
        writers = start_writers(fresh.url, fresh.table, threads, records, tmp_path)
        assert [writer.wait(timeout=300) for writer in writers] == [0, 0]
        assert fresh.log.verify().ok
        expected = {f"{name}-{t}@example.org": records for name in ("a", "b") for t in range(threads)}
        one_chain(fresh.log.records(), expected)


def test_processes_opening_a_new_log_at_once_share_it(backend, tmp_path):
    """Both processes create the tables and the head of a log nobody has opened yet (for SQLite,
    in a file that does not exist yet)."""
    url, table = backend.url(), new_table()
    writers = start_writers(url, table, 1, 5, tmp_path)
    try:
        assert [writer.wait(timeout=300) for writer in writers] == [0, 0]
        shared = AuditLog(url, table=table)
        try:
            check = shared.verify()
            assert check.ok and check.checked == 10
        finally:
            shared.close()
    finally:
        drop(url, table)

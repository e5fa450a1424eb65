"""Benchmark: every hostile and malformed input through the importer an upload goes through.

    python -m bench.hostile_inputs
    python -m bench.hostile_inputs --decompressed-mb 256

The Data page stores an upload on the server and loads it with ``insights.load_source(path)``
(``pages/common.py``: ``keep_upload``, ``load_cube``); this does the same with each entry of the
hostile corpus (``tests/sources/hostile.py``) and each file of ``tests/data/malformed/``, one
fresh Python process per input, under the limits in the environment (the app's defaults unless
set). One row per input: outcome (a ``DataError``, a load that conserves its rows, or anything
else), rows read / accepted / rejected, the process's peak resident memory (its own, from
``os.wait4``), the load's time and the process's wall time (with the imports). Then totals:
inputs per outcome, rows lost (read − accepted − rejected over all loads) and the peak memory of
the largest hostile inputs. Exit status 1 when an input ends in anything else or a row is lost.

This process imports only the standard library (a child's peak memory counts what it inherits
from its parent before ``exec``); the inputs are written by a child of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MALFORMED = ROOT / "tests" / "data" / "malformed"
#: The largest hostile inputs, whose peak memory the totals repeat.
LARGEST = ("zip bomb named like a DSA dump", "gzip bomb", "a million columns")
ERROR, CONSERVED, OTHER = "DataError", "conserved load", "other"
TIMEOUT_SECONDS = 900

#: The load in the child process: what the Data page does with a stored upload.
LOAD = """
import json, sys, time
import insights
start = time.perf_counter()
try:
    cube = insights.load_source(sys.argv[1])
except insights.DataError as error:
    result = {"outcome": "DataError", "message": str(error)[:200]}
except Exception as error:
    result = {"outcome": "other", "message": f"{type(error).__name__}: {error}"[:200]}
else:
    p = cube.provenance
    result = {"outcome": "conserved load" if p.conserved else "other", "read": p.rows_read,
              "accepted": p.rows_accepted, "rejected": p.rows_rejected, "message": ""}
print(json.dumps({**result, "load_seconds": time.perf_counter() - start}))
"""
#: The baseline: the same process importing the library and loading nothing.
BASELINE = "import insights"
#: Writes the corpus under a folder; prints the limits in effect and (name, path) of every input.
PREPARE = """
import json, sys
from pathlib import Path
from insights.limits import MB, Limits
from tests.sources.hostile import CORPUS
folder = Path(sys.argv[1])
built = []
for number, (name, build) in enumerate(CORPUS.items()):
    place = folder / f"{number:02d}"
    place.mkdir()
    built.append((name, str(build(place))))
limits = Limits.from_env()
print(json.dumps({"inputs": built, "limits": f"upload {limits.upload_bytes / MB:,.0f} MB, decompressed "
                  f"{limits.decompressed_bytes / MB:,.0f} MB, columns {limits.columns:,}"}))
"""


@dataclass
class Measured:
    """One input's outcome, rows, peak resident memory (MB), load time and process wall time (s)."""

    name: str
    outcome: str
    read: int | None
    accepted: int | None
    rejected: int | None
    peak_mb: float
    load_seconds: float | None
    seconds: float
    message: str

    @property
    def lost(self) -> int:
        """Rows read that were neither accepted nor rejected (0 for a conserved load or an error)."""
        if self.read is None:
            return 0
        return self.read - (self.accepted or 0) - (self.rejected or 0)


def run_child(code: str, *args: str) -> tuple[str, float, float]:
    """Run ``code`` in a fresh interpreter: (its stdout, its own peak RSS in MB, wall seconds)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        deadline = start + TIMEOUT_SECONDS
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        seconds = time.perf_counter() - start
        out.seek(0)
        return out.read(), usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def measure(name: str, path: Path) -> Measured:
    """Load one input in a fresh process and read its outcome."""
    stdout, peak_mb, seconds = run_child(LOAD, str(path))
    lines = stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"outcome": OTHER, "message": "the process died or timed out without an answer"}
    return Measured(
        name,
        result["outcome"],
        result.get("read"),
        result.get("accepted"),
        result.get("rejected"),
        peak_mb,
        result.get("load_seconds"),
        seconds,
        result["message"],
    )


def inputs(folder: Path) -> tuple[list[tuple[str, Path]], str]:
    """(name, path) of every hostile corpus entry (written under ``folder`` by a child process) and
    malformed file, and the limits in effect as text."""
    stdout, _, _ = run_child(PREPARE, str(folder))
    prepared = json.loads(stdout.strip().splitlines()[-1])
    built = [(name, Path(path)) for name, path in prepared["inputs"]]
    return built + [(f"malformed/{p.name}", p) for p in sorted(MALFORMED.iterdir())], prepared["limits"]


def number(value: int | None) -> str:
    """A count for the table (blank where there is none)."""
    return "" if value is None else f"{value:,}"


def main(argv: list[str] | None = None) -> int:
    """Print the table and the totals; exit 1 when an outcome is 'other' or a row is lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decompressed-mb", type=float, help="HARM_INSIGHTS_MAX_DECOMPRESSED_MB for the loads")
    parser.add_argument("--messages", action="store_true", help="print each DataError's message under its row")
    args = parser.parse_args(argv)
    if args.decompressed_mb is not None:
        os.environ["HARM_INSIGHTS_MAX_DECOMPRESSED_MB"] = str(args.decompressed_mb)
    _, baseline_mb, baseline_s = run_child(BASELINE)
    header = (
        f"{'input':<58} {'outcome':<15} {'read':>5} {'accepted':>8} {'rejected':>8} {'peak MB':>8} "
        f"{'load s':>7} {'wall s':>7}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        corpus, limits = inputs(Path(folder))
        print(f"limits: {limits}")
        print(f"baseline (a process importing insights, loading nothing): {baseline_mb:,.0f} MB, {baseline_s:.2f} s\n")
        print(header)
        print("-" * len(header))
        for name, path in corpus:
            row = measure(name, path)
            rows.append(row)
            load_s = "" if row.load_seconds is None else f"{row.load_seconds:.2f}"
            print(
                f"{name[:58]:<58} {row.outcome:<15} {number(row.read):>5} {number(row.accepted):>8} "
                f"{number(row.rejected):>8} {row.peak_mb:>8,.0f} {load_s:>7} {row.seconds:>7.2f}"
            )
            if args.messages and row.message:
                print(f"    {row.message}")
    counts = Counter(r.outcome for r in rows)
    lost = sum(r.lost for r in rows)
    print("-" * len(header))
    print(f"inputs: {len(rows)}; " + ", ".join(f"{o}: {counts.get(o, 0)}" for o in (ERROR, CONSERVED, OTHER)))
    print(f"rows lost (read − accepted − rejected, summed over loads): {lost:,}")
    for row in rows:
        if row.name in LARGEST:
            print(f"peak memory, {row.name}: {row.peak_mb:,.0f} MB ({row.outcome}, load {row.load_seconds or 0:.1f} s)")
    slowest = max(rows, key=lambda r: r.load_seconds or 0)
    print(
        f"slowest load: {slowest.name} ({slowest.load_seconds or 0:.1f} s); "
        f"largest peak: {max(r.peak_mb for r in rows):,.0f} MB"
    )
    return 1 if counts.get(OTHER, 0) or lost else 0


if __name__ == "__main__":
    sys.exit(main())

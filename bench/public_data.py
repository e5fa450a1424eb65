"""Benchmark: the public transparency reports in ../shared/real_data loaded into cubes.

    python -m bench.public_data
    python -m bench.public_data --data /path/to/real_data

Each load runs in a fresh Python process, so its time includes reading and mapping the files
(not importing the library) and its peak memory is that load's own. Prints one row per
source: load seconds, peak resident memory (GB) and the number of cube cells.
Targets: all three TikTok releases ≤ 2 s together; the DSA daily summary ≤ 5 s and ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "real_data"

#: (label, path below the data folder, load_source options, target seconds, target GB).
SOURCES = [
    ("TikTok CGER, 3 releases (policy)", "tiktok_cger", {}, 2.0, None),
    ("TikTok CGER, 3 releases (market)", "tiktok_cger", {"breakdown": "market"}, 2.0, None),
    ("Meta CSER, 13 releases", "meta_cser", {}, None, None),
    ("DSA daily summary (category)", "dsa_tdb_daily_summary/builtin.parquet", {}, 5.0, 2.0),
    ("DSA daily summary (platform)", "dsa_tdb_daily_summary/builtin.parquet", {"breakdown": "platform"}, 5.0, 2.0),
    ("DSA statements, daily dump zip", "dsa_tdb_sor_sample/sor-global-2024-03-14-full.zip", {}, None, None),
]

MEASURE = """
import json, resource, sys, time
import insights
path, options = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
cube = insights.load_source(path, **options)
seconds = time.perf_counter() - start
print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, len(cube.data)]))
"""


def measure(path: Path, options: dict) -> tuple[float, float, int]:
    """Load seconds, peak GB and cube cells of one load in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), json.dumps(options)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seconds, peak_gb, cells = json.loads(out.strip().splitlines()[-1])
    return seconds, peak_gb, cells


def main(argv: list[str] | None = None) -> int:
    """Print the table; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the real_data folder")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no public data at {args.data}")
        return 1
    print(f"{'source':<36} {'load s':>7} {'peak GB':>8} {'cube rows':>10}  target")
    missed = False
    for label, relative, options, max_seconds, max_gb in SOURCES:
        seconds, peak_gb, cells = measure(args.data / relative, options)
        target = ", ".join(
            t for t in (f"≤ {max_seconds:g} s" if max_seconds else "", f"≤ {max_gb:g} GB" if max_gb else "") if t
        )
        ok = (max_seconds is None or seconds <= max_seconds) and (max_gb is None or peak_gb <= max_gb)
        missed |= not ok
        print(f"{label:<36} {seconds:>7.2f} {peak_gb:>8.2f} {cells:>10,}  {target}{'' if ok else '  MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run insights.trends.change_points on the TCPD benchmark with its default settings.

Usage: python -m bench.tcpd [--data /path/to/shared/benchmarks/tcpd]

Prints one row per univariate series of the paper's aggregate that is present
locally (25 of 32), then the mean F1 and mean cover next to the published
default scores of the best default method (binseg) on the same 25 series.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from bench.tcpd_scoring import covering, f_measure, paper_series
from insights.trends import change_points

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_DATA = ROOT.parent / "shared/benchmarks/tcpd"


def run(data_dir: Path) -> list[dict]:
    """Score change_points (defaults) on every paper series present in data_dir."""
    rows = []
    for series in paper_series(data_dir):
        start = time.perf_counter()
        cps = change_points(series.values)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "series": series.name,
                "n": series.n_obs,
                "cps": cps,
                "f1": f_measure(series.annotations, cps, series.n_obs),
                "cover": covering(series.annotations, cps, series.n_obs),
                "seconds": seconds,
                "zero_f1": f_measure(series.annotations, [], series.n_obs),
                "zero_cover": covering(series.annotations, [], series.n_obs),
            }
        )
    return rows


def published(data_dir: Path, method: str) -> dict:
    """Published default F1 / cover of one method averaged over the 25 local series."""
    with open(Path(data_dir) / "published/aggregate_on_25_local_series.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["method"] == method:
                return {"f1": float(row["default_f1"]), "cover": float(row["default_cover"])}
    raise KeyError(method)


def main() -> None:
    """Print the per-series table and the means."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TCPD benchmark folder")
    args = parser.parse_args()

    rows = run(args.data)
    header = f"{'series':<20} {'n':>5} {'#cps':>5} {'F1':>6} {'cover':>6} {'seconds':>8}"
    print(header + "  change points")
    for r in rows:
        print(
            f"{r['series']:<20} {r['n']:>5} {len(r['cps']):>5} {r['f1']:>6.3f} {r['cover']:>6.3f}"
            f" {r['seconds']:>8.4f}  {r['cps']}"
        )

    def mean(key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    best = published(args.data, "binseg")
    zero = published(args.data, "zero")
    print()
    print(f"mean over {len(rows)} series   F1 {mean('f1'):.3f}   cover {mean('cover'):.3f}", end="")
    print(f"   ({sum(r['seconds'] for r in rows):.2f} s)")
    print(f"published binseg (best default) F1 {best['f1']:.3f}   cover {best['cover']:.3f}")
    print(f"published zero (no change)      F1 {zero['f1']:.3f}   cover {zero['cover']:.3f}", end="")
    print(f"   (this scorer: F1 {mean('zero_f1'):.3f}   cover {mean('zero_cover'):.3f})")


if __name__ == "__main__":
    main()

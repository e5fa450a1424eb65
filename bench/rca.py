"""Benchmark ``insights.rootcause.localize`` on the shared RCA benchmark data.

Usage::

    python -m bench.rca [--data PATH] [--settings B_cuboid_layer_1_n_ele_1 RS ...]

The data folder layout, the ground-truth formats and the scoring rule are described in
``shared/benchmarks/rca/README.md``. Scoring is exact match of attribute combinations,
deduplicated after putting the pairs of each combination in canonical order, with TP, FP
and FN summed over the cases of a setting folder (micro-averaged F1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from bench.rca_cases import B0_SETTINGS, RS_SETTING, SettingScore, load_setting, run_setting

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/benchmarks/rca"

REFERENCE_METHODS = ["RiskLoc", "AutoRoot", "Squeeze*", "HotSpot", "R-Adtributor", "Adtributor", "baseline"]
# F1 of the reference implementations on exactly this data (README, "Reference results").
REFERENCE_F1 = {
    "B_cuboid_layer_1_n_ele_1": (0.900, 1.000, 0.976, 1.000, 0.550, 0.645, 1.000),
    "B_cuboid_layer_1_n_ele_2": (1.000, 0.987, 0.950, 0.633, 0.235, 0.525, 0.633),
    "B_cuboid_layer_1_n_ele_3": (0.991, 0.906, 0.973, 0.487, 0.033, 0.469, 0.390),
    "B_cuboid_layer_2_n_ele_1": (0.900, 0.950, 1.000, 0.850, 0.186, 0.000, 0.000),
    "B_cuboid_layer_2_n_ele_2": (0.974, 0.974, 1.000, 0.600, 0.074, 0.000, 0.000),
    "B_cuboid_layer_2_n_ele_3": (0.948, 0.808, 0.927, 0.456, 0.063, 0.000, 0.000),
    "B_cuboid_layer_3_n_ele_1": (0.919, 1.000, 0.900, 0.450, 0.013, 0.000, 0.000),
    "B_cuboid_layer_3_n_ele_2": (0.974, 0.947, 0.987, 0.467, 0.125, 0.000, 0.000),
    "B_cuboid_layer_3_n_ele_3": (0.909, 0.776, 0.947, 0.475, 0.082, 0.000, 0.000),
    "B0 mean": (0.946, 0.928, 0.962, 0.602, 0.151, 0.182, 0.225),
    "RS": (0.025, 0.261, 0.041, 0.042, 0.104, 0.274, 0.468),
}
REFERENCE_B0_SECONDS = (0.62, 0.27, 3.88, 5.21, 0.08, 0.09, 0.01)


def format_table(scores: list[SettingScore]) -> str:
    """Plain-text table of the per-setting scores next to the reference F1s."""
    header = f"{'setting':<26}{'cases':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'F1':>7}{'mean s':>8}{'max s':>7}  | " + " ".join(
        f"{m:>12}" for m in REFERENCE_METHODS
    )
    lines = [header, "-" * len(header)]

    def row(label, cases, tp, fp, fn, f1, mean_s, max_s):
        reference = REFERENCE_F1.get(label)
        ref = " ".join(f"{v:>12.3f}" for v in reference) if reference else ""
        counts = f"{cases:>6}{tp:>5}{fp:>5}{fn:>5}" if cases is not None else " " * 21
        timing = f"{mean_s:>8.3f}{max_s:>7.3f}" if mean_s is not None else " " * 15
        return f"{label:<26}{counts}{f1:>7.3f}{timing}  | {ref}"

    for s in scores:
        lines.append(row(s.setting, s.cases, s.tp, s.fp, s.fn, s.f1, statistics.fmean(s.seconds), max(s.seconds)))
    b0 = [s for s in scores if s.setting in B0_SETTINGS]
    if b0:
        lines.append("-" * len(header))
        seconds = [t for s in b0 for t in s.seconds]
        mean_f1 = statistics.fmean(s.f1 for s in b0)
        label = "B0 mean" if len(b0) == len(B0_SETTINGS) else f"B0 mean ({len(b0)} settings)"
        lines.append(row(label, None, 0, 0, 0, mean_f1, statistics.fmean(seconds), max(seconds)))
        pooled = SettingScore("B0 pooled", tp=sum(s.tp for s in b0), fp=sum(s.fp for s in b0), fn=sum(s.fn for s in b0))
        lines.append(row("B0 pooled micro-F1", None, 0, 0, 0, pooled.f1, None, None))
        lines.append(f"{'reference B0 mean s/case':<70}  | " + " ".join(f"{v:>12.2f}" for v in REFERENCE_B0_SECONDS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run the chosen settings and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark folder (default: %(default)s)")
    parser.add_argument(
        "--settings", nargs="+", default=[*B0_SETTINGS, RS_SETTING], help="setting folders to run (default: all)"
    )
    parser.add_argument("--limit", type=int, default=None, help="run only the first N cases of each setting")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"benchmark data not found at {args.data}", file=sys.stderr)
        return 2
    scores = []
    for setting in args.settings:
        scores.append(run_setting(load_setting(args.data, setting, args.limit), setting))
        print(f"{setting}: F1 {scores[-1].f1:.3f}", file=sys.stderr, flush=True)
    print(format_table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())

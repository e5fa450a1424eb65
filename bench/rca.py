"""Benchmark ``insights.rootcause.localize`` on the shared RCA benchmark data.

Usage::

    python bench/rca.py [--data PATH] [--settings B_cuboid_layer_1_n_ele_1 RS ...]

The data folder layout, the ground-truth formats and the scoring rule are described in
``shared/benchmarks/rca/README.md``. Scoring is exact match of attribute combinations,
deduplicated after putting the pairs of each combination in canonical order, with TP, FP
and FN summed over the cases of a setting folder (micro-averaged F1).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from insights.rootcause import localize  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared/benchmarks/rca"

B0_SETTINGS = [f"B_cuboid_layer_{layer}_n_ele_{n}" for layer in (1, 2, 3) for n in (1, 2, 3)]
RS_SETTING = "RS"
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

Combination = frozenset  # frozenset of (attribute, value) pairs


@dataclass
class Case:
    """One benchmark case: a leaf frame, its dimension columns and its ground truth."""

    setting: str
    name: str
    frame: pl.DataFrame
    dims: list[str]
    truth: set[Combination]


@dataclass
class SettingScore:
    """Summed exact-match counts and timings over the cases of one setting folder."""

    setting: str
    cases: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    seconds: tuple[float, ...] = ()

    @property
    def f1(self) -> float:
        """Micro-averaged F1 = 2 TP / (2 TP + FP + FN); 0 when nothing was counted."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0


def parse_truth(text: str) -> set[Combination]:
    """Parse a Squeeze ``set`` string (``a=a1&b=b2;c=c3``) into deduplicated combinations."""
    combos = set()
    for part in str(text).split(";"):
        pairs = [kv.split("=", 1) for kv in part.split("&") if kv.strip()]
        if pairs:
            combos.add(frozenset((k.strip(), v.strip()) for k, v in pairs))
    return combos


def canonical(prediction: list[dict[str, str]]) -> set[Combination]:
    """Deduplicated canonical form of a list of predicted combinations."""
    return {frozenset((str(k), str(v)) for k, v in combo.items()) for combo in prediction if combo}


def score_case(predicted: set[Combination], truth: set[Combination]) -> tuple[int, int, int]:
    """Exact-match (TP, FP, FN) of one case."""
    tp = len(predicted & truth)
    return tp, len(predicted) - tp, len(truth) - tp


def b0_cases(data: Path, setting: str, limit: int | None = None) -> list[Case]:
    """Cases of one Squeeze-format setting folder whose data file exists, in injection order."""
    folder = data / "B0" / setting
    info = pl.read_csv(folder / "injection_info.csv")
    cases = []
    for timestamp, truth in info.select("timestamp", "set").iter_rows():
        path = folder / f"{timestamp}.csv.gz"
        if not path.exists():
            continue
        frame = pl.read_csv(path)
        dims = sorted(c for c in frame.columns if c not in ("real", "predict"))
        frame = frame.with_columns(pl.col(dims).cast(pl.String))
        cases.append(Case(setting, str(timestamp), frame, dims, parse_truth(truth)))
        if limit is not None and len(cases) >= limit:
            break
    return cases


def read_rs_labels(path: Path) -> list[dict]:
    """Parse RS ``anomaly.yaml`` (a list of ``data`` / ``timestamp`` / ``cause`` entries)."""
    entries: list[dict] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        key, _, value = line.strip().lstrip("- ").partition(":")
        value = value.strip()
        if line.lstrip().startswith("- "):
            entries.append({})
        if key == "data":
            entries[-1]["data"] = value
        elif key == "timestamp":
            entries[-1]["timestamp"] = int(value)
        elif key == "cause":
            cause = ast.literal_eval(value)
            entries[-1]["cause"] = cause if isinstance(cause, list) else [cause]
        else:
            raise ValueError(f"unexpected line in {path}: {line!r}")
    return entries


def rs_frame(raw: pl.DataFrame, timestamp: int, history: int = 4) -> tuple[pl.DataFrame, list[str]]:
    """Convert raw RobustSpot minutes to leaves with real/predict for a ratio measure.

    Numerator ``a = cnt - value``, denominator ``b = cnt`` and ratio ``k = a / b``; the
    forecast of each leaf present at ``timestamp`` is the mean of a, b and k over the same
    leaf in the ``history`` previous minutes (0 when the leaf has no history).
    """
    dims = [c for c in raw.columns if c not in ("min", "value", "cnt")]
    raw = raw.with_columns(pl.col(dims).cast(pl.String), a=pl.col("cnt") - pl.col("value"))
    raw = raw.with_columns(k=pl.col("a") / pl.col("cnt"))
    current = raw.filter(pl.col("min") == timestamp).select(
        *dims, real_a=pl.col("a").cast(pl.Float64), real_b=pl.col("cnt").cast(pl.Float64), real=pl.col("k")
    )
    past = [timestamp - 60 * i for i in range(1, history + 1)]
    forecast = (
        raw.filter(pl.col("min").is_in(past))
        .group_by(dims)
        .agg(predict_a=pl.col("a").mean(), predict_b=pl.col("cnt").mean(), predict=pl.col("k").mean())
    )
    frame = current.join(forecast, on=dims, how="left").with_columns(
        pl.col("predict_a", "predict_b", "predict").cast(pl.Float64).fill_null(0.0)
    )
    return frame, dims


def rs_cases(data: Path) -> list[Case]:
    """All RS cases, converted to real/predict leaves with the ratio columns."""
    cases = []
    for entry in read_rs_labels(data / "RS" / "anomaly.yaml"):
        raw = pl.read_csv(data / "RS" / f"{entry['data']}.csv.gz")
        frame, dims = rs_frame(raw, entry["timestamp"])
        truth = {frozenset((str(k), str(v)) for k, v in cause.items()) for cause in entry["cause"]}
        cases.append(Case(RS_SETTING, entry["data"], frame, dims, truth))
    return cases


def load_setting(data: Path, setting: str, limit: int | None = None) -> list[Case]:
    """Cases of a B0 setting folder or of ``RS``."""
    if setting == RS_SETTING:
        return rs_cases(data)[:limit]
    return b0_cases(data, setting, limit)


def run_setting(cases: list[Case], setting: str) -> SettingScore:
    """Run ``localize`` on every case and sum the exact-match counts."""
    score = SettingScore(setting)
    seconds = []
    for case in cases:
        start = time.perf_counter()
        prediction = localize(case.frame, case.dims)
        seconds.append(time.perf_counter() - start)
        tp, fp, fn = score_case(canonical(prediction), case.truth)
        score.cases += 1
        score.tp += tp
        score.fp += fp
        score.fn += fn
    score.seconds = tuple(seconds)
    return score


def format_table(scores: list[SettingScore]) -> str:
    """Plain-text table of the per-setting scores next to the reference F1s."""
    header = (
        f"{'setting':<26}{'cases':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'F1':>7}{'mean s':>8}{'max s':>7}  | "
        + " ".join(f"{m:>12}" for m in REFERENCE_METHODS)
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
        "--settings", nargs="+", default=B0_SETTINGS + [RS_SETTING], help="setting folders to run (default: all)"
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

"""The RCA benchmark's cases and its scoring (exact-match F1), for ``bench/rca.py`` and the tests.

B0 (Squeeze format: one setting folder per cuboid layer and number of root causes) and RS (a
derived ratio measure from RobustSpot minutes) are read into leaf frames with ``real`` /
``predict`` columns (``real_a`` / ``real_b`` / ``predict_a`` / ``predict_b`` for RS), the way
``insights.rootcause.localize`` takes them.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from insights.rootcause import localize

B0_SETTINGS = [f"B_cuboid_layer_{layer}_n_ele_{n}" for layer in (1, 2, 3) for n in (1, 2, 3)]
RS_SETTING = "RS"

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

"""Benchmark: change points of daily enforcement counts, as the Trends page shows them.

    python -m bench.daily_changepoints                  # 300 series, seeds 0..299
    python -m bench.daily_changepoints --series 100 --first-seed 1000

Series come from ``bench/daily_series.py`` (seeded; 180–730 days, weekly seasonality, slow
trends, Poisson counts from 3 to 30,000 a day, one-day spikes ×2–4 and 0–3 level shifts). Every
method sees every series; the table gives, side by side:

* **F1** — TCPD's F1 with a 5-day margin (``bench/tcpd_scoring.f_measure``), one annotator: the
  true level shifts;
* **cover** — TCPD's segmentation covering (``bench/tcpd_scoring.covering``);
* **spike→cp** — share of injected one-day spikes with a reported change point within 1 day
  (lower is better: a spike is not a change point);
* **spike recall** — share of injected spikes reported as anomalies above their band (only
  ``trend`` reports anomalies).

Methods:

* **ours** — ``insights.trends.trend(cube, "actions", grain="day")`` on the Cube built from the
  series as from a pre-aggregated table (``daily_series.cube``); its change points are dates.
* **ruptures binseg / pelt** (``ruptures`` 1.1.10) with their default settings (``model="l2"``,
  ``min_size=2``, ``jump=5``) and the penalty of ruptures' own user guide, ``pen = log(n) · dim ·
  σ²`` (BIC-like), on the raw daily counts. A user does not know σ, so it is estimated the usual
  robust way, from the median absolute deviation of the first differences
  (σ̂ = 1.4826 · MAD(Δy) / √2).
* **… weekday-adjusted** — the same, on the counts divided by the weekday profile ``trend``
  uses (``insights.trends.anomalies.weekday_profile``), to show what deseasonalising alone buys.

Also printed: the scores by level band (mean count a day) and by number of shifts, for ours.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from bench.daily_series import DailySeries, cube, suite
from bench.tcpd_scoring import covering, f_measure
from insights.trends import trend
from insights.trends.anomalies import weekday_profile

MARGIN = 5


def robust_sigma(x: np.ndarray) -> float:
    """Noise s.d. from the median absolute deviation of first differences."""
    d = np.diff(x)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)) or float(np.std(d) / np.sqrt(2)) or 1.0


def ruptures_detector(algorithm: str, adjusted: bool):
    """A detector running ruptures' ``algorithm`` (Binseg or Pelt) with defaults and pen = log(n)·σ²."""
    import ruptures as rpt

    def detect(series: DailySeries) -> tuple[list[int], set[int]]:
        x = series.counts.astype(float)
        if adjusted:
            weekdays = np.array([d.isoweekday() for d in series.dates])
            x = x / weekday_profile(x, weekdays)
        pen = np.log(len(x)) * 1 * robust_sigma(x) ** 2
        bkps = getattr(rpt, algorithm)(model="l2").fit(x).predict(pen=pen)
        return [b for b in bkps if b < len(x)], set()

    return detect


def ours(series: DailySeries) -> tuple[list[int], set[int]]:
    """Change points and anomalous-high days of ``trend(cube, "actions", grain="day")``."""
    result = trend(cube(series), "actions", grain="day")
    start = series.start
    cps = [(d - start).days for d in result.change_points]
    highs = {(d - start).days for d in result.anomalies.filter(result.anomalies["score"] > 0)["period"]}
    return cps, highs


METHODS = {
    "ours: trend(grain='day')": ours,
    "ruptures binseg": ruptures_detector("Binseg", adjusted=False),
    "ruptures pelt": ruptures_detector("Pelt", adjusted=False),
    "ruptures binseg, weekday-adjusted": ruptures_detector("Binseg", adjusted=True),
    "ruptures pelt, weekday-adjusted": ruptures_detector("Pelt", adjusted=True),
}


def score(series: DailySeries, cps: list[int], highs: set[int]) -> dict:
    """F1, cover, spikes taken for change points and spikes flagged, for one series."""
    n = len(series.counts)
    truth = {"truth": series.change_points}
    return {
        "f1": f_measure(truth, cps, n, MARGIN),
        "cover": covering(truth, cps, n),
        "spikes": len(series.spikes),
        "spike_cps": sum(any(abs(c - s) <= 1 for c in cps) for s in series.spikes),
        "spike_hits": sum(s in highs for s in series.spikes),
        "found": len(cps),
    }


def run(all_series: list[DailySeries], methods: dict) -> dict[str, list[dict]]:
    """Score every method on every series; adds each method's seconds per series."""
    rows: dict[str, list[dict]] = {}
    for name, detect in methods.items():
        rows[name] = []
        for series in all_series:
            start = time.perf_counter()
            cps, highs = detect(series)
            row = score(series, cps, highs)
            row["seconds"] = time.perf_counter() - start
            rows[name].append(row)
    return rows


def summary(rows: list[dict]) -> dict:
    """Means of F1 and cover, pooled spike shares."""
    spikes = sum(r["spikes"] for r in rows)
    return {
        "f1": float(np.mean([r["f1"] for r in rows])),
        "cover": float(np.mean([r["cover"] for r in rows])),
        "spike_cp": sum(r["spike_cps"] for r in rows) / max(spikes, 1),
        "spike_recall": sum(r["spike_hits"] for r in rows) / max(spikes, 1),
        "seconds": float(np.mean([r["seconds"] for r in rows])),
    }


def main() -> None:
    """Print the side-by-side table, then ours by level band and by number of shifts."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--only-ours", action="store_true", help="skip the ruptures rows")
    args = parser.parse_args()

    all_series = suite(args.series, args.first_seed)
    shifts = sum(len(s.change_points) for s in all_series)
    spikes = sum(len(s.spikes) for s in all_series)
    print(
        f"{len(all_series)} series (seeds {args.first_seed}..{args.first_seed + len(all_series) - 1}), "
        f"{shifts} level shifts, {spikes} one-day spikes, F1 margin {MARGIN} days\n"
    )
    methods = {k: v for k, v in METHODS.items() if k.startswith("ours") or not args.only_ours}
    rows = run(all_series, methods)

    header = f"{'method':<36} {'F1':>6} {'cover':>6} {'spike→cp':>9} {'spike recall':>13} {'ms/series':>10}"
    print(header)
    print("-" * len(header))
    for name, method_rows in rows.items():
        s = summary(method_rows)
        recall = f"{s['spike_recall']:.3f}" if name.startswith("ours") else "n/a"
        print(
            f"{name:<36} {s['f1']:>6.3f} {s['cover']:>6.3f} {s['spike_cp']:>9.3f} {recall:>13}"
            f" {1000 * s['seconds']:>10.1f}"
        )

    name = next(iter(rows))
    print(f"\n{name} by mean count a day and by number of level shifts")
    groups: dict[str, list[dict]] = defaultdict(list)
    for series, row in zip(all_series, rows[name], strict=True):
        mean = float(np.mean(series.mean))
        band = "< 10" if mean < 10 else "10–100" if mean < 100 else "100–1,000" if mean < 1000 else "≥ 1,000"
        groups[f"level {band}"].append(row)
        groups[f"{len(series.change_points)} shifts"].append(row)
    print(f"{'group':<20} {'series':>6} {'F1':>6} {'cover':>6} {'spike→cp':>9} {'spike recall':>13}")
    bands = ["< 10", "10–100", "100–1,000", "≥ 1,000"]
    for group in sorted(groups, key=lambda g: (0, bands.index(g[6:])) if g.startswith("level") else (1, g)):
        s = summary(groups[group])
        print(
            f"{group:<20} {len(groups[group]):>6} {s['f1']:>6.3f} {s['cover']:>6.3f} {s['spike_cp']:>9.3f}"
            f" {s['spike_recall']:>13.3f}"
        )


if __name__ == "__main__":
    main()

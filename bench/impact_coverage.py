"""Coverage of the impact intervals on simulated launches with a known effect.

    python -m bench.impact_coverage                 # 500 panels per row
    python -m bench.impact_coverage --panels 100 --level 0.9

Each panel (``insights.impact.simulation``): Poisson donor counts with common factors, a trend and
a seasonal cycle; a treated series whose mean is a convex combination of donors plus a known
effect after the launch. For each design the full estimate runs (``estimate_panel_impact``, no
placebos) and the table shows how often the 90 % interval of the average effect covers the true
effect, how often the per-period intervals cover it (over all post-launch periods), the mean
interval width in percent of the treated level, how often 0 is excluded (power, or the false
positive rate when the effect is 0), and the seconds per estimate.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from insights.impact import estimate_panel_impact
from insights.impact.simulation import simulated_launch

ROOT = Path(__file__).resolve().parents[1]


DESIGNS = (  # label, method, donors, pre, post, effect (% of level)
    ("20 donors, 40+8 weeks, no effect", "synthetic", 20, 40, 8, 0.0),
    ("20 donors, 40+8 weeks, +5 %", "synthetic", 20, 40, 8, 5.0),
    ("10 donors, 26+6 weeks, −5 %", "synthetic", 10, 26, 6, -5.0),
    ("30 donors, 52+12 weeks, +3 %", "synthetic", 30, 52, 12, 3.0),
    ("20 donors, 40+8 weeks, +5 %, augmented", "augmented", 20, 40, 8, 5.0),
    ("3 donors, 40+8 weeks, +5 %, structural", "structural", 3, 40, 8, 5.0),
)


def run(
    label: str, method: str, donors: int, pre: int, post: int, effect: float, panels: int, level: float, seed: int
) -> str:
    rng = np.random.default_rng(seed)
    covered_average = covered_period = periods = excluded = 0
    widths: list[float] = []
    start = time.perf_counter()
    for _ in range(panels):
        sim = simulated_launch(rng, donors=donors, pre=pre, post=post, effect=effect, active_donors=min(4, donors))
        est = estimate_panel_impact(sim.panel, method=method, level=level, placebos=False)  # type: ignore[arg-type]
        a = est.average
        covered_average += a.lower <= sim.effect <= a.upper
        excluded += a.significant
        post_rows = est.series.filter("post")
        lower, upper = post_rows["effect_lower"].to_numpy(), post_rows["effect_upper"].to_numpy()
        covered_period += int(np.sum((lower <= sim.effect) & (sim.effect <= upper)))
        periods += len(lower)
        base = float(sim.panel.treated_series[: sim.panel.launch].mean())
        widths.append((a.upper - a.lower) / base * 100)
    seconds = (time.perf_counter() - start) / panels
    return (
        f"{label:<42} {panels:>6} {covered_average / panels:>9.1%} {covered_period / periods:>10.1%} "
        f"{np.median(widths):>9.1f} {excluded / panels:>9.1%} {seconds:>7.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--panels", type=int, default=500)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=20260)
    args = parser.parse_args()
    print(f"Nominal coverage {args.level:.0%}.")
    print(
        f"{'design':<42} {'panels':>6} {'avg cover':>9} {'per-period':>10} {'width %':>9} {'0 outside':>9} {'s/est':>7}"
    )
    for i, design in enumerate(DESIGNS):
        print(run(*design, panels=args.panels, level=args.level, seed=args.seed + i), flush=True)


if __name__ == "__main__":
    main()

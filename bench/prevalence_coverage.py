"""Benchmark: coverage of the prevalence intervals over many simulated stratified samples.

    python -m bench.prevalence_coverage                # 1,000 draws per case
    python -m bench.prevalence_coverage --draws 200

Each draw is a stratified sample of views like the generated one: 35 strata whose sizes
spread over two orders of magnitude, a sample allocated in proportion to the square root of
the strata's views (so weights differ), and a true prevalence that differs between strata
(lognormal, σ = 0.8) and averages to the stated value over all views. The true prevalence is
known exactly, so each interval either covers it or not. For each true prevalence and sample
size the table prints the share of draws whose 95 % interval covers the truth for the
default Korn–Graubard interval (Clopper–Pearson on the effective sample size) and for Wilson
on the same effective size, the share whose upper end is at or above the truth (what an
"≤ x %" statement needs), the mean width relative to the truth, and the share of draws with
no violating view sampled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from insights.prevalence import clopper_pearson, estimate_prevalence, wilson

PREVALENCES = (0.0002, 0.001, 0.005, 0.02)
SAMPLE_SIZES = (2_000, 10_000, 50_000)
STRATA = 35
BATCH_ROWS = 4_000_000  # rows per estimator call, to keep memory bounded


@dataclass(frozen=True)
class Design:
    """Strata of a simulated population: views, sample allocation and true prevalence per stratum."""

    views: np.ndarray
    sampled: np.ndarray
    prevalence: np.ndarray

    @property
    def truth(self) -> float:
        """True prevalence over all views: Σ views × prevalence / Σ views."""
        return float((self.views * self.prevalence).sum() / self.views.sum())


def design(prevalence: float, sample_size: int, seed: int = 0, strata: int = STRATA, spread: float = 0.8) -> Design:
    """A stratified design whose overall true prevalence is ``prevalence``."""
    rng = np.random.default_rng(seed)
    views = np.round(1e6 * rng.lognormal(0.0, 1.2, strata))
    root = np.sqrt(views)
    sampled = np.maximum(5, np.round(sample_size * root / root.sum())).astype(np.int64)
    relative = rng.lognormal(0.0, spread, strata)
    by_stratum = prevalence * relative / ((views * relative).sum() / views.sum())
    return Design(views, sampled, np.clip(by_stratum, 0.0, 1.0))


def draw_samples(d: Design, draws: int, rng: np.random.Generator, first: int = 0) -> pl.DataFrame:
    """``draws`` labelled samples of the design, one per ``replicate`` (strata numbered apart)."""
    violating = rng.binomial(d.sampled[None, :], d.prevalence[None, :], size=(draws, len(d.views)))
    per_row = np.tile(d.sampled, draws)
    stratum = np.repeat(np.arange(draws * len(d.views)), per_row)
    offset = np.repeat(np.cumsum(per_row) - per_row, per_row)
    return pl.DataFrame(
        {
            "date": pl.Series([dt.date(2026, 1, 5)]).gather(np.zeros(len(stratum), dtype=np.int64)),
            "replicate": first + stratum // len(d.views),
            "stratum": stratum + first * len(d.views),
            "weight": np.tile(d.views / d.sampled, draws)[stratum],
            "violating_harm": (np.arange(len(stratum)) - offset) < violating.ravel()[stratum],
        }
    )


def intervals(d: Design, draws: int, seed: int = 1) -> pl.DataFrame:
    """Estimate, sample counts and both intervals of ``draws`` simulated samples of design ``d``."""
    rng = np.random.default_rng(seed)
    per_batch = max(1, BATCH_ROWS // int(d.sampled.sum()))
    frames = []
    for first in range(0, draws, per_batch):
        sample = draw_samples(d, min(per_batch, draws - first), rng, first)
        frames.append(
            estimate_prevalence(sample, "all", by=["replicate"], min_sample_size=0, min_violating=0).select(
                "estimate", "effective_sample_size", "violating_sampled"
            )
        )
    table = pl.concat(frames)
    p, n_eff = table["estimate"].to_numpy(), table["effective_sample_size"].to_numpy()
    kg_lower, kg_upper = clopper_pearson(p, n_eff)
    w_lower, w_upper = wilson(p, n_eff)
    return table.with_columns(kg_lower=kg_lower, kg_upper=kg_upper, wilson_lower=w_lower, wilson_upper=w_upper)


def coverage(prevalence: float, sample_size: int, draws: int = 1000, seed: int = 0) -> dict[str, float]:
    """Share of ``draws`` intervals covering the truth, and the other columns of the table."""
    d = design(prevalence, sample_size, seed)
    table = intervals(d, draws, seed + 1)
    truth = d.truth

    def covers(lower, upper):
        return ((pl.col(lower) <= truth) & (truth <= pl.col(upper))).mean()

    row = table.select(
        korn_graubard=covers("kg_lower", "kg_upper"),
        wilson=covers("wilson_lower", "wilson_upper"),
        upper_holds=(pl.col("kg_upper") >= truth).mean(),
        relative_width=((pl.col("kg_upper") - pl.col("kg_lower")) / truth).mean(),
        no_violating=(pl.col("violating_sampled") == 0).mean(),
    ).row(0, named=True)
    return {"prevalence": prevalence, "sample_size": sample_size, "expected_violating": truth * sample_size, **row}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    cases = [(p, n) for p in PREVALENCES for n in SAMPLE_SIZES]
    rows = [coverage(p, n, args.draws, seed=10 * i) for i, (p, n) in enumerate(cases)]
    print(f"coverage of 95 % intervals over {args.draws:,} stratified samples per case ({STRATA} strata)\n")
    print(
        "| true prevalence | sample size | expected violating | Korn–Graubard | Wilson (n_eff) | upper ≥ truth "
        "| mean width / truth | draws with 0 violating |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['prevalence']:.2%} | {r['sample_size']:,} | {r['expected_violating']:.1f} "
            f"| {r['korn_graubard']:.3f} | {r['wilson']:.3f} | {r['upper_holds']:.3f} "
            f"| {r['relative_width']:.2f} | {r['no_violating']:.3f} |"
        )
    print(f"\n{time.perf_counter() - began:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The prevalence interval covers the true prevalence at close to its nominal 95 % rate.

Over 400 simulated stratified samples per case (unequal weights, prevalence differing between
strata, true value known exactly; see bench/prevalence_coverage.py, which prints the full
table). With 400 draws the Monte-Carlo standard error of a 95 % coverage is about 1.1
points; the band [0.92, 0.99] is three of them below nominal and above the conservative
Clopper–Pearson's usual 0.96–0.97, so it fails an interval that undercovers by 3 points or
more, or one so wide that it almost never misses. (One case, 0.5 % with 5,000 views, reads
0.930 over these 400 draws and 0.957 over 3,000 draws of the same design.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.prevalence_coverage import coverage, design, intervals

DRAWS = 400


@pytest.mark.parametrize(
    ("prevalence", "sample_size", "seed"), [(0.001, 10_000, 101), (0.005, 5_000, 102), (0.02, 2_000, 103)]
)
def test_coverage_is_close_to_nominal(prevalence, sample_size, seed):
    result = coverage(prevalence, sample_size, DRAWS, seed)
    assert 0.92 <= result["korn_graubard"] <= 0.99, result
    assert result["upper_holds"] >= 0.95, result


def test_upper_bounds_of_rare_harms_hold():
    result = coverage(0.0002, 10_000, DRAWS, seed=104)  # about 2 violating views expected
    assert result["no_violating"] > 0.05, "some samples find no violating view at all"
    assert result["upper_holds"] >= 0.975, result
    assert result["korn_graubard"] <= 1.0


def test_the_check_rejects_a_wald_interval():
    d = design(0.0002, 10_000, seed=104)
    table = intervals(d, DRAWS, seed=105)
    p, n = table["estimate"].to_numpy(), table["effective_sample_size"].to_numpy()
    half = stats.norm.ppf(0.975) * np.sqrt(p * (1 - p) / n)
    covered = ((p - half <= d.truth) & (d.truth <= p + half)).mean()
    assert covered < 0.92, "the Wald interval fails near zero, and the band notices"

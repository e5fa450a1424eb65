"""Behaviour of insights.trends.change_points, and its score on the TCPD benchmark."""

import json

import numpy as np
import polars as pl
import pytest

from insights.trends import change_points
from tests.conftest import SHARED

TCPD = SHARED / "benchmarks" / "tcpd"


def mean_shift(seed=0, n=300, at=150, shift=3.0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, at), rng.normal(shift, 1, n - at)]


@pytest.mark.parametrize("seed", range(5))
def test_mean_shift_is_found_within_tolerance(seed):
    cps = change_points(mean_shift(seed))
    assert len(cps) == 1 and abs(cps[0] - 150) <= 5


def test_several_mean_shifts():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(level, 1, 100) for level in (0, 3, 0, 3)])
    cps = change_points(x)
    assert len(cps) == 3
    assert np.all(np.abs(np.array(cps) - [100, 200, 300]) <= 5)


def test_variance_shift_is_found():
    # The noise level changes at 300 (sd 1 -> 4, and back in the other direction).
    errors = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for sds in ((1, 4), (4, 1)):
            cps = change_points(np.r_[rng.normal(0, sds[0], 300), rng.normal(0, sds[1], 300)])
            assert 1 <= len(cps) <= 2
            errors.append(min(abs(c - 300) for c in cps))
    assert np.median(errors) <= 10
    assert np.mean(np.array(errors) <= 30) >= 0.8


def test_slope_change_is_found():
    rng = np.random.default_rng(1)
    t = np.arange(200.0)
    x = np.where(t < 100, 0.05 * t, 5 - 0.1 * (t - 100)) + rng.normal(0, 0.5, 200)
    cps = change_points(x)
    assert len(cps) == 1 and abs(cps[0] - 100) <= 5


def test_noise_and_trend_alone_give_no_change_points():
    # BIC keeps false alarms rare (about 0.2% of such series of length 300), not impossible.
    false_alarms = {"noise": 0, "trend + noise": 0}
    for seed in range(50):
        rng = np.random.default_rng(seed)
        false_alarms["noise"] += change_points(rng.normal(size=300)) != []
        trend = 10 + 0.02 * np.arange(300)
        false_alarms["trend + noise"] += change_points(trend + rng.normal(size=300)) != []
    assert false_alarms["noise"] <= 1 and false_alarms["trend + noise"] <= 1, false_alarms


def test_constant_short_and_empty_series():
    assert change_points([5.0] * 50) == []
    assert change_points(np.arange(50.0)) == []  # a perfect line has no noise and no change
    assert change_points([1.0, 2.0, 10.0]) == []
    assert change_points([]) == []
    assert change_points([None, None, None]) == []


def test_index_convention():
    # values[120] is the first observation of the new level.
    x = np.r_[np.zeros(120), np.full(80, 10.0)] + np.random.default_rng(0).normal(0, 0.1, 200)
    assert change_points(x) == [120]
    cps = change_points(mean_shift(0))
    assert all(0 < c < 300 for c in cps) and cps == sorted(cps)


def test_missing_values_keep_positions():
    x = mean_shift(2)
    expected = change_points(x)
    gappy = x.copy()
    gappy[[0, 40, 41, 42, 151, 220, 299]] = np.nan
    assert change_points(gappy) == pytest.approx(expected, abs=2)
    as_list = [None if np.isnan(v) else float(v) for v in gappy]
    assert change_points(as_list) == change_points(gappy)
    assert change_points(pl.Series(as_list, dtype=pl.Float64)) == change_points(gappy)


def test_accepts_polars_and_lists_and_options():
    x = mean_shift(4)
    assert change_points(pl.Series(x)) == change_points(list(x)) == change_points(x)
    assert len(change_points(x, penalty=1e6)) == 0
    with pytest.raises(ValueError):
        change_points(x, min_size=1)
    with pytest.raises(ValueError):
        change_points(np.zeros((10, 2)))


@pytest.fixture(scope="module")
def scoring():
    if not (TCPD / "annotations.json").exists():
        pytest.skip(f"TCPD benchmark folder not found at {TCPD}")
    from bench import tcpd_scoring

    return tcpd_scoring


def test_scorer_reproduces_published_zero_baseline(scoring):
    # Predicting no change points only needs the series length, so all 32 paper series are scored.
    f1 = json.loads((TCPD / "published/default_f1_scores.json").read_text())
    cover = json.loads((TCPD / "published/default_cover_scores.json").read_text())
    for s in scoring.load_tcpd(TCPD):
        if s.in_paper_aggregate:
            ours_f1 = scoring.f_measure(s.annotations, [], s.n_obs)
            ours_cover = scoring.covering(s.annotations, [], s.n_obs)
            assert ours_f1 == pytest.approx(f1[s.name]["zero"], abs=1e-9), s.name
            assert ours_cover == pytest.approx(cover[s.name]["zero"], abs=1e-9), s.name


def test_scorer_on_a_small_example(scoring):
    annotations = {"1": [10], "2": [12], "3": []}
    # Prediction 11 matches both annotators' points within the margin; 0 counts in every set.
    assert scoring.f_measure(annotations, [11], 30) == pytest.approx(1.0)
    # Annotator 3 has one segment [0, 30): best overlap with [0, 11) or [11, 30) is 19/30.
    per_annotator = [
        10 / 30 * 10 / 11 + 20 / 30 * 19 / 20,
        12 / 30 * 11 / 12 + 18 / 30 * 18 / 19,
        19 / 30,
    ]
    expected = sum(per_annotator) / 3
    assert scoring.covering(annotations, [11], 30) == pytest.approx(expected)


def test_tcpd_benchmark_beats_published_defaults(scoring):
    series = scoring.paper_series(TCPD)
    assert len(series) == 25
    f1, cover = [], []
    for s in series:
        cps = change_points(s.values)
        f1.append(scoring.f_measure(s.annotations, cps, s.n_obs))
        cover.append(scoring.covering(s.annotations, cps, s.n_obs))
    assert np.mean(f1) >= 0.75
    assert np.mean(cover) >= 0.70

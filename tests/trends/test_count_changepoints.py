"""Change points of count series (insights.trends.changepoints.count_change_points) and of the
daily trend built on them: level shifts are found, one-day spikes come back as anomalies."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.daily_series import generate
from bench.tcpd_scoring import covering, f_measure
from insights.cube import Cube, Provenance
from insights.trends import change_points, trend
from insights.trends.changepoints import count_change_points

MONDAY = dt.date(2025, 1, 6)


def weekdays(n: int, start: dt.date = MONDAY) -> np.ndarray:
    return np.array([(start + dt.timedelta(days=i)).isoweekday() for i in range(n)])


def daily_cube(counts: np.ndarray, start: dt.date = MONDAY) -> Cube:
    dates = [start + dt.timedelta(days=i) for i in range(len(counts))]
    frame = pl.DataFrame({"date": dates, "harm_area": "spam", "actions": counts.astype(np.int64)})
    frame = frame.with_columns(pl.col("harm_area").cast(pl.Categorical))
    return Cube(frame, Provenance(source="synthetic", kind="table", rows_read=len(frame), as_of=max(dates)))


def test_a_shift_is_found_at_its_first_day():
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.r_[np.full(120, 400.0), np.full(80, 560.0)])
    assert count_change_points(counts) == [120]


def test_one_day_spikes_are_not_change_points():
    rng = np.random.default_rng(1)
    profile = np.array([1.0, 1.1, 1.05, 1.0, 0.95, 0.7, 0.6])[weekdays(365) - 1]
    for level in (8.0, 300.0, 20_000.0):
        mean = level * profile
        mean[[40, 41, 150, 151, 152, 300]] *= 3  # spikes of one to three days
        assert count_change_points(rng.poisson(mean), seasons=weekdays(365)) == [], level


def test_noise_alone_rarely_gives_change_points():
    # BIC keeps false alarms rare (about 0.5% of such series), not impossible.
    false_alarms = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        level = np.exp(rng.uniform(np.log(3), np.log(30_000)))
        profile = 1 + 0.3 * np.sin(2 * np.pi * np.arange(7) / 7 + seed)
        counts = rng.poisson(level * profile[weekdays(365) - 1] * 1.2 ** (np.arange(365) / 365))
        false_alarms += count_change_points(counts, seasons=weekdays(365)) != []
    assert false_alarms <= 2, false_alarms


def test_slow_waves_at_high_volume_are_trends_not_changes():
    # ±8% over a year on 30,000 a day: many Poisson s.d., so the generic model splits it.
    rng = np.random.default_rng(2)
    t = np.arange(730)
    counts = rng.poisson(30_000 * np.exp(0.3 * t / 365 + 0.08 * np.sin(2 * np.pi * t / 365)))
    assert count_change_points(counts) == []
    assert len(change_points(counts)) > 0, "the generic model is the one that needs the count model"


def test_weekly_seasonality_is_taken_out_by_label():
    rng = np.random.default_rng(3)
    profile = np.array([1.35, 1.2, 1.0, 1.0, 0.9, 0.65, 0.9])
    mean = 2_000 * profile[weekdays(364) - 1] * np.where(np.arange(364) >= 200, 0.75, 1.0)
    counts = rng.poisson(mean)
    assert count_change_points(counts, seasons=weekdays(364)) == [200]
    # The labels are only labels: any values that repeat with the weekday do.
    names = np.array(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])[weekdays(364) - 1]
    assert count_change_points(counts, seasons=pl.Series(names)) == [200]


def test_missing_counts_keep_positions_and_inputs_are_checked():
    rng = np.random.default_rng(5)
    counts = rng.poisson(np.r_[np.full(100, 50.0), np.full(100, 90.0)]).astype(float)
    expected = count_change_points(counts)
    assert 100 in expected
    counts[[5, 60, 61, 170]] = np.nan
    assert count_change_points(counts) == pytest.approx(expected, abs=2)
    assert count_change_points([None if np.isnan(c) else c for c in counts]) == count_change_points(counts)
    assert count_change_points([]) == [] and count_change_points([3, 4, 5]) == []
    assert count_change_points(np.zeros(100)) == []
    assert count_change_points(counts, penalty=1e9) == []
    with pytest.raises(ValueError):
        count_change_points([-1] * 30)
    with pytest.raises(ValueError):
        count_change_points(counts, min_size=2)
    with pytest.raises(ValueError):
        count_change_points(counts, seasons=[1, 2, 3])


def test_generated_daily_series_reach_the_issue_targets():
    # bench/daily_changepoints.py scores 300 series; 60 of them keep this test quick.
    f1, cover = [], []
    for seed in range(60):
        series = generate(seed)
        n = len(series.counts)
        cps = count_change_points(series.counts, seasons=weekdays(n, series.start))
        truth = {"truth": series.change_points}
        f1.append(f_measure(truth, cps, n))
        cover.append(covering(truth, cps, n))
    assert np.mean(f1) >= 0.90 and np.mean(cover) >= 0.88, (np.mean(f1), np.mean(cover))


@st.composite
def daily_story(draw):
    """A daily count series with one clear level shift and a few one-day spikes away from it."""
    n = draw(st.integers(200, 420))
    level = draw(st.floats(np.log(50), np.log(20_000)).map(np.exp))
    amplitude = draw(st.floats(0.10, 0.35))
    shape = np.array(draw(st.lists(st.floats(-1, 1), min_size=7, max_size=7)))
    shape = shape - shape.mean()
    weekly = 1 + amplitude * shape / max(np.abs(shape).max(), 1e-9)
    growth = draw(st.floats(-0.4, 0.4))
    factor = draw(st.one_of(st.floats(0.45, 0.7), st.floats(1.4, 1.9)))
    shift = draw(st.integers(60, n - 60))
    allowed = [i for i in range(28, n - 1) if i - shift >= 21 or shift - i >= 7]
    spikes = sorted(draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=3, unique=True)))
    spike_factors = draw(st.lists(st.floats(2.5, 4.0), min_size=len(spikes), max_size=len(spikes)))
    seed = draw(st.integers(0, 2**32 - 1))
    t = np.arange(n)
    mean = level * weekly[weekdays(n) - 1] * (1 + growth) ** (t / 365) * np.where(t >= shift, factor, 1.0)
    mean[spikes] *= spike_factors
    return np.random.default_rng(seed).poisson(mean), shift, spikes


@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(daily_story())
def test_daily_trend_reports_spikes_as_anomalies_and_the_shift_as_a_change_point(story):
    counts, shift, spikes = story
    result = trend(daily_cube(counts), "actions", grain="day")
    found = [(cp - MONDAY).days for cp in result.change_points]
    assert any(abs(cp - shift) <= 5 for cp in found), (found, shift)
    assert not any(abs(cp - s) <= 1 for cp in found for s in spikes), (found, spikes)
    high = {(d - MONDAY).days for d in result.anomalies.filter(pl.col("score") > 0)["period"]}
    assert set(spikes) <= high, (sorted(high), spikes)

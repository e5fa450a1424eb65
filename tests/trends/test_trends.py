"""insights.trends: series, significance tests, bands and anomalies, deltas and events.

Known answers are computed independently (by hand, with math.comb, or by simulation); the
stories injected into the sample data (sample_data/stories.json) must be recovered.
"""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from insights.cube import Cube, Provenance
from insights.periods import Period, grain_of
from insights.significance import Noise
from insights.trends import (
    compare,
    events_near,
    match_events,
    measure_change,
    period_changes,
    read_events,
    rolling,
    trend,
    trend_series,
)
from insights.trends.anomalies import trailing_baseline, weekday_profile
from tests.conftest import ROOT

EVENTS = read_events(ROOT / "sample_data" / "events.csv")
DAY = dt.timedelta(days=1)


def synthetic_cube(frame: pl.DataFrame) -> Cube:
    """A cube from a pre-aggregated frame (date, dimensions, measures)."""
    data = frame.with_columns(pl.col(pl.String).cast(pl.Categorical))
    return Cube(data, Provenance(source="synthetic", kind="table", rows_read=len(data), as_of=data["date"].max()))


def seasonal_counts(
    days: int = 364, seed: int = 0, level: float = 200.0
) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """Poisson daily counts with a weekly profile (weekends +15%) and 10%/year growth."""
    rng = np.random.default_rng(seed)
    dates = [dt.date(2025, 1, 6) + i * DAY for i in range(days)]  # starts on a Monday
    weekday = np.array([1.15 if d.weekday() >= 5 else 0.94 for d in dates])
    mean = level * weekday * (1.10 ** (np.arange(days) / 365))
    return dates, mean, rng.poisson(mean)


# ---- series -----------------------------------------------------------------------------------


def test_series_has_every_period_with_coverage_and_zero_for_empty_slices():
    frame = pl.DataFrame(
        {
            "date": [dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 9), dt.date(2025, 1, 20)],
            "harm_area": ["spam", "spam", "self_harm", "spam"],
            "actions": [3, 4, 5, 6],
            "proactive_actions": [1, 2, 5, 3],
        }
    )
    cube = synthetic_cube(frame)
    series = trend_series(cube, "actions", "week", filters={"harm_area": "spam"})
    # weeks start on Monday: 2024-12-30 (data from Jan 1: 5 days), 01-06, 01-13, 01-20 (1 day: Jan 20)
    assert series["period"].to_list() == [dt.date(2024, 12, 30), dt.date(2025, 1, 6), dt.date(2025, 1, 20)]
    assert series["actions"].to_list() == [7.0, 0.0, 6.0], "the week of Jan 6 has data, none for spam: 0"
    assert series["days"].to_list() == [5, 7, 1]
    assert series["complete"].to_list() == [False, True, False]
    assert series["period_end"].to_list() == [dt.date(2025, 1, 5), dt.date(2025, 1, 12), dt.date(2025, 1, 26)]
    rates = trend_series(cube, "proactive_rate", "month")
    assert rates.select("numerator", "denominator", "proactive_rate").row(0) == (11, 18, pytest.approx(11 / 18))


def test_rolling_averages_counts_and_takes_ratios_of_sums():
    series = pl.DataFrame({"numerator": [1, 3, 5, 9], "denominator": [10, 10, 20, 40]})
    counts = rolling(series, "actions", 2)["rolling"].to_list()
    assert counts == [None, 2.0, 4.0, 7.0]
    rates = rolling(series, "proactive_rate", 3)["rolling"].to_list()
    assert rates[2:] == [pytest.approx(9 / 40), pytest.approx(17 / 70)], "not the mean of the three rates"


# ---- significance tests -----------------------------------------------------------------------


def binomial_two_sided(k: int, n: int, p: float) -> float:
    """Twice the smaller exact binomial tail, from math.comb."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, 2 * min(sum(pmf[: k + 1]), sum(pmf[k:])))


@pytest.mark.parametrize(("x1", "e1", "x0", "e0"), [(10, 7, 25, 7), (3, 7, 0, 7), (40, 31, 30, 28), (0, 7, 0, 7)])
def test_count_test_is_the_exact_conditional_binomial(x1, e1, x0, e0):
    got = Noise("count").p_values([x1], [e1], [x0], [e0])[0]
    want = binomial_two_sided(x1, x1 + x0, e1 / (e1 + e0)) if x1 + x0 else 1.0
    assert got == pytest.approx(want, rel=1e-9)


def test_a_handful_of_events_is_not_a_change():
    # 2 → 6 actions is +200%, but nothing a low-volume harm area would not do by chance
    assert Noise("count").p_values([6], [7], [2], [7])[0] > 0.05
    assert Noise("count").p_values([600], [7], [200], [7])[0] < 1e-10


def test_proportion_test_is_the_pooled_two_proportion_z_test():
    x1, n1, x0, n0 = 180, 400, 150, 420
    pooled = (x1 + x0) / (n1 + n0)
    z = (x1 / n1 - x0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    want = math.erfc(abs(z) / math.sqrt(2))
    assert Noise("proportion").p_values([x1], [n1], [x0], [n0])[0] == pytest.approx(want, rel=1e-9)
    # the design effect 1 + (n - 1)ρ with ρ = (φ - 1) / (n_ref - 1) widens it
    inflated = Noise("proportion", dispersion=3.0, reference=401.0).p_values([x1], [n1], [x0], [n0])[0]
    rho = 2.0 / 400
    z_bb = (x1 / n1 - x0 / n0) / math.sqrt(
        pooled * (1 - pooled) * ((1 + (n1 - 1) * rho) / n1 + (1 + (n0 - 1) * rho) / n0)
    )
    assert inflated == pytest.approx(math.erfc(abs(z_bb) / math.sqrt(2)), rel=1e-9)


def test_tests_hold_their_level_under_no_change():
    rng = np.random.default_rng(7)
    size = 4000
    # pure Poisson counts, equal rates
    x1, x0 = rng.poisson(30, size), rng.poisson(30, size)
    assert np.mean(Noise("count").p_values(x1, np.full(size, 7), x0, np.full(size, 7)) < 0.05) <= 0.05
    # overdispersed counts (gamma-Poisson with φ = 4 at 100 a day): Poisson is fooled, the model is not
    daily, phi = 100.0, 4.0
    shape = daily / (phi - 1)  # per day
    draw = lambda: rng.poisson(rng.gamma(shape * 7, daily / shape, size))  # noqa: E731
    x1, x0 = draw(), draw()
    assert np.mean(Noise("count").p_values(x1, np.full(size, 7), x0, np.full(size, 7)) < 0.05) > 0.3
    calibrated = np.mean(Noise("count", phi, daily).p_values(x1, np.full(size, 7), x0, np.full(size, 7)) < 0.05)
    assert 0.03 < calibrated < 0.07
    # binomial proportions, equal shares
    n = rng.integers(50, 500, size)
    y1, y0 = rng.binomial(n, 0.3), rng.binomial(n, 0.3)
    assert 0.03 < np.mean(Noise("proportion").p_values(y1, n, y0, n) < 0.05) < 0.07


def test_large_beta_binomial_counts_use_a_matching_normal_tail():
    exact = Noise("count", 2.0, 3000.0)
    x1, x0 = np.array([10_400, 10_600]), np.array([10_000, 10_000])  # totals just above 20,000
    shape = 3000.0 / 1.0
    dist = stats.betabinom(x1 + x0, shape * 7, shape * 7)
    want = 2 * np.minimum(dist.cdf(x1), dist.sf(x1 - 1))
    got = exact.p_values(x1, [7, 7], x0, [7, 7])
    assert got == pytest.approx(want, rel=0.05, abs=1e-4)


def test_band_quantiles_cover_what_they_say():
    rng = np.random.default_rng(3)
    expected = np.full(20_000, 40.0)
    phi = 3.0
    draws = rng.poisson(rng.gamma(40.0 / (phi - 1), phi - 1, 20_000))
    lower, upper = Noise("count", phi).interval(expected, np.ones(20_000), 0.99)
    assert np.mean((draws < lower) | (draws > upper)) < 0.01
    assert lower[0] < 40 < upper[0] and upper[0] - 40 > 40 - lower[0], "skewed like a count"
    n = np.full(20_000, 300.0)
    shares = rng.binomial(300, 0.2, 20_000) / 300
    lo, hi = Noise("proportion").interval(np.full(20_000, 0.2), n, 0.95)
    assert 0.93 < np.mean((shares >= lo) & (shares <= hi)) < 0.98


# ---- baseline, bands and anomalies --------------------------------------------------------------


def test_weekday_profile_and_baseline_recover_a_seasonal_trend():
    dates, mean, counts = seasonal_counts()
    weekdays = np.array([d.isoweekday() for d in dates])
    profile = weekday_profile(counts.astype(float), weekdays)
    assert profile[weekdays == 6][0] / profile[weekdays == 2][0] == pytest.approx(1.15 / 0.94, rel=0.03)
    baseline = trailing_baseline(counts / profile, 28, 364, sparse_counts=True) * profile
    known = np.isfinite(baseline)
    assert known[14:].all() and not known[:13].any()
    assert np.median(np.abs(baseline[known] / mean[known] - 1)) < 0.03


def test_sparse_counts_use_the_mean_not_a_median_stuck_at_zero():
    counts = np.tile([0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0], 8)
    baseline = trailing_baseline(counts, 28, 364, sparse_counts=True)
    assert baseline[-1] == pytest.approx(3 / 7)
    assert trailing_baseline(counts, 28, 364, sparse_counts=False)[-1] == 0.0


def test_spike_is_flagged_and_shift_is_a_change_point_on_synthetic_data():
    dates, mean, _ = seasonal_counts(seed=1)
    truth = mean * np.where(np.arange(len(mean)) >= 280, 1.6, 1.0)  # a level shift
    truth[200:205] *= 1.5  # a five-day spike
    counts = np.random.default_rng(11).poisson(truth)
    cube = synthetic_cube(pl.DataFrame({"date": dates, "harm_area": "spam", "actions": counts}))
    result = trend(cube, "actions", "day")
    flagged = set(result.anomalies["period"].to_list())
    assert set(dates[200:205]) <= flagged
    quiet = [d for i, d in enumerate(dates) if i < 200 or 215 <= i < 280]
    assert len(flagged & set(quiet)) <= 0.02 * len(quiet), "a 99% band flags about 1% of quiet days"
    assert any(abs((cp - dates[280]).days) <= 2 for cp in result.change_points)
    assert set(dates[280:290]) <= flagged, "a shift is news while it is new…"
    outside = (counts < stats.poisson.ppf(0.005, truth)) | (counts > stats.poisson.ppf(0.995, truth))
    learnt = [d for d in flagged if d >= dates[280 + 16]]
    assert len(learnt) <= outside[280 + 16 :].sum() + 1, "…then learnt within half a window: as if the mean were known"
    assert result.noise.dispersion == pytest.approx(1.0, abs=0.35), "Poisson data: φ near 1"
    series = result.series
    assert (series["lower"] <= series["expected"]).drop_nulls().all()
    assert (series["expected"] <= series["upper"]).drop_nulls().all()


def test_months_of_different_lengths_are_not_anomalies():
    dates, _, counts = seasonal_counts(days=728, seed=2)
    cube = synthetic_cube(pl.DataFrame({"date": dates, "harm_area": "spam", "actions": counts}))
    result = trend(cube, "actions", "month")
    assert result.anomalies.is_empty()
    assert result.series.filter(~pl.col("complete"))["expected"].is_null().all()


# ---- the stories of the sample data -------------------------------------------------------------


VE = {"harm_area": "violent_extremism", "country": ["FR", "BE", "NL"]}


def test_violent_extremism_level_shift_is_a_change_point_and_a_significant_delta(sample_cube):
    result = trend(sample_cube, "actions", "week", filters=VE)
    assert dt.date(2025, 10, 6) in result.change_points
    moments = match_events(result.moments(), EVENTS, filters=VE)
    at_shift = moments.filter(pl.col("kind") == "change point")
    assert at_shift["title"].to_list() == ["Attack in Western Europe"]
    assert at_shift["days_apart"].to_list() == [0]
    month_after = Period(dt.date(2025, 10, 6), dt.date(2025, 11, 2))
    month_before = Period(dt.date(2025, 9, 8), dt.date(2025, 10, 5))
    change = measure_change(sample_cube, "actions", current=month_after, baseline=month_before, filters=VE)
    assert change.significant and change.pct_change == pytest.approx(0.8, abs=0.3)
    rest = measure_change(
        sample_cube,
        "actions",
        current=month_after,
        baseline=month_before,
        filters={"harm_area": "violent_extremism", "country": ["DE", "IT", "ES"]},
    )
    assert not rest.significant


@pytest.mark.parametrize("grain", ["day", "week"])
def test_self_harm_spike_is_anomalous_and_matched_to_its_event(sample_cube, grain):
    filters = {"harm_area": "self_harm"}
    result = trend(sample_cube, "actions", grain, filters=filters)
    spike = result.anomalies.filter(pl.col("period").is_between(dt.date(2026, 6, 15), dt.date(2026, 6, 28)))
    assert len(spike) >= (2 if grain == "week" else 5)
    assert (spike["score"] > 0).all()
    matched = match_events(result.moments(), EVENTS, filters=filters).filter(pl.col("kind") == "spike")
    assert "Viral self-harm challenge on live streams" in matched["title"].to_list()
    assert matched.filter(pl.col("title").str.starts_with("Viral"))["event_date"].unique().to_list() == [
        dt.date(2026, 6, 15)
    ]


def test_hate_classifier_launch_lifts_the_proactive_rate(sample_cube):
    filters = {"harm_area": "hateful_behavior"}
    result = trend(sample_cube, "proactive_rate", "week", filters=filters)
    assert any(abs((cp - dt.date(2026, 3, 2)).days) <= 7 for cp in result.change_points)
    change = measure_change(
        sample_cube,
        "proactive_rate",
        current=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 29)),
        baseline=Period(dt.date(2026, 2, 2), dt.date(2026, 3, 1)),
        filters=filters,
    )
    assert change.significant and change.change == pytest.approx(0.13, abs=0.03)
    assert change.change_text().endswith(" pp")


def test_harassment_overturn_regression_is_anomalous(sample_cube):
    filters = {"policy": "targeted_harassment", "language": "en"}
    result = trend(sample_cube, "overturn_rate", "week", filters=filters)
    window = result.anomalies.filter(pl.col("period").is_between(dt.date(2026, 8, 3), dt.date(2026, 8, 23)))
    assert len(window) == 3 and (window["score"] > 0).all()
    titles = match_events(result.moments(), EVENTS, filters=filters)["title"].to_list()
    assert "Harassment model v7 rolled out" in titles


def test_christmas_is_an_event_near_the_last_december_week(sample_cube):
    near = events_near(EVENTS, [(dt.date(2024, 12, 23), dt.date(2024, 12, 29))], filters={"harm_area": "spam"})
    assert near.select("date", "title").rows() == [(dt.date(2024, 12, 25), "Christmas and end-of-year holidays")]
    scoped = events_near(EVENTS, [(dt.date(2025, 10, 1), dt.date(2025, 10, 12))], filters={"harm_area": "spam"})
    assert scoped.is_empty(), "an attack tagged violent extremism is not an event of spam"


def test_quiet_series_raise_few_alarms(sample_cube):
    for filters in ({"harm_area": "spam"}, {"harm_area": "adult_content"}, {"region": "Oceania"}):
        result = trend(sample_cube, "actions", "week", filters=filters)
        scored = result.series["score"].is_not_null().sum()
        assert len(result.anomalies) <= max(2, 0.04 * scored), filters


# ---- deltas ----------------------------------------------------------------------------------------


def test_period_deltas_cover_week_month_quarter_against_previous_and_year_ago(sample_cube):
    deltas = period_changes(sample_cube, "actions", {"harm_area": "self_harm"})
    periods = [(d.current.start, d.baseline.start) for d in deltas]
    assert periods == [
        (dt.date(2026, 11, 16), dt.date(2026, 11, 9)),
        (dt.date(2026, 11, 16), dt.date(2025, 11, 16)),
        (dt.date(2026, 10, 1), dt.date(2026, 9, 1)),
        (dt.date(2026, 10, 1), dt.date(2025, 10, 1)),
        (dt.date(2026, 7, 1), dt.date(2026, 4, 1)),
        (dt.date(2026, 7, 1), dt.date(2025, 7, 1)),
    ]
    for d in deltas:
        want = sample_cube.query(
            "actions", filters={"harm_area": "self_harm"}, start=d.current.start, end=d.current.end
        )
        assert d.value == want["actions"].item()
    assert deltas[3].significant and deltas[3].pct_change > 0.1, "a year of 20% growth is a change"


def test_compare_fills_missing_segments_with_zero_and_keeps_sums(sample_cube):
    current, baseline = (
        Period(dt.date(2026, 6, 15), dt.date(2026, 6, 28)),
        Period(dt.date(2026, 6, 1), dt.date(2026, 6, 14)),
    )
    table = compare(
        sample_cube,
        "actions",
        current=current,
        baseline=baseline,
        by=["content_type"],
        filters={"harm_area": "self_harm"},
    )
    live = table.filter(pl.col("content_type") == "live").row(0, named=True)
    assert live["significant"] and live["change"] == live["numerator"] - live["baseline_numerator"]
    assert table["change"].sum() == pytest.approx(
        measure_change(
            sample_cube, "actions", current=current, baseline=baseline, filters={"harm_area": "self_harm"}
        ).change
    )


def test_grain_of_a_period():
    assert grain_of(Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))) == "month"
    assert grain_of(Period(dt.date(2026, 1, 5), dt.date(2026, 1, 11))) == "week"
    assert grain_of(Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))) == "quarter"

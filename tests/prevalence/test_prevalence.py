"""insights.prevalence: the weighted estimator, its interval and the reporting rules, on known answers.

Known answers are computed independently here: by hand, by a per-view numpy implementation
of the stratified domain variance, and by scipy's exact binomial interval.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from insights.errors import DataError
from insights.prevalence import (
    ESTIMATE,
    UPPER_BOUND,
    WITHHELD,
    estimate_prevalence,
    harm_areas_of,
    reported_text,
)

MONDAY = dt.date(2026, 1, 5)


def views(n: int, violating: int, weight: float = 1000.0, **columns: object) -> pl.DataFrame:
    """``n`` sampled views of equal weight, the first ``violating`` of them violating self-harm."""
    return pl.DataFrame(
        {
            "date": [MONDAY] * n,
            "weight": [weight] * n,
            "violating_self_harm": [i < violating for i in range(n)],
            **{k: [v] * n for k, v in columns.items()},
        }
    )


def stratified(seed: int = 0, strata: int = 6) -> pl.DataFrame:
    """A stratified sample over two weeks and three countries with unequal weights and labels."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(300, 900, strata)
    stratum = np.repeat(np.arange(strata), sizes)
    n = len(stratum)
    return pl.DataFrame(
        {
            "date": [MONDAY + dt.timedelta(days=int(d)) for d in rng.integers(0, 14, n)],
            "country": rng.choice(["BR", "PT", "US"], n),
            "stratum": [f"s{s}" for s in stratum],
            "weight": (rng.uniform(1e3, 5e4, strata) / sizes)[stratum] * 1e3,
            "violating_self_harm": rng.random(n) < rng.uniform(0.002, 0.05, strata)[stratum],
            "violating_spam": rng.random(n) < 0.01,
        }
    )


def domain_variance(frame: pl.DataFrame, in_domain: np.ndarray, label: str) -> tuple[float, float]:
    """Ratio estimate and its stratified linearisation variance, one view at a time (numpy)."""
    w = frame["weight"].to_numpy()
    y = frame[label].to_numpy().astype(float)
    d = in_domain.astype(float)
    p = (d * w * y).sum() / (d * w).sum()
    u = d * w * (y - p) / (d * w).sum()
    strata = frame["stratum"].to_numpy()
    variance = 0.0
    for s in np.unique(strata):
        us = u[strata == s]
        variance += len(us) / (len(us) - 1) * ((us - us.mean()) ** 2).sum()
    return p, variance


def test_estimate_is_the_weighted_share_of_violating_views():
    sample = pl.DataFrame(
        {
            "date": [MONDAY] * 4,
            "stratum": ["a", "a", "b", "b"],
            "weight": [100.0, 100.0, 300.0, 300.0],
            "violating_self_harm": [True, False, False, True],
            "violating_spam": [False, False, True, False],
        }
    )
    result = estimate_prevalence(sample, "week", min_sample_size=1, min_violating=0)
    assert result["harm_area"].to_list() == ["self_harm", "spam"]
    self_harm, spam = result.rows(named=True)
    assert self_harm["estimate"] == pytest.approx((100 + 300) / 800)
    assert spam["estimate"] == pytest.approx(300 / 800)
    assert self_harm["sample_size"] == 4 and self_harm["violating_sampled"] == 2
    assert self_harm["views_represented"] == pytest.approx(800)
    assert self_harm["period"] == MONDAY and self_harm["status"] == ESTIMATE


def test_simple_random_sample_matches_the_exact_binomial_interval():
    result = estimate_prevalence(views(10_000, 25), "week", min_violating=0).row(0, named=True)
    exact = stats.binomtest(25, 10_000).proportion_ci(confidence_level=0.95, method="exact")
    assert result["estimate"] == pytest.approx(25 / 10_000)
    assert result["lower"] == pytest.approx(exact.low, rel=2e-3)
    assert result["upper"] == pytest.approx(exact.high, rel=2e-3)
    assert result["effective_sample_size"] == pytest.approx(9_999), "SRS: p(1-p)/v = n - 1"
    assert result["reported"] == "0.25 % (0.16–0.37 %)"


def test_variance_of_a_slice_counts_the_rest_of_each_stratum():
    sample = stratified()
    in_domain = (sample["country"] == "BR").to_numpy()
    p, variance = domain_variance(sample, in_domain, "violating_self_harm")
    result = estimate_prevalence(sample, "all", filters={"country": "BR"}, min_sample_size=0, min_violating=0)
    row = result.filter(pl.col("harm_area") == "self_harm").row(0, named=True)
    assert row["estimate"] == pytest.approx(p)
    n, strata = int(in_domain.sum()), sample.filter(pl.col("country") == "BR")["stratum"].n_unique()
    t = stats.t.ppf(0.975, n - 1) / stats.t.ppf(0.975, n - strata)
    assert row["effective_sample_size"] == pytest.approx(min(p * (1 - p) / variance, n) * t**2)
    lower = stats.beta.ppf(0.025, p * row["effective_sample_size"], (1 - p) * row["effective_sample_size"] + 1)
    assert row["lower"] == pytest.approx(lower)
    whole = domain_variance(sample, np.ones(len(sample), dtype=bool), "violating_self_harm")[1]
    pre_filtered = estimate_prevalence(sample.filter(pl.col("country") == "BR"), "all", min_sample_size=0)
    assert pre_filtered["effective_sample_size"][0] != pytest.approx(row["effective_sample_size"]), (
        "filtering first loses the strata's other views: the slice must be asked for with filters"
    )
    assert whole > 0


def test_weights_that_differ_shrink_the_effective_sample_size():
    sample = stratified(seed=3)
    result = estimate_prevalence(sample, "all", min_sample_size=0, min_violating=0)
    assert (result["effective_sample_size"] < result["sample_size"]).all()


def test_no_violating_view_reports_an_upper_bound_from_kish_effective_size():
    result = estimate_prevalence(views(5_000, 0), "week").row(0, named=True)
    assert result["status"] == UPPER_BOUND and result["estimate"] is None
    assert result["lower"] == 0.0
    assert result["upper"] == pytest.approx(1 - 0.025 ** (1 / 5_000))
    assert result["reported"] == "≤ 0.074 %"
    unequal = pl.concat([views(2_500, 0, weight=100.0), views(2_500, 0, weight=900.0)])
    kish = (2_500 * 100 + 2_500 * 900) ** 2 / (2_500 * 100**2 + 2_500 * 900**2)
    row = estimate_prevalence(unequal, "week").row(0, named=True)
    assert row["effective_sample_size"] == pytest.approx(kish)
    assert row["upper"] == pytest.approx(1 - 0.025 ** (1 / kish))


def test_a_handful_of_violating_views_reports_only_the_upper_bound():
    result = estimate_prevalence(views(5_000, 3), "week").row(0, named=True)
    assert result["status"] == UPPER_BOUND and result["estimate"] is None
    assert result["upper"] == pytest.approx(stats.beta.ppf(0.975, 3 * 4999 / 5000 + 1, 4999 * (1 - 3 / 5000)))
    assert result["reported"].startswith("≤ ")
    enough = estimate_prevalence(views(5_000, 3), "week", min_violating=3).row(0, named=True)
    assert enough["status"] == ESTIMATE and enough["estimate"] == pytest.approx(3 / 5000)


def test_small_samples_are_withheld_not_zero():
    result = estimate_prevalence(views(300, 0), "week").row(0, named=True)
    assert result["status"] == WITHHELD
    assert result["estimate"] is None and result["lower"] is None and result["upper"] is None
    assert result["reported"] == "withheld: n < 500"
    assert result["sample_size"] == 300
    assert estimate_prevalence(views(300, 0), "week", min_sample_size=200)["status"][0] == UPPER_BOUND


def test_grains_filters_and_splits():
    sample = stratified(seed=1)
    weeks = estimate_prevalence(sample, "week", min_sample_size=0)
    assert weeks["period"].unique().sort().to_list() == [MONDAY, MONDAY + dt.timedelta(days=7)]
    month = estimate_prevalence(sample, "month", min_sample_size=0)
    assert month["period"].unique().to_list() == [dt.date(2026, 1, 1)]
    quarter = estimate_prevalence(sample, "quarter", min_sample_size=0)
    assert quarter["period"].unique().to_list() == [dt.date(2026, 1, 1)]
    first_week = estimate_prevalence(sample, "all", end=MONDAY + dt.timedelta(days=6), min_sample_size=0)
    assert first_week["sample_size"][0] == (sample["date"] <= MONDAY + dt.timedelta(days=6)).sum()
    by_country = estimate_prevalence(sample, "all", by=["country"], harm_areas=["spam"], min_sample_size=0)
    assert by_country["country"].to_list() == ["BR", "PT", "US"]
    assert by_country["harm_area"].unique().to_list() == ["spam"]
    americas = estimate_prevalence(sample, "all", filters={"region": "Americas"}, min_sample_size=0)
    assert americas["sample_size"][0] == sample["country"].is_in(["BR", "US"]).sum()


def test_a_bigger_slice_is_estimated_again_not_summed():
    sample = stratified(seed=2)
    weekly = estimate_prevalence(sample, "week", harm_areas=["self_harm"], min_sample_size=0, min_violating=0)
    both = estimate_prevalence(sample, "all", harm_areas=["self_harm"], min_sample_size=0, min_violating=0)
    w, y = sample["weight"], sample["violating_self_harm"]
    assert both["estimate"][0] == pytest.approx((w * y).sum() / w.sum())
    assert both["estimate"][0] != pytest.approx(weekly["estimate"].mean()), "not the mean of the weekly figures"
    assert both["estimate"][0] != pytest.approx(weekly["estimate"].sum())


def test_harm_areas_come_from_the_label_columns():
    assert harm_areas_of(stratified()) == ["self_harm", "spam"]


def test_unusable_samples_and_filters_are_refused():
    with pytest.raises(DataError, match="weight"):
        estimate_prevalence(views(10, 1).drop("weight"))
    with pytest.raises(DataError, match="labels"):
        estimate_prevalence(views(10, 1).drop("violating_self_harm"))
    with pytest.raises(ValueError, match="cannot filter on 'policy'"):
        estimate_prevalence(views(10, 1), filters={"policy": "spam"})
    with pytest.raises(ValueError, match="interval"):
        estimate_prevalence(views(10, 1), interval="wald")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "estimate", "lower", "upper", "text"),
    [
        (ESTIMATE, 0.0012, 0.00101, 0.00139, "0.12 % (0.10–0.14 %)"),
        (ESTIMATE, 0.000234, 0.00019, 0.00028, "0.023 % (0.019–0.028 %)"),
        (ESTIMATE, 0.0528, 0.0334, 0.0788, "5.3 % (3.3–7.9 %)"),
        (UPPER_BOUND, float("nan"), 0.0, 0.000371, "≤ 0.038 %"),
        (UPPER_BOUND, float("nan"), 0.0, 0.0005, "≤ 0.050 %"),
        (WITHHELD, float("nan"), float("nan"), float("nan"), "withheld: n < 500"),
    ],
)
def test_reported_text(status, estimate, lower, upper, text):
    assert reported_text(status, estimate, lower, upper, 500) == text

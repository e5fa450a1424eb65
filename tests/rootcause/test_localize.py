"""Behaviour of insights.rootcause.localize on hand-built cubes and on the RCA benchmark."""

from __future__ import annotations

from itertools import product

import numpy as np
import polars as pl
import pytest

from bench import rca_cases as bench
from insights.rootcause import localize
from tests.conftest import SHARED

DATA = SHARED / "benchmarks" / "rca"
DIMS = ["country", "detection_source", "surface"]


def _cube(seed: int = 7) -> pl.DataFrame:
    """6 x 4 x 3 leaves with a skewed forecast and 1 % multiplicative noise on the actual."""
    rng = np.random.default_rng(seed)
    leaves = list(
        product(
            ["BR", "US", "IN", "DE", "JP", "FR"],
            ["user_report", "classifier", "proactive", "trusted_flagger"],
            ["feed", "search", "messages"],
        )
    )
    forecast = np.round(rng.lognormal(5.0, 1.0, len(leaves)))
    actual = forecast * (1 + 0.01 * rng.standard_normal(len(leaves)))
    return pl.DataFrame(
        {
            "country": [c for c, _, _ in leaves],
            "detection_source": [s for _, s, _ in leaves],
            "surface": [f for _, _, f in leaves],
            "real": actual,
            "predict": forecast,
        }
    )


def _ratio_cube(base_rate: float, seed: int = 11) -> pl.DataFrame:
    """Numerator/denominator counts with a leaf-specific forecast rate around base_rate."""
    rng = np.random.default_rng(seed)
    cube = _cube(seed).rename({"predict": "predict_b"}).drop("real")
    denominator = np.round(cube["predict_b"].to_numpy() * 20)
    rate = np.clip(base_rate * rng.uniform(0.8, 1.2, cube.height), 0, 1)
    return cube.with_columns(
        predict_b=denominator,
        real_b=np.round(denominator * rng.uniform(0.9, 1.1, cube.height)),
        predict_a=denominator * rate,
        rate=rate,
    )


def _where(frame: pl.DataFrame, **attrs: str) -> pl.Expr:
    expr = pl.lit(True)
    for k, v in attrs.items():
        expr = expr & (pl.col(k) == v)
    return expr


def _scale(frame: pl.DataFrame, factor: float, **attrs: str) -> pl.DataFrame:
    return frame.with_columns(real=pl.when(_where(frame, **attrs)).then(pl.col("real") * factor).otherwise("real"))


def _ratio_actual(frame: pl.DataFrame, rate_factor: float, complement: bool = False, **attrs: str) -> pl.DataFrame:
    """Set real_a from real_b at the forecast rate, with the rate (or, for complement=True,
    the complement 1 - rate) multiplied by rate_factor inside the combination."""
    rate = pl.col("rate")
    changed = 1 - (1 - rate) * rate_factor if complement else rate * rate_factor
    new_rate = pl.when(_where(frame, **attrs)).then(changed).otherwise(rate)
    return frame.with_columns(real_a=(pl.col("real_b") * new_rate).round()).drop("rate")


def test_single_attribute_drop_is_recovered():
    frame = _scale(_cube(), 0.4, country="BR")
    assert localize(frame, DIMS) == [{"country": "BR"}]


def test_two_attribute_spike_is_recovered():
    frame = _scale(_cube(), 1.8, country="IN", detection_source="user_report")
    assert localize(frame, DIMS) == [{"country": "IN", "detection_source": "user_report"}]


def test_two_causes_in_different_cuboids_are_both_recovered():
    frame = _scale(_scale(_cube(), 0.0, surface="messages", country="DE"), 0.5, detection_source="proactive")
    result = localize(frame, DIMS)
    assert sorted(map(sorted, (c.items() for c in result))) == sorted(
        [sorted({"surface": "messages", "country": "DE"}.items()), [("detection_source", "proactive")]]
    )


def test_ratio_single_attribute_is_recovered():
    # overturn rate (a minority outcome, ~10 %) triples for user reports
    frame = _ratio_actual(_ratio_cube(0.1), 3.0, detection_source="user_report")
    assert localize(frame, DIMS) == [{"detection_source": "user_report"}]


def test_ratio_two_attribute_drop_of_a_high_rate_is_recovered():
    # a success rate of ~97 %: its failure share quadruples in one (country, surface) cell
    frame = _ratio_actual(_ratio_cube(0.97), 4.0, complement=True, country="JP", surface="search")
    assert localize(frame, DIMS, ratio=True) == [{"country": "JP", "surface": "search"}]


def test_ratio_denominator_shift_alone_is_not_an_anomaly():
    # traffic doubles in BR but the rate stays at its forecast: nothing to explain
    frame = _ratio_cube(0.1).with_columns(
        real_b=pl.when(pl.col("country") == "BR").then(pl.col("real_b") * 2).otherwise("real_b")
    )
    frame = _ratio_actual(frame, 1.0, country="BR")
    assert localize(frame, DIMS) == []


def test_no_anomaly_returns_empty_list():
    # only the 1 % noise: the documented result is an empty list
    assert localize(_cube(), DIMS) == []
    exact = _cube().with_columns(real=pl.col("predict"))
    assert localize(exact, DIMS) == []


def test_values_are_returned_as_strings_and_custom_column_names_work():
    frame = _scale(_cube(), 0.3, surface="feed").rename({"real": "current", "predict": "baseline"})
    frame = frame.with_columns(surface=pl.col("surface").cast(pl.Categorical))
    assert localize(frame, DIMS, value_col="current", forecast_col="baseline") == [{"surface": "feed"}]


def test_empty_frame_returns_empty_list():
    assert localize(_cube().head(0), DIMS) == []


@pytest.mark.skipif(not (DATA / "B0").exists(), reason=f"shared benchmark data not found at {DATA}")
def test_b0_subset_f1():
    """First 3 cases of each of the 9 B0 settings: pooled exact-match F1 >= 0.9."""
    cases = [case for setting in bench.B0_SETTINGS for case in bench.b0_cases(DATA, setting, limit=3)]
    assert len(cases) == 27
    tp = fp = fn = 0
    for case in cases:
        predicted = bench.canonical(localize(case.frame, case.dims))
        a, b, c = bench.score_case(predicted, case.truth)
        tp, fp, fn = tp + a, fp + b, fn + c
    assert 2 * tp / (2 * tp + fp + fn) >= 0.9


@pytest.mark.skipif(not (DATA / "RS").exists(), reason=f"shared benchmark data not found at {DATA}")
def test_rs_full_f1():
    """All 135 RS cases (a derived ratio measure): micro F1 >= 0.60."""
    score = bench.run_setting(bench.rs_cases(DATA), bench.RS_SETTING)
    assert score.cases == 135
    assert score.f1 >= 0.60

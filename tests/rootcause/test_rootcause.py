"""explain_change on hand-built cubes: exact additivity, the shift-share split, significance,
ranking and localization."""

from __future__ import annotations

import datetime as dt
from itertools import product

import numpy as np
import polars as pl
import pytest

from insights.cube import Cube, Provenance
from insights.rootcause import explain_change

BASELINE = ("2026-01-05", "2026-02-01")
CURRENT = ("2026-02-02", "2026-03-01")
SWITCH = dt.date(2026, 2, 2)
COUNTRIES = ["BR", "US", "IN", "DE", "FR"]
CONTENT = ["video", "live", "comment", "account"]
SOURCES = ["automated", "user_report", "trusted_flagger"]


def make_cube(frame: pl.DataFrame) -> Cube:
    return Cube(frame, Provenance(source="test", kind="test", rows_read=len(frame)))


def random_cube(seed: int = 1, lift: dict | None = None, rate_lift: dict | None = None) -> Cube:
    """56 days × 5 countries × 4 content types × 3 detection sources of Poisson actions with
    binomial proactive actions; ``lift`` multiplies the actions of a segment from SWITCH on,
    ``rate_lift`` adds to its proactive probability."""
    rng = np.random.default_rng(seed)
    leaves = pl.DataFrame(
        list(product(COUNTRIES, CONTENT, SOURCES)), schema=["country", "content_type", "detection_source"], orient="row"
    )
    leaves = leaves.with_columns(
        level=pl.Series(rng.lognormal(2.5, 1.0, len(leaves))), rate=pl.Series(rng.uniform(0.2, 0.8, len(leaves)))
    )
    days = pl.DataFrame({"date": pl.date_range(dt.date(2026, 1, 5), dt.date(2026, 3, 1), eager=True)})
    cells = days.join(leaves, how="cross")
    after = pl.col("date") >= SWITCH
    for attrs, factor in (lift or {}).items():
        cells = cells.with_columns(
            level=pl.when(after & _segment(dict(attrs))).then(pl.col("level") * factor).otherwise("level")
        )
    for attrs, extra in (rate_lift or {}).items():
        cells = cells.with_columns(
            rate=pl.when(after & _segment(dict(attrs))).then(pl.col("rate") + extra).otherwise("rate")
        )
    actions = rng.poisson(cells["level"].to_numpy())
    proactive = rng.binomial(actions, np.clip(cells["rate"].to_numpy(), 0, 1))
    return make_cube(
        cells.select(
            "date",
            "country",
            "content_type",
            "detection_source",
            actions=pl.Series(actions),
            proactive_actions=pl.Series(proactive),
        )
    )


def _segment(attrs: dict) -> pl.Expr:
    return pl.all_horizontal([pl.col(k) == v for k, v in attrs.items()])


def metric_in(cube: Cube, name: str, period: tuple[str, str], by: list[str] | None = None) -> pl.DataFrame | float:
    result = cube.query(name, by=by or [], start=period[0], end=period[1])
    return result if by else result[name].item()


@pytest.mark.parametrize("name", ["actions", "proactive_rate"])
def test_every_breakdown_adds_up_exactly_to_the_change(name):
    cube = random_cube(lift={(("country", "BR"),): 1.5}, rate_lift={(("detection_source", "user_report"),): 0.1})
    explanation = explain_change(cube, name, baseline=BASELINE, current=CURRENT, max_segments=4)
    change = metric_in(cube, name, CURRENT) - metric_in(cube, name, BASELINE)
    assert explanation.headline.change == pytest.approx(change, rel=1e-12)
    totals = explanation.contributors.group_by("cuboid").agg(pl.col("contribution").sum(), pl.col("other").sum())
    assert totals.height == 7, "3 + 3 + 1 breakdowns of three dimensions"
    assert totals["other"].max() == 1, "segments beyond max_segments are summed in one row"
    for total in totals["contribution"]:
        assert total == pytest.approx(change, rel=1e-9, abs=1e-12)
    by_country = explanation.contributors.filter(pl.col("cuboid") == "country", ~pl.col("other")).sort("country")
    expected = metric_in(cube, name, CURRENT, ["country"]).join(
        metric_in(cube, name, BASELINE, ["country"]), on="country", suffix="_before"
    )
    expected = expected.filter(pl.col("country").is_in(by_country["country"].to_list())).sort("country")
    assert by_country["after"].to_list() == pytest.approx(expected[name].to_list(), rel=1e-12)
    assert by_country["before"].to_list() == pytest.approx(expected[f"{name}_before"].to_list(), rel=1e-12)


def test_shift_share_terms_are_the_symmetric_rate_and_mix_effects():
    cube = random_cube(seed=4, lift={(("detection_source", "automated"),): 2.0}, rate_lift={(("country", "IN"),): 0.15})
    explanation = explain_change(cube, "proactive_rate", baseline=BASELINE, current=CURRENT)
    sums = {
        side: cube.sums("proactive_rate", by=["detection_source"], start=period[0], end=period[1])
        for side, period in (("before", BASELINE), ("after", CURRENT))
    }
    joined = sums["before"].join(sums["after"], on="detection_source", suffix="_after")
    w0 = joined["denominator"] / joined["denominator"].sum()
    w1 = joined["denominator_after"] / joined["denominator_after"].sum()
    r0, r1 = joined["proactive_rate"], joined["proactive_rate_after"]
    mean_rate = (metric_in(cube, "proactive_rate", BASELINE) + metric_in(cube, "proactive_rate", CURRENT)) / 2
    rows = explanation.contributors.filter(pl.col("cuboid") == "detection_source").sort("detection_source")
    assert rows["detection_source"].to_list() == joined["detection_source"].to_list()
    assert rows["rate_effect"].to_list() == pytest.approx(((w0 + w1) / 2 * (r1 - r0)).to_list(), rel=1e-9)
    assert rows["mix_effect"].to_list() == pytest.approx(((w1 - w0) * ((r0 + r1) / 2 - mean_rate)).to_list(), rel=1e-9)
    change = explanation.headline.change
    for row in explanation.mix_rate.iter_rows(named=True):
        assert row["rate_effect"] + row["mix_effect"] == pytest.approx(change, rel=1e-12)
    segments = explanation.contributors
    assert (segments["rate_effect"] + segments["mix_effect"] - segments["contribution"]).abs().max() < 1e-15


def _two_source_cube(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> Cube:
    """One day per period; ``{source: (actions, proactive_actions)}``."""
    rows = [
        {"date": day, "detection_source": source, "actions": n, "proactive_actions": k}
        for day, cells in ((dt.date(2026, 1, 5), before), (dt.date(2026, 2, 2), after))
        for source, (n, k) in cells.items()
    ]
    return make_cube(pl.DataFrame(rows))


def test_a_pure_mix_shift_is_all_mix_and_a_pure_rate_change_all_rate():
    mix = _two_source_cube(
        {"automated": (500, 500), "user_report": (500, 0)}, {"automated": (800, 800), "user_report": (200, 0)}
    )
    split = explain_change(
        mix, "proactive_rate", baseline=("2026-01-05", "2026-01-05"), current=("2026-02-02", "2026-02-02")
    ).mix_rate.row(0, named=True)
    assert split["change"] == pytest.approx(0.3) and split["mix_share"] == pytest.approx(1.0)
    rate = _two_source_cube(
        {"automated": (500, 400), "user_report": (500, 100)}, {"automated": (500, 450), "user_report": (500, 100)}
    )
    split = explain_change(
        rate, "proactive_rate", baseline=("2026-01-05", "2026-01-05"), current=("2026-02-02", "2026-02-02")
    ).mix_rate.row(0, named=True)
    assert split["change"] == pytest.approx(0.05) and split["mix_effect"] == pytest.approx(0.0, abs=1e-15)


def test_a_concentrated_change_ranks_first_and_is_localized():
    cube = random_cube(seed=2, lift={(("country", "BR"), ("content_type", "live")): 4.0})
    explanation = explain_change(cube, "actions", baseline=BASELINE, current=CURRENT)
    assert explanation.headline.significant
    assert explanation.dimensions["dimension"][:2].sort().to_list() == ["content_type", "country"]
    assert explanation.top_segments(1) == [{"country": "BR", "content_type": "live"}]
    assert explanation.top_segments(1, cuboid="country", by="share") == [{"country": "BR"}]
    assert explanation.localized == [{"country": "BR", "content_type": "live"}]
    assert explanation.mix_rate is None


def test_noise_in_a_low_volume_slice_is_not_a_significant_change():
    cells = lambda n: {"automated": (n, n)}  # noqa: E731
    small = _two_source_cube(cells(3), cells(6))
    big = _two_source_cube(cells(3000), cells(3600))
    period = {"baseline": ("2026-01-05", "2026-01-05"), "current": ("2026-02-02", "2026-02-02")}
    assert not explain_change(small, "actions", **period).headline.significant
    assert explain_change(big, "actions", **period).headline.significant


def test_periods_of_different_lengths_compare_totals_and_test_daily_rates():
    cube = random_cube(seed=3)
    two_weeks, four_weeks = ("2026-02-02", "2026-02-15"), ("2026-01-05", "2026-02-01")
    explanation = explain_change(cube, "actions", baseline=four_weeks, current=two_weeks)
    assert explanation.headline.baseline_value == metric_in(cube, "actions", four_weeks)
    assert explanation.headline.pct_change == pytest.approx(-0.5, abs=0.05)
    assert not explanation.headline.significant, "the same daily rate over half the days is no change"


def test_segments_equal_to_a_shallower_one_are_not_listed_again():
    frame = random_cube(seed=5).data.with_columns(
        region=pl.col("country").replace_strict(
            {"BR": "Americas", "US": "Americas", "IN": "Asia", "DE": "Europe", "FR": "Europe"}
        )
    )
    explanation = explain_change(make_cube(frame), "actions", baseline=BASELINE, current=CURRENT)
    cuboids = set(explanation.contributors["cuboid"])
    assert "country × region" not in cuboids and "country" in cuboids and "region" in cuboids
    assert not explanation.contributors.filter(
        pl.col("cuboid") == "region × content_type", pl.col("region") == "Asia"
    ).is_empty()
    listed = explanation.contributors.filter(~pl.col("other"))
    assert listed.filter(pl.col("region").is_not_null(), pl.col("country").is_not_null()).is_empty()
    for total in explanation.contributors.group_by("cuboid").agg(pl.col("contribution").sum())["contribution"]:
        assert total == pytest.approx(explanation.headline.change, rel=1e-9)


def test_a_rate_without_a_baseline_denominator_has_no_decomposition():
    cube = random_cube(seed=6).data.with_columns(
        appeals=pl.when(pl.col("date") < SWITCH).then(0).otherwise(pl.col("actions")), overturns=pl.lit(0)
    )
    explanation = explain_change(make_cube(cube), "overturn_rate", baseline=BASELINE, current=CURRENT)
    assert explanation.headline.change is None
    assert explanation.contributors.is_empty() and explanation.dimensions.is_empty() and explanation.localized == []


def test_a_period_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="must not end before it starts"):
        explain_change(random_cube(), "actions", baseline=("2026-02-01", "2026-01-05"), current=CURRENT)

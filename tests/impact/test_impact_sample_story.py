"""Known answers on our own data: the program story of the sample (``exploitation_upload_classifier``
in ``sample_data/stories.json``) is recovered by ``estimate_impact`` within its interval, and a
placebo launch on untreated countries finds nothing.

The story: from 2026-01-19, 30 % of the human-exploitation content in BR, MX and CO is blocked
at upload, so the slice's actions are 30 % below what they would have been. The truth per week
and country (the blocked would-be actions) is in ``truth/program_effect.parquet`` next to the
generated events. The estimate runs at week grain with the story's own donors (every other
country but Africa's, which has its own human-exploitation story over the same months).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from insights.impact import ImpactEstimate, estimate_impact
from tests.conftest import ROOT

STORY = next(
    s for s in json.loads((ROOT / "sample_data" / "stories.json").read_text())["stories"]
    if s["id"] == "exploitation_upload_classifier"
)  # fmt: skip
TREATED = STORY["segment"]["country"]
FILTERS = {"harm_area": STORY["harm_area"]}
#: Untreated Latin American countries: the placebo slice closest to the treated one.
PLACEBO = ["AR", "CL", "PE"]


@pytest.fixture(scope="module")
def estimate(sample_cube) -> ImpactEstimate:
    return estimate_impact(
        sample_cube,
        metric=STORY["metric"],
        treated={"country": TREATED},
        launch=STORY["start"],
        grain="week",
        filters=FILTERS,
        donors=STORY["donors"],
    )


@pytest.fixture(scope="module")
def truth(sample_dir: Path, estimate) -> pl.DataFrame:
    """The story's weeks after the launch (those the estimate has), treated countries pooled."""
    weeks = estimate.series.filter("post")["period"]
    return (
        pl.read_parquet(sample_dir.parent / "truth" / "program_effect.parquet")
        .filter(pl.col("story") == STORY["id"], pl.col("week").is_in(weeks.implode()))
        .group_by("week")
        .agg(pl.col("actions", "blocked_actions", "counterfactual_actions").sum())
        .sort("week")
    )


def test_the_program_story_is_recovered_within_its_interval(estimate, truth):
    assert STORY["truth"]["actions_relative_effect"] == -0.3
    assert len(truth) == estimate.series["post"].sum() > 0
    # the treated series is the events of the story's slice, week by week
    post = estimate.series.filter("post").join(truth, left_on="period", right_on="week")
    assert post["actual"].to_list() == [float(v) for v in post["actions"]]
    # the true average effect per week (minus the blocked actions) and in % of the counterfactual
    per_week = -float(truth["blocked_actions"].mean())  # type: ignore[arg-type]
    percent = -100 * truth["blocked_actions"].sum() / truth["counterfactual_actions"].sum()
    average = estimate.average
    assert average.lower <= per_week <= average.upper, (per_week, average)
    assert average.percent_lower is not None and average.percent_upper is not None
    assert average.percent_lower <= percent <= average.percent_upper, (percent, average)
    assert average.percent_lower <= 100 * STORY["truth"]["actions_relative_effect"] <= average.percent_upper
    cumulative = estimate.cumulative
    assert cumulative.lower <= -truth["blocked_actions"].sum() <= cumulative.upper
    # and it is told apart from noise: the interval excludes 0, the treated slice ranks first
    assert average.upper < 0 and estimate.p_value < 0.05
    assert estimate.placebo_space is not None and estimate.placebo_space.rank == 1
    assert set(estimate.weights["donor"]) <= set(STORY["donors"])


def test_a_placebo_launch_on_untreated_countries_finds_nothing(sample_cube):
    placebo = estimate_impact(
        sample_cube,
        metric=STORY["metric"],
        treated={"country": PLACEBO},
        launch=STORY["start"],
        grain="week",
        filters=FILTERS,
        donors=[c for c in STORY["donors"] if c not in PLACEBO],
    )
    assert placebo.average.lower <= 0 <= placebo.average.upper, placebo.average
    assert not placebo.average.significant and placebo.p_value > 0.1

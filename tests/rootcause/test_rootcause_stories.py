"""explain_change over each injected story's window names the story's segment (sample_data/stories.json)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from insights.rootcause import decomposition_tree, explain_change
from tests.conftest import ROOT

STORIES = {s["id"]: s for s in json.loads((ROOT / "sample_data" / "stories.json").read_text())["stories"]}
WEEK = dt.timedelta(weeks=1)
DAY = dt.timedelta(days=1)


def around(start: str, weeks: int) -> dict[str, tuple[dt.date, dt.date]]:
    """``weeks`` weeks before ``start`` (baseline) against ``weeks`` weeks from it (current)."""
    day = dt.date.fromisoformat(start)
    return {"baseline": (day - weeks * WEEK, day - DAY), "current": (day, day + weeks * WEEK - DAY)}


def window(story: dict) -> dict[str, tuple[dt.date, dt.date]]:
    """The story's window (current) against as many days just before it (baseline)."""
    start, end = (dt.date.fromisoformat(story[k]) for k in ("start", "end"))
    return {"baseline": (start - (end - start) - DAY, start - DAY), "current": (start, end)}


def test_violent_extremism_shift_is_france_belgium_netherlands(sample_cube):
    story = STORIES["ve_level_shift"]
    explanation = explain_change(
        sample_cube, "actions", **around(story["start"], 8), filters={"harm_area": story["harm_area"]}
    )
    assert explanation.headline.change > 0
    assert explanation.dimensions["dimension"][0] == "country"
    assert explanation.top_segments(1, cuboid="country", by="share") == [{"country": "FR"}]
    assert explanation.localized and all(
        cause.get("country") in story["segment"]["country"] for cause in explanation.localized
    )


def test_hate_classifier_is_a_shift_from_user_reports_to_automated_detection(sample_cube):
    story = STORIES["hate_classifier_launch"]
    explanation = explain_change(
        sample_cube, "proactive_rate", **around(story["start"], 8), filters={"harm_area": story["harm_area"]}
    )
    assert explanation.headline.significant and explanation.headline.change > 0.1
    assert explanation.dimensions["dimension"][0] == "detection_source"
    top = explanation.top_segments(2, cuboid="detection_source", by="share")
    assert {s["detection_source"] for s in top} == {
        story["size"]["from_detection_source"],
        story["size"]["to_detection_source"],
    }
    split = explanation.mix_rate.row(0, named=True)
    assert split["dimension"] == "detection_source" and split["mix_share"] > 0.95, (
        "volume moved between sources; their rates did not change"
    )


def test_self_harm_spike_is_portuguese_live_streams(sample_cube):
    story = STORIES["self_harm_spike"]
    explanation = explain_change(sample_cube, "actions", **window(story), filters={"harm_area": story["harm_area"]})
    assert explanation.headline.significant
    top = explanation.top_segments(1)[0]
    assert {"language": "pt", "content_type": "live"}.items() <= top.items() <= story["segment"].items()
    assert any({"language": "pt", "content_type": "live"}.items() <= cause.items() for cause in explanation.localized)


def test_harassment_overturn_regression_is_english_targeted_harassment(sample_cube):
    story = STORIES["harassment_overturn_regression"]
    explanation = explain_change(
        sample_cube, "overturn_rate", **window(story), filters={"harm_area": story["harm_area"]}
    )
    assert explanation.headline.significant and explanation.headline.change > 0
    assert explanation.top_segments(1) == [story["segment"]]
    assert story["segment"] in explanation.localized


def test_exploitation_rise_is_trusted_flaggers_in_africa(sample_cube):
    story = STORIES["exploitation_trusted_flagger_rise"]
    end = dt.date.fromisoformat(story["end"])
    baseline = around(story["start"], 8)["baseline"]
    explanation = explain_change(
        sample_cube,
        "actions",
        baseline=baseline,
        current=(end - 8 * WEEK + DAY, end),
        filters={"harm_area": story["harm_area"]},
    )
    segment = {k: v for k, v in story["segment"].items() if k != "harm_area"}
    assert explanation.headline.significant
    assert explanation.top_segments(1) == [segment]
    assert segment in explanation.localized


def test_tree_drills_down_to_the_self_harm_segment(sample_cube):
    story = STORIES["self_harm_spike"]
    filters, node = {"harm_area": story["harm_area"]}, None
    for _ in range(3):
        expanded = decomposition_tree(sample_cube, "actions", **window(story), node=node, filters=filters)
        node = expanded.children[0].segment
    assert node.items() == {k: v for k, v in story["segment"].items() if k != "harm_area"}.items()


@pytest.mark.parametrize("name", ["actions", "overturn_rate"])
def test_contributions_add_up_on_the_sample(sample_cube, name):
    explanation = explain_change(
        sample_cube, name, baseline=("2026-05-04", "2026-05-31"), current=("2026-06-01", "2026-06-28")
    )
    totals = explanation.contributors.group_by("cuboid").agg(pl.col("contribution").sum())["contribution"]
    assert (totals - explanation.headline.change).abs().max() < 1e-9 * max(1.0, abs(explanation.headline.change))

"""Every story of sample_data/stories.json is present in the generated data with its stated size.

Sizes are measured directly on the events with Polars (not through the cube), so the test
also guards the generator against drift.
"""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ROOT

SPEC = json.loads((ROOT / "sample_data" / "stories.json").read_text())
STORIES = {s["id"]: s for s in SPEC["stories"]}
AFRICA = ["EG", "NG", "KE", "ZA", "GH", "ET", "MA", "DZ", "TZ"]


@pytest.fixture(scope="module")
def events(sample_dir: Path) -> pl.DataFrame:
    frame = pl.read_parquet(sample_dir / "*.parquet")
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String), day=pl.col("actioned_at").dt.date())


def window(story: dict, before: int = 0, after: int = 0) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(story["start"])
    end = dt.date.fromisoformat(story["end"]) if story["end"] else start + dt.timedelta(days=after - 1)
    return start - dt.timedelta(days=before), end


def count(frame: pl.DataFrame, first: dt.date, last: dt.date, condition=True) -> int:
    return frame.filter(pl.col("day").is_between(first, last) & condition).height


def test_generation_is_deterministic(tmp_path, sample_dir):
    from sample_data import generate

    again = generate.generate(events=20_000, out=tmp_path / "a").parent
    twice = generate.generate(events=20_000, out=tmp_path / "b").parent
    files = sorted(f.relative_to(again) for f in again.rglob("*.parquet"))
    assert {f.parts[0] for f in files} == {"events", "exposure", "view_sample", "truth"}
    assert files == sorted(f.relative_to(twice) for f in twice.rglob("*.parquet"))
    for file in files:
        assert pl.read_parquet(again / file).equals(pl.read_parquet(twice / file)), file


def test_sample_covers_the_required_breadth(events):
    assert events["day"].max() - events["day"].min() >= dt.timedelta(days=729)
    assert 950_000 < len(events) < 1_100_000
    assert {"violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"} <= set(events["harm_area"])
    assert events["harm_area"].n_unique() >= 7
    assert events["country"].n_unique() >= 40
    regions = json.loads(json.dumps({"Africa": AFRICA}))
    assert set(regions["Africa"]) <= set(events["country"])
    weekly = events.group_by(pl.col("actioned_at").dt.weekday()).len().sort("actioned_at")["len"]
    assert weekly.max() / weekly.min() > 1.1, "weekly seasonality"
    first_q = count(events, dt.date(2024, 12, 1), dt.date(2025, 2, 28))
    last_q = count(events, dt.date(2025, 12, 1), dt.date(2026, 2, 28))
    assert last_q / first_q > 1.08, "growth"


def test_violent_extremism_level_shift(events):
    story = STORIES["ve_level_shift"]
    start = dt.date.fromisoformat(story["start"])
    segment = (pl.col("harm_area") == "violent_extremism") & pl.col("country").is_in(story["segment"]["country"])
    rest = (pl.col("harm_area") == "violent_extremism") & ~pl.col("country").is_in(story["segment"]["country"])
    before = (events["day"].min(), start - dt.timedelta(days=1))
    after = (start, events["day"].max())
    lift = (count(events, *after, segment) / count(events, *before, segment)) / (
        count(events, *after, rest) / count(events, *before, rest)
    )
    assert lift == pytest.approx(1 + story["size"]["extra_fraction"], abs=0.12)


def test_hate_classifier_lifts_the_proactive_rate(events):
    story = STORIES["hate_classifier_launch"]
    start = dt.date.fromisoformat(story["start"])
    hate = events.filter(pl.col("harm_area") == "hateful_behavior")
    before = hate.filter(pl.col("day").is_between(start - dt.timedelta(days=56), start - dt.timedelta(days=1)))
    after = hate.filter(pl.col("day").is_between(start, start + dt.timedelta(days=55)))
    expected_lift = story["size"]["converted_fraction"] * (before["detection_source"] == "user_report").mean()
    assert after["proactive"].mean() - before["proactive"].mean() == pytest.approx(expected_lift, abs=0.02)
    assert expected_lift > 0.1


def test_self_harm_spike_in_one_language_and_content_type(events):
    story = STORIES["self_harm_spike"]
    first, last = window(story)
    days = (last - first).days + 1
    harm = pl.col("harm_area") == "self_harm"
    seg = harm & (pl.col("language") == "pt") & (pl.col("content_type") == "live")
    during = count(events, first, last, harm)
    around = (
        count(events, first - dt.timedelta(days=days), first - dt.timedelta(days=1), harm)
        + count(events, last + dt.timedelta(days=1), last + dt.timedelta(days=days), harm)
    ) / 2
    assert during / around == pytest.approx(1 + story["size"]["extra_fraction_of_harm_area"], abs=0.07)
    seg_during = count(events, first, last, seg)
    seg_around = (
        count(events, first - dt.timedelta(days=days), first - dt.timedelta(days=1), seg)
        + count(events, last + dt.timedelta(days=1), last + dt.timedelta(days=days), seg)
    ) / 2
    assert (seg_during - seg_around) / (during - around) > 0.9, "the spike is concentrated in pt × live"


def test_harassment_overturn_regression(events):
    story = STORIES["harassment_overturn_regression"]
    first, last = window(story)
    seg = (pl.col("policy") == story["segment"]["policy"]) & (pl.col("language") == story["segment"]["language"])
    inside = events.filter(seg & pl.col("day").is_between(first, last))
    outside = events.filter(seg & pl.col("day").is_between(first - dt.timedelta(days=56), first - dt.timedelta(days=1)))
    assert inside["appealed"].mean() == pytest.approx(story["size"]["appeal_probability"], abs=0.05)
    overturn_in = inside["overturned"].sum() / inside["appealed"].sum()
    overturn_out = outside["overturned"].sum() / outside["appealed"].sum()
    assert overturn_in == pytest.approx(story["size"]["overturn_probability"], abs=0.08)
    assert overturn_out < 0.25


def test_human_exploitation_rise_through_trusted_flaggers_in_africa(events):
    story = STORIES["exploitation_trusted_flagger_rise"]
    end = dt.date.fromisoformat(story["end"])
    start = dt.date.fromisoformat(story["start"])
    he = pl.col("harm_area") == "human_exploitation"
    seg = he & (pl.col("detection_source") == "trusted_flagger") & pl.col("country").is_in(AFRICA)
    last4 = (end - dt.timedelta(days=27), end)
    pre = (start - dt.timedelta(days=56), start - dt.timedelta(days=1))
    baseline_share = count(events, *pre, seg) / count(events, *pre, he)
    extra = count(events, *last4, seg) - baseline_share * count(events, *last4, he)
    progress = 1 - 14 / (end - start).days
    assert extra / (count(events, *last4, he) - extra) == pytest.approx(
        story["size"]["final_extra_fraction_of_harm_area"] * progress, abs=0.06
    )
    midway = start + (end - start) / 2
    mid = (midway - dt.timedelta(days=13), midway + dt.timedelta(days=14))
    assert count(events, *pre, seg) < count(events, *mid, seg) < count(events, *last4, seg), "a slow rise, not a step"


def test_events_file_lists_every_story_date_and_unrelated_events():
    annotations = pl.read_csv(ROOT / "sample_data" / "events.csv")
    assert annotations.columns == ["date", "title", "kind", "harm_area", "region"]
    for story in SPEC["stories"]:
        assert story["start"] in annotations["date"].to_list()
    assert len(annotations) >= len(SPEC["stories"]) + 3

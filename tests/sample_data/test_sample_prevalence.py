"""Exposure tables, labelled view sample, true prevalence and the program story of the generated
sample data (sample_data/stories.json), measured directly on the generated files with Polars.

Each story's effect on prevalence is measured on the truth (the generating model's violating
views), next to its effect on actions in the events; the estimator is then checked against the
truth on the generated sample.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from insights.prevalence import ESTIMATE, estimate_prevalence, load_view_sample
from tests.conftest import ROOT

SPEC = json.loads((ROOT / "sample_data" / "stories.json").read_text())
STORIES = {s["id"]: s for s in SPEC["stories"]}
AFRICA = ["EG", "NG", "KE", "ZA", "GH", "ET", "MA", "DZ", "TZ"]
CORE = ["violent_extremism", "hateful_behavior", "self_harm", "human_exploitation"]
DAY = dt.timedelta(days=1)
FIRST, LAST = (dt.date.fromisoformat(SPEC["period"][k]) for k in ("start", "end"))


@pytest.fixture(scope="module")
def generated(sample_dir: Path) -> Path:
    return sample_dir.parent


@pytest.fixture(scope="module")
def events(sample_dir: Path) -> pl.LazyFrame:
    return pl.scan_parquet(sample_dir / "*.parquet").with_columns(
        pl.col(pl.Categorical).cast(pl.String), day=pl.col("actioned_at").dt.date()
    )


@pytest.fixture(scope="module")
def population(generated: Path) -> pl.LazyFrame:
    return pl.scan_parquet(generated / "truth" / "population-*.parquet").with_columns(
        pl.col(pl.Categorical).cast(pl.String)
    )


@pytest.fixture(scope="module")
def exposure(generated: Path) -> pl.DataFrame:
    return pl.read_parquet(generated / "exposure" / "*.parquet").with_columns(pl.col(pl.Categorical).cast(pl.String))


def prevalence(population: pl.LazyFrame, condition: pl.Expr, first: dt.date, last: dt.date) -> float:
    """True prevalence of a slice: its violating views / its views."""
    cells = population.filter(condition & pl.col("date").is_between(first, last))
    return cells.select(pl.col("violating_views").sum() / pl.col("views").sum()).collect().item()


def actions(events: pl.LazyFrame, condition: pl.Expr, first: dt.date, last: dt.date) -> int:
    return events.filter(condition & pl.col("day").is_between(first, last)).select(pl.len()).collect().item()


def lift(measure, condition: pl.Expr, rest: pl.Expr, before: tuple, after: tuple) -> float:
    """Change of a segment after/before, relative to the same change of the rest."""
    return (measure(condition, *after) / measure(condition, *before)) / (measure(rest, *after) / measure(rest, *before))


def harm(area: str) -> pl.Expr:
    return pl.col("harm_area") == area


def countries(codes: list[str]) -> pl.Expr:
    return pl.col("country").is_in(codes)


# ---- layout ------------------------------------------------------------------------------------


def test_one_file_per_quarter_with_the_documented_columns(generated, sample_dir):
    quarters = sorted(p.stem.removeprefix("events-") for p in sample_dir.glob("*.parquet"))
    files = SPEC["prevalence"]["files"]
    for name in ("exposure", "view_sample", "population"):
        pattern = files[name]["path"]
        found = sorted(p.name for p in (generated / Path(pattern).parent).glob("*.parquet") if "<" not in p.name)
        wanted = sorted(Path(pattern).name.replace("<quarter>", q) for q in quarters)
        assert [f for f in found if f in wanted] == wanted, name
        schema = pl.read_parquet_schema(generated / Path(pattern).parent / wanted[0])
        documented = [c for c in files[name]["columns"] if "<" not in c]
        assert [c for c in schema if not c.startswith("violating_")] == documented or list(schema) == documented
    sample = pl.read_parquet_schema(generated / "view_sample" / f"views-{quarters[0]}.parquet")
    assert [c.removeprefix("violating_") for c in sample if c.startswith("violating_")] == list(
        SPEC["prevalence"]["baseline"]
    )
    assert sample["weight"] == pl.Float64 and sample["date"] == pl.Date
    assert all(sample[c] == pl.Boolean for c in sample if c.startswith("violating_"))
    weekly = pl.read_parquet_schema(generated / files["weekly_truth"]["path"])
    assert list(weekly) == list(files["weekly_truth"]["columns"])


# ---- exposure ----------------------------------------------------------------------------------


def test_exposure_covers_every_day_country_and_content_type(exposure, events):
    days = (LAST - FIRST).days + 1
    assert exposure.height == days * 47 * 7
    assert exposure.select("date", "country", "content_type").is_unique().all()
    assert (exposure["date"].min(), exposure["date"].max()) == (FIRST, LAST)
    seen = events.select(pl.col("country", "content_type").unique().implode()).collect()
    assert set(exposure["country"]) == set(seen["country"][0]) and set(exposure["content_type"]) == set(
        seen["content_type"][0]
    )
    assert (exposure["views"] > 0).all() and (exposure["uploads"] >= 0).all()
    assert (exposure["uploads"] == 0).mean() < 0.01, (
        "only the smallest cells (live streams in NZ …) have days without uploads"
    )


def test_exposure_follows_the_events_growth_seasonality_and_countries(exposure, events):
    daily = (
        exposure.group_by("date")
        .agg(pl.col("uploads", "views").sum())
        .join(events.group_by(date="day").agg(actions=pl.len()).collect(), on="date")
        .sort("date")
    )
    weekday = daily.group_by(pl.col("date").dt.weekday()).agg(pl.col("views", "actions").mean()).sort("date")
    assert weekday["views"].max() / weekday["views"].min() > 1.1, "weekly seasonality"
    assert weekday["views"].arg_max() == weekday["actions"].arg_max(), "the same busiest weekday as the actions"
    assert daily.select(pl.corr("views", "actions")).item() > 0.8

    def year(first, last, column):
        return daily.filter(pl.col("date").is_between(first, last))[column].sum()

    a, b = (dt.date(2024, 12, 1), dt.date(2025, 2, 28)), (dt.date(2025, 12, 1), dt.date(2026, 2, 28))
    assert year(*b, "views") / year(*a, "views") == pytest.approx(1.12, abs=0.03)
    assert year(*b, "uploads") / year(*a, "uploads") == pytest.approx(1.08, abs=0.03)
    assert 40 < daily["actions"].sum() / daily["uploads"].sum() * 1e4 < 120, "actions per 10k uploads"
    before_stories = pl.col("day") < dt.date(2025, 9, 1)
    by_country = events.filter(before_stories).group_by("country").agg(actions=pl.len()).collect()
    shares = (
        exposure.filter(pl.col("date") < dt.date(2025, 9, 1))
        .group_by("country")
        .agg(pl.col("views").sum())
        .join(by_country, on="country")
        .select(pl.col("views") / pl.col("views").sum() - pl.col("actions") / pl.col("actions").sum())
    )
    assert shares.to_series().abs().max() < 0.01, "views and actions share the country weights"


# ---- truth -------------------------------------------------------------------------------------


def test_truth_is_the_population_behind_the_exposure(generated, population, exposure):
    cells = population.group_by("date", "country", "content_type").agg(
        pl.col("views").first(), pl.col("views").n_unique().alias("distinct"), pl.col("violating_views").sum()
    )
    joined = exposure.lazy().join(cells, on=["date", "country", "content_type"], suffix="_truth").collect()
    assert joined.height == exposure.height
    assert (joined["views"] == joined["views_truth"]).all() and (joined["distinct"] == 1).all()
    assert (joined["violating_views"] <= joined["views"]).all()
    weekly = pl.read_parquet(generated / "truth" / "prevalence_weekly.parquet")
    again = (
        population.group_by(week=pl.col("date").dt.truncate("1w"), harm_area="harm_area")
        .agg(pl.col("violating_views").sum())
        .collect()
    )
    assert weekly.height == 105 * 11
    check = weekly.join(again, on=["week", "harm_area"], suffix="_again")
    assert check.height == weekly.height and (check["violating_views"] == check["violating_views_again"]).all()
    first_weeks = (
        weekly.filter(pl.col("week") < FIRST + 28 * DAY)
        .group_by("harm_area")
        .agg(pl.col("violating_views").sum() / pl.col("views").sum())
    )
    for area, share in first_weeks.iter_rows():
        assert share == pytest.approx(SPEC["prevalence"]["baseline"][area], rel=0.15), area


def test_view_sample_is_stratified_and_weighted_to_the_views(generated, exposure):
    from sample_data import generate

    sample = pl.read_parquet(generated / "view_sample" / "*.parquet").with_columns(
        pl.col(pl.Categorical).cast(pl.String)
    )
    per_week = generate.labelled_views_per_week(1_000_000, SPEC)
    assert per_week == SPEC["prevalence"]["view_sample"]["labelled_views_per_week"]
    weekly = sample.group_by(pl.col("date").dt.truncate("1w")).len()["len"].cast(pl.Int64)
    assert weekly.len() == 105 and ((weekly - per_week).abs() <= 0.002 * per_week).all()
    strata = sample.group_by("stratum").agg(
        pl.len(), pl.col("weight").sum(), pl.col("weight").n_unique().alias("weights")
    )
    assert (strata["weights"] == 1).all() and strata["len"].min() >= SPEC["prevalence"]["view_sample"][
        "min_per_stratum"
    ]
    region = pl.DataFrame(
        {"country": list(generate.COUNTRIES), "region": [r for _, r, _ in generate.COUNTRIES.values()]}
    )
    parts = pl.DataFrame({"date": exposure["date"].unique().sort()}).with_columns(
        first=pl.max_horizontal(pl.col("date").dt.truncate("1w"), pl.col("date").dt.truncate("1q"))
    )
    views = (
        exposure.join(region, on="country")
        .join(parts, on="date")
        .group_by(stratum=pl.format("{}/{}/{}", pl.col("first").dt.to_string("%Y-%m-%d"), "region", "content_type"))
        .agg(pl.col("views").sum())
    )
    check = strata.join(views, on="stratum")
    assert check.height == strata.height == views.height
    assert ((check["weight"] / check["views"] - 1).abs() < 1e-9).all(), "weights add up to the stratum's views"
    weights = sample["weight"]
    assert weights.max() / weights.min() > 5, "small strata are oversampled"


def test_sample_size_scales_with_the_square_root_of_events():
    from sample_data import generate

    assert generate.labelled_views_per_week(4_000_000, SPEC) == 100_000
    assert generate.labelled_views_per_week(20_000, SPEC) == 7_071
    assert generate.labelled_views_per_week(50_000_000, SPEC) == 250_000
    assert generate.labelled_views_per_week(1_000, SPEC) == 2_000


# ---- the stories, in prevalence --------------------------------------------------------------------


def test_more_violent_extremism_comes_with_more_violating_views(population, events):
    story = STORIES["ve_level_shift"]
    start = dt.date.fromisoformat(story["start"])
    segment, rest = harm("violent_extremism") & countries(story["segment"]["country"]), harm("violent_extremism")
    rest = rest & ~countries(story["segment"]["country"])
    before, after = (FIRST, start - DAY), (start, LAST)
    truth = lift(lambda c, a, b: prevalence(population, c, a, b), segment, rest, before, after)
    acted = lift(lambda c, a, b: actions(events, c, a, b), segment, rest, before, after)
    assert truth == pytest.approx(story["prevalence"]["violating_views_factor"], abs=0.1)
    assert acted == pytest.approx(1 + story["size"]["extra_fraction"], abs=0.15)


def test_hate_classifier_launch_lifts_detection_not_prevalence(population, events):
    story = STORIES["hate_classifier_launch"]
    start = dt.date.fromisoformat(story["start"])
    before, after = (start - 56 * DAY, start - DAY), (start, start + 55 * DAY)
    hate = harm("hateful_behavior")
    ratio = prevalence(population, hate, *after) / prevalence(population, hate, *before)
    assert ratio == pytest.approx(story["prevalence"]["violating_views_factor"], abs=0.04) and ratio < 1
    proactive = [
        events.filter(hate & pl.col("day").is_between(*p)).select(pl.col("proactive").mean()).collect().item()
        for p in (before, after)
    ]
    assert proactive[1] - proactive[0] > 0.1


def test_self_harm_spike_raises_prevalence_most_in_its_segment(population, generated):
    story = STORIES["self_harm_spike"]
    first, last = (dt.date.fromisoformat(story[k]) for k in ("start", "end"))
    days = (last - first).days + 1
    segment = story["prevalence"]["segment"]
    self_harm = harm("self_harm")
    live_pt = self_harm & countries(segment["country"]) & (pl.col("content_type") == segment["content_type"])

    def during_vs_around(condition: pl.Expr) -> float:
        around = (
            prevalence(population, condition, first - days * DAY, first - DAY)
            + prevalence(population, condition, last + DAY, last + days * DAY)
        ) / 2
        return prevalence(population, condition, first, last) / around

    assert during_vs_around(self_harm) == pytest.approx(
        1 + story["prevalence"]["extra_fraction_of_harm_area"], abs=0.07
    )
    assert during_vs_around(live_pt) > 20
    sample = load_view_sample(generated)
    seen = {
        name: estimate_prevalence(
            sample,
            "all",
            start=a,
            end=b,
            harm_areas=["self_harm"],
            min_sample_size=200,
            min_violating=0,
            filters={"country": segment["country"], "content_type": segment["content_type"]},
        ).row(0, named=True)
        for name, (a, b) in {"before": (first - days * DAY, first - DAY), "during": (first, last)}.items()
    }
    assert seen["during"]["lower"] > seen["before"]["upper"], "the labelled sample shows the spike"


def test_harassment_regression_and_trusted_flaggers_leave_prevalence_alone(population, events):
    regression = STORIES["harassment_overturn_regression"]
    first, last = (dt.date.fromisoformat(regression[k]) for k in ("start", "end"))
    bullying = harm("bullying_harassment")
    ratio = prevalence(population, bullying, first, last) / prevalence(
        population, bullying, first - 21 * DAY, first - DAY
    )
    assert ratio == pytest.approx(regression["prevalence"]["violating_views_factor"], abs=0.05)
    ramp = STORIES["exploitation_trusted_flagger_rise"]
    start = dt.date.fromisoformat(ramp["start"])
    before, after = (start - 56 * DAY, start - DAY), (LAST - 27 * DAY, LAST)
    program = STORIES["exploitation_upload_classifier"]["segment"]["country"]
    africa, rest = (
        harm("human_exploitation") & countries(AFRICA),
        harm("human_exploitation") & ~countries(AFRICA + program),
    )
    truth = lift(lambda c, a, b: prevalence(population, c, a, b), africa, rest, before, after)
    acted = lift(lambda c, a, b: actions(events, c, a, b), africa, rest, before, after)
    assert truth == pytest.approx(ramp["prevalence"]["violating_views_factor"], abs=0.1)
    assert acted > 2, "actions rose a lot while prevalence did not"


# ---- the program story -------------------------------------------------------------------------


def test_program_lowers_actions_and_prevalence_in_the_treated_countries_only(population, events):
    story = STORIES["exploitation_upload_classifier"]
    start = dt.date.fromisoformat(story["start"])
    treated = harm(story["harm_area"]) & countries(story["segment"]["country"])
    donors = harm(story["harm_area"]) & countries(story["donors"])
    before, after = (FIRST, start - DAY), (start, LAST)
    acted = lift(lambda c, a, b: actions(events, c, a, b), treated, donors, before, after)
    truth = lift(lambda c, a, b: prevalence(population, c, a, b), treated, donors, before, after)
    assert acted == pytest.approx(1 + story["truth"]["actions_relative_effect"], abs=0.06)
    assert truth == pytest.approx(1 + story["truth"]["violating_views_relative_effect"], abs=0.05)
    assert not set(story["donors"]) & set(story["segment"]["country"] + AFRICA)
    assert len(story["donors"]) == 47 - 3 - len(AFRICA)


def test_program_truth_file_counts_the_blocked_actions(generated, events):
    story = STORIES["exploitation_upload_classifier"]
    start = dt.date.fromisoformat(story["start"])
    truth = pl.read_parquet(generated / "truth" / "program_effect.parquet")
    assert truth.columns == ["story", *story["truth"]["columns"]]
    assert truth.height == 105 * 3 and set(truth["country"]) == set(story["segment"]["country"])
    assert (truth["counterfactual_actions"] == truth["actions"] + truth["blocked_actions"]).all()
    assert truth.filter(pl.col("week") < start)["blocked_actions"].sum() == 0
    after = truth.filter(pl.col("week") >= start)
    blocked = after["blocked_actions"].sum() / after["counterfactual_actions"].sum()
    assert blocked == pytest.approx(story["size"]["blocked_fraction"], abs=0.03)
    logged = (
        events.filter(harm(story["harm_area"]) & countries(story["segment"]["country"]))
        .group_by(week=pl.col("day").dt.truncate("1w"), country="country")
        .agg(logged=pl.len())
        .collect()
    )
    check = truth.join(logged, on=["week", "country"], how="left").with_columns(pl.col("logged").fill_null(0))
    assert (check["actions"] == check["logged"]).all(), "the truth's actions are the events' actions"


def test_program_story_stays_clear_of_the_other_stories():
    from sample_data import generate

    story = STORIES["exploitation_upload_classifier"]
    start = dt.date.fromisoformat(story["start"])
    for other in SPEC["stories"]:
        if other is story:
            continue
        dates = [
            dt.date.fromisoformat(other[k]) for k in ("start", "end") if other[k] and other[k] != SPEC["period"]["end"]
        ]
        assert all(abs((start - d).days) >= 28 for d in dates), other["id"]
        if other["harm_area"] == story["harm_area"]:
            segment = other["segment"]
            touched = segment.get("country") or [
                c for c, (_, r, _) in generate.COUNTRIES.items() if r == segment.get("region")
            ]
            assert not set(touched) & set(story["segment"]["country"]), other["id"]


# ---- the estimator on the generated sample ---------------------------------------------------------


def test_core_harm_areas_in_the_last_complete_quarter_are_covered(generated, population):
    quarter = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert quarter[1] < LAST < dt.date(2026, 12, 31), "the last complete quarter of the sample"
    estimates = estimate_prevalence(
        load_view_sample(generated), "quarter", start=quarter[0], end=quarter[1], harm_areas=CORE
    )
    truth = (
        population.filter(pl.col("date").is_between(*quarter))
        .group_by("harm_area")
        .agg(truth=pl.col("violating_views").sum() / pl.col("views").sum())
        .collect()
    )
    table = estimates.join(truth, on="harm_area")
    print(
        table.select("harm_area", "estimate", "lower", "upper", "truth", "sample_size", "violating_sampled", "reported")
    )
    assert table["harm_area"].to_list() == CORE and (table["status"] == ESTIMATE).all()
    for row in table.iter_rows(named=True):
        assert row["lower"] <= row["truth"] <= row["upper"], row

"""TikTok Community Guidelines Enforcement Report (CGER) CSV → Cube.

TikTok publishes one long CSV per quarter (``Metric, Period type, Period, Policy type, Issue,
Task type, Task, Location, Market, Result``) holding every quarter since Jul-Sep 2020. Header
names, capitalisation, policy-type labels and the policy taxonomy drift between releases; all
of them are read here. A folder of releases keeps, for every quarter, the newest release's
figures and records where an older release published other numbers.

The report publishes counts only for totals; everything else is a share or a rate. Counts are
reconstructed where the report gives their base (see ``policy_cells``), never elsewhere.

An additive cube holds one partition of the removals, and TikTok publishes two that do not
nest before Jul-Sep 2023 (markets without policies, policies without markets). So there are two
breakdowns, each exact at every figure it holds:

- ``breakdown="policy"`` (default): quarter × market × (sub-)policy, mapped to harm areas;
- ``breakdown="market"``: quarter × market, all policies, with the automation split, restored
  videos, uploads (from the removal rate of published videos) and removals, so ``removal_rate``
  is TikTok's "removal rate of published videos".

In both, the markets TikTok does not list are one cell per quarter with no country: the
global figure minus the listed markets (the whole world before markets were published).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import polars as pl

from insights.cube import Caveat, Cube
from insights.errors import DataError
from insights.sources.rejections import as_rejections
from insights.sources.reports import (
    claims_csv,
    csv_sources,
    definitions_csv,
    finish_report,
    known_caveats,
    newest_release,
    normalised_name,
    published_number,
    quarter_start,
    read_bytes,
    read_text_csv,
)

KIND = "tiktok_cger"

#: The report's column names in any release (lower-cased) → ours.
COLUMNS = {
    "metric": "metric",
    "period type": "period_type",
    "period": "period",
    "policy type": "policy_type",
    "issue": "issue",
    "issue policy": "issue",
    "task type": "task_type",
    "task": "task",
    "location": "location",
    "market": "market",
    "result": "result",
}

#: Policy-type labels of all releases → the level of the ``Issue`` (ban reasons and the
#: unfilled template placeholders are other units and are not read).
LEVELS = {
    "all": "all",
    "issue": "policy",
    "issue policy": "policy",
    "policy": "policy",
    "community guidelines policy": "sub_policy",
    "sub-policy": "sub_policy",
}

#: Metrics read (lower-cased, all spellings) → short names.
METRICS = {
    "total videos removed": "removed",
    "category share": "share",
    "proactive removal rate": "proactive",
    "removal rate before any views": "zero_view",
    "removal rate within 24 hours": "within_24h",
    "videos restored": "restored",
    "video: removal rate of published": "published_rate",
    "removal rate of published": "published_rate",
}

#: Each published rate → (numerator, denominator) measure it becomes.
RATES = {
    "proactive": ("proactive_actions", "actions"),
    "zero_view": ("zero_view_actions", "view_counted_actions"),
    "within_24h": ("within_24h_actions", "timed_actions"),
}

#: TikTok's view buckets above 0 views (``Share of total removals`` tasks, lower-cased) → the
#: measure of removals made in that bucket.
VIEW_BUCKETS = {
    "1-10 views": "views_1_10_actions",
    "11-100 views": "views_11_100_actions",
    "101-1,000 views": "views_101_1k_actions",
    "1,001-10,000 views": "views_1k_10k_actions",
    "10,001-100,000 views": "views_10k_100k_actions",
    "100,001-1,000,000 views": "views_100k_1m_actions",
    ">1,000,000 views": "views_over_1m_actions",
}

#: First quarter of the 2023 policy taxonomy.
TAXONOMY_2023 = dt.date(2023, 4, 1)

#: Sub-policy shares of a policy summing to within this of 1 are rounding; they are rescaled.
SHARE_ROUNDING = 0.02

Breakdown = Literal["policy", "market"]


def mapping() -> pl.DataFrame:
    """TikTok policy and sub-policy names (every spelling, both taxonomies) → harm area and policy."""
    return definitions_csv("tiktok_policies.csv")


def is_cger_header(header: list[str]) -> bool:
    """True for the header of any CGER release."""
    return len(header) >= 10 and header[:3] == ["metric", "period type", "period"] and header[-1] == "result"


def read_release(name: str, data: bytes) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One release as normalised rows (quarter, metric, level, issue, task, market, value) and
    its rejected rows (results that are not numbers, periods that are not quarters)."""
    frame = read_text_csv(name, data)
    renames = {c: COLUMNS[c.strip().lower()] for c in frame.columns if c.strip().lower() in COLUMNS}
    missing = sorted(set(COLUMNS.values()) - set(renames.values()))
    if missing:
        raise DataError(
            f"{name}: not a TikTok CGER CSV; missing columns {missing}. Expected the header "
            f"Metric,Period type,Period,Policy type,Issue,Task type,Task,Location,Market,Result"
        )
    frame = frame.rename(renames)

    def lower(column: str) -> pl.Expr:
        return pl.col(column).str.strip_chars().str.to_lowercase()

    quarterly = lower("period_type") == "quarterly"
    rows = frame.with_columns(
        date=quarter_start(pl.col("period")),
        quarterly=quarterly,
        measure=lower("metric").replace_strict(METRICS, default=None),
        level=lower("policy_type").replace_strict(LEVELS, default=None),
        issue=pl.col("issue").str.strip_chars(),
        task_type=lower("task_type"),
        task=lower("task"),
        place=pl.when(lower("location") == "market").then(pl.col("market").str.strip_chars()),
        by_language=lower("location") == "language",
        value=published_number(pl.col("result")),
    )
    bad_value = pl.col("value").is_null()
    bad_period = quarterly & pl.col("date").is_null()
    bad = rows.filter(bad_value | bad_period)
    rejected = as_rejections(
        bad.select("_row", *renames.values(), _bad_value=bad_value),
        pl.when(pl.col("_bad_value"))
        .then(pl.format("result {} is not a number", pl.col("result")))
        .otherwise(pl.format("period {} is not a quarter like Jan-Mar 2024", pl.col("period"))),
        pl.when(pl.col("_bad_value")).then(pl.lit("Result")).otherwise(pl.lit("Period")),
        source=name,
    )
    kept = rows.filter(~(bad_value | bad_period))
    as_of = kept.filter("quarterly")["date"].max()
    return kept.with_columns(release=pl.lit(name), as_of=pl.lit(as_of, dtype=pl.Date)), rejected


def restatements(rows: pl.DataFrame) -> list[Caveat]:
    """Quarters whose global total of removed videos differs between releases."""
    totals = rows.filter(
        pl.col("quarterly"),
        pl.col("measure") == "removed",
        pl.col("level") == "all",
        pl.col("task") == "all",
        pl.col("place").is_null(),
    ).select("date", "release", "as_of", "value")
    newest = newest_release(totals).select("date", newest="value", latest="release")
    changed = totals.join(newest, on="date").filter((pl.col("value") - pl.col("newest")).abs() >= 1).sort("date")
    return [
        Caveat(
            f"TikTok restated the videos removed in the quarter starting {day}: {old:,.0f} in {release}, "
            f"{new:,.0f} in {latest} (the newest release is used).",
            kind="methodology",
            date=day,
        )
        for day, release, old, new, latest in changed.select("date", "release", "value", "newest", "latest").iter_rows()
    ]


def _values(rows: pl.DataFrame, keys: list[str], measures: tuple[str, ...]) -> pl.DataFrame:
    """One column per measure name, one row per key (the published value, or null)."""
    return rows.group_by(keys).agg(pl.col("value").filter(pl.col("measure") == m).first().alias(m) for m in measures)


def _with_taxonomy(rows: pl.DataFrame) -> pl.DataFrame:
    """Policy and sub-policy rows joined to the mapping (by spelling and taxonomy era)."""
    names = mapping().select(
        "taxonomy",
        "tiktok_policy",
        "tiktok_sub_policy",
        "harm_area",
        "policy",
        key=normalised_name(pl.col("published_name")),
        mapped=pl.lit(True),
    )
    era = pl.when(pl.col("date") >= TAXONOMY_2023).then(pl.lit("2023")).otherwise(pl.lit("2020"))
    keyed = rows.with_columns(taxonomy=era, key=normalised_name(pl.col("issue"))).join(
        names, on=["taxonomy", "key"], how="left"
    )
    return keyed.with_columns(
        tiktok_policy=pl.coalesce(
            "tiktok_policy",
            pl.when(pl.col("level") == "policy").then("issue").otherwise(pl.col("issue").str.split(" - ").list.first()),
        ),
        tiktok_sub_policy=pl.when(pl.col("level") == "sub_policy").then(pl.coalesce("tiktok_sub_policy", "issue")),
        policy=pl.when(pl.col("mapped")).then("policy").otherwise("issue"),
    )


def _unmapped(keyed: pl.DataFrame) -> list[Caveat]:
    names = keyed.filter(pl.col("mapped").is_null())["issue"].unique().sort().to_list()
    if not names:
        return []
    return [
        Caveat(f"TikTok policy names not in tiktok_policies.csv, kept without a harm area: {names}", kind="mapping")
    ]


def _chosen_rows(keyed: pl.DataFrame) -> pl.DataFrame:
    """Shares and rates of all removals; a quarter's human-moderation sub-policy split only where
    it is the only one published (Jul-Sep 2023; the pre-2023 human-moderation data are not read)."""
    per_quarter = ["date", "place", "level", "measure"]
    has_all = (pl.col("task") == "all").any().over(per_quarter)
    human_only = (pl.col("task") == "human moderation") & (pl.col("measure") == "share") & ~has_all
    return keyed.filter(
        pl.col("measure").is_in(["share", *RATES])
        & ((pl.col("task") == "all") | (human_only & (pl.col("taxonomy") == "2023")))
    )


def policy_cells(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[Caveat]]:
    """Removals and rate numerators per quarter × market × (sub-)policy.

    Policy shares are shares of the market's removals (they sum to 1 per market); sub-policy
    shares are shares of their policy's removals (they sum to 1 per policy). So removals of a
    sub-policy = the market's removals × policy share × sub-policy share, and each rate times
    those removals gives its numerator. A cell whose share is not published has no count.
    """
    video = rows.filter(pl.col("quarterly"), ~pl.col("by_language"), pl.col("measure").is_not_null())
    totals = video.filter(pl.col("measure") == "removed", pl.col("level") == "all", pl.col("task") == "all").select(
        "date", "place", total="value"
    )
    keyed = _with_taxonomy(video.filter(pl.col("level").is_in(["policy", "sub_policy"])))
    chosen = _chosen_rows(keyed)
    cell_keys = ["date", "place", "level", "issue", "tiktok_policy", "tiktok_sub_policy", "harm_area", "policy"]
    cells = _values(chosen, cell_keys, ("share", *RATES))
    split = (
        cells.filter(pl.col("level") == "sub_policy", pl.col("share").is_not_null())
        .select("date", "place", "tiktok_policy")
        .unique()
    )
    policy_removed = (
        cells.filter(pl.col("level") == "policy", pl.col("share").is_not_null())
        .with_columns(share=pl.col("share") / pl.col("share").sum().over("date", "place"))
        .join(totals, on=["date", "place"], how="left", nulls_equal=True)
        .select("date", "place", "tiktok_policy", policy_removed=pl.col("total") * pl.col("share"))
    )
    sub_total = pl.col("share").sum().over("date", "place", "tiktok_policy")
    sub_share = pl.when((sub_total - 1).abs() <= SHARE_ROUNDING).then(pl.col("share") / sub_total).otherwise("share")
    own_share = pl.when(pl.col("level") == "sub_policy").then(sub_share).otherwise(pl.lit(1.0))
    counted = (
        pl.concat(
            [
                cells.filter(pl.col("level") == "sub_policy"),
                cells.filter(pl.col("level") == "policy").join(
                    split, on=["date", "place", "tiktok_policy"], how="anti", nulls_equal=True
                ),
            ]
        )
        .join(policy_removed, on=["date", "place", "tiktok_policy"], how="left", nulls_equal=True)
        .with_columns(actions=pl.col("policy_removed") * own_share)
        .with_columns(_numerators())
    )
    rest, inconsistent = _rest_of_world(counted, totals)
    cells_out = pl.concat([counted.filter(pl.col("place").is_not_null()), rest])
    return cells_out, _unmapped(chosen) + _uncounted(counted) + inconsistent + _all_policy_gap(video, cells_out)


def _numerators() -> list[pl.Expr]:
    """Each rate's numerator (removals × rate) and denominator (removals where the rate is known)."""
    exprs = []
    for rate, (numerator, denominator) in RATES.items():
        exprs.append((pl.col("actions") * pl.col(rate)).alias(numerator))
        if denominator != "actions":
            exprs.append(pl.when(pl.col(rate).is_not_null()).then(pl.col("actions")).alias(denominator))
    return exprs


def _rest_of_world(cells: pl.DataFrame, totals: pl.DataFrame) -> tuple[pl.DataFrame, list[Caveat]]:
    """The markets TikTok does not list, per quarter and (sub-)policy: global minus listed markets.

    Quarters without markets keep the global cells. Where TikTok's global figure of a
    sub-policy is smaller than the sum of its markets (rounding and publisher inconsistencies),
    the residuals are clipped at zero and rescaled so the rest of the world adds up to exactly
    the global total minus the listed markets' totals. Each rate numerator of the rest of the
    world is what makes the global rate come out as published (kept between 0 and the removals).
    """
    keys = ["date", "level", "issue"]
    markets = cells.filter(pl.col("place").is_not_null())
    world = cells.filter(pl.col("place").is_null())
    with_markets = markets.select("date").unique()
    sums = markets.group_by(keys).agg(
        pl.col("actions").sum().alias("_markets"),
        *[pl.col(numerator).sum().alias(f"_markets_{rate}") for rate, (numerator, _) in RATES.items()],
        *[pl.col("actions").filter(pl.col(rate).is_not_null()).sum().alias(f"_base_{rate}") for rate in RATES],
    )
    listed = pl.col("total").filter(pl.col("place").is_not_null()).sum()
    room = totals.group_by("date").agg(_room=pl.col("total").filter(pl.col("place").is_null()).first() - listed)
    residual = (pl.col("actions") - pl.col("_markets").fill_null(0)).clip(lower_bound=0)
    rest = (
        world.join(with_markets, on="date")
        .join(sums, on=keys, how="left")
        .join(room, on="date", how="left")
        .with_columns(_global=pl.col("actions"))
    )
    rest = rest.with_columns(actions=residual * pl.col("_room") / residual.sum().over("date"))
    rates = {}
    for rate in RATES:
        target = pl.col(rate) * (pl.col(f"_base_{rate}").fill_null(0) + pl.col("actions")) - pl.col(
            f"_markets_{rate}"
        ).fill_null(0)
        rates[rate] = (
            pl.when(pl.col("actions") > 0)
            .then(target.clip(0, pl.col("actions")) / pl.col("actions"))
            .otherwise(pl.col(rate))
        )
    over = rest.filter(pl.col("_markets") > pl.col("_global"))
    rest = rest.with_columns(**rates).with_columns(_numerators())
    caveats = []
    if len(over):
        excess = (over["_markets"] - over["_global"]).sum()
        caveats.append(
            Caveat(
                f"In {len(over)} quarter × sub-policy cells TikTok's listed markets add up to more removals than its "
                f"global figure ({excess:,.0f} removals in all); the unlisted markets get none there and the rest of "
                f"the world is rescaled so the global total stays as published.",
                kind="defect",
            )
        )
    return pl.concat([world.join(with_markets, on="date", how="anti"), rest.select(world.columns)]), caveats


def _all_policy_gap(video: pl.DataFrame, cells: pl.DataFrame) -> list[Caveat]:
    """How far rates summed over policies are from TikTok's own all-policy rate of each market."""
    published = _values(
        video.filter(pl.col("level") == "all", pl.col("task") == "all", pl.col("place").is_not_null()),
        ["date", "place"],
        tuple(RATES),
    )
    summed = (
        cells.filter(pl.col("place").is_not_null())
        .group_by("date", "place")
        .agg(
            (pl.col(numerator).sum() / pl.col("actions").filter(pl.col(rate).is_not_null()).sum()).alias(f"_{rate}")
            for rate, (numerator, _) in RATES.items()
        )
    )
    gaps = published.join(summed, on=["date", "place"]).select(
        ((pl.col(rate) - pl.col(f"_{rate}")).abs().median() * 100).alias(rate) for rate in RATES
    )
    shown = ", ".join(
        f"{rate.replace('_', ' ')} {gap:.1f} pp" for rate, gap in gaps.row(0, named=True).items() if gap is not None
    )
    if not shown:
        return []
    return [
        Caveat(
            f"TikTok's all-policy rates of a market do not equal the rates of its policies weighted by their removals "
            f"(median gap: {shown}); they are computed on another base. Rates over several policies here are from "
            f"the policy figures; breakdown='market' holds TikTok's all-policy figures.",
            kind="defect",
        )
    ]


def _uncounted(cells: pl.DataFrame) -> list[Caveat]:
    """A gap caveat for cells with published rates but no share (so no count); Youth Safety
    & Well-Being has its own caveat."""
    missing = cells.filter(pl.col("actions").is_null(), pl.col("tiktok_policy") != "Youth Safety & Well-Being").sort(
        "date"
    )
    if missing.is_empty():
        return []
    first = missing.row(0, named=True)
    return [
        Caveat(
            f"{len(missing):,} quarter × market × policy cells have published rates but no category share, so their "
            f"removals cannot be counted and they stay empty (first: {first['issue']} in "
            f"{first['place'] or 'the unlisted markets'}, quarter starting {first['date']}).",
            kind="gap",
        )
    ]


def market_cells(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[Caveat]]:
    """Removals per quarter × market over all policies, with everything TikTok publishes at that level.

    Rates times removals give their numerators; the automation count is published as a count;
    the 0-views bucket of the view buckets (shares of removals) stands in for the removal rate
    before any views where that is not published; removals in each bucket above 0 views are
    removals × the bucket's share (over ``view_bucketed_actions``, the removals of markets that
    publish buckets); uploads are removals over the removal rate of published videos, and
    ``removals`` are the removals themselves (every TikTok removal here is a removed video), so the
    registry's ``removal_rate`` (removals / uploads) gives back the published rate.
    """
    overall = rows.filter(pl.col("quarterly"), ~pl.col("by_language"), pl.col("level") == "all")
    keys = ["date", "place"]
    published = _values(
        overall.filter(pl.col("task") == "all"), keys, ("removed", "restored", "published_rate", *RATES)
    )
    automated = overall.filter(pl.col("measure") == "removed", pl.col("task") == "automation").select(
        *keys, automated_actions="value"
    )
    cells = (
        published.join(automated, on=keys, how="left", nulls_equal=True)
        .join(_view_bucket_shares(overall, keys), on=keys, how="left", nulls_equal=True)
        .rename({"removed": "actions", "restored": "overturns"})
        .with_columns(zero_view=pl.coalesce("zero_view", "_0 views"))
        .with_columns(
            *_numerators(),
            uploads=pl.when(pl.col("published_rate") > 0).then(pl.col("actions") / pl.col("published_rate")),
            removals=pl.col("actions"),
            view_bucketed_actions=pl.when(pl.col("_bucketed")).then(pl.col("actions")),
            **{measure: pl.col("actions") * pl.col(f"_{bucket}") for bucket, measure in VIEW_BUCKETS.items()},
        )
    )
    measures = ["actions", "automated_actions", "overturns", "uploads", "removals", "view_bucketed_actions"]
    measures += list(VIEW_BUCKETS.values())
    measures += [m for pair in RATES.values() for m in pair if m not in measures]
    cells = cells.select(*keys, *measures)
    listed = cells.filter(pl.col("place").is_not_null())
    world = cells.filter(pl.col("place").is_null())
    with_markets = listed.select("date").unique()
    sums = listed.group_by("date").agg(
        pl.when(pl.col(m).count() == pl.len()).then(pl.col(m).sum()).alias(m) for m in measures
    )
    rest = world.join(sums, on="date", suffix="_listed").select(
        *keys, *[(pl.col(m) - pl.col(f"{m}_listed")).alias(m) for m in measures]
    )
    negative = rest.filter(pl.any_horizontal(pl.col(measures) < 0))
    rest = rest.with_columns(pl.col(measures).clip(lower_bound=0))
    caveats = []
    if len(negative):
        caveats.append(
            Caveat(
                f"In {len(negative)} quarters a figure of the listed markets adds up to more than TikTok's global "
                f"figure ({', '.join(m for m in measures if negative[m].lt(0).any())}); the unlisted markets' value "
                f"is set to 0 there.",
                kind="defect",
            )
        )
    lost = world.join(rest, on="date", suffix="_rest").select(
        "date", *[(pl.col(m).is_not_null() & pl.col(f"{m}_rest").is_null()).alias(m) for m in measures]
    )
    for measure in measures:
        quarters = lost.filter(measure)["date"].sort()
        if len(quarters):
            caveats.append(
                Caveat(
                    f"{measure} is published globally but not per market for the quarters starting "
                    f"{', '.join(map(str, quarters))}, "
                    f"so it is unknown for the unlisted markets and global queries leave it empty there.",
                    kind="gap",
                    date=quarters[0],
                )
            )
    return pl.concat([listed, world.join(with_markets, on="date", how="anti"), rest]), caveats


def _view_bucket_shares(overall: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per key, the published share of removals in each view bucket (``_0 views``, ``_1-10 views``…)
    and ``_bucketed`` (true). Where a market publishes some buckets, an unpublished one is 0 (its
    published shares already sum to 1); markets publishing none are absent, so their counts stay null."""
    buckets = overall.filter(
        pl.col("measure") == "removed",
        pl.col("task_type") == "share of total removals",
        pl.col("task").is_in(["0 views", *VIEW_BUCKETS]),
    )
    return buckets.group_by(keys).agg(
        pl.col("value").filter(pl.col("task") == "0 views").first().alias("_0 views"),
        *[pl.col("value").filter(pl.col("task") == bucket).sum().alias(f"_{bucket}") for bucket in VIEW_BUCKETS],
        _bucketed=pl.lit(True),
    )


def load(src: Any, breakdown: Breakdown = "policy") -> Cube:
    """Load one CGER release CSV, a folder of releases, or an uploaded release into a Cube.

    ``breakdown="policy"`` (default) gives quarter × market × harm area / policy;
    ``breakdown="market"`` gives quarter × market over all policies with the automation split,
    restored videos and uploads. See the module docstring for why there are two.
    """
    if breakdown not in ("policy", "market"):
        raise ValueError(f"breakdown must be 'policy' or 'market', not {breakdown!r}")
    found = csv_sources(src)
    if not found:
        raise DataError(f"{src}: no TikTok CGER CSV file found")
    releases = [read_release(name, read_bytes(source)) for name, source in found]
    rows = pl.concat([r for r, _ in releases], how="diagonal_relaxed")
    rejected = [bad for _, bad in releases]
    newest = newest_release(rows.filter(pl.col("quarterly")))
    cells, found_caveats = policy_cells(newest) if breakdown == "policy" else market_cells(newest)
    raw = cells.rename({"place": "country"}).with_columns(content_type=pl.lit("video"), platform=pl.lit("TikTok"))
    half_years = rows.filter(~pl.col("quarterly"))
    notes = known_caveats(KIND) + restatements(rows) + found_caveats
    if len(half_years):
        notes.append(Caveat(f"{len(half_years)} rows for half-year periods (not quarters) are not loaded.", kind="gap"))
    name = str(getattr(src, "name", None) or src)
    rows_read = len(rows) + sum(len(bad) for bad in rejected)
    return finish_report(raw, name, KIND, rows_read, notes, rejected, sum(len(bad) for bad in rejected))


class TikTokImporter:
    """TikTok Community Guidelines Enforcement Report CSV (one release, a folder of them, or an upload)."""

    kind = KIND
    engines: tuple[str, ...] = ("polars",)
    description = "TikTok Community Guidelines Enforcement Report CSV (tiktok.com/transparency, 'Download data')"

    def claims(self, src: Any, **options: Any) -> bool:
        """A CSV (or the first CSV of a folder) whose header is a CGER header."""
        return claims_csv(src, is_cger_header)

    def load(self, src: Any, breakdown: Breakdown = "policy", **options: Any) -> Cube:
        """Load with ``breakdown="policy"`` (default) or ``"market"``."""
        if options:
            raise DataError(f"the TikTok CGER importer takes only breakdown=, not {sorted(options)}")
        return load(src, breakdown)

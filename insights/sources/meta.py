"""Meta Community Standards Enforcement Report (CSER) CSV → Cube.

Meta publishes one tidy CSV per quarter, ``app,policy_area,metric,period,value``, holding the
whole history since 2017Q4 (Facebook and Instagram, global figures only). Values are text:
``20,800,000``, ``96.90%``, ``4%-5%``, ``N/A``. Every release revises older quarters; a folder
of releases keeps, per quarter, the newest release and records how many figures were revised.

The cube is quarter × app (``platform``) × harm area / policy: content actioned, proactive
actions (actioned × proactive rate), content appealed, restored with appeal (``overturns``) and
restored without appeal (``restored_without_appeal``).
``N/A`` stays null and each metric's N/A cells are listed in a caveat.
Prevalence is a share of all views with no view counts published, so it cannot be summed across
policies or apps: it is not in the cube. ``prevalence()`` returns it as a table of bounds;
``published_prevalence()`` as the prevalence metric's figures (``insights.load_source`` puts them
beside the cube, so ``cube.prevalence(grain="quarter")`` answers with Meta's figures).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from insights.cube import Caveat, Cube
from insights.errors import DataError
from insights.exposed import PublishedPrevalence
from insights.prevalence import ESTIMATE, RANGE, UPPER_BOUND
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

KIND = "meta_cser"
HEADER = ["app", "policy_area", "metric", "period", "value"]

#: Meta's metric → the measure it gives (the proactive rate is multiplied by content actioned).
METRICS = {
    "content actioned": "actions",
    "proactive rate": "proactive_rate",
    "content appealed": "appeals",
    "content restored with appeal": "overturns",
    "content restored without appeal": "restored_without_appeal",
}

#: Prevalence metrics → which bounds they give.
PREVALENCE = {"lowerbound prevalence": "lower", "upperbound prevalence": "upper", "ubp": "upper", "prevalence": "range"}


def mapping() -> pl.DataFrame:
    """Meta policy areas (every spelling) → harm area, policy and content type."""
    return definitions_csv("meta_policies.csv")


def read_releases(src: Any) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """All rows of every release in ``src`` (quarter, app, policy area, metric, text value,
    release, as-of quarter) and the rows whose period is not a quarter (rejected)."""
    found = csv_sources(src)
    if not found:
        raise DataError(f"{src}: no Meta CSER CSV file found")
    frames, rejected = [], []
    for name, source in found:
        frame = read_text_csv(name, read_bytes(source))
        if [c.strip().lower() for c in frame.columns if c != "_row"] != HEADER:
            raise DataError(
                f"{name}: not a Meta CSER CSV; expected the header {','.join(HEADER)}, found {frame.columns[1:]}"
            )
        frame = frame.rename({c: c.strip().lower() for c in frame.columns}).with_columns(
            date=quarter_start(pl.col("period")), metric=pl.col("metric").str.strip_chars().str.to_lowercase()
        )
        bad = frame.filter(pl.col("date").is_null())
        rejected.append(
            as_rejections(bad, pl.format("period {} is not a quarter like 2024Q2", "period"), "period", source=name)
        )
        kept = frame.filter(pl.col("date").is_not_null())
        frames.append(kept.with_columns(release=pl.lit(name), as_of=pl.lit(kept["date"].max(), dtype=pl.Date)))
    return pl.concat(frames), rejected


def _with_policies(rows: pl.DataFrame) -> pl.DataFrame:
    names = mapping().select("harm_area", "policy", "content_type", key=normalised_name(pl.col("policy_area")))
    return rows.with_columns(key=normalised_name(pl.col("policy_area"))).join(names, on="key", how="left")


def _not_published(rows: pl.DataFrame) -> list[Caveat]:
    """One caveat per metric listing where the report says N/A (the reason the cell is empty)."""
    na = rows.filter(pl.col("value").str.strip_chars().str.to_uppercase() == "N/A", pl.col("measure").is_not_null())
    summary = (
        na.group_by("metric")
        .agg(
            pl.len(),
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
            pl.col("policy_area").unique().sort().alias("areas"),
        )
        .sort("metric")
    )
    return [
        Caveat(
            f"Meta publishes '{metric}' as N/A (not available) for {n} app × policy-area quarters between the quarters "
            f"starting {first} and {last} ({', '.join(areas)}); those cells are empty, not zero.",
            kind="gap",
            date=first,
        )
        for metric, n, first, last, areas in summary.iter_rows()
    ]


def _revisions(rows: pl.DataFrame) -> list[Caveat]:
    """How many published figures a newer release changed (content actioned), and the largest change."""
    counts = rows.filter(pl.col("metric") == "content actioned").with_columns(number=published_number(pl.col("value")))
    newest = newest_release(counts).select("app", "policy_area", "date", newest="number")
    revised = (
        counts.join(newest, on=["app", "policy_area", "date"])
        .filter((pl.col("number") - pl.col("newest")).abs() > 0)
        .with_columns(change=(pl.col("newest") / pl.col("number") - 1).abs())
        .sort("change", descending=True)
    )
    if revised.is_empty():
        return []
    top = revised.row(0, named=True)
    return [
        Caveat(
            f"Later releases revised {revised.select('app', 'policy_area', 'date').n_unique():,} 'content actioned' "
            f"figures; the newest release is used. Largest revision: {top['app']} {top['policy_area']} in the quarter "
            f"starting {top['date']}, {top['number']:,.0f} in {top['release']} → {top['newest']:,.0f}.",
            kind="methodology",
            date=top["date"],
        )
    ]


def load(src: Any) -> Cube:
    """Load one CSER release, a folder of releases (the newest wins per quarter), or an upload."""
    rows, rejected = read_releases(src)
    rows = rows.with_columns(measure=pl.col("metric").replace_strict(METRICS, default=None))
    newest = _with_policies(newest_release(rows))
    unmapped = newest.filter(pl.col("harm_area").is_null())["policy_area"].unique().sort().to_list()
    values = newest.filter(pl.col("measure").is_not_null()).with_columns(number=published_number(pl.col("value")))
    keys = ["date", "app", "harm_area", "policy", "content_type", "policy_area"]
    cells = values.group_by(keys).agg(
        pl.col("number").filter(pl.col("measure") == m).first().alias(m) for m in METRICS.values()
    )
    raw = cells.select(
        "date",
        "harm_area",
        pl.when(pl.col("harm_area").is_null()).then("policy_area").otherwise("policy").alias("policy"),
        "content_type",
        platform="app",
        actions="actions",
        proactive_actions=pl.col("actions") * pl.col("proactive_rate"),
        appeals="appeals",
        overturns="overturns",
        restored_without_appeal="restored_without_appeal",
    )
    notes = known_caveats(KIND) + _not_published(newest) + _revisions(rows)
    if unmapped:
        notes.append(
            Caveat(f"Meta policy areas not in meta_policies.csv, kept without a harm area: {unmapped}", kind="mapping")
        )
    name = str(getattr(src, "name", None) or src)
    bad = sum(len(r) for r in rejected)
    return finish_report(raw, name, KIND, len(rows) + bad, notes, rejected, bad)


def prevalence(src: Any) -> pl.DataFrame:
    """Meta's prevalence estimates as a table (not additive, so not in the cube).

    One row per app × policy area × quarter (newest release): ``lower`` and ``upper`` bound of
    the share of content views that were violating, as fractions. Upper-bound-only figures
    (``UBP``, "less than 0.05%") have no lower bound; ranges such as ``4%-5%`` give both.
    """
    rows, _ = read_releases(src)
    rows = _with_policies(newest_release(rows)).filter(pl.col("metric").is_in(list(PREVALENCE)))
    bounds = pl.col("value").str.split("-")
    kind = pl.col("metric").replace_strict(PREVALENCE)
    parsed = rows.with_columns(
        low=published_number(bounds.list.first()),
        high=published_number(bounds.list.last()),
        kind=kind,
    )
    return (
        parsed.group_by("date", "app", "policy_area", "harm_area")
        .agg(
            lower=pl.col("low").filter(pl.col("kind").is_in(["lower", "range"])).first(),
            upper=pl.col("high").filter(pl.col("kind").is_in(["upper", "range"])).first(),
        )
        .sort("date", "app", "policy_area")
    )


#: Policy areas whose "prevalence" is not a share of views (fake accounts: a share of monthly active users).
NOT_VIEW_PREVALENCE = ("fake accounts",)


def published_prevalence(src: Any) -> PublishedPrevalence:
    """Meta's prevalence as the prevalence metric's figures, with their caveats.

    One row per quarter × app (``platform``) × policy area (``policy``, and Meta's name in
    ``policy_area``) with the columns of ``insights.prevalence.estimate_prevalence``: a range
    (``lower`` < ``upper``) has status ``range`` and no ``estimate`` (Meta gives none), equal ends
    are an ``estimate``, an upper-bound-only figure (``UBP``) has status ``upper_bound`` and only
    ``upper``; sample sizes are not published (null). ``reported`` is the figure as Meta states it:
    ``"0.02–0.03 %"``, ``"0.02 %"``, ``"≤ 0.05 %"``.
    """
    bounds = prevalence(src).filter(~pl.col("policy_area").str.to_lowercase().is_in(NOT_VIEW_PREVALENCE))
    policies = mapping().select(key=normalised_name(pl.col("policy_area")), policy="policy")
    table = bounds.with_columns(key=normalised_name(pl.col("policy_area"))).join(policies, on="key", how="left")
    status = (
        pl.when(pl.col("lower").is_null())
        .then(pl.lit(UPPER_BOUND))
        .when(pl.col("lower") == pl.col("upper"))
        .then(pl.lit(ESTIMATE))
        .otherwise(pl.lit(RANGE))
    )
    two = lambda column: (pl.col(column) * 100).map_elements(lambda v: f"{v:.2f}", return_dtype=pl.String)  # noqa: E731
    figures = table.filter(pl.col("upper").is_not_null()).select(
        period="date",
        platform="app",
        policy="policy",
        policy_area="policy_area",
        harm_area="harm_area",
        estimate=pl.when(status == ESTIMATE).then(pl.col("lower")),
        lower="lower",
        upper="upper",
        sample_size=pl.lit(None, dtype=pl.Int64),
        effective_sample_size=pl.lit(None, dtype=pl.Float64),
        violating_sampled=pl.lit(None, dtype=pl.Int64),
        views_represented=pl.lit(None, dtype=pl.Float64),
        reported=pl.when(status == UPPER_BOUND)
        .then(pl.format("≤ {} %", two("upper")))
        .when(status == ESTIMATE)
        .then(pl.format("{} %", two("lower")))
        .otherwise(pl.format("{}–{} %", two("lower"), two("upper"))),
        status=status,
    )
    caveats = known_caveats(f"{KIND}_prevalence")
    return PublishedPrevalence(figures.sort("period", "platform", "policy_area"), "quarter", caveats)


class MetaImporter:
    """Meta Community Standards Enforcement Report CSV (one release, a folder of them, or an upload)."""

    kind = KIND
    engines: tuple[str, ...] = ("polars",)
    description = "Meta Community Standards Enforcement Report CSV (transparency.meta.com, 'Download (CSV)')"

    def claims(self, src: Any, **options: Any) -> bool:
        """A CSV (or the first CSV of a folder) with the CSER header."""
        return claims_csv(src, lambda header: header == HEADER)

    def load(self, src: Any, **options: Any) -> Cube:
        """Load; the CSER importer takes no options."""
        if options:
            raise DataError(f"the Meta CSER importer takes no options, not {sorted(options)}")
        return load(src)

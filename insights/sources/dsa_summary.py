"""EU DSA Transparency Database daily summary (shantay's ``builtin.parquet``) → Cube.

The summary holds, per day and platform, value counts of the statements' fields: how many
statements had each category, each source type, each content type, each country in their
territorial scope, and so on, plus counts and mean moderation delays. Each field is a separate
marginal: the summary does not say how many statements of a category came from trusted
flaggers. An additive cube can hold one of these partitions at a time, so ``breakdown`` picks it:

- ``"category"`` (default): day × platform × harm area / policy (statement category);
- ``"keyword"``: day × platform × harm area / policy from the keywords (most statements have
  none; they count under no harm area);
- ``"source_type"``: day × platform × detection source (notice, trusted flagger, own initiative…);
- ``"content_type"``: day × platform × content type;
- ``"territorial_scope"``: day × platform × country (``EU`` / ``EEA`` for the whole union / area);
- ``"platform"``: day × platform with fully automated decisions, automated detections,
  own-initiative (proactive) statements and the moderation delay (its daily mean × count, so
  the mean delay of any slice is exact; the summary keeps no distribution).

The summary does not split automated detection, automated decisions or delays by category (or
by any other field), so they exist only in the ``"platform"`` breakdown.

Content types, keywords and countries are lists: a statement with several counts once per value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import polars as pl

from insights.cube import Caveat, Cube
from insights.errors import DataError
from insights.sources.dsa import KIND, harm_codes
from insights.sources.reports import finish_report, known_caveats
from insights.sources.tables import is_uploaded_file

SUMMARY_KIND = "dsa_summary"
COLUMNS = frozenset({"start_date", "end_date", "tag", "platform", "column", "entity", "variant", "count"})

Breakdown = Literal["category", "keyword", "source_type", "content_type", "territorial_scope", "platform"]

#: Breakdown → (summary column, cube dimension it fills).
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "category": ("category", "harm_area"),
    "keyword": ("category_specification", "harm_area"),
    "source_type": ("source_type", "detection_source"),
    "content_type": ("content_type", "content_type"),
    "territorial_scope": ("territorial_scope", "country"),
}

#: Fields whose values are lists (one statement can count under several values).
LIST_FIELDS = frozenset({"category_specification", "content_type", "territorial_scope"})

#: shantay's alias for the EEA without Iceland → the pseudo-country it is counted under.
SCOPE_ALIASES = {"EEA_no_IS": "EEA"}


def summary_path(src: Any) -> Any:
    """The parquet file of ``src`` (a path, a folder holding one, or an upload)."""
    if is_uploaded_file(src):
        return src
    path = Path(src)
    if path.is_dir():
        found = sorted(path.glob("*.parquet"))
        if not found:
            raise DataError(f"{path}: the folder holds no .parquet file")
        return found[0]
    return path


def is_summary(src: Any) -> bool:
    """True for a parquet file whose columns are those of the daily summary."""
    try:
        source = summary_path(src)
        if not str(getattr(source, "name", source)).lower().endswith(".parquet"):
            return False
        return set(pl.read_parquet_schema(source)) >= COLUMNS
    except (DataError, OSError, pl.exceptions.PolarsError, TypeError):
        return False


def _statistics(src: Any, columns: list[str]) -> pl.LazyFrame:
    """Per-platform value counts of the given summary columns (with the mean, in seconds, of
    duration columns)."""
    return (
        pl.scan_parquet(summary_path(src))
        .filter(pl.col("tag").is_null(), pl.col("platform").is_not_null(), pl.col("entity").is_null())
        .filter(pl.col("column").cast(pl.String).is_in(columns))
        .select(
            date=pl.col("start_date"),
            platform=pl.col("platform").cast(pl.String),
            column=pl.col("column").cast(pl.String),
            variant=pl.col("variant").cast(pl.String),
            count=pl.col("count"),
            mean=pl.col("mean"),
        )
    )


def breakdown_cells(src: Any, breakdown: str) -> pl.DataFrame:
    """Statements per day × platform × value of one field, mapped onto the cube's dimension."""
    column, dimension = BREAKDOWNS[breakdown]
    counts = _statistics(src, [column]).group_by("date", "platform", "variant").agg(actions=pl.col("count").sum())
    if dimension == "harm_area":
        harm_area, policy = harm_codes()
        value = {
            "harm_area": pl.col("variant").replace_strict(harm_area, default=None),
            "policy": pl.col("variant").replace_strict(policy, default=None),
        }
    elif dimension == "country":
        value = {"country": pl.col("variant").replace(SCOPE_ALIASES)}
    else:
        value = {dimension: pl.col("variant")}
    return counts.select("date", "platform", **value, actions="actions").collect()


def platform_cells(src: Any) -> pl.DataFrame:
    """Statements per day × platform with the figures the summary has at that level only.

    The moderation delay (application date − content date) becomes two additive measures: the
    statements with a delay (``timed_actions``) and their summed delay in hours (daily mean ×
    count, ``hours_to_action``), so ``mean_hours_to_action`` is the count-weighted mean.
    """
    stats = _statistics(src, ["rows", "automated_decision", "automated_detection", "source_type", "moderation_delay"])
    delay = pl.col("column") == "moderation_delay"

    def counted(column: str, variant: str | None = None) -> pl.Expr:
        chosen = pl.col("column") == column
        if variant is not None:
            chosen = chosen & (pl.col("variant") == variant)
        return pl.col("count").filter(chosen).sum()

    return (
        stats.group_by("date", "platform")
        .agg(
            actions=counted("rows"),
            automated_actions=counted("automated_decision", "AUTOMATED_DECISION_FULLY"),
            automated_detections=counted("automated_detection", "Yes"),
            proactive_actions=counted("source_type", "SOURCE_VOLUNTARY"),
            timed_actions=counted("moderation_delay"),
            hours_to_action=(pl.col("count") * pl.col("mean")).filter(delay).sum() / 3600,
        )
        .collect()
    )


def _breakdown_notes(breakdown: str, column: str | None) -> list[Caveat]:
    notes = [
        Caveat(
            f"This cube is the '{breakdown}' breakdown of the daily summary: the summary counts each field's values "
            f"separately per day and platform, so other fields cannot be crossed with it (load again with another "
            f"breakdown= for them).",
            kind="methodology",
        )
    ]
    if column in LIST_FIELDS:
        notes.append(
            Caveat(
                f"{column} is a list: a statement with several values counts once under each, so the values of one "
                f"platform and day can add up to more than its statements.",
                kind="methodology",
            )
        )
    if breakdown == "territorial_scope":
        notes.append(
            Caveat(
                "Statements applying to the whole EU count under EU, to the whole EEA (with or without Iceland) "
                "under EEA; other lists count once per country.",
                kind="methodology",
            )
        )
    if breakdown == "platform":
        notes.append(
            Caveat(
                "A statement without an automated decision, automated detection or a source type counts as not "
                "automated / not detected automatically / not own-initiative. Moderation delays (application date − "
                "content date) are daily means only, so the mean delay is exact but there is no median or share "
                "within 24 hours; statements with a negative delay have none.",
                kind="methodology",
            )
        )
    else:
        notes.append(
            Caveat(
                "The summary does not split automated detection, automated decisions or moderation delays by "
                "category or any other field, so this breakdown has none of them; breakdown='platform' has them per "
                "day and platform.",
                kind="gap",
            )
        )
    return notes


def load(src: Any, breakdown: Breakdown = "category") -> Cube:
    """Load the daily summary parquet into a daily Cube of one ``breakdown`` (see the module docstring)."""
    if breakdown != "platform" and breakdown not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {[*BREAKDOWNS, 'platform']}, not {breakdown!r}")
    if not is_summary(src):
        raise DataError(f"{src}: not the DSA daily summary parquet; expected the columns {sorted(COLUMNS)}")
    raw = platform_cells(src) if breakdown == "platform" else breakdown_cells(src, breakdown)
    column = BREAKDOWNS[breakdown][0] if breakdown in BREAKDOWNS else None
    notes = known_caveats(KIND) + _breakdown_notes(breakdown, column)
    name = str(getattr(src, "name", None) or src)
    rows_read = pl.scan_parquet(summary_path(src)).select(pl.len()).collect().item()
    return finish_report(raw, name, SUMMARY_KIND, rows_read, notes, time_grain="day")


class DsaSummaryImporter:
    """EU DSA Transparency Database daily summary statistics (shantay's builtin.parquet)."""

    kind = SUMMARY_KIND
    engines: tuple[str, ...] = ("polars",)
    description = "EU DSA Transparency Database daily summary (shantay builtin.parquet), one breakdown at a time"

    def claims(self, src: Any, **options: Any) -> bool:
        """A parquet file (or a folder holding one) with the summary's columns."""
        return is_summary(src)

    def load(self, src: Any, breakdown: Breakdown = "category", **options: Any) -> Cube:
        """Load with ``breakdown=`` (default ``"category"``)."""
        if options:
            raise DataError(f"the DSA summary importer takes only breakdown=, not {sorted(options)}")
        return load(src, breakdown)

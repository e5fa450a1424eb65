"""Small-cell suppression (statistical disclosure control) of the cube's answers.

A ``Suppression`` policy says below which count a number may not be shown: ``threshold``
(default 10) everywhere, stricter for the harm areas listed in ``harm_areas``. A cube that
carries one (``Cube.with_suppression``) passes every answer through ``suppress`` before anything
else sees it, so trends, regions, root cause, narratives and exports only ever see what may be
shown.

Rules, applied to each additive column of an answer (a count, or a sum behind a rate):

- **Primary.** A value ``n`` with ``0 < n < threshold`` is withheld. A zero is shown: cells of an
  answer are enforcement actions, appeals and the like, not people, and "no actions of this
  kind" is what a reader needs to see. ACRO, whose threshold rule the tests check against, flags
  empty cells as well (0 is below any threshold; its ``zeros_are_disclosive`` setting flags them
  once more): that is the one deliberate difference. A zero never hides another cell either.
- **Secondary.** Along each key of the answer (``period`` and every breakdown dimension), the
  cells that share all other keys are siblings; their sum is the total another answer shows. In
  every group of siblings where exactly one cell is withheld, the smallest other non-zero shown
  cell is withheld too (ties: the first in key order), and this repeats over all keys until no
  group has exactly one. So subtracting the shown siblings from a shown total never isolates one
  hidden cell. A withheld complement is never below its threshold (every non-zero cell below it
  is already withheld), so it is shown as "withheld", not as "<10".
- **Rates.** A value computed from several columns (a rate from its numerator and denominator
  sums) is withheld when any of them is: a rate over a small base would reveal that base's cases,
  and a rate of a small numerator over a shown base would give the numerator back (rate × base).

The threshold of a cell is the strictest that applies to the harm areas it may contain: the cell's
own harm area where the answer is broken down by harm area (or by policy, whose harm area is in
the taxonomy), else the harm areas the filters allow (or those of the filtered policies), else
(a cell over all harm areas) the strictest threshold configured. The last is conservative: the
exact rule would be "the strictest among the harm areas with a non-zero count in the cell", and
the two only differ for a cell whose total lies between the default and a stricter threshold and
that holds none of the stricter harm area, which is withheld here. In exchange the threshold
never falls as cells are added up, so a total is never held to a laxer rule than its parts, and
no answer needs a second, finer query.

How a withheld value travels: its number is gone from the answer (null), and a companion column
``<column>__withheld`` (``withheld_column``) holds ``{"threshold": t, "reason": r}`` where the
value is withheld, null where it is shown; ``reason`` is ``"count"`` (a count below ``t``),
``"rate"`` (computed from a count below ``t``) or ``"complement"`` (withheld to protect a small
cell). ``Withheld.of(row, column)`` reads it; ``insights.formatting.value_text`` writes "<10"
from it (the only place that does); ``insights.formatting.shown_frame`` turns a whole frame into
text for tables and CSV. Answers of a cube without a policy have no companion columns.

What this does not protect (a reviewer should know):

- **Differencing across different questions.** Secondary suppression works within one answer:
  the totals it guards are the sums of that answer's own siblings. Two answers over different
  filters or periods (week 1–4 against week 1–3, a region against its countries fetched
  separately, the same table with and without one policy) can still be subtracted from each other.
  Fixed period grids and breakdowns on the pages limit this; it is not prevented.
- **Narrow sums of hidden cells.** A group with two hidden cells shows their sum; when that sum
  is close to the threshold it narrows both values. No protection interval is enforced.
- **Dominance.** A count that one actor makes up almost entirely is not detected (ACRO's p% and
  N-k rules need the microdata behind a sum, which an aggregated cube does not keep).
- **Derived numbers.** Results computed from suppressed answers (root-cause segments summed from
  visible leaves, a derived region summed from its countries) see hidden cells as unknown; they
  never show a hidden value but can fall short of the real total.
- **Existence.** Filter lists (``Cube.values``) name every value with data, ranked by volume,
  and a cube answer has a row for every combination with data: that a cell is non-empty, and its
  order among others, is not hidden. Maps show withheld countries in grey.
- **Code.** Suppression governs what the product shows and exports. ``Cube.data`` still holds
  the unsuppressed table for the code that loaded it; it is not an access-control boundary.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import polars as pl

from insights.errors import DataError
from insights.filters import Filters, normalise_filters
from insights.model import labels, policy_harm_areas

#: The threshold used when none is configured.
DEFAULT_THRESHOLD = 10
#: The environment variable naming the TOML file with the ``[suppression]`` table the app applies.
SUPPRESSION_VARIABLE = "HARM_INSIGHTS_SUPPRESSION"
#: Suffix of the companion column saying why a value is withheld (``withheld_column``).
WITHHELD_SUFFIX = "__withheld"
Reason = Literal["count", "rate", "complement"]
#: The type of a companion column: null where the value is shown.
WITHHELD_TYPE = pl.Struct({"threshold": pl.Int64, "reason": pl.String})


def withheld_column(column: str) -> str:
    """The name of the companion column of a value column: ``actions`` → ``actions__withheld``."""
    return f"{column}{WITHHELD_SUFFIX}"


@dataclass(frozen=True)
class Withheld:
    """Why one value is not shown: ``threshold`` in force for its cell and ``reason`` ("count": a
    count below the threshold; "rate": computed from one; "complement": hidden to protect a small
    cell, itself not small)."""

    threshold: int
    reason: Reason

    @classmethod
    def of(cls, row: Mapping[str, Any], column: str) -> Withheld | None:
        """The companion of ``column`` in a row of an answer (a dict), None where it is shown or
        the answer comes from a cube without suppression."""
        found = row.get(withheld_column(column))
        return None if found is None else cls(int(found["threshold"]), found["reason"])


@dataclass(frozen=True)
class Suppression:
    """A small-cell suppression policy: counts ``0 < n < threshold`` are withheld; a harm area in
    ``harm_areas`` has its own, stricter threshold (never below ``threshold``)."""

    threshold: int = DEFAULT_THRESHOLD
    harm_areas: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_threshold("suppression.threshold", self.threshold, 1, "1 switches suppression off")
        known = labels("harm_area")
        for area, threshold in self.harm_areas.items():
            if area not in known:
                raise ValueError(
                    f"suppression.harm_area.{area}: unknown harm area {area!r}; expected one of {', '.join(known)}"
                )
            _check_threshold(
                f"suppression.harm_area.{area}",
                threshold,
                self.threshold,
                "the threshold; a harm area's can only be stricter",
            )
        object.__setattr__(self, "harm_areas", MappingProxyType(dict(self.harm_areas)))

    @property
    def strictest(self) -> int:
        """The highest threshold of the policy (for cells over every harm area)."""
        return max([self.threshold, *self.harm_areas.values()])

    def threshold_for(self, harm_areas: Iterable[str | None] | None) -> int:
        """The threshold of a cell that may contain these harm areas (the strictest of theirs);
        None, no harm area or an unknown (null) one: the strictest of the policy."""
        areas = list(harm_areas or [])
        if not areas or any(a is None for a in areas):
            return self.strictest
        return max(self.harm_areas.get(str(a), self.threshold) for a in areas)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Suppression:
        """A policy from the ``[suppression]`` table of a TOML file (as a dict)::

        [suppression]
        threshold = 10
        [suppression.harm_area]
        child_safety = 20
        """
        if not isinstance(table, Mapping):
            raise ValueError(f"[suppression] must be a table, not {type(table).__name__}")
        unknown = sorted(set(table) - {"threshold", "harm_area"})
        if unknown:
            raise ValueError(
                f"[suppression]: unknown key(s) {unknown}; expected 'threshold' and [suppression.harm_area]"
            )
        areas = table.get("harm_area", {})
        if not isinstance(areas, Mapping):
            raise ValueError(
                "[suppression.harm_area] must be a table of harm area = threshold (child_safety = 20), "
                f"not {type(areas).__name__}"
            )
        return cls(table.get("threshold", DEFAULT_THRESHOLD), dict(areas))

    @classmethod
    def from_toml(cls, source: str | Path) -> Suppression:
        """A policy from a TOML file (a path) or TOML text with a ``[suppression]`` table;
        without that table, the default policy."""
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"suppression settings are not valid TOML: {error}") from None
        return cls.from_table(document.get("suppression", {}))


def load_suppression(path: str | os.PathLike[str] | None = None) -> Suppression | None:
    """The suppression policy of a TOML file (``$HARM_INSIGHTS_SUPPRESSION`` when no path is given),
    or None when none is configured. A file without a ``[suppression]`` table gives the default
    policy (threshold 10). Raises ``DataError`` naming the file for one that cannot be read or
    holds a bad policy: a deployment that asked for suppression never runs without it."""
    path = path or os.environ.get(SUPPRESSION_VARIABLE)
    if not path:
        return None
    file = Path(path)
    try:
        return Suppression.from_toml(file)
    except OSError as error:
        raise DataError(f"suppression settings {file}: cannot read them ({error.strerror})") from None
    except ValueError as error:
        raise DataError(f"suppression settings {file}: {error}") from None


def _check_threshold(name: str, value: object, minimum: int, why: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number (such as 10), not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum} ({why}), not {value}")


def cell_threshold(policy: Suppression, keys: Sequence[str], filters: Filters | None) -> pl.Expr:
    """The threshold of each row of an answer with these key columns, asked with these filters."""
    allowed = normalise_filters(filters)
    parents = policy_harm_areas()
    if "harm_area" in keys:
        area = pl.col("harm_area").cast(pl.String)
    elif "policy" in keys:
        area = pl.col("policy").cast(pl.String).replace_strict(parents, default=None, return_dtype=pl.String)
    else:
        if "harm_area" in allowed:
            return pl.lit(policy.threshold_for(allowed["harm_area"]), dtype=pl.Int64)
        if "policy" in allowed:
            return pl.lit(policy.threshold_for(parents.get(p) for p in allowed["policy"]), dtype=pl.Int64)
        return pl.lit(policy.strictest, dtype=pl.Int64)
    thresholds = {a: policy.threshold_for([a]) for a in labels("harm_area")}
    return area.replace_strict(thresholds, default=policy.strictest, return_dtype=pl.Int64)


def suppress(
    answer: pl.DataFrame,
    policy: Suppression,
    *,
    keys: Sequence[str],
    columns: Sequence[str],
    filters: Filters | None = None,
) -> pl.DataFrame:
    """``answer`` with its additive ``columns`` suppressed (primary and secondary, see the module):
    each withheld value set to null, and a companion ``<column>__withheld`` per column.

    ``keys`` are the answer's key columns (``period`` and the breakdown dimensions): secondary
    suppression runs along each. ``filters`` are those the answer was asked with (they decide
    the threshold of a cell not broken down by harm area).
    """
    work = answer.with_columns(__threshold=cell_threshold(policy, keys, filters), __row=pl.int_range(pl.len()))
    primary = {c: f"__primary_{i}" for i, c in enumerate(columns)}
    hidden = {c: f"__hidden_{i}" for i, c in enumerate(columns)}
    work = work.with_columns(
        ((pl.col(c) > 0) & (pl.col(c) < pl.col("__threshold"))).fill_null(False).alias(primary[c]) for c in columns
    ).with_columns(pl.col(primary[c]).alias(hidden[c]) for c in columns)
    if keys and len(work):
        work = _complements(work, keys, {c: hidden[c] for c in columns})
    return work.with_columns(
        *(pl.when(pl.col(hidden[c])).then(None).otherwise(pl.col(c)).alias(c) for c in columns),
        *(_companion(c, pl.col(primary[c]), pl.col(hidden[c])) for c in columns),
    ).drop("__threshold", "__row", *primary.values(), *hidden.values())


def _companion(column: str, primary: pl.Expr, hidden: pl.Expr) -> pl.Expr:
    reason = pl.when(primary).then(pl.lit("count")).otherwise(pl.lit("complement"))
    value = pl.struct(threshold=pl.col("__threshold"), reason=reason)
    return pl.when(hidden).then(value).otherwise(None).cast(WITHHELD_TYPE).alias(withheld_column(column))


def _complements(work: pl.DataFrame, keys: Sequence[str], hidden: Mapping[str, str]) -> pl.DataFrame:
    """Withhold complements until no group of siblings along any key has exactly one hidden cell."""
    groups = {key: f"__siblings_{i}" for i, key in enumerate(keys)}  # one integer id per sibling group
    work = work.with_columns(
        (pl.struct(others).rank("dense") if (others := [k for k in keys if k != key]) else pl.lit(0)).alias(group)
        for key, group in groups.items()
    )
    while True:
        before = work.select(pl.sum_horizontal(pl.col(h).sum() for h in hidden.values())).item()
        for column, flag in hidden.items():
            for group in groups.values():
                work = _complement_pass(work, column, flag, group)
        if work.select(pl.sum_horizontal(pl.col(h).sum() for h in hidden.values())).item() == before:
            return work.drop(groups.values())


def _complement_pass(work: pl.DataFrame, column: str, flag: str, group: str) -> pl.DataFrame:
    """``work`` with, in each ``group`` of siblings that has exactly one hidden cell (``flag``), the
    smallest other non-zero shown cell hidden as well (one window per step: nested windows are slow)."""
    value, hidden = pl.col(column), pl.col(flag)
    candidate = ~hidden & (value > 0).fill_null(False)
    work = work.with_columns(
        __lonely=hidden.sum().over(group) == 1, __smallest=pl.when(candidate).then(value).min().over(group)
    )
    first = pl.when(candidate & (value == pl.col("__smallest"))).then(pl.col("__row")).min().over(group)
    work = work.with_columns(__chosen=first)
    chosen = (pl.col("__lonely") & (pl.col("__row") == pl.col("__chosen"))).fill_null(False)
    return work.with_columns((hidden | chosen).alias(flag)).drop("__lonely", "__smallest", "__chosen")


def zero_unless_withheld(column: str, columns: Collection[str]) -> pl.Expr:
    """``column`` with missing values as 0 (a combination without data in an answer counts 0),
    except where its companion (when ``columns`` has one) says suppression withheld it."""
    if withheld_column(column) not in columns:
        return pl.col(column).fill_null(0)
    return pl.when(pl.col(withheld_column(column)).is_null()).then(pl.col(column).fill_null(0)).alias(column)


def withheld_of(name: str, columns: Sequence[str]) -> pl.Expr:
    """The companion of a value ``name`` computed from suppressed ``columns``: a count's own
    (renamed); for a rate from its numerator and denominator sums, withheld when either is, with
    reason "rate" when one of them is a count below the threshold, else "complement"."""
    if len(columns) < 2:
        own = pl.col(withheld_column(columns[0])) if columns else pl.lit(None, dtype=WITHHELD_TYPE)
        return own.alias(withheld_column(name))
    parts = [pl.col(withheld_column(c)) for c in columns]
    hidden = pl.any_horizontal(p.is_not_null() for p in parts)
    small = pl.any_horizontal((p.struct.field("reason") == "count").fill_null(False) for p in parts)
    threshold = pl.max_horizontal(p.struct.field("threshold") for p in parts)
    reason = pl.when(small).then(pl.lit("rate")).otherwise(pl.lit("complement"))
    value = pl.struct(threshold=threshold, reason=reason)
    return pl.when(hidden).then(value).otherwise(None).cast(WITHHELD_TYPE).alias(withheld_column(name))

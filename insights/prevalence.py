"""Prevalence: the share of views that were views of violating content, estimated from a
labelled random sample of views, with a confidence interval (Meta's "prevalence", YouTube's
"violative view rate").

**Prevalence is estimated, not summed.** It is not a cube measure: no table of counts holds it.
Each figure is estimated from the sampled views of its own slice and period, with its own
interval. Never add, average or re-weight estimates across periods, slices or harm areas to get
a bigger slice's figure; ask :func:`estimate_prevalence` for that slice (a coarser ``grain``,
fewer ``filters``). The design weights then do the roll-up correctly, and the interval is
the bigger slice's own. Like every rate of the house the estimate is a ratio of sums, but of
sums over the *sample*: ``Σ weight × violating / Σ weight``.

The sample: one row per labelled view with

- ``date`` (Date) — the day of the view;
- ``weight`` — the number of views the sampled view represents (inverse inclusion
  probability; for a stratified sample, the stratum's views / its sampled views);
- ``stratum`` (optional) — the sampling stratum. Without it the sample is treated as a single
  stratum;
- one Boolean column per harm area, ``violating_<harm_area>``: the view was of content that
  violates that policy area (a view may violate several);
- any dimension to filter or split on (``country``, ``content_type`` …).

``sample_data/generate.py`` writes such a sample (``view_sample/``), stratified by week ×
region × content type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from insights.errors import DataError
from insights.geo import region_of
from insights.periods import as_date, period_start

#: Prefix of the label columns: ``violating_self_harm`` is True when the view was of self-harm content.
LABEL_PREFIX = "violating_"

Interval = Literal["korn-graubard", "wilson"]
PrevalenceGrain = Literal["day", "week", "month", "quarter", "year", "all"]

#: ``status`` values: a point estimate with its interval, only an upper bound, or no figure.
ESTIMATE, UPPER_BOUND, WITHHELD = "estimate", "upper_bound", "withheld"
#: ``status`` of a published figure given only as a range (Meta's "0.02%-0.03%"): no point estimate.
RANGE = "range"

RESULT_COLUMNS = (
    "estimate",
    "lower",
    "upper",
    "sample_size",
    "effective_sample_size",
    "violating_sampled",
    "views_represented",
    "reported",
    "status",
)


def load_view_sample(folder: str | Path) -> pl.LazyFrame:
    """The labelled view sample in ``folder`` (Parquet files; a folder holding ``view_sample/``,
    such as ``sample_data/generated``, is looked into), as a LazyFrame."""
    path = Path(folder)
    path = path / "view_sample" if (path / "view_sample").is_dir() else path
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no Parquet files with a labelled view sample")
    return pl.scan_parquet(files)


@dataclass(frozen=True)
class SummedSample:
    """A labelled view sample summed per day × stratum × its other columns (``summarise_sample``).

    Everything the estimator needs is a sum over sampled views (counts, weights, squared weights
    and the labels times them), so this table gives exactly the estimates of the sample itself
    (to the last bits of floating point) while holding one row per day × stratum × country ×
    content type instead of one per sampled view. ``frame`` has ``date``, the ``dimensions``,
    ``stratum``, ``n``, ``w``, ``w2`` and per harm area ``y|<area>``, ``wy|<area>``, ``w2y|<area>``.
    """

    frame: pl.DataFrame
    harm_areas: tuple[str, ...]
    dimensions: tuple[str, ...]


def summarise_sample(sample: pl.DataFrame | pl.LazyFrame) -> SummedSample:
    """The sample summed per day × stratum × every column that is not a label or the weight
    (``country``, ``content_type`` …): pass it to ``estimate_prevalence`` instead of the sample
    to estimate many slices fast (filters and ``by`` on those columns)."""
    frame = sample.lazy()
    columns = frame.collect_schema().names()
    if "date" not in columns or "weight" not in columns:
        raise DataError("a view sample needs the columns date, weight and violating_<harm_area>")
    areas = harm_areas_of(frame)
    if "stratum" not in columns:
        frame = frame.with_columns(stratum=pl.lit("all"))
    dims = tuple(c for c in columns if c not in ("date", "weight", "stratum") and not c.startswith(LABEL_PREFIX))
    labels = [f"{LABEL_PREFIX}{area}" for area in areas]
    wide = _wide_sums(frame, ["date", *dims], areas, labels).collect()
    return SummedSample(wide, tuple(areas), dims)


def harm_areas_of(sample: pl.DataFrame | pl.LazyFrame | SummedSample) -> list[str]:
    """The harm areas a sample has labels for (its ``violating_<harm_area>`` columns, in order)."""
    if isinstance(sample, SummedSample):
        return list(sample.harm_areas)
    return [c.removeprefix(LABEL_PREFIX) for c in sample.lazy().collect_schema().names() if c.startswith(LABEL_PREFIX)]


def estimate_prevalence(
    sample: pl.DataFrame | pl.LazyFrame | SummedSample,
    grain: PrevalenceGrain = "quarter",
    *,
    filters: Mapping[str, object] | None = None,
    start: object = None,
    end: object = None,
    by: Sequence[str] = (),
    harm_areas: Sequence[str] | None = None,
    confidence: float = 0.95,
    interval: Interval = "korn-graubard",
    min_sample_size: int = 500,
    min_violating: int = 10,
) -> pl.DataFrame:
    """Prevalence per period (and ``by`` group) and harm area, with a confidence interval.

    The estimate is the weighted (Horvitz–Thompson ratio, or Hájek) estimator
    ``p = Σ w·y / Σ w`` over the sampled views of the slice and period, ``y`` the harm area's
    label. Prevalence is estimated, not summed: see the module docstring.

    Args:
        sample: labelled views (columns described in the module docstring), or the same summed
            by ``summarise_sample`` (identical estimates, much faster for repeated questions).
            Pass the *whole* sample and narrow it with ``filters``/``start``/``end``: the
            variance of a slice needs each stratum's full sample size (a slice is a domain of
            the design).
        grain: ``day``, ``week`` (Monday start), ``month``, ``quarter``, ``year``, or ``all``
            (one period; its ``period`` is the first day with a sampled view).
        filters: column → value or list of values (``{"country": ["BR", "PT"]}``). ``region``
            works on a sample without a region column (derived from ``country``).
        start, end: inclusive date bounds.
        by: further columns to split on (``["country"]``), one row per value.
        harm_areas: the harm areas to estimate (default: every ``violating_*`` column).
        confidence: two-sided level of the interval.
        interval: ``korn-graubard`` (default) or ``wilson``, both on the effective sample size
            (below).
        min_sample_size: below this many sampled views the figure is withheld.
        min_violating: with fewer violating sampled views than this, only the upper bound is
            reported.

    Returns:
        One row per period (× ``by``) × harm area with a sampled view: ``period``, the ``by``
        columns, ``harm_area``, ``estimate``, ``lower``, ``upper``, ``sample_size`` (sampled
        views), ``effective_sample_size`` (the ``n*`` of the interval), ``violating_sampled``,
        ``views_represented`` (Σ w: estimated views of the slice), ``reported`` (text) and
        ``status``:

        - ``estimate``: ``"0.12 % (0.10–0.14 %)"``.
        - ``upper_bound`` — fewer than ``min_violating`` violating views were sampled (zero
          included): ``estimate`` is null, ``lower``/``upper`` keep the interval, ``reported``
          is ``"≤ 0.038 %"`` (the upper end, rounded up, as Meta reports "≤ 0.05 %"). A point
          estimate from a handful of views would be mostly noise, and from none a false 0.
        - ``withheld`` — fewer than ``min_sample_size`` sampled views: ``estimate``, ``lower``
          and ``upper`` are null (never a fake 0) and ``reported`` says why
          (``"withheld: n < 500"``).

    The interval. Prevalence is 0.01–1 %, where the Wald interval ``p ± z·se`` fails: it is
    ``[0, 0]`` when no violating view is sampled and undercovers badly with a handful. The
    default is Korn & Graubard's (1998) interval for proportions from complex samples: the
    Clopper–Pearson (exact binomial) interval computed on the effective sample size
    ``n* = p(1-p) / v(p)`` and ``x* = p·n*``, where ``v`` is the design-based
    (linearisation) variance of the ratio estimator with strata (with-replacement within
    strata; the slice's views are a domain, so the rest of each stratum counts as zeros),
    ``n*`` is capped at the sample size and scaled by ``(t[n-1] / t[n-H])²`` for the
    design's degrees of freedom (``H`` strata). When no violating view is sampled ``v`` is 0
    and says nothing, so ``n*`` is Kish's ``(Σw)² / Σw²``. Clopper–Pearson is chosen over
    Wilson because it never covers less than its nominal level, whatever the prevalence,
    while Wilson dips well below it exactly where rare harms live: for a simple random
    sample of 10,000 views Wilson's exact coverage falls to 0.89 at a true prevalence of
    0.0055 % (0.84 at 0.0088 % with 2,000 views); Clopper–Pearson's stays ≥ 0.950. It also
    behaves properly at zero (upper end ``1 - (α/2)^(1/n*)``), and the "≤" statements made
    for rare harms must hold. The cost is width: with few violating views expected it is
    conservative (coverage 0.98–0.99 at ≤ 2 expected). ``bench/prevalence_coverage.py``
    measures both on stratified samples.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if interval not in ("korn-graubard", "wilson"):
        raise ValueError(f"interval must be 'korn-graubard' or 'wilson', not {interval!r}")
    summed = isinstance(sample, SummedSample)
    frame = sample.frame.lazy() if isinstance(sample, SummedSample) else sample.lazy()
    columns = frame.collect_schema().names()
    areas = list(harm_areas) if harm_areas is not None else harm_areas_of(sample)
    labels = [f"{LABEL_PREFIX}{area}" for area in areas]
    label_columns = [f"y|{a}" for a in areas] if summed else labels
    missing = [c for c in ["date", "n" if summed else "weight", *label_columns, *by] if c not in columns]
    if missing or not labels:
        raise DataError(
            f"a view sample needs the columns date, weight and violating_<harm_area>; missing {missing or 'labels'}"
        )
    if "stratum" not in columns:
        frame = frame.with_columns(stratum=pl.lit("all"))
    size = pl.col("n").sum() if summed else pl.len()
    stratum_sizes = frame.group_by("stratum").agg(stratum_size=size)
    domain = frame.filter(_slice(frame, columns, filters, start, end))
    keys = ["period", *by]
    # The sums are additive: summed per day first (one pass over the sample, no date truncation
    # per row), then per period on the small daily table, which is collected so that the
    # variance's two uses of it do not aggregate the sample again.
    if summed:
        parts = ["n", "w", "w2", *[f"{part}|{a}" for part in ("y", "wy", "w2y") for a in areas]]
        wide = domain.group_by(["date", *by, "stratum"]).agg(pl.col(parts).sum())
    else:
        wide = _wide_sums(domain, ["date", *by], areas, labels)
    daily = _stacked(wide, ["date", *by], areas).collect()
    period = pl.col("date").min() if grain == "all" else period_start(pl.col("date"), grain)
    sums = (
        daily.lazy()
        .with_columns(period=period)
        .group_by([*keys, "stratum", "harm_area"])
        .agg(pl.col("n", "w", "w2", "y", "wy", "w2y").sum())
    )
    table = _with_variance(sums, stratum_sizes, [*keys, "harm_area"]).collect()
    return _finish(table, keys, areas, confidence, interval, min_sample_size, min_violating)


def _slice(
    frame: pl.LazyFrame, columns: list[str], filters: Mapping[str, object] | None, start: object, end: object
) -> pl.Expr:
    """The rows of the slice: filters on columns (``region`` derived from ``country``) and dates."""
    condition = pl.lit(True)
    for column, wanted in (filters or {}).items():
        values = [wanted] if isinstance(wanted, str) or not isinstance(wanted, Sequence) else list(wanted)
        if column == "region" and column not in columns and "country" in columns:
            countries = frame.select(pl.col("country").cast(pl.String).unique()).collect()["country"].to_list()
            condition &= pl.col("country").cast(pl.String).is_in([c for c in countries if c and region_of(c) in values])
        elif column not in columns:
            raise ValueError(f"cannot filter on {column!r}: the sample has the columns {', '.join(columns)}")
        else:
            condition &= pl.col(column).cast(pl.String).is_in([str(v) for v in values])
    if start is not None:
        condition &= pl.col("date") >= as_date(start, "start")
    if end is not None:
        condition &= pl.col("date") <= as_date(end, "end")
    return condition


def _wide_sums(domain: pl.LazyFrame, keys: list[str], areas: list[str], labels: list[str]) -> pl.LazyFrame:
    """Per group × stratum: sampled views ``n``, Σw ``w``, Σw² ``w2`` and per harm area Σy, Σw·y,
    Σw²·y of its label (``y|<area>``, ``wy|<area>``, ``w2y|<area>``).

    The label sums only need the sampled views that violate something (well under 1 % of them),
    so they are summed over those rows alone and joined to the counts and weights of all rows:
    one light pass over the sample."""
    w = pl.col("weight").cast(pl.Float64)
    pairs = list(zip(areas, labels, strict=True))
    group = [*keys, "stratum"]
    label_sums = [f"{part}|{area}" for part in ("y", "wy", "w2y") for area in areas]
    violating = (
        domain.filter(pl.any_horizontal(pl.col(labels).fill_null(False)))
        .group_by(group)
        .agg(
            *[pl.col(label).cast(pl.Int64).sum().alias(f"y|{area}") for area, label in pairs],
            *[(w * pl.col(label)).sum().alias(f"wy|{area}") for area, label in pairs],
            *[(w * w * pl.col(label)).sum().alias(f"w2y|{area}") for area, label in pairs],
        )
    )
    return (
        domain.group_by(group)
        .agg(pl.len().alias("n"), w.sum().alias("w"), (w * w).sum().alias("w2"))
        .join(violating, on=group, how="left", nulls_equal=True)
        .with_columns(pl.col(label_sums).fill_null(0))
    )


def _stacked(wide: pl.LazyFrame, keys: list[str], areas: list[str]) -> pl.LazyFrame:
    """The wide sums stacked per harm area (small): one row per group × stratum × harm area with
    ``n``, ``w``, ``w2``, ``y``, ``wy``, ``w2y``."""
    return pl.concat(
        [
            wide.select(
                *keys,
                "stratum",
                "n",
                "w",
                "w2",
                pl.lit(area).alias("harm_area"),
                pl.col(f"y|{area}").cast(pl.Int64).alias("y"),
                pl.col(f"wy|{area}").alias("wy"),
                pl.col(f"w2y|{area}").alias("w2y"),
            )
            for area in areas
        ]
    )


def _with_variance(sums: pl.LazyFrame, stratum_sizes: pl.LazyFrame, group: list[str]) -> pl.LazyFrame:
    """Totals per group and the linearisation variance of ``p = Σw·y / Σw``.

    With ``u = w·(y - p)`` for sampled views in the slice and 0 for the other views of their
    stratum (``n_h`` views): ``v = Σ_h n_h/(n_h-1) · Σ_i (u_i - ū_h)² / (Σw)²``, where
    ``Σ_i (u_i - ū_h)² = Σu² - (Σu)²/n_h``, ``Σu = Σw·y - p·Σw`` and
    ``Σu² = Σw²·y·(1 - 2p) + p²·Σw²`` (y is 0 or 1). A stratum with one sampled view adds nothing.
    """
    totals = sums.group_by(group).agg(
        sample_size=pl.col("n").sum().cast(pl.Int64),
        views_represented=pl.col("w").sum(),
        weighted_violating=pl.col("wy").sum(),
        sum_w2=pl.col("w2").sum(),
        violating_sampled=pl.col("y").sum(),
        strata=pl.len(),
    )
    p = pl.col("weighted_violating") / pl.col("views_represented")
    n_h = pl.col("stratum_size").cast(pl.Float64)
    su = pl.col("wy") - p * pl.col("w")
    su2 = pl.col("w2y") * (1 - 2 * p) + p.pow(2) * pl.col("w2")
    spread = pl.when(n_h > 1).then(n_h / (n_h - 1) * (su2 - su.pow(2) / n_h).clip(lower_bound=0)).otherwise(0.0)
    variance = (
        sums.join(totals.select(*group, "views_represented", "weighted_violating"), on=group)
        .join(stratum_sizes, on="stratum")
        .group_by(group)
        .agg(spread=spread.sum())
    )
    return totals.join(variance, on=group).with_columns(
        estimate=p,
        variance=pl.col("spread") / pl.col("views_represented").pow(2),
        kish=pl.col("views_represented").pow(2) / pl.col("sum_w2"),
    )


def _finish(
    table: pl.DataFrame,
    keys: list[str],
    areas: list[str],
    confidence: float,
    interval: Interval,
    min_sample_size: int,
    min_violating: int,
) -> pl.DataFrame:
    """Intervals, reporting rules and text on the (small) table of totals."""
    p = table["estimate"].to_numpy()
    n = table["sample_size"].to_numpy().astype(float)
    n_eff = effective_sample_size(
        p, table["variance"].to_numpy(), n, table["kish"].to_numpy(), table["strata"].to_numpy(), confidence
    )
    lower, upper = (clopper_pearson if interval == "korn-graubard" else wilson)(p, n_eff, confidence)
    x = table["violating_sampled"].to_numpy()
    status = np.where(n < min_sample_size, WITHHELD, np.where(x < min_violating, UPPER_BOUND, ESTIMATE))
    shown = status != WITHHELD
    out = table.with_columns(
        estimate=pl.Series(np.where(status == ESTIMATE, p, np.nan)).fill_nan(None),
        lower=pl.Series(np.where(shown, lower, np.nan)).fill_nan(None),
        upper=pl.Series(np.where(shown, upper, np.nan)).fill_nan(None),
        effective_sample_size=pl.Series(n_eff),
        status=pl.Series(status, dtype=pl.String),
        reported=pl.Series(
            [
                reported_text(s, e, lo, up, min_sample_size)
                for s, e, lo, up in zip(status, p, lower, upper, strict=True)
            ],
            dtype=pl.String,
        ),
        order=pl.col("harm_area").replace_strict(areas, list(range(len(areas))), return_dtype=pl.Int32),
    )
    return out.sort([*keys, "order"]).select(*keys, "harm_area", *RESULT_COLUMNS)


def effective_sample_size(
    p: np.ndarray, variance: np.ndarray, n: np.ndarray, kish: np.ndarray, strata: np.ndarray, confidence: float = 0.95
) -> np.ndarray:
    """Korn–Graubard's effective sample size: ``p(1-p)/v`` capped at ``n`` (Kish's ``(Σw)²/Σw²``
    when ``v`` carries no information: ``p`` is 0 or 1, or ``v`` is 0), times
    ``(t[n-1] / t[n-H])²`` for the degrees of freedom of a design with ``H`` strata."""
    with np.errstate(divide="ignore", invalid="ignore"):
        design = p * (1 - p) / variance
    informative = (variance > 0) & (p > 0) & (p < 1)
    n_eff = np.minimum(np.where(informative, design, kish), n)
    q = 1 - (1 - confidence) / 2
    df = np.maximum(n - strata, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, (stats.t.ppf(q, np.maximum(n - 1, 1)) / stats.t.ppf(q, df)) ** 2, 1.0)
    return n_eff * factor


def clopper_pearson(p: np.ndarray, n: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper–Pearson interval for ``x = p·n`` successes in ``n`` trials (``n`` need not be whole)."""
    alpha = 1 - confidence
    x = p * n
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    return lower, upper


def wilson(p: np.ndarray, n: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``p`` on ``n`` (effective) trials."""
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _decimals(percent: float) -> int:
    """Decimals showing two significant digits of a percentage: 0.12, 0.038, 1.3, 12."""
    return 2 if percent <= 0 or not math.isfinite(percent) else max(0, 1 - math.floor(math.log10(percent)))


def reported_text(status: str, estimate: float, lower: float, upper: float, min_sample_size: int) -> str:
    """The figure as it is reported: ``"0.12 % (0.10–0.14 %)"``, ``"≤ 0.038 %"`` (the upper end
    rounded up to two significant digits), ``"withheld: n < 500"``, or for a published range
    ``"0.02–0.03 %"``."""
    if status == WITHHELD:
        return f"withheld: n < {min_sample_size}"
    if status == RANGE:
        digits = max(_decimals(lower * 100), _decimals(upper * 100))
        return f"{lower * 100:.{digits}f}–{upper * 100:.{digits}f} %"
    if status == UPPER_BOUND:
        digits = _decimals(upper * 100)
        bound = math.ceil(upper * 100 * 10**digits - 1e-9) / 10**digits
        return f"≤ {bound:.{digits}f} %"
    digits = _decimals(estimate * 100)
    return f"{estimate * 100:.{digits}f} % ({lower * 100:.{digits}f}–{upper * 100:.{digits}f} %)"


__all__ = [
    "ESTIMATE",
    "LABEL_PREFIX",
    "RANGE",
    "RESULT_COLUMNS",
    "UPPER_BOUND",
    "WITHHELD",
    "SummedSample",
    "clopper_pearson",
    "effective_sample_size",
    "estimate_prevalence",
    "harm_areas_of",
    "load_view_sample",
    "reported_text",
    "summarise_sample",
    "wilson",
]

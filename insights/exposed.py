"""A cube with its exposure and prevalence beside it: ``ExposedCube``.

Event-level sources count actions, not uploads or views. The exposure tables (uploads and views
per day × country × content type) and the labelled view sample live beside the events;
``ExposedCube(cube, exposure, prevalence)`` puts them together so that pages keep calling
``cube.query`` / ``cube.sums`` and get exposure-based rates too:

- **Per-exposure rates are ratios of sums on any slice.** For a metric whose denominator is an
  exposure measure (``actions_per_million_views``, ``actions_per_10k_uploads``,
  ``removal_rate``), the numerator is summed by the enforcement cube over the slice asked for and
  the denominator by the exposure cube over *the same slice of the dimensions exposure has*
  (date, country, region, content type): both are queried at the asked keys through the Cube's
  public API and the two small answers are joined. Filters and breakdowns on the dimensions
  exposure does not have (harm area, policy, detection source, action, language …) narrow the
  numerator only: "actions on hate speech per million views" is per million views of all
  content of the slice, and each harm area's row has the same denominator. (So denominators
  must not be added across rows that differ only in such a dimension: ask for the coarser slice.)
- **Rows**: broken down only by dimensions exposure has (and periods), every cell of the
  exposure is a row, those without actions with a numerator of 0 (a country with views and no
  action has 0 actions per million views, and rows add up to the slice). Broken down by a
  dimension exposure does not have, the rows are those of the enforcement data.
- **Exposure is clipped to the enforcement data's dates**, so a total over "all dates" is not
  diluted by days the enforcement source does not cover.
- **Removals** (``from_actions`` in the registry) are derived from the ``action`` dimension where
  the source has no column for them: the actions whose action is ``remove``.
- **Prevalence is estimated, not summed**: ``cube.query("prevalence")`` raises
  ``EstimatedMetricError``; ``cube.prevalence(...)`` estimates it from the labelled view sample
  (``insights.prevalence.estimate_prevalence``) or returns the figures a publisher gives (Meta).

Every other metric passes through to the wrapped cube unchanged. The wrapper only uses the
Cube's public API (``query``, ``sums``, ``values``, ``has_data``, ``date_range``,
``dimensions``, ``measures``, ``available_metrics``, ``provenance``, ``time_grain``), so it
works over any engine behind it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from insights.cube import Caveat, Cube, Provenance
from insights.disclosure import WITHHELD_SUFFIX, Suppression
from insights.engines.watch import Watcher
from insights.errors import DataError
from insights.exposure import EXPOSURE_MEASURES, load_exposure
from insights.filters import Filters, normalise_filters
from insights.geo import region_of
from insights.metrics import Metric, as_metric, measures, metrics, require_summable
from insights.model import DIMENSIONS
from insights.periods import Grain, as_date, period_end
from insights.prevalence import (
    RESULT_COLUMNS,
    PrevalenceGrain,
    SummedSample,
    estimate_prevalence,
    harm_areas_of,
    load_view_sample,
    summarise_sample,
)

#: The caveat every exposed cube carries: what its per-exposure rates are per.
EXPOSURE_CAVEAT = (
    "Uploads and views are counted per day × {dims}, not per harm area or policy: a per-exposure rate of "
    "a harm area, policy, detection source or action is per upload or view of all content of the rest of the slice."
)


class PrevalenceSource(Protocol):
    """Where a cube's prevalence figures come from: a labelled view sample, or a publisher's table."""

    caveats: list[Caveat]

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Dimensions the figures can be filtered and split on (``harm_area`` picks the figures)."""
        ...

    def harm_areas(self) -> list[str]:
        """The harm areas with prevalence figures."""
        ...

    def estimate(
        self,
        grain: PrevalenceGrain,
        *,
        filters: Mapping[str, list[str]],
        start: object,
        end: object,
        by: Sequence[str],
        harm_areas: list[str],
        options: Mapping[str, Any],
    ) -> pl.DataFrame:
        """Prevalence per period (× ``by``) and harm area, in ``estimate_prevalence``'s columns."""
        ...


@dataclasses.dataclass
class ViewSample:
    """Prevalence estimated from a labelled view sample (``insights.prevalence``).

    The first estimate sums the sample per day × stratum × country × content type
    (``summarise_sample``, one pass); every estimate is then made from those sums, which give
    the same figures as the sample itself in a fraction of the time."""

    sample: pl.LazyFrame
    caveats: list[Caveat] = dataclasses.field(default_factory=list)
    _summed: SummedSample | None = dataclasses.field(default=None, init=False, repr=False)

    def summed(self) -> SummedSample:
        """The sample's sums (made once)."""
        if self._summed is None:
            self._summed = summarise_sample(self.sample)
        return self._summed

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The sample's dimension columns (``region`` when it has ``country``)."""
        columns = self.sample.collect_schema().names()
        found = [d for d in DIMENSIONS if d in columns and d != "date"]
        if "country" in found and "region" not in found:
            found.insert(found.index("country") + 1, "region")
        return tuple(found)

    def harm_areas(self) -> list[str]:
        """The harm areas the sample has labels for."""
        return harm_areas_of(self.sample)

    def estimate(
        self,
        grain: PrevalenceGrain,
        *,
        filters: Mapping[str, list[str]],
        start: object,
        end: object,
        by: Sequence[str],
        harm_areas: list[str],
        options: Mapping[str, Any],
    ) -> pl.DataFrame:
        """``estimate_prevalence`` on the whole sample, narrowed by ``filters`` (a domain of the design)."""
        by = list(by)
        if "region" in by and "region" not in self.sample.collect_schema().names():
            raise DataError("split prevalence by country and roll up in words: the view sample has no region column")
        return estimate_prevalence(
            self.summed(), grain, filters=filters, start=start, end=end, by=by, harm_areas=harm_areas, **options
        )


@dataclasses.dataclass
class PublishedPrevalence:
    """Prevalence as a publisher reports it (Meta's CSER): one figure per period and published cut.

    ``table`` has ``estimate_prevalence``'s columns (``period``, ``harm_area``, ``estimate``,
    ``lower``, ``upper`` …, ``reported``, ``status``) plus the publisher's own cuts (``platform``,
    ``policy`` …), at the publisher's ``grain``. The figures are estimates: they are returned as
    published, never added up or averaged (a coarser grain, or a slice that is not one of the
    published cuts, is refused).
    """

    table: pl.DataFrame
    grain: Grain = "quarter"
    caveats: list[Caveat] = dataclasses.field(default_factory=list)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The published cuts (``harm_area`` and e.g. ``platform``, ``policy``)."""
        return tuple(d for d in DIMENSIONS if d in self.table.columns and d != "date")

    def harm_areas(self) -> list[str]:
        """The harm areas with a published figure."""
        return self.table["harm_area"].drop_nulls().unique(maintain_order=True).to_list()

    def estimate(
        self,
        grain: PrevalenceGrain,
        *,
        filters: Mapping[str, list[str]],
        start: object,
        end: object,
        by: Sequence[str],
        harm_areas: list[str],
        options: Mapping[str, Any],
    ) -> pl.DataFrame:
        """The published figures of the slice, one row per period and published cut."""
        if grain != self.grain:
            raise DataError(
                f"prevalence is published per {self.grain}; estimates cannot be added up or averaged into a "
                f"{grain} figure (ask for grain={self.grain!r})"
            )
        rows = self.table.lazy().filter(pl.col("harm_area").is_in(harm_areas))
        for dimension, values in filters.items():
            rows = rows.filter(pl.col(dimension).cast(pl.String).is_in(values))
        if start is not None:
            rows = rows.filter(pl.col("period") >= as_date(start, "start"))
        if end is not None:
            rows = rows.filter(period_end(pl.col("period"), self.grain) <= as_date(end, "end"))
        cuts = [d for d in self.dimensions if d != "harm_area"]
        return (
            rows.sort(["period", *cuts, "harm_area"], nulls_last=True)
            .select(
                "period",
                *cuts,
                "harm_area",
                *[c for c in self.table.columns if c not in ("period", *cuts, "harm_area")],
            )
            .collect()
        )


#: Harm areas × countries a scope may see (None: every value), as ``insights.access.blocks`` gives them.
ScopeBlock = tuple[tuple[str, ...] | None, tuple[str, ...] | None]


@dataclasses.dataclass
class ScopedPrevalence:
    """A prevalence source as a scope sees it: each harm area estimated over the countries the
    scope gives that harm area only (``blocks``: disjoint harm areas × countries, as
    ``insights.access.blocks`` computes them on the enforcement cube), never a harm area outside
    it. A block restricting countries of a source without a ``country`` cut (Meta's global
    figures) gives nothing: deny by default."""

    inner: PrevalenceSource
    blocks: list[ScopeBlock]
    caveats: list[Caveat] = dataclasses.field(default_factory=list)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The inner source's cuts."""
        return self.inner.dimensions

    def harm_areas(self) -> list[str]:
        """The inner source's harm areas that some block reaches."""
        return [a for a in self.inner.harm_areas() if any(self._reaches(block, a) for block in self.blocks)]

    def _reaches(self, block: ScopeBlock, area: str) -> bool:
        areas, countries = block
        return (areas is None or area in areas) and (countries is None or "country" in self.dimensions)

    def estimate(
        self,
        grain: PrevalenceGrain,
        *,
        filters: Mapping[str, list[str]],
        start: object,
        end: object,
        by: Sequence[str],
        harm_areas: list[str],
        options: Mapping[str, Any],
    ) -> pl.DataFrame:
        """The inner source's estimate, block by block: the block's harm areas over the block's
        countries (intersected with the asked ``filters``)."""
        parts = []
        for block in self.blocks:
            countries = block[1]
            chosen = [a for a in harm_areas if self._reaches(block, a)]
            narrowed = dict(filters)
            if countries is not None:
                narrowed["country"] = [c for c in filters.get("country", countries) if c in countries]
            if chosen and ("country" not in narrowed or narrowed["country"]):
                parts.append(
                    self.inner.estimate(
                        grain, filters=narrowed, start=start, end=end, by=by, harm_areas=chosen, options=options
                    )
                )
        if not parts:
            return no_prevalence(by)
        keys = ["period", *by]
        return pl.concat(parts, how="vertical_relaxed").sort([*keys, "harm_area"], nulls_last=True)


def exposure_cube(source: str | Path | pl.DataFrame | pl.LazyFrame, name: str | None = None) -> Cube:
    """The exposure tables as a Cube: ``date``, the dimensions they are cut by (``region`` derived
    from ``country``), and the additive measures ``uploads`` and/or ``views``.

    ``source`` is a folder of Parquet exposure tables (or a folder holding ``exposure/``, such as
    ``sample_data/generated``; read with ``insights.exposure.load_exposure``), or a frame with
    those columns at day grain.
    """
    if isinstance(source, (str, Path)):
        columns = _exposure_columns(Path(source))
        frame = load_exposure(source, by=["date", *columns]).collect()
        name = name or str(source)
    else:
        frame = source.lazy().collect()
        name = name or "exposure table"
    dims = [d for d in DIMENSIONS if d in frame.columns and d not in ("date", "region")]
    found = [m for m in EXPOSURE_MEASURES if m in frame.columns]
    if "date" not in frame.columns or not found:
        raise DataError(f"{name}: exposure needs a date column and uploads or views; found {frame.columns}")
    if "country" in dims:
        countries = frame["country"].cast(pl.String).unique().drop_nulls().to_list()
        regions = {c: region_of(c) for c in countries}
        frame = frame.with_columns(region=pl.col("country").cast(pl.String).replace_strict(regions, default=None))
        dims.insert(dims.index("country") + 1, "region")
    data = frame.select(
        pl.col("date").cast(pl.Date),
        *[pl.col(d).cast(pl.String).cast(pl.Categorical) for d in dims],
        *[pl.col(m).cast(pl.Int64) for m in found],
    )
    provenance = Provenance(source=name, kind="exposure", rows_read=data.height, as_of=data["date"].max())  # type: ignore[arg-type]
    return Cube(data, provenance, time_grain="day")


def _exposure_columns(folder: Path) -> list[str]:
    """The dimension columns of the Parquet exposure tables in ``folder`` (or its ``exposure/``)."""
    path = folder / "exposure" if (folder / "exposure").is_dir() else folder
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path}: no Parquet exposure tables")
    columns = pl.read_parquet_schema(files[0])
    return [d for d in DIMENSIONS if d in columns and d not in ("date", "region")]


def _count(measure: str) -> Metric:
    """An ad-hoc count metric of one measure (to ask a cube for that measure's sums)."""
    return Metric(measure, measures()[measure].label, measure, None, "count", None, measures()[measure].label)


class ExposedCube(Cube):
    """A cube answering per-exposure metrics from exposure tables beside it, and prevalence.

    Behaves like the wrapped ``cube`` (same dimensions, values, dates, provenance plus a caveat,
    same answers for every metric it has); ``available_metrics()`` adds the per-exposure
    metrics the exposure makes possible. See the module docstring for how they are computed.
    ``prevalence(...)`` gives prevalence with its interval from the ``prevalence`` source.
    """

    def __init__(self, cube: Cube, exposure: Cube | None = None, prevalence: PrevalenceSource | None = None):
        # Cube.__init__ is not called: everything but exposure and prevalence is the wrapped cube's.
        self.cube = cube
        self.exposure = exposure
        self.prevalence_source = prevalence
        self.time_grain = cube.time_grain
        self.dimensions = cube.dimensions
        extra = [m for m in exposure.measures if m not in cube.measures] if exposure is not None else []
        derived = [m for m in measures() if self._derivable(m)]
        self.measures = tuple(m for m in measures() if m in (*cube.measures, *extra, *derived))
        notes = [n for source in (exposure, prevalence) if source is not None for n in _caveats_of(source)]
        self.provenance = dataclasses.replace(cube.provenance, caveats=[*cube.provenance.caveats, *notes])

    def __getattr__(self, name: str) -> Any:
        """Anything else (``data``, roll-up internals) is the wrapped cube's."""
        if name == "cube":
            raise AttributeError(name)
        return getattr(self.cube, name)

    def with_suppression(self, policy: Suppression | None) -> ExposedCube:
        """This cube with the enforcement cube's answers suppressed by ``policy`` (see
        ``Cube.with_suppression``); exposure and prevalence as they are."""
        if policy == self.cube.suppression:
            return self
        return ExposedCube(self.cube.with_suppression(policy), self.exposure, self.prevalence_source)

    def watched(self, watcher: Watcher) -> ExposedCube:
        """This cube with the enforcement cube's questions watched (see ``Cube.watched``)."""
        return ExposedCube(self.cube.watched(watcher), self.exposure, self.prevalence_source)

    def __repr__(self) -> str:
        exposure = list(self.exposure.measures) if self.exposure is not None else []
        return f"ExposedCube({self.cube!r}, exposure={exposure}, prevalence={self.has_prevalence})"

    # ---- what the wrapped cube answers --------------------------------------------------------

    @property
    def frame(self) -> pl.LazyFrame:
        """The wrapped cube's cells (without exposure) as a LazyFrame."""
        return self.cube.frame

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last period start of the enforcement data."""
        return self.cube.date_range

    def values(self, dimension: str, filters: Filters | None = None) -> list[str]:
        """Distinct values of a dimension, the most actioned first (the wrapped cube's)."""
        return self.cube.values(dimension, filters)

    def has_data(self, filters: Filters | None = None, start: object = None, end: object = None) -> bool:
        """True when the enforcement data has a cell in the slice."""
        return self.cube.has_data(filters, start, end)

    def rollup(self, dimensions: Iterable[str], measures: Iterable[str] = ()) -> pl.DataFrame:
        """The wrapped cube's roll-up (enforcement measures only)."""
        return self.cube.rollup(dimensions, [m for m in measures if m in self.cube.measures])

    def warm(self, dimension_sets: Iterable[Iterable[str]] | None = None) -> None:
        """Warm the wrapped cube's roll-ups, the exposure's, and sum the view sample, so that the
        first page asking for a per-exposure rate or prevalence is as fast as the next."""
        self.cube.warm(dimension_sets)
        if self.exposure is not None:
            self.exposure.warm()
        if isinstance(self.prevalence_source, ViewSample):
            self.prevalence_source.summed()

    # ---- metrics ------------------------------------------------------------------------------

    def _derivable(self, measure: str) -> bool:
        """True when ``measure`` is derived from the action dimension here (removals)."""
        codes = measures()[measure].from_actions
        return (
            bool(codes)
            and measure not in self.cube.measures
            and "action" in self.cube.dimensions
            and "actions" in self.cube.measures
        )

    def _joined(self, metric: Metric) -> bool:
        """True when the metric is answered by joining enforcement and exposure (not by the cube alone)."""
        if metric.is_estimated or all(m in self.cube.measures for m in metric.measures):
            return False
        numerator_ok = metric.numerator in self.cube.measures or self._derivable(metric.numerator)
        denominator = metric.denominator
        exposure_ok = denominator is not None and (
            denominator in self.cube.measures or (self.exposure is not None and denominator in self.exposure.measures)
        )
        return numerator_ok and exposure_ok

    def denominator_dimensions(self, metric: str | Metric) -> tuple[str, ...] | None:
        """For a metric whose denominator comes from the exposure, the dimensions it is cut by
        (a breakdown by any other dimension repeats the denominator); None for every other metric."""
        wanted = as_metric(metric)
        if not self._joined(wanted) or wanted.denominator in self.cube.measures or self.exposure is None:
            return None
        return tuple(d for d in self.cube.dimensions if d in self.exposure.dimensions)

    def available_metrics(self) -> list[str]:
        """The wrapped cube's metrics plus the per-exposure metrics the exposure makes possible
        (registry order; never an estimated metric: see ``prevalence``)."""
        own = set(self.cube.available_metrics())
        return [name for name, m in metrics().items() if name in own or self._joined(m)]

    def sums(
        self,
        metric: str | Metric,
        by: Sequence[str] = (),
        filters: Filters | None = None,
        grain: Grain | None = None,
        start: object = None,
        end: object = None,
    ) -> pl.DataFrame:
        """``Cube.sums``: keys, ``numerator``, ``denominator`` and the metric, per combination of ``by``.

        For a per-exposure metric the numerator is the enforcement cube's sum over the slice and
        the denominator the exposure's over the same slice of the dimensions exposure has (module
        docstring); other metrics are the wrapped cube's own answer.
        """
        wanted = as_metric(metric)
        require_summable(wanted)
        by = [by] if isinstance(by, str) else list(by)
        if not self._joined(wanted):
            return self.cube.sums(wanted, by, filters, grain, start, end)
        assert wanted.denominator is not None
        keys = ["period", *by] if grain is not None else list(by)
        numerator = self._numerator(wanted.numerator, by, filters, grain, start, end)
        denominator, shared = self._denominator(wanted.denominator, by, filters, grain, start, end)
        on = [k for k in keys if k == "period" or k in shared]
        if not on:
            joined = numerator.join(denominator, how="cross")
        elif len(on) == len(keys):  # every key is exposure's: its cells without actions count 0 actions
            joined = numerator.join(denominator, on=on, how="full", coalesce=True, nulls_equal=True).with_columns(
                pl.col("numerator").fill_null(0)
            )
        else:  # keys exposure does not have (harm area …) come from the enforcement data
            joined = numerator.join(denominator, on=on, how="left", nulls_equal=True)
        result = joined.select(
            *keys,
            "numerator",
            "denominator",
            wanted.from_sums(pl.col("numerator"), pl.col("denominator")).alias(wanted.name),
        )
        return result.sort(keys, nulls_last=True) if keys else result

    def _numerator(
        self, measure: str, by: list[str], filters: Filters | None, grain: Grain | None, start: object, end: object
    ) -> pl.DataFrame:
        """The numerator's sums per key, from the enforcement cube (derived from ``action`` for removals)."""
        keys = ["period", *by] if grain is not None else list(by)
        if not self._derivable(measure):
            sums = self.cube.sums(_count(measure), by, filters, grain, start, end)
            return sums.select(*keys, "numerator")
        codes = list(measures()[measure].from_actions)
        split = by if "action" in by else [*by, "action"]
        sums = self.cube.sums(_count("actions"), split, filters, grain, start, end)
        counted = pl.when(pl.col("action").is_in(codes)).then(pl.col("numerator")).otherwise(0)
        if not keys:
            return sums.select(numerator=counted.sum())
        return sums.group_by(keys, maintain_order=True).agg(numerator=counted.sum())

    def _denominator(
        self, measure: str, by: list[str], filters: Filters | None, grain: Grain | None, start: object, end: object
    ) -> tuple[pl.DataFrame, list[str]]:
        """The denominator's sums per key of the shared dimensions, and those dimensions.

        From the enforcement cube when it carries the measure itself, else from the exposure cube:
        filters and ``by`` on dimensions exposure does not have are dropped, and the dates are
        clipped to the enforcement data's."""
        source = self.cube if measure in self.cube.measures else self.exposure
        assert source is not None
        shared = [d for d in by if d in source.dimensions]
        kept = {d: v for d, v in normalise_filters(filters).items() if d in source.dimensions}
        first, last = self._clip(start, end) if source is self.exposure else (start, end)
        keys = ["period", *shared] if grain is not None else shared
        if first is not None and last is not None and as_date(first) > as_date(last):
            return pl.DataFrame(
                schema={**{k: pl.Date if k == "period" else pl.String for k in keys}, "denominator": pl.Int64}
            ), shared
        sums = source.sums(_count(measure), shared, kept, grain, first, last)
        return sums.select(*keys, denominator="numerator"), shared

    def _clip(self, start: object, end: object) -> tuple[dt.date | None, dt.date | None]:
        """``start`` / ``end`` narrowed to the enforcement data's dates."""
        span = self.cube.date_range
        if span is None:
            return (
                as_date(start, "start") if start is not None else None,
                as_date(end, "end") if end is not None else None,
            )
        first = span[0]
        last = pl.select(period_end(pl.lit(span[1]), self.cube.time_grain)).item()
        if start is not None:
            first = max(first, as_date(start, "start"))
        if end is not None:
            last = min(last, as_date(end, "end"))
        return first, last

    def query(
        self,
        metrics: str | Sequence[str],
        by: Sequence[str] = (),
        filters: Filters | None = None,
        grain: Grain | None = None,
        start: object = None,
        end: object = None,
    ) -> pl.DataFrame:
        """``Cube.query``: one row per combination, one column per metric (per-exposure ones included)."""
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        wanted = [as_metric(n) for n in names]
        for m in wanted:
            require_summable(m)
        by = [by] if isinstance(by, str) else list(by)
        keys = ["period", *by] if grain is not None else list(by)
        own = [m.name for m in wanted if not self._joined(m)]
        parts = [self.cube.query(own, by, filters, grain, start, end)] if own else []
        parts += [
            self.sums(m, by, filters, grain, start, end).drop("numerator", "denominator")
            for m in wanted
            if self._joined(m)
        ]
        if not keys:
            result = pl.concat(parts, how="horizontal")
        else:
            result = parts[0]
            for part in parts[1:]:
                result = result.join(part, on=keys, how="full", coalesce=True, nulls_equal=True)
            result = result.sort(keys, nulls_last=True)
        withheld = [c for m in wanted if (c := m.name + WITHHELD_SUFFIX) in result.columns]  # suppression's companions
        return result.select(*keys, *[m.name for m in wanted], *withheld)

    # ---- prevalence ---------------------------------------------------------------------------

    @property
    def has_prevalence(self) -> bool:
        """True when prevalence figures (a view sample or a publisher's) come with this cube."""
        return self.prevalence_source is not None

    def prevalence_filters(self, filters: Filters | None) -> tuple[dict[str, list[str]], list[str]]:
        """The ``filters`` prevalence can apply (besides ``harm_area``, which picks the figures),
        and the dimensions it cannot: views are sampled per day × country × content type, so
        e.g. a policy, detection source or action filter does not narrow prevalence."""
        source = self._prevalence()
        normal = normalise_filters(filters)
        normal.pop("harm_area", None)
        applied = {d: v for d, v in normal.items() if d in source.dimensions}
        return applied, [d for d in normal if d not in source.dimensions]

    def _prevalence(self) -> PrevalenceSource:
        if self.prevalence_source is None:
            raise DataError(
                f"source {self.provenance.source!r} has no labelled view sample or published prevalence beside it"
            )
        return self.prevalence_source

    def prevalence(
        self,
        grain: PrevalenceGrain = "quarter",
        *,
        filters: Filters | None = None,
        start: object = None,
        end: object = None,
        by: Sequence[str] = (),
        harm_areas: Sequence[str] | None = None,
        **options: Any,
    ) -> pl.DataFrame:
        """Prevalence per period (× ``by``) and harm area, with its interval and how it is reported.

        The columns of ``insights.prevalence.estimate_prevalence`` (``period``, ``by``,
        ``harm_area``, ``estimate``, ``lower``, ``upper``, ``sample_size`` …, ``reported``,
        ``status``; a publisher's own cuts such as ``platform`` for published figures). The
        ``harm_area`` filter (or ``harm_areas``) picks the harm areas; the other ``filters`` narrow
        the sample where it has the dimension and are otherwise not applied (see
        ``prevalence_filters``). ``options`` go to ``estimate_prevalence`` (``confidence``,
        ``min_sample_size``, ``min_violating``, ``interval``).
        """
        source = self._prevalence()
        chosen = normalise_filters(filters).get("harm_area")
        areas = list(harm_areas) if harm_areas is not None else source.harm_areas()
        if chosen:
            areas = [a for a in areas if a in chosen]
        applied, _ = self.prevalence_filters(filters)
        unknown = [d for d in by if d not in source.dimensions]
        if unknown:
            raise DataError(
                f"prevalence cannot be split by {unknown}: its figures are cut by {list(source.dimensions)}"
            )
        if not areas:
            return no_prevalence(by)
        return source.estimate(
            grain, filters=applied, start=start, end=end, by=list(by), harm_areas=areas, options=options
        )


_RESULT_SCHEMA: dict[str, type[pl.DataType]] = {
    "estimate": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "sample_size": pl.Int64,
    "effective_sample_size": pl.Float64,
    "violating_sampled": pl.Int64,
    "views_represented": pl.Float64,
    "reported": pl.String,
    "status": pl.String,
}
assert tuple(_RESULT_SCHEMA) == RESULT_COLUMNS


def no_prevalence(by: Sequence[str] = ()) -> pl.DataFrame:
    """The answer of ``ExposedCube.prevalence`` where no figure is in the slice: its columns, no row."""
    return pl.DataFrame(
        schema={"period": pl.Date, **dict.fromkeys(by, pl.String), "harm_area": pl.String, **_RESULT_SCHEMA}
    )


def _caveats_of(source: Cube | PrevalenceSource) -> list[Caveat]:
    """The caveat an exposure cube adds (what per-exposure rates are per), or a prevalence source's own."""
    if isinstance(source, Cube):
        dims = " × ".join(d.replace("_", " ") for d in source.dimensions if d != "region") or "day"
        return [Caveat(EXPOSURE_CAVEAT.format(dims=dims), kind="methodology")]
    return list(source.caveats)


def with_exposure(
    cube: Cube,
    exposure: str | Path | pl.DataFrame | pl.LazyFrame | Cube | None = None,
    view_sample: str | Path | pl.DataFrame | pl.LazyFrame | None = None,
    prevalence: PrevalenceSource | None = None,
) -> ExposedCube:
    """``cube`` with exposure tables (a folder, a frame or a Cube) and a labelled view sample (a
    folder or a frame) or another prevalence source beside it. ``insights.load_source`` does
    this itself for a folder laid out like the sample (``events/``, ``exposure/``, ``view_sample/``)."""
    if isinstance(cube, ExposedCube):
        exposure = exposure if exposure is not None else cube.exposure
        prevalence = prevalence or cube.prevalence_source
        cube = cube.cube
    exposed = exposure if isinstance(exposure, Cube) or exposure is None else exposure_cube(exposure)
    if view_sample is not None:
        sample = load_view_sample(view_sample) if isinstance(view_sample, (str, Path)) else view_sample.lazy()
        prevalence = ViewSample(sample)
    return ExposedCube(cube, exposed, prevalence)


#: The folder layout of the bundled sample (``sample_data/generated``).
SAMPLE_LAYOUT = ("events", "exposure", "view_sample")


def is_sample_layout(src: object) -> bool:
    """True for a folder holding ``events/`` and ``exposure/`` (and maybe ``view_sample/``)."""
    if not isinstance(src, (str, Path)):
        return False
    path = Path(src)
    return path.is_dir() and (path / "events").is_dir() and (path / "exposure").is_dir()


__all__ = [
    "EXPOSURE_CAVEAT",
    "ExposedCube",
    "PrevalenceSource",
    "PublishedPrevalence",
    "ScopedPrevalence",
    "ViewSample",
    "exposure_cube",
    "is_sample_layout",
    "with_exposure",
]

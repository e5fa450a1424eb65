"""The content of a digest: which followed slices really changed, by how much, why, and where to look.

:class:`DigestBuilder` is the content builder the ``digest`` and ``schedule`` commands use
(``render(subscription, period) -> Digest``, see :mod:`insights.digest.dispatch`). It works in two
steps, so that every number a digest prints is a library result that tests and the evaluation
bench (``bench/digest_stories.py``) can recompute:

1. :meth:`DigestBuilder.report` → :class:`DigestReport`, results only. For each follow, the
   slice's volume in the week; for each watched metric the week's :class:`~insights.change.Change`
   against the week before (:func:`insights.trends.measure_change`, tested against the slice's
   own week-to-week noise, :attr:`insights.trends.Trend.noise`) and whether it is *reported*; for
   a reported change its top contributors (:func:`insights.rootcause.explain_change`, ranked as the
   app's narrative ranks them); for a change that is not reported, the segments inside the slice
   that moved beyond their own noise (the drill-down, :mod:`insights.digest.drilldown`); and the
   annotated events nearby (:func:`insights.trends.events_near`).
2. :meth:`DigestBuilder.compose` → :class:`~insights.digest.message.Digest`: the numbers in words
   (:mod:`insights.formatting`), one chart per changed slice (the Trends page's own
   :func:`insights.charts.expected_band`, exported by :func:`insights.export.image_bytes`) and links
   to the exact view in the app (:class:`insights.viewstate.ViewState`).

**What is reported.** A watched change is reported when all of these hold:

- the slice had at least the follow's ``min_volume`` of its ``volume_measure`` in the week
  (:meth:`~insights.digest.subscriptions.Follow.has_volume`);
- the change goes the watched way and clears the watch's thresholds
  (:meth:`~insights.digest.subscriptions.Watch.matters`);
- it is more than noise by the library's test, at ``alpha`` (default 5 %, the library's level)
  shared by the comparisons of one digest: with *m* comparisons each has ``alpha / m``
  (Bonferroni), half of it for the slice as a whole and half for its drill-down (its segments
  share ``alpha / 2m``). The slice's half is split again between its two rules, each tested at
  ``alpha / 4m``: the period against the one before, and the **ramp** (the last four weeks
  against the four weeks two months before, :mod:`insights.digest.ramp`), which finds a
  change that built up too slowly for any week to differ from the week before. So a digest as a
  whole flags noise at most ``alpha`` of the time, however many slices, metrics and segments its
  reader's follows hold. The ``Change`` carries its level (``Change.alpha``), so
  ``Change.significant`` is the verdict the digest prints; ``WatchResult.rule`` says which
  comparison it is.

**Drill-down.** A watched change that is not reported may hide a segment that moved a lot: the
digest then reports the segment (one value of one dimension of the slice) when it was big enough
to examine (a hundredth of the slice), moved the watched way by the watch's thresholds, and is
beyond its *own* noise, week against week or as a ramp, with the segments' tests sharing the
drill-down's level (Benjamini–Hochberg). Its section says that the slice as a whole did not move
beyond what is watched, and what the segment did, with the segment's own contributors, chart and link. The rule
is :mod:`insights.digest.drilldown`'s.

**Periods.** A digest covers the last complete period of its grain (a cadence of ``0 7 * * MON``
gives Monday–Sunday weeks) ending on or before the end of the days it is sent for, compared with
the period before (:func:`comparison_periods`). When the data stops earlier, it covers the last
complete period in the data and says so.

**Seams.** The cube a digest reads comes from ``cube_for(subscription)``: :class:`CubeSource`
gives each subscriber the source restricted to their access scope (the app's policy,
``insights.access``; the whole source when no policy is configured, nothing when the policy does
not name them), then suppressed as the app suppresses it (``$HARM_INSIGHTS_SUPPRESSION``,
``insights.disclosure``): every number a digest computes comes from suppressed answers, and a
withheld value reads '<10'. ``disclose`` gets each slice's results (:class:`SliceReport`) before
any text or chart is made, for any further rule, and returns them with what may not be shown
removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

import polars as pl

from insights.access import Scope, load_policy, restrict
from insights.change import Change
from insights.charts import Chart, expected_band, subtitle_text
from insights.checkout import checkout
from insights.cube import Cube
from insights.digest.contributors import TOP_CONTRIBUTORS, Contributor, explain, top_contributors
from insights.digest.drilldown import RULES, SegmentChange, drill_down, examined_segments, volume_metric
from insights.digest.message import Digest, Section
from insights.digest.ramp import RAMP_GAP, RAMP_PERIODS, Rule, ramp_change
from insights.digest.subscriptions import Follow, Subscription, Watch, follow_of, is_http_url
from insights.disclosure import Withheld, load_suppression
from insights.errors import DataError
from insights.formatting import evidence_text, p_value_text, signed_amount_text, value_text
from insights.labels import segment_label
from insights.metrics import measures, metric
from insights.periods import Grain, Period, as_grain, grain_of, latest_complete_period, previous_period, shift
from insights.trends import Trend, events_near, measure_change, read_events, trend
from insights.viewstate import ALL_HARM_AREAS, DEFAULT_BASE_URL, ViewState, period_param

#: The metrics a Follow button follows by default: the Overview's KPI cards.
DEFAULT_METRICS: tuple[str, ...] = ("actions", "proactive_rate", "within_24h_rate", "appeal_rate", "overturn_rate")
#: Default thresholds of a followed metric: counts must move by 10 % or more, rates by 2
#: percentage points or more (the examples of docs/digests.md); both directions.
DEFAULT_MIN_CHANGE_PCT = 10.0
DEFAULT_MIN_CHANGE = 0.02
#: Default volume floor of a followed slice: 100 actions in the period, below which a week's
#: rates swing too much to read.
DEFAULT_MIN_VOLUME = 100.0
#: The level the comparisons of one digest share (the library's default significance level).
DEFAULT_ALPHA = 0.05
#: Annotated events listed when they fall in the period or within this many days of it.
EVENTS_WITHIN_DAYS = 7
#: Periods of history a section's chart shows (26 weeks at week grain).
CHART_PERIODS = 26
#: A chart's size in CSS pixels (shown at this width in an email; rendered at ``CHART_SCALE``×).
CHART_WIDTH, CHART_HEIGHT, CHART_SCALE = 600, 360, 2.0


def default_follow(
    filters: Mapping[str, str | Sequence[str]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    label: str | None = None,
) -> Follow:
    """The follow a Follow button writes for a slice: the Overview's KPI metrics, both directions,
    counts moving 10 % or more and rates 2 pp or more, in weeks with at least 100 actions.

    ``add_follow(path, default_follow({"harm_area": "self_harm"}), subscriber_id=..., email=...)``
    """
    plain = follow_of(filters, metrics, min_volume=DEFAULT_MIN_VOLUME, label=label)
    return dataclasses.replace(plain, watches=tuple(default_watch(w.metric) for w in plain.watches))


def default_watch(name: str) -> Watch:
    """A metric watched with the default thresholds: 10 % for counts, 2 pp for rates, both directions."""
    if metric(name).is_ratio:
        return Watch(name, "both", min_change=DEFAULT_MIN_CHANGE)
    return Watch(name, "both", min_change_pct=DEFAULT_MIN_CHANGE_PCT)


def comparison_level(alpha: float, comparisons: int) -> float:
    """The level one of a digest's ``comparisons`` tests its slice at: ``alpha`` shared by the
    comparisons (Bonferroni), each one's part split in half between the slice as a whole and the
    segments its drill-down examines."""
    return alpha / (2 * max(1, comparisons))


def comparison_periods(period: Period, as_of: dt.date | None = None) -> tuple[Period, Period]:
    """The period a digest reports on and the one it is compared with.

    The last complete period of ``period``'s grain (a week for 7 days, Monday–Sunday) ending on or
    before ``period.end`` — or on or before ``as_of`` (the data's last day) when that is earlier —
    and the period of that grain just before it.
    """
    grain = grain_of(period)
    last = period.end if as_of is None else min(period.end, as_of)
    current = latest_complete_period(last, grain)
    return current, previous_period(current, grain)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class WatchResult:
    """One watched metric of a followed slice in the period: its change, and whether it is reported.

    ``change`` is the period against the one before (``rule`` "week"), or, when only the ramp
    found the slice's change, the ramp's comparison (``rule`` "ramp": the recent weeks against the
    as many weeks two months earlier, :mod:`insights.digest.ramp`). ``trend`` is the slice's series
    with its expected band (its noise tested the change; the chart draws it). ``contributors`` are
    filled for a reported change only; ``segments`` for a change that is not reported: the
    segments of the slice that moved beyond their own noise (the drill-down's findings, the
    strongest evidence first).
    """

    watch: Watch
    change: Change
    trend: Trend
    reported: bool
    contributors: tuple[Contributor, ...] = ()
    segments: tuple[SegmentChange, ...] = ()
    rule: Rule = "week"


SliceStatus = Literal["judged", "small", "absent"]


@dataclass(frozen=True)
class SliceReport:
    """A follow in the period: the slice's volume, its watched metrics' results, the events nearby.

    ``volume`` is the sum of the follow's ``volume_measure`` in the period (None when the cube
    does not have it). ``status`` is "judged", "small" (under the follow's ``min_volume``) or
    "absent" (the slice names a dimension the subscriber's data does not have); only a judged
    slice has ``results``. ``missing`` lists watched metrics the data cannot compute.
    """

    follow: Follow
    volume: float | None
    status: SliceStatus
    results: tuple[WatchResult, ...] = ()
    events: pl.DataFrame | None = None
    missing: tuple[str, ...] = ()

    @property
    def judged(self) -> bool:
        """True when the slice's changes were tested (it is in the data and big enough)."""
        return self.status == "judged"

    @property
    def reported(self) -> tuple[WatchResult, ...]:
        """The reported changes, the strongest evidence first."""
        found = [r for r in self.results if r.reported]
        return tuple(sorted(found, key=lambda r: r.change.p_value if r.change.p_value is not None else 1.0))

    @property
    def drilled(self) -> tuple[WatchResult, ...]:
        """The watched metrics not reported on the whole slice but on segments inside it."""
        return tuple(r for r in self.results if r.segments)

    @property
    def changed(self) -> bool:
        """True when some watched metric of the slice, or of a segment inside it, really changed."""
        return any(r.reported or r.segments for r in self.results)


@dataclass(frozen=True)
class DigestReport:
    """Everything one digest says, as results: whose, which periods, at which level, each slice.

    ``period`` is the days the digest is sent for (the cadence's); ``current`` and ``baseline``
    are the periods compared; ``comparisons`` is how many watched metrics of judged slices share
    ``alpha`` (each tests its slice at ``test_level``, and its segments share as much);
    ``first_day`` and ``as_of`` are the data's first and last days.
    ``comparable`` is False when the data does not reach back to ``baseline`` (then no slice is
    judged).
    """

    subscription: Subscription
    period: Period
    current: Period
    baseline: Period
    alpha: float
    comparisons: int
    first_day: dt.date
    as_of: dt.date
    slices: tuple[SliceReport, ...] = ()
    comparable: bool = True

    @property
    def test_level(self) -> float:
        """The level each comparison tests its slice at, and its drill-down's segments share: half of
        its part of ``alpha`` each (``alpha / 2m`` for *m* comparisons)."""
        return comparison_level(self.alpha, self.comparisons)

    @property
    def changed(self) -> tuple[SliceReport, ...]:
        """The followed slices that really changed."""
        return tuple(s for s in self.slices if s.changed)


# ---------------------------------------------------------------------------------------------
# Where the cube comes from


class CubeSource:
    """The cube of one data source, loaded on first use and reloaded when older than ``max_age``.

    Called with a subscription it returns the cube that subscriber may read: restricted to the
    scope the access policy (``$HARM_INSIGHTS_ACCESS``) gives the subscriber's id (their email,
    as the app's Follow button writes it); the whole source when no policy is configured; no cells
    at all when the policy does not name them (deny by default). A long-lived scheduler thus picks
    up new data without a restart, while the digests of one run share one load.
    """

    def __init__(
        self,
        source: str | Path,
        *,
        max_age: dt.timedelta = dt.timedelta(minutes=15),
        options: Mapping[str, object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.max_age = max_age
        self.options = dict(options or {})
        self.clock = clock
        self._cube: Cube | None = None
        self._scoped: dict[str, Cube] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def cube(self) -> Cube:
        """The source's cube, loaded now if it never was or is older than ``max_age``."""
        from insights.sources.registry import load_source

        with self._lock:
            if self._cube is None or self.clock() - self._loaded_at > self.max_age.total_seconds():
                self._cube = load_source(self.source, **self.options)  # type: ignore[arg-type]
                self._scoped.clear()
                self._loaded_at = self.clock()
            return self._cube

    def __call__(self, subscription: Subscription) -> Cube:
        """The cube ``subscription`` may read (see the class docstring), suppressed as the app
        suppresses it (``$HARM_INSIGHTS_SUPPRESSION``) after the scope restricted it."""
        cube = self.cube()
        suppression = load_suppression()
        policy = load_policy()
        if policy is None:
            return cube.with_suppression(suppression)
        scope = policy.scope_for({"email": subscription.id}) or Scope(subscription.id, (), ())
        with self._lock:
            if scope.key not in self._scoped:
                self._scoped[scope.key] = restrict(cube, scope)
            return self._scoped[scope.key].with_suppression(suppression)


# ---------------------------------------------------------------------------------------------
# The builder


#: Small-cell suppression's seam: a slice's results in, the results that may be shown out.
Disclose = Callable[[SliceReport], SliceReport]


@dataclass
class DigestBuilder:
    """The content builder: ``builder(subscription, period) -> Digest`` (an ``insights.digest.Render``).

    ``cube_for`` gives the cube a subscriber may read (see the module docstring); ``events`` are
    the annotated events (``insights.trends.read_events``) or None; ``base_url`` is the app's
    address for links. ``alpha`` is shared by a digest's comparisons; ``charts=False`` leaves the
    charts out (faster: the evaluation bench); ``disclose`` is the small-cell seam.
    """

    cube_for: Callable[[Subscription], Cube]
    events: pl.DataFrame | None = None
    base_url: str = DEFAULT_BASE_URL
    alpha: float = DEFAULT_ALPHA
    top: int = TOP_CONTRIBUTORS
    within_days: int = EVENTS_WITHIN_DAYS
    chart_periods: int = CHART_PERIODS
    charts: bool = True
    disclose: Disclose | None = None

    def __post_init__(self) -> None:
        if not is_http_url(self.base_url):
            raise ValueError(f"the app's base URL must be an http(s) URL, not {self.base_url!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, not {self.alpha!r}")

    def __call__(self, subscription: Subscription, period: Period) -> Digest:
        """The subscriber's digest for the days ``period`` (``report`` then ``compose``)."""
        return self.compose(self.report(subscription, period))

    # -- step 1: results -------------------------------------------------------------------------

    def report(self, subscription: Subscription, period: Period) -> DigestReport:
        """The results of a subscriber's digest for the days ``period`` (nothing formatted yet)."""
        cube = self.cube_for(subscription)
        as_of = cube.provenance.as_of
        if as_of is None or cube.date_range is None:
            raise DataError(f"{cube.provenance.source}: the data source has no data, so there is no digest to build")
        current, baseline = comparison_periods(period, as_of)
        first_day = cube.date_range[0]
        if baseline.start < first_day:  # nothing to compare with yet
            return DigestReport(subscription, period, current, baseline, self.alpha, 0, first_day, as_of, (), False)
        available = set(cube.available_metrics())
        volumes = {f.key: self._volume(cube, f, current) for f in subscription.follows}
        status: dict[str, SliceStatus] = {
            f.key: "absent"
            if any(d not in cube.dimensions for d in f.filters)
            else "judged"
            if f.has_volume(volumes[f.key])
            else "small"
            for f in subscription.follows
        }
        comparisons = sum(
            1 for f in subscription.follows if status[f.key] == "judged" for w in f.watches if w.metric in available
        )
        level = comparison_level(self.alpha, comparisons)
        slices = []
        for follow in subscription.follows:
            missing = tuple(w.metric for w in follow.watches if w.metric not in available)
            if status[follow.key] != "judged":
                slices.append(SliceReport(follow, volumes[follow.key], status[follow.key], missing=missing))
                continue
            examined = examined_segments(cube, follow, current=current, baseline=baseline)
            results = tuple(
                self._watch(cube, follow, watch, Period(first_day, as_of), current, baseline, level, examined)
                for watch in follow.watches
                if watch.metric in available
            )
            nearby = None
            if self.events is not None and any(r.reported or r.segments for r in results):
                nearby = events_near(self.events, [(current.start, current.end)], self.within_days, follow.filters)
            found = SliceReport(follow, volumes[follow.key], "judged", results, nearby, missing)
            slices.append(self.disclose(found) if self.disclose is not None else found)
        return DigestReport(
            subscription, period, current, baseline, self.alpha, comparisons, first_day, as_of, tuple(slices)
        )

    @staticmethod
    def _volume(cube: Cube, follow: Follow, current: Period) -> float | None:
        """The slice's ``volume_measure`` summed over the period (None where the cube lacks it)."""
        name = follow.volume_measure
        if name not in cube.measures or any(d not in cube.dimensions for d in follow.filters):
            return None
        total = cube.sums(volume_metric(name), filters=follow.cube_filters(), start=current.start, end=current.end)
        value = total["numerator"][0] if len(total) else None
        return float(value) if value is not None else 0.0

    def _watch(
        self,
        cube: Cube,
        follow: Follow,
        watch: Watch,
        data: Period,
        current: Period,
        baseline: Period,
        level: float,
        examined: pl.DataFrame,
    ) -> WatchResult:
        """One watched metric: the slice's trend (its noise), the change against the period before
        and the ramp, each at half the slice's ``level``, the verdict, the contributors; when
        neither is reported, the drill-down into the ``examined`` segments (``data``: the days the
        data covers)."""
        filters = follow.cube_filters()
        grain: Grain = grain_of(current)
        fitted = trend(cube, watch.metric, grain, filters, end=current.end)
        each = level / len(RULES)
        change = measure_change(
            cube, watch.metric, current=current, baseline=baseline, filters=filters, noise=fitted.noise, alpha=each
        )
        if change.significant and watch.matters(change.change, change.pct_change):
            return WatchResult(watch, change, fitted, True, explain(cube, change, self.top))
        ramp = ramp_change(cube, fitted, current, filters, first_day=data.start, alpha=each)
        if ramp is not None and ramp.significant and watch.matters(ramp.change, ramp.pct_change):
            return WatchResult(watch, ramp, fitted, True, explain(cube, ramp, self.top), rule="ramp")
        inside = drill_down(
            cube,
            follow,
            watch,
            change,
            fitted=fitted,
            examined=examined,
            level=level,
            first_day=data.start,
            top=self.top,
        )
        return WatchResult(watch, change, fitted, False, segments=inside)

    # -- step 2: words, charts, links ------------------------------------------------------------

    def compose(self, report: DigestReport) -> Digest:
        """The digest of a report: sections for the slices that changed, one line for the rest."""
        current = report.current
        grain = grain_of(current)
        if not report.subscription.follows:
            return self._digest(
                report,
                f"Harm Insights digest, {report.period.label()}",
                quiet="You do not follow any slice yet: use Follow on the Overview or Trends page.",
            )
        if not report.comparable:
            return self._digest(
                report,
                f"Harm Insights digest, {report.period.label()}",
                quiet=(
                    f"Nothing to compare yet: the data starts on {report.first_day:%Y-%m-%d}, "
                    f"so there is no {grain} before the {grain} of {current.label()}."
                ),
            )
        changed = report.changed
        noun = f"{len(changed)} change{'s' if len(changed) != 1 else ''}" if changed else f"a quiet {grain}"
        return self._digest(
            report,
            f"Harm Insights, {grain} of {current.label()}: {noun}",
            sections=tuple(self._section(report, s) for s in changed),
            intro=self._intro(report),
            unchanged=_unchanged_line(report) if changed else None,
            quiet=None if changed else _quiet_line(report),
        )

    def _digest(
        self,
        report: DigestReport,
        title: str,
        *,
        sections: tuple[Section, ...] = (),
        intro: str | None = None,
        unchanged: str | None = None,
        quiet: str | None = None,
    ) -> Digest:
        subscription = report.subscription
        return Digest(
            subscriber_id=subscription.id,
            subscriber_name=subscription.name,
            period=report.period,
            title=title,
            sections=sections,
            intro=intro,
            unchanged=unchanged,
            quiet=quiet,
            link=self._overview_link(report),
        )

    def _intro(self, report: DigestReport) -> str:
        grain = grain_of(report.current)
        parts = []
        if report.current.end < report.period.end:
            parts.append(
                f"The data runs to {report.as_of:%Y-%m-%d}, so this digest covers the last complete {grain} in it."
            )
        parts.append(
            f"The {grain} of {report.current.label()} against the {grain} before ({report.baseline.label()}). "
            f"A change is reported when it goes the way you watch, clears your thresholds and is beyond the "
            f"slice's usual {grain}-to-{grain} variation, tested at {report.alpha:.0%} across this digest's "
            f"{report.comparisons} comparison{'s' if report.comparisons != 1 else ''}; so is a change that built "
            f"up over {grain}s (the last {RAMP_PERIODS} {grain}s against the {RAMP_PERIODS} that ended "
            f"{RAMP_GAP} {grain}s before them, beyond how the slice usually grows). "
            f"Where a slice did not change so, a part of it (a country, a policy …) that did is reported too: "
            f"tested against its own usual variation and the number of parts looked at."
        )
        return " ".join(parts)

    def _section(self, report: DigestReport, found: SliceReport) -> Section:
        grain = grain_of(report.current)
        reported, drilled = found.reported, found.drilled
        name = slice_name(found.follow)
        numbers = [
            x for r in reported for x in (comparison_line(r.change, r.rule, grain), band_line(r.trend, report.current))
        ]
        several = len(reported) + len(drilled) > 1
        contributors = [
            (f"{metric(r.change.metric).label}: " if several else "") + contributor_line(r.change.metric, c)
            for r in reported
            for c in r.contributors
        ]
        words = _measure_words(found.follow.volume_measure)
        for result in drilled:
            numbers.append(whole_line(name, result, grain))
            for inside in result.segments:
                numbers += [segment_line(inside, words, grain), band_line(inside.trend, report.current, inside.segment)]
                part = segment_label(inside.segment)
                prefix = f"{metric(result.change.metric).label} in {part}: " if several else f"In {part}: "
                contributors += [prefix + contributor_line(result.change.metric, c) for c in inside.contributors]
        lead = _lead(reported, drilled)
        chart_png, chart_alt = None, ""
        if self.charts:
            compared = lead.change  # a ramp's subtitle names its two windows
            chart = self.chart(lead.trend, compared.current, compared.baseline, report.as_of, found.events)
            chart_png = _image(chart)
            segment = lead.segment if isinstance(lead, SegmentChange) else None
            chart_alt = chart_description(lead.trend, report.current, self.chart_periods, segment)
        return Section(
            title=name,
            numbers=tuple(numbers),
            contributors=tuple(contributors),
            events=tuple(event_lines(found.events)) if found.events is not None else (),
            chart_png=chart_png,
            chart_alt=chart_alt,
            link=self._root_cause_link(lead.change, report.current),
        )

    def chart(
        self,
        fitted: Trend,
        current: Period,
        baseline: Period,
        as_of: dt.date | None,
        events: pl.DataFrame | None = None,
    ) -> Chart:
        """A reported change's chart (of a slice, or of a segment a drill-down found): the Trends page's
        expected band of its trend over the last ``chart_periods`` of its grain up to the end of
        ``current``, with the section's nearby ``events`` marked (a static image cannot show a
        marker's title on hover, so only the events the section lists in words are drawn). Its
        subtitle names the periods compared (a ramp's two windows)."""
        grain: Grain = as_grain(fitted.grain)
        last = latest_complete_period(current.end, grain)
        window_start = shift(last.start, grain, -(self.chart_periods - 1))
        shown = dataclasses.replace(fitted, series=fitted.series.filter(pl.col("period") >= window_start))
        definition = metric(fitted.metric)
        chart = expected_band(
            shown,
            title=f"{definition.label} per {grain}: expected band",
            events=events,
            key=f"digest_{definition.name}",
        )
        chart.subtitle = subtitle_text(fitted.filters, current=current, baseline=baseline, as_of=as_of)
        return chart

    # -- links -----------------------------------------------------------------------------------

    def _url(self, page: str, state: ViewState) -> str:
        return f"{self.base_url.rstrip('/')}/{page}?{urlencode(state.to_query(), doseq=True)}"

    def _window(self, current: Period) -> tuple[dt.date, dt.date]:
        return shift(current.start, grain_of(current), -(self.chart_periods - 1)), current.end

    def _root_cause_link(self, change: Change, current: Period) -> str:
        """The Root cause page on the change's slice (or segment), metric and the two periods compared,
        at the digest's grain and over its chart's window (``current``: the digest's period)."""
        start, end = self._window(current)
        state = ViewState(
            filters=_view_filters(change.filters),
            start=start,
            end=end,
            grain=grain_of(current),
            page={
                "metric": change.metric,
                "baseline": period_param(change.baseline),
                "current": period_param(change.current),
            },
        )
        return self._url("root_cause", state)

    def _overview_link(self, report: DigestReport) -> str:
        """The Overview on the followed harm areas, showing the digest's period."""
        areas: list[str] = []
        for follow in report.subscription.follows:
            areas += [a for a in follow.filters.get("harm_area", ()) if a not in areas]
        every_follow_has_areas = all("harm_area" in f.filters for f in report.subscription.follows)
        filters = {"harm_area": areas if areas and every_follow_has_areas else [ALL_HARM_AREAS]}
        start, end = self._window(report.current)
        return self._url("overview", ViewState(filters=filters, start=start, end=end, grain=grain_of(report.current)))


# ---------------------------------------------------------------------------------------------
# Results in words


def change_line(change: Change, grain: str = "week") -> str:
    """'Actions: 1,050 against 741 the week before (+41.7%) — very unlikely to be noise (p < 0.001)'."""
    definition = metric(change.metric)
    return (
        f"{definition.label}: {change.value_text()} against "
        f"{change.baseline_text()} the {grain} before ({change.change_text()}) — "
        f"{evidence_text(change.p_value, change.alpha)} ({p_value_text(change.p_value)})"
    )


def ramp_line(change: Change, grain: str = "week") -> str:
    """A ramp in words, with the two windows compared: 'Actions built up over weeks (a ramp): 1,640
    in the 4 weeks of 2025-10-27 – 2025-11-23 against 1,210 in the 4 weeks of 2025-09-01 –
    2025-09-28 (+35.5%) — very unlikely to be noise (p < 0.001)'."""
    definition = metric(change.metric)
    return (
        f"{definition.label} built up over {grain}s (a ramp): {change.value_text()} in the {RAMP_PERIODS} {grain}s of "
        f"{change.current.label()} against {change.baseline_text()} in the {RAMP_PERIODS} {grain}s of "
        f"{change.baseline.label()} ({change.change_text()}) — "
        f"{evidence_text(change.p_value, change.alpha)} ({p_value_text(change.p_value)})"
    )


def comparison_line(change: Change, rule: Rule, grain: str = "week") -> str:
    """A reported change in words, by the rule that found it (``change_line`` or ``ramp_line``)."""
    return ramp_line(change, grain) if rule == "ramp" else change_line(change, grain)


def band_line(fitted: Trend, current: Period, segment: Mapping[str, str] | None = None) -> str:
    """'Actions expected from its trend: 771 (679 to 868); this week is above that range' (the trend's
    band in ``current``); of a segment: 'Actions (France) expected from its trend: …'."""
    definition = metric(fitted.metric)
    label = _metric_label(definition.label, segment)
    grain = grain_of(current)
    latest = fitted.series.filter(pl.col("period") == current.start)
    row = latest.row(0, named=True) if len(latest) else None
    if row is None or row["expected"] is None or row["lower"] is None or row["upper"] is None:
        return f"{label}: no expected value yet (too little history)"
    value = row[definition.name]
    where = "inside"
    if value is not None and value > row["upper"]:
        where = "above"
    elif value is not None and value < row["lower"]:
        where = "below"
    return (
        f"{label} expected from its trend: {value_text(definition, row['expected'])} "
        f"({value_text(definition, row['lower'])} to {value_text(definition, row['upper'])}); "
        f"this {grain} is {where} {'the' if where == 'inside' else 'that'} range"
    )


def whole_line(name: str, result: WatchResult, grain: str = "week") -> str:
    """The whole slice's change when only segments inside it are reported: 'Violent extremism as a
    whole did not change beyond its usual variation. Actions: 5,810 against 5,517 the week before
    (+5.3%) — could well be noise (p = 0.161)'."""
    verdict = (
        "did not change the way or by as much as you watch for"
        if result.change.significant
        else "did not change beyond its usual variation"
    )
    return f"{name} as a whole {verdict}. {change_line(result.change, grain)}"


def segment_line(found: SegmentChange, measure_words: str = "actions", grain: str = "week") -> str:
    """A segment a drill-down found, with its part of the slice and its change: 'But France (3.5% of
    its actions the week before) did, beyond its own usual variation (1 of 62 parts looked at):
    Actions: 348 against 195 the week before (+78.5%) — very unlikely to be noise (p < 0.001)'."""
    return (
        f"But {segment_label(found.segment)} ({found.baseline_share:.1%} of its {measure_words} the {grain} before) "
        f"did, beyond its own usual variation (1 of {found.examined} parts looked at): "
        f"{comparison_line(found.change, found.rule, grain)}"
    )


def contributor_line(name: str, contributor: Contributor) -> str:
    """A contributor in words, with its part of the change.

    A count: 'Live stream · Portuguese · Dangerous challenges: 1 → 265 (+264, 85% of the change)'.
    A rate also says how the segment's weight moved: 'User report: 29.6% → 14.9% of actions, its
    rate 0.0% → 0.0% (+6.8 pp, 78% of the change)'.
    """
    definition = metric(name)
    share = f", {contributor.share:.0%} of the change" if contributor.share is not None else ""
    amount = f"({signed_amount_text(definition, contributor.contribution)}{share})"
    rates = f"{value_text(definition, contributor.before)} → {value_text(definition, contributor.after)}"
    if definition.denominator is None or contributor.weight_before is None or contributor.weight_after is None:
        return f"{segment_label(contributor.segment)}: {rates} {amount}"
    weights = (
        f"{contributor.weight_before:.1%} → {contributor.weight_after:.1%} of {_measure_words(definition.denominator)}"
    )
    return f"{segment_label(contributor.segment)}: {weights}, its {definition.label.lower()} {rates} {amount}"


def event_lines(events: pl.DataFrame) -> list[str]:
    """'2026-06-15: Viral self-harm challenge on live streams (in the period)' per event, in date order."""
    lines = []
    for row in events.iter_rows(named=True):
        apart = row["days_apart"]
        days = f"{abs(apart)} day{'s' if abs(apart) != 1 else ''}"
        when = "in the period" if apart == 0 else f"{days} before" if apart < 0 else f"{days} after"
        lines.append(f"{row['date']:%Y-%m-%d}: {row['title']} ({when})")
    return lines


def chart_description(
    fitted: Trend, current: Period, periods: int = CHART_PERIODS, segment: Mapping[str, str] | None = None
) -> str:
    """The chart's text alternative: what it shows and the latest period against its expected range."""
    definition = metric(fitted.metric)
    grain = grain_of(current)
    latest = fitted.series.filter(pl.col("period") == current.start)
    where = (
        f"{_metric_label(definition.label, segment)} per {grain} over the last {periods} {grain}s, "
        "with its expected band"
    )
    if not len(latest):
        return where
    row = latest.row(0, named=True)
    expected = ""
    if row["expected"] is not None:
        expected = (
            f", where {value_text(definition, row['expected'])} was expected "
            f"(range {value_text(definition, row['lower'])} to {value_text(definition, row['upper'])})"
        )
    shown = value_text(definition, row[definition.name], Withheld.of(row, definition.name))
    return f"{where}: {shown} in the {grain} of {current.label()}{expected}"


def _metric_label(label: str, segment: Mapping[str, str] | None) -> str:
    """'Actions', or of a segment 'Actions (France)'."""
    return f"{label} ({segment_label(segment)})" if segment else label


def _lead(reported: Sequence[WatchResult], drilled: Sequence[WatchResult]) -> WatchResult | SegmentChange:
    """What a section's chart and link show: its strongest reported change, else its strongest segment."""
    if reported:
        return reported[0]
    found = [s for r in drilled for s in r.segments]
    return min(found, key=lambda s: s.change.p_value if s.change.p_value is not None else 1.0)


def _unchanged_line(report: DigestReport) -> str | None:
    """One line naming the followed slices that did not change, and what could not be judged."""
    steady = [slice_name(s.follow) for s in report.slices if s.judged and not s.changed]
    parts = [f"No change beyond the usual variation in {_and(steady)}"] if steady else []
    parts += _not_judged(report)
    return ("; ".join(parts) + ".") if parts else None


def _quiet_line(report: DigestReport) -> str:
    """A quiet period in one line, naming what is followed (and what could not be judged)."""
    grain = grain_of(report.current)
    judged = [slice_name(s.follow) for s in report.slices if s.judged]
    line = f"A quiet {grain}: nothing you follow changed beyond its usual variation"
    line += f" ({_and(judged)})" if judged else ""
    return "; ".join([line, *_not_judged(report)]) + "."


def _not_judged(report: DigestReport) -> list[str]:
    """'too small to judge this week: X (under 100 actions)', 'not in the data you can see: Y',
    'not measurable in this data: overturn rate (Z)'."""
    grain = grain_of(report.current)
    notes = []
    few = [
        f"{slice_name(s.follow)} (under {s.follow.min_volume:,.0f} {_measure_words(s.follow.volume_measure)})"
        for s in report.slices
        if s.status == "small"
    ]
    if few:
        notes.append(f"too small to judge this {grain}: {_and(few)}")
    absent = [slice_name(s.follow) for s in report.slices if s.status == "absent"]
    if absent:
        notes.append(f"not in the data you can see: {_and(absent)}")
    unmeasured = [
        f"{', '.join(metric(m).label.lower() for m in s.missing)} ({slice_name(s.follow)})"
        for s in report.slices
        if s.judged and s.missing
    ]
    if unmeasured:
        notes.append(f"not measurable in this data: {_and(unmeasured)}")
    return notes


def _measure_words(name: str) -> str:
    """A measure's label for a sentence ('actions', 'appeals')."""
    return measures()[name].label.lower() if name in measures() else name


def slice_name(follow: Follow) -> str:
    """A follow's label, or its slice as the app's chart subtitles say it: 'Mental health / self-harm',
    'Violent extremism · Country: Germany', 'All harm areas'."""
    return follow.label or subtitle_text(follow.filters)


def _and(items: Sequence[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _view_filters(filters: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A slice as the app's URL filters (harm_area=all when it is of every harm area)."""
    shown = {d: list(v) for d, v in filters.items()}
    shown.setdefault("harm_area", [ALL_HARM_AREAS])
    return shown


def _image(chart: Chart) -> bytes:
    from insights.export import image_bytes

    return image_bytes(chart, "png", width=CHART_WIDTH, height=CHART_HEIGHT, scale=CHART_SCALE)


# ---------------------------------------------------------------------------------------------
# Configuration: the data source, the events, the app's address


@dataclass(frozen=True)
class ContentConfig:
    """Where the default content builder reads from and links to.

    ``source`` is a path or SQLAlchemy URL for ``insights.load_source``; ``events`` an events CSV
    (or None); ``base_url`` the app's address.
    """

    source: str
    events: str | None
    base_url: str

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        source: str | None = None,
        events: str | None = None,
        base_url: str | None = None,
    ) -> ContentConfig:
        """Arguments first, then ``HARM_INSIGHTS_SOURCE``, ``HARM_INSIGHTS_EVENTS`` and
        ``HARM_INSIGHTS_BASE_URL``; by default the bundled sample (``sample_data/generated/events``
        with ``sample_data/events.csv``) of the checkout this package runs from.

        The sample's events go with the sample only: another source has no events unless named.
        A source that is a path must exist (``DataError`` otherwise, saying how to make the sample).
        """
        env = os.environ if environ is None else environ
        chosen = source or env.get("HARM_INSIGHTS_SOURCE")
        events = events or env.get("HARM_INSIGHTS_EVENTS")
        base = base_url or env.get("HARM_INSIGHTS_BASE_URL") or DEFAULT_BASE_URL
        if not chosen:
            root = checkout()
            if root is None:
                raise DataError("no data source: pass --source PATH_OR_URL or set HARM_INSIGHTS_SOURCE")
            chosen = str(root / "sample_data" / "generated" / "events")
            if not Path(chosen).exists():
                raise DataError(
                    f"no data source: the bundled sample {chosen} is not generated yet "
                    "(python -m sample_data.generate), or pass --source PATH_OR_URL"
                )
            sample_events = root / "sample_data" / "events.csv"
            events = events or (str(sample_events) if sample_events.exists() else None)
        elif "://" not in chosen and not Path(chosen).exists():
            raise DataError(f"no data source: {chosen} does not exist")
        if events is not None and not Path(events).is_file():
            raise DataError(f"no events file {events}")
        if not is_http_url(base):
            raise DataError(f"HARM_INSIGHTS_BASE_URL {base!r} is not an http(s) URL")
        return cls(chosen, events, base)

    def builder(self, **options) -> DigestBuilder:
        """A content builder on this configuration (``options`` as for ``DigestBuilder``)."""
        events = read_events(self.events) if self.events else None
        return DigestBuilder(CubeSource(self.source), events=events, base_url=self.base_url, **options)


_default: DigestBuilder | None = None
_default_lock = threading.Lock()


def render(subscription: Subscription, period: Period) -> Digest:
    """The content builder on the environment's configuration (``ContentConfig.from_env``), built
    once per process: ``--render insights.digest.content:render`` names it."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ContentConfig.from_env().builder()
    return _default(subscription, period)


__all__ = [
    "DEFAULT_METRICS",
    "ContentConfig",
    "Contributor",
    "CubeSource",
    "DigestBuilder",
    "DigestReport",
    "SliceReport",
    "WatchResult",
    "comparison_periods",
    "default_follow",
    "default_watch",
    "render",
    "slice_name",
    "top_contributors",
]

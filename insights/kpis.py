"""KPI cards: a metric in the latest complete period, against the period before and a year earlier.

Each card carries two ``Change`` results (tested against the slice's usual variation), so a
card, the narrative and an export show the same numbers and the same verdict.

Prevalence cards (``prevalence_cards``) show an estimate with its interval instead: the value as
it is reported ("0.062 % (0.055–0.069 %)", "≤ 0.038 %", "withheld: n < 500") and its change
against the previous period with an interval for the change (``prevalence_change``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from insights.change import Change
from insights.cube import Cube
from insights.exposed import ExposedCube
from insights.filters import Filters
from insights.periods import Grain, Period, grain_of, latest_complete_period, previous_period, year_earlier
from insights.prevalence import UPPER_BOUND, WITHHELD
from insights.trends.deltas import compare, data_as_of, slice_noise


@dataclass(frozen=True)
class KpiCard:
    """One metric for one slice (``key``: the value of the breakdown, None for the whole slice):
    its change against the previous period and against a year earlier."""

    key: str | None
    metric: str
    change: Change
    year_ago: Change

    @property
    def value(self) -> float | None:
        """The metric in the current period."""
        return self.change.value


def kpi_cards(
    cube: Cube,
    metrics: Sequence[str],
    by: str | None = "harm_area",
    filters: Filters | None = None,
    grain: Grain = "week",
    as_of: dt.date | None = None,
) -> tuple[Period, list[KpiCard]]:
    """KPI cards for every value of ``by`` (or the whole slice when ``by`` is None) and metric.

    The current period is the latest complete ``grain`` ending on or before ``as_of`` (default:
    the data's as-of date); it is compared with the period before and with a year earlier, each
    change tested against the slice's own noise at that grain (sub-slices share it).
    """
    current = latest_complete_period(data_as_of(cube, as_of), grain)
    baselines = {"previous": previous_period(current, grain), "year_ago": year_earlier(current)}
    keys = [by] if by else []
    cards = []
    for name in metrics:
        noise = slice_noise(cube, name, grain_of(current), filters, end=current.end)
        found: dict[str, dict[str | None, Change]] = {}
        for against, baseline in baselines.items():
            frame = compare(cube, name, current=current, baseline=baseline, by=keys, filters=filters, noise=noise)
            found[against] = {
                (row[by] if by else None): Change.from_row(
                    row,
                    name,
                    current=current,
                    baseline=baseline,
                    filters={**(filters or {}), **({by: row[by]} if by else {})},
                    noise=noise,
                )
                for row in frame.iter_rows(named=True)
            }
        for key, change in found["previous"].items():
            year_ago = found["year_ago"].get(key) or Change(name, current, baselines["year_ago"], change.value, None)
            cards.append(KpiCard(key, name, change, year_ago))
    return current, cards


@dataclass(frozen=True)
class PrevalenceChange:
    """How prevalence moved between two periods, with a confidence interval for the change.

    ``change`` is in proportion points (0.0001 = 0.01 pp); ``lower`` / ``upper`` bound it.
    ``different`` is True when the interval for the change excludes 0, False when it includes it,
    None when the change cannot be tested (a figure withheld, or no point estimate on one side
    and the intervals overlapping). ``overlap`` says whether the two periods' own intervals
    overlap: shown for the reader, but *not* the test (two 95 % intervals can overlap while the
    difference is clearly more than noise).
    """

    change: float | None
    lower: float | None
    upper: float | None
    overlap: bool | None
    different: bool | None
    direction: Literal["up", "down", "flat"] | None
    reason: str = ""

    def text(self) -> str:
        """'+0.011 pp (-0.002 to +0.024 pp): could be noise', '-0.021 pp (…): lower', 'higher: the
        intervals do not overlap', or why the change is not tested."""
        if self.change is None or self.lower is None or self.upper is None:
            if self.different:
                return f"{'higher' if self.direction == 'up' else 'lower'}: the intervals do not overlap"
            return f"change not tested: {self.reason}"
        verdict = "higher" if self.direction == "up" else "lower" if self.direction == "down" else "could be noise"
        return f"{self.points_text()} ({self._pp(self.lower)} to {self._pp(self.upper)} pp): {verdict}"

    def points_text(self) -> str | None:
        """The change alone in percentage points to two significant digits ('+0.011 pp'); None
        when it is not tested."""
        if self.change is None:
            return None
        return f"{self._pp(self.change)} pp"

    def _pp(self, value: float) -> str:
        digits = _pp_decimals(max(abs(v) for v in (self.change, self.lower, self.upper) if v is not None))
        return f"{value * 100 + 0.0:+.{digits}f}"


def _pp_decimals(fraction: float) -> int:
    """Decimals giving two significant digits of a change in percentage points."""
    points = fraction * 100
    return 2 if points <= 0 or not math.isfinite(points) else max(0, 1 - math.floor(math.log10(points)))


def prevalence_change(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> PrevalenceChange:
    """The change between two prevalence figures (rows of ``ExposedCube.prevalence``), tested.

    **The test.** Two estimates from independent samples (the view sample is drawn afresh every
    week, so two periods share no sampled view) each have an interval that is not symmetric near
    zero. The interval for their difference is Newcombe's (1998) hybrid score / MOVER interval
    built from the two intervals themselves (Zou & Donner 2008)::

        lower = Δ − √((p1 − l1)² + (u0 − p0)²)      upper = Δ + √((u1 − p1)² + (p0 − l0)²)

    with ``Δ = p1 − p0``, so it inherits the Korn–Graubard intervals' behaviour at small counts
    (no Wald interval on a handful of violating views). The change is *different* when this
    interval excludes 0 (at the intervals' own level, 95 % by default). Where one side has no
    point estimate (only an upper bound, or a published range) the change is only called when
    the two intervals do not overlap (which implies the MOVER interval would exclude 0);
    otherwise it is not tested. A withheld figure is never compared.
    """
    statuses = (current.get("status"), baseline.get("status"))
    bounds = [(row.get("lower"), row.get("upper")) for row in (current, baseline)]
    if WITHHELD in statuses or any(up is None for _, up in bounds):
        return PrevalenceChange(None, None, None, None, None, None, "a figure is withheld (too few sampled views)")
    l1, u1 = float(current.get("lower") or 0.0), float(current["upper"])
    l0, u0 = float(baseline.get("lower") or 0.0), float(baseline["upper"])
    overlap = not (l1 > u0 or l0 > u1)
    p1, p0 = current.get("estimate"), baseline.get("estimate")
    if p1 is None or p0 is None:
        if overlap:
            why = "only an upper bound" if UPPER_BOUND in statuses else "no point estimate"
            return PrevalenceChange(None, None, None, True, None, None, f"{why} on one side and the intervals overlap")
        return PrevalenceChange(None, None, None, False, True, "up" if l1 > u0 else "down")
    delta = p1 - p0
    lower = delta - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = delta + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    different = not lower <= 0 <= upper
    direction: Literal["up", "down", "flat"] = ("up" if delta > 0 else "down") if different else "flat"
    return PrevalenceChange(delta, lower, upper, overlap, different, direction)


@dataclass(frozen=True)
class PrevalenceCard:
    """Prevalence of one harm area in the current period, against the baseline period.

    ``text`` is the figure as reported ("0.062 % (0.055–0.069 %)", "≤ 0.038 %", "withheld:
    n < 500"); ``current_row`` / ``baseline_row`` are the rows of ``ExposedCube.prevalence``
    (None where the period has no sampled view); ``change`` tests the move.
    ``not_applied`` lists the filters prevalence cannot apply (policy, detection source …).
    """

    harm_area: str
    current: Period
    baseline: Period
    text: str
    baseline_text: str
    current_row: dict[str, Any] | None
    baseline_row: dict[str, Any] | None
    change: PrevalenceChange
    not_applied: tuple[str, ...] = field(default_factory=tuple)

    @property
    def estimate(self) -> float | None:
        """The point estimate (None for an upper bound, a published range, or a withheld figure)."""
        return self.current_row.get("estimate") if self.current_row else None

    @property
    def status(self) -> str:
        """``estimate``, ``upper_bound``, ``range`` or ``withheld`` (``withheld`` without sampled views)."""
        return str(self.current_row["status"]) if self.current_row else WITHHELD


def prevalence_cards(
    cube: ExposedCube,
    grain: Grain = "quarter",
    *,
    current: Period | None = None,
    baseline: Period | None = None,
    filters: Filters | None = None,
    harm_areas: Sequence[str] | None = None,
    as_of: dt.date | None = None,
    **options: Any,
) -> tuple[Period, list[PrevalenceCard]]:
    """A prevalence card per harm area: the latest complete ``grain`` (or ``current``) against the
    period before (or ``baseline``), each estimated on its own (never summed) for the slice.

    ``filters`` pick the harm areas (``harm_area``) and narrow the sample where it has the
    dimension (see ``ExposedCube.prevalence_filters``); ``options`` go to the estimator. A
    quarter is the default grain: a week's sample holds too few violating views of a rare harm
    for more than an upper bound.
    """
    # whole periods of the grain are asked at that grain (a publisher's figures exist only at
    # theirs); periods the caller chose are estimated over their span
    ask: Grain | Literal["all"] = "all" if current or baseline else grain
    current = current or latest_complete_period(data_as_of(cube, as_of), grain)
    baseline = baseline or previous_period(current, grain)
    _, not_applied = cube.prevalence_filters(filters)
    figures = {
        name: {
            row["harm_area"]: row
            for row in cube.prevalence(
                ask, filters=filters, start=period.start, end=period.end, harm_areas=harm_areas, **options
            ).iter_rows(named=True)
        }
        for name, period in (("current", current), ("baseline", baseline))
    }
    areas = list(dict.fromkeys([*figures["current"], *figures["baseline"]]))
    minimum = options.get("min_sample_size", 500)
    cards = []
    for area in areas:
        now, before = figures["current"].get(area), figures["baseline"].get(area)
        none = f"withheld: n < {minimum}"
        cards.append(
            PrevalenceCard(
                harm_area=area,
                current=current,
                baseline=baseline,
                text=now["reported"] if now else none,
                baseline_text=before["reported"] if before else none,
                current_row=now,
                baseline_row=before,
                change=prevalence_change(now or {"status": WITHHELD}, before or {"status": WITHHELD}),
                not_applied=tuple(not_applied),
            )
        )
    return current, cards


__all__ = [
    "KpiCard",
    "PrevalenceCard",
    "PrevalenceChange",
    "kpi_cards",
    "prevalence_cards",
    "prevalence_change",
]

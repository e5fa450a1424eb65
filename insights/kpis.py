"""KPI cards: a metric in the latest complete period, against the period before and a year earlier.

Each card carries two ``Change`` results (tested against the slice's usual variation), so a
card, the narrative and an export show the same numbers and the same verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from insights.change import Change
from insights.cube import Cube
from insights.filters import Filters
from insights.periods import Grain, Period, grain_of, latest_complete_period, previous_period, year_earlier
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

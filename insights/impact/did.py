"""Difference-in-differences for launches staggered across units, robust to effects that differ by
cohort and over time (in the spirit of Callaway & Sant'Anna 2021; our own implementation).

A two-way fixed-effects regression on staggered launches compares late-launching units with
already-launched ones and can even flip the sign of heterogeneous effects. Here every comparison is
clean: the **group-time effect** ``ATT(g, t)`` of the units first launched in period ``g`` at period
``t`` is their change from period ``g − 1`` to ``t`` minus the same change of the never-launched
units. Before the launch (``t < g``) the same comparison over one period (``t − 1`` to ``t``) is a
pre-trend check that should be about 0. The group-time effects are then averaged:

* overall: over every launched cell ``(g, t ≥ g)``, each cohort weighted by its size;
* by event time ``e = t − g`` (an event study), and by calendar period.

Units are weighted (``unit_weights``): by their pre-launch denominators for a rate, by their
pre-launch volume for a count (whose series are then divided by that volume, so a large and a
small market are compared in relative terms and the effect is returned per treated unit in
counts). Intervals and the p-value come from a bootstrap of units, stratified by cohort
(normal intervals from the bootstrap standard error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

#: Bootstrap draws.
DRAWS = 499


@dataclass(frozen=True)
class StaggeredEstimate:
    """Group-time effects and their averages, with bootstrap intervals.

    ``group_time``: ``cohort`` (index of the first launched period), ``period``, ``event_time``,
    ``att``. ``event_study``: ``event_time``, ``att``, ``lower``, ``upper``. ``calendar``:
    ``period`` (index), ``att``, ``lower``, ``upper`` over launched cohorts. ``att``: the overall
    effect per launched unit and period, with ``lower``/``upper`` and ``p_value``; ``cells`` the
    launched unit-periods it averages over (weighted).
    """

    group_time: pl.DataFrame
    event_study: pl.DataFrame
    calendar: pl.DataFrame
    att: float
    lower: float
    upper: float
    p_value: float
    cells: float


def _mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(values @ weights / weights.sum())


def group_time_effects(outcome: np.ndarray, cohorts: np.ndarray, weights: np.ndarray) -> dict[tuple[int, int], float]:
    """``ATT(g, t)`` for every cohort ``g`` (first launched period index; −1: never) and period ``t ≥ 1``."""
    never = cohorts < 0
    effects: dict[tuple[int, int], float] = {}
    for g in np.unique(cohorts[cohorts > 0]):
        group = cohorts == g
        for t in range(1, outcome.shape[1]):
            base = g - 1 if t >= g else t - 1
            change = outcome[:, t] - outcome[:, base]
            effects[(int(g), t)] = _mean(change[group], weights[group]) - _mean(change[never], weights[never])
    return effects


def _aggregate(
    effects: dict[tuple[int, int], float], sizes: dict[int, float]
) -> tuple[float, dict[int, float], dict[int, float]]:
    """Overall effect over launched cells, by event time and by calendar period (cohorts weighted by size)."""
    overall_num = overall_den = 0.0
    by_event: dict[int, list[float]] = {}
    by_period: dict[int, list[float]] = {}
    for (g, t), att in effects.items():
        e, n = t - g, sizes[g]
        by_event.setdefault(e, [0.0, 0.0])
        by_event[e][0] += n * att
        by_event[e][1] += n
        if e >= 0:
            overall_num += n * att
            overall_den += n
            by_period.setdefault(t, [0.0, 0.0])
            by_period[t][0] += n * att
            by_period[t][1] += n
    return (
        overall_num / overall_den,
        {e: s / w for e, (s, w) in sorted(by_event.items())},
        {t: s / w for t, (s, w) in sorted(by_period.items())},
    )


def staggered_did(
    outcome: np.ndarray, cohorts: np.ndarray, unit_weights: np.ndarray | None = None, level: float = 0.9, seed: int = 0
) -> StaggeredEstimate:
    """Staggered difference-in-differences on ``outcome`` (units × periods).

    ``cohorts`` gives each unit's first launched period index (≥ 1), or −1 for never launched.
    """
    cohorts = np.asarray(cohorts, dtype=int)
    weights = np.ones(len(cohorts)) if unit_weights is None else np.asarray(unit_weights, dtype=float)
    if not (cohorts < 0).any():
        raise ValueError("staggered difference-in-differences needs never-launched units to compare with")
    if (cohorts == 0).any():
        raise ValueError("a unit launched in the first period has no pre-launch period")
    if not (cohorts > 0).any():
        raise ValueError("no launched unit")
    sizes = {int(g): float(weights[cohorts == g].sum()) for g in np.unique(cohorts[cohorts > 0])}
    effects = group_time_effects(outcome, cohorts, weights)
    att, by_event, by_period = _aggregate(effects, sizes)
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(cohorts == g) for g in np.unique(cohorts)]
    draws_att, draws_event, draws_period = [], [], []
    for _ in range(DRAWS):
        pick = np.concatenate([rng.choice(s, size=len(s)) for s in strata])
        drawn = group_time_effects(outcome[pick], cohorts[pick], weights[pick])
        drawn_sizes = {g: float(weights[pick][cohorts[pick] == g].sum()) for g in sizes}
        a, e, p = _aggregate(drawn, drawn_sizes)
        draws_att.append(a)
        draws_event.append([e[k] for k in by_event])
        draws_period.append([p[k] for k in by_period])
    z = float(stats.norm.ppf(0.5 + level / 2))
    se = float(np.std(draws_att, ddof=1))
    se_event = np.std(np.array(draws_event), axis=0, ddof=1)
    se_period = np.std(np.array(draws_period), axis=0, ddof=1)
    event_att = np.array(list(by_event.values()))
    period_att = np.array(list(by_period.values()))
    cells = sum(sizes[g] for (g, t) in effects if t >= g)
    return StaggeredEstimate(
        group_time=pl.DataFrame(
            [(g, t, t - g, v) for (g, t), v in effects.items()],
            schema=["cohort", "period", "event_time", "att"],
            orient="row",
        ),
        event_study=pl.DataFrame(
            {
                "event_time": list(by_event),
                "att": event_att,
                "lower": event_att - z * se_event,
                "upper": event_att + z * se_event,
            }
        ),
        calendar=pl.DataFrame(
            {
                "period": list(by_period),
                "att": period_att,
                "lower": period_att - z * se_period,
                "upper": period_att + z * se_period,
            }
        ),
        att=att,
        lower=att - z * se,
        upper=att + z * se,
        p_value=float(2 * stats.norm.sf(abs(att) / se)) if se > 0 else 0.0,
        cells=float(cells),
    )

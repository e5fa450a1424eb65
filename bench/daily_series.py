"""Seeded generator of daily enforcement-shaped count series with known change points and spikes.

Each series is drawn from one seeded random generator, all of its parameters across the whole
ranges below (no hand-picked cases):

* length: 180 to 730 days, starting on a random weekday;
* level: the mean on the first day, log-uniform from 3 to 30,000 events a day;
* weekly seasonality: a multiplicative profile of seven factors with random shape and an
  amplitude (largest deviation from 1) of 10 % to 35 %;
* slow trend: a log-linear drift of −40 % to +40 % a year times a slow wave (period 300 to 900
  days, amplitude up to 8 %), so trends are neither constant nor straight lines;
* 0 to 3 level shifts, each a factor of 0.45–0.8 or 1.25–1.9 on everything after it, at least
  ``MIN_SEGMENT`` days from each other and from the ends;
* 0 to 4 one-day spikes, each ×2 to ×4 on its day's mean, at least ``SPIKE_CLEARANCE`` days
  from a level shift and from each other — a spike is an anomaly, never a change point;
* Poisson counts around that mean.

The truth of a series is ``change_points`` (index of the first day at the new level) and
``spikes`` (index of the spiked day). ``cube(series)`` gives the Cube the library builds from a
pre-aggregated table with one harm area.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from insights.cube import Cube, Provenance

#: Fewest days between two level shifts, and between a shift and either end.
MIN_SEGMENT = 28
#: Fewest days between a spike and a level shift or another spike.
SPIKE_CLEARANCE = 7
LENGTH = (180, 730)
LEVEL = (3.0, 30_000.0)
WEEKLY_AMPLITUDE = (0.10, 0.35)
GROWTH_PER_YEAR = (-0.40, 0.40)
WAVE_AMPLITUDE = (0.0, 0.08)
WAVE_PERIOD = (300.0, 900.0)
SHIFTS = (0, 3)
SHIFT_DOWN = (0.45, 0.80)
SHIFT_UP = (1.25, 1.90)
SPIKES = (0, 4)
SPIKE_FACTOR = (2.0, 4.0)


@dataclass(frozen=True)
class DailySeries:
    """One generated series: its counts, dates, true change points and spikes, and parameters
    (``weekly`` is the true weekday factor of each day)."""

    seed: int
    start: dt.date
    counts: np.ndarray
    mean: np.ndarray
    change_points: list[int]
    spikes: list[int]
    level: float
    weekly_amplitude: float
    weekly: np.ndarray
    shift_factors: list[float]

    @property
    def dates(self) -> list[dt.date]:
        """The day of each count."""
        return [self.start + dt.timedelta(days=i) for i in range(len(self.counts))]


def _spaced_positions(rng: np.random.Generator, count: int, low: int, high: int, gap: int, avoid=(), clearance=0):
    """``count`` sorted integers in [low, high) at least ``gap`` apart and ``clearance`` from ``avoid``
    (rejection sampling; fewer if the room runs out)."""
    for _ in range(1000):
        picks = np.sort(rng.integers(low, high, size=count)) if count else np.array([], dtype=int)
        spaced = np.all(np.diff(picks) >= gap)
        clear = all(abs(int(p) - a) >= clearance for p in picks for a in avoid)
        if spaced and clear:
            return [int(p) for p in picks]
    return [] if count == 0 else _spaced_positions(rng, count - 1, low, high, gap, avoid, clearance)


def generate(seed: int) -> DailySeries:
    """One daily count series, every parameter drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(LENGTH[0], LENGTH[1] + 1))
    start = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
    t = np.arange(n, dtype=float)

    level = float(np.exp(rng.uniform(*np.log(LEVEL))))
    amplitude = float(rng.uniform(*WEEKLY_AMPLITUDE))
    shape = rng.normal(size=7)
    shape -= shape.mean()
    weekly = 1 + amplitude * shape / np.abs(shape).max()
    weekday = np.array([(start + dt.timedelta(days=i)).weekday() for i in range(n)])

    growth = rng.uniform(*GROWTH_PER_YEAR)
    wave = rng.uniform(*WAVE_AMPLITUDE) * np.sin(2 * np.pi * t / rng.uniform(*WAVE_PERIOD) + rng.uniform(0, 2 * np.pi))
    slow = np.exp(np.log1p(growth) * t / 365 + wave)

    shift_count = int(rng.integers(SHIFTS[0], SHIFTS[1] + 1))
    shifts = _spaced_positions(rng, shift_count, MIN_SEGMENT, n - MIN_SEGMENT + 1, MIN_SEGMENT)
    factors = [float(rng.uniform(*SHIFT_DOWN) if rng.random() < 0.5 else rng.uniform(*SHIFT_UP)) for _ in shifts]
    step = np.ones(n)
    for at, factor in zip(shifts, factors, strict=True):
        step[at:] *= factor

    mean = level * weekly[weekday] * slow * step
    spikes = _spaced_positions(
        rng, int(rng.integers(SPIKES[0], SPIKES[1] + 1)), 1, n - 1, SPIKE_CLEARANCE, shifts, SPIKE_CLEARANCE
    )
    for at in spikes:
        mean[at] *= rng.uniform(*SPIKE_FACTOR)
    counts = rng.poisson(mean)
    return DailySeries(seed, start, counts, mean, shifts, spikes, level, amplitude, weekly[weekday], factors)


def suite(size: int = 300, first_seed: int = 0) -> list[DailySeries]:
    """``size`` series with consecutive seeds."""
    return [generate(seed) for seed in range(first_seed, first_seed + size)]


def cube(series: DailySeries, harm_area: str = "hateful_behavior") -> Cube:
    """The Cube the library builds from a pre-aggregated table (date, harm_area, actions)."""
    frame = pl.DataFrame(
        {"date": series.dates, "harm_area": harm_area, "actions": series.counts.astype(np.int64)}
    ).with_columns(pl.col("harm_area").cast(pl.Categorical))
    provenance = Provenance(
        source=f"daily series {series.seed}", kind="table", rows_read=len(frame), as_of=frame["date"].max()
    )
    return Cube(frame, provenance)

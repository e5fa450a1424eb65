"""Multi-dimensional root-cause localization.

Given one row per leaf (one value of every dimension) with an actual and an expected
(forecast) value, :func:`localize` returns the smallest set of attribute combinations
(``{"country": "BR", "detection_source": "user_report"}``) that explains the anomaly.

Method, in four steps (all vectorised with numpy over the leaves; Python loops only run
over cuboids, i.e. subsets of the dimensions):

1. **Additive form.** For an additive measure the leaf deviation is ``actual - expected``.
   For a ratio measure ``a / b`` the expected numerator of a leaf is its actual
   denominator times its forecast rate, so denominator (traffic) shifts are not
   anomalies. A proportion (``0 <= a <= b``) whose overall rate is above one half is
   modelled on its minority outcome ``b - a`` (an error rate doubling is a multiplicative
   change, a success rate going from 0.98 to 0.96 is not).
2. **Noise model.** Leaf variance ``alpha * sampling + beta * expected**2``: a sampling
   (Poisson-like) term and a multiplicative forecast-error term. Both are fitted by a
   robust (winsorised) Gaussian likelihood on the leaves whose deviation opposes the
   overall change, since anomalies move the other way; the simpler of the candidate
   models wins unless the data support the richer one (BIC). Integer data keep at least
   the Poisson sampling variance.
3. **Candidate scores.** For every combination of every cuboid: the deviation ``D`` of its
   (still unexplained) leaves, its significance ``Z = D / sqrt(V)``, and its *purity*: for
   each further dimension, the combination is split into children and a child counts as
   anomalous when its deviation score ``2 (actual - expected) / (actual + expected)``
   carries at least half of the combination's own; purity is the anomalous share of the
   children, weighted once by statistical detectability and once by volume, and the
   minimum over both weightings and all split dimensions is kept.
4. **Greedy explanation.** A candidate is *admissible* when it is significant, pure, not
   too specific (no sibling within a pure parent is itself significantly anomalous, which
   would mean the anomaly extends to the parent) and not too general (no pure child
   carries the whole anomaly while the rest of the combination is not significantly
   anomalous). The admissible candidate with the largest deviation is taken, its leaves are
   marked explained and the search repeats until nothing admissible is left. Finally a
   combination implied by a more general chosen one is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import polars as pl

# Defaults (one set for every data set; see the module docstring for their meaning).
Z_MIN = 5.0  # significance a root cause must reach, in noise standard deviations
PURITY_MIN = 0.5  # share of a root cause that must carry the anomaly
Z_EXTEND = 2.0  # significance at which the anomaly is taken to extend to a sibling
MAX_CAUSES = 10  # safety cap on the number of root causes returned
_WINSOR = 9.0  # squared z at which leaves stop influencing the noise fit
_TINY = 1e-300


def localize(
    df: pl.DataFrame,
    dims: list[str],
    value_col: str = "real",
    forecast_col: str = "predict",
    *,
    ratio: bool | None = None,
    z_min: float = Z_MIN,
    purity_min: float = PURITY_MIN,
    z_extend: float = Z_EXTEND,
    max_causes: int = MAX_CAUSES,
) -> list[dict[str, str]]:
    """Return the minimal set of attribute combinations that explains an anomaly.

    Parameters
    ----------
    df:
        One row per leaf: the categorical ``dims`` columns plus the actual
        (``value_col``) and expected (``forecast_col``) value of an additive measure, or,
        for a ratio measure ``a / b``, the columns ``{value_col}_a``, ``{forecast_col}_a``,
        ``{value_col}_b`` and ``{forecast_col}_b`` (numerator and denominator, actual and
        forecast).
    dims:
        The dimension columns; a combination fixes 1..len(dims) of them.
    value_col, forecast_col:
        Names of the actual and expected columns (or the prefixes of the ratio columns).
    ratio:
        ``True`` for a ratio measure, ``False`` for an additive one, ``None`` (default) to
        detect it from the presence of the four ratio columns.
    z_min, purity_min, z_extend, max_causes:
        Significance a root cause must reach, share of it that must be anomalous,
        significance at which an anomaly extends to a sibling, and the cap on the number
        of causes. The defaults are used for every data set.

    Returns
    -------
    list of dict
        Each dict maps dimension name to value (as a string), most important first. An
        empty list means no significant, coherent anomaly was found (for example when
        actual equals forecast everywhere, or the only deviations are noise).
    """
    if ratio is None:
        ratio = all(f"{c}_{s}" in df.columns for c in (value_col, forecast_col) for s in "ab")
    if df.height == 0 or not dims:
        return []
    actual, expected, volume, counts = _additive_form(df, value_col, forecast_col, ratio)
    if not ((actual > 0).any() or (expected > 0).any()):  # nothing anywhere (e.g. every leaf withheld)
        return []
    variance = _noise_variance(actual, expected, counts)
    lattice = _Lattice(_encode(df, dims))
    chosen = _greedy(lattice, actual, expected, variance, volume, z_min, purity_min, z_extend, max_causes)
    values = [df[d].cast(pl.String).fill_null("").to_numpy() for d in dims]
    causes = [{dims[c]: str(values[c][leaf]) for c in cols} for cols, leaf in chosen]
    return _drop_implied(causes)


def _additive_form(
    df: pl.DataFrame, value_col: str, forecast_col: str, ratio: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Actual and expected value per leaf on an additive scale, the leaf volume, and
    whether the data are integer counts."""
    if not ratio:
        frame = df.select(
            actual=pl.col(value_col).cast(pl.Float64).fill_null(0.0),
            expected=pl.col(forecast_col).cast(pl.Float64).fill_null(0.0),
        )
        actual, expected = frame["actual"].to_numpy(), frame["expected"].to_numpy()
        volume = np.where(expected > 0, expected, actual)
        return actual, expected, volume, bool(np.all(actual == np.round(actual)))

    frame = df.select(
        a=pl.col(f"{value_col}_a").cast(pl.Float64).fill_null(0.0),
        b=pl.col(f"{value_col}_b").cast(pl.Float64).fill_null(0.0),
        fa=pl.col(f"{forecast_col}_a").cast(pl.Float64).fill_null(0.0),
        fb=pl.col(f"{forecast_col}_b").cast(pl.Float64).fill_null(0.0),
    )
    a, b, fa, fb = (frame[c].to_numpy() for c in ("a", "b", "fa", "fb"))
    overall = fa.sum() / fb.sum() if fb.sum() > 0 else (a.sum() / b.sum() if b.sum() > 0 else 0.0)
    rate = np.where(fb > 0, fa / np.where(fb > 0, fb, 1.0), overall)
    proportion = bool(np.all((a >= 0) & (a <= b) & (fa >= 0) & (fa <= fb)))
    if proportion and overall > 0.5:
        a, rate = b - a, 1.0 - rate
    counts = bool(np.all(a == np.round(a)) and np.all(b == np.round(b)))
    return a, b * rate, b, counts


def _encode(df: pl.DataFrame, dims: list[str]) -> np.ndarray:
    """Integer code (0..cardinality-1) of every leaf's value, one column per dimension."""
    codes = df.select((pl.col(d).cast(pl.String).fill_null("").rank("dense").cast(pl.Int64) - 1).alias(d) for d in dims)
    return codes.to_numpy().reshape(df.height, len(dims))


def _noise_variance(actual: np.ndarray, expected: np.ndarray, counts: bool) -> np.ndarray:
    """Per-leaf noise variance ``alpha * sampling + beta * expected**2`` (see module doc).

    ``sampling`` is the expected value, floored at the mean of actual and expected so that
    a leaf with no forecast is not infinitely surprising; for such a leaf the
    multiplicative term uses half its actual value in place of the expected one.
    """
    deviation = actual - expected
    sampling = np.maximum(expected, (actual + expected) / 2)
    level = np.where(expected > 0, expected, actual / 2)
    live = sampling > 0
    direction = np.sign(deviation[live].sum()) or 1.0
    side = live & (deviation * direction <= 0)
    if side.sum() < 5:
        side = live
    weight = np.where(deviation[side] == 0, 0.5, 1.0)  # zero deviations belong to both sides
    d2 = deviation[side] ** 2
    design = np.stack([sampling[side], level[side] ** 2], axis=1)
    offset = sampling[side] if counts else np.zeros(d2.size)
    models: list[list[int]] = [*([[]] if counts else []), [0], [1], [0, 1]]
    theta = max((_fit_variance(d2, design, offset, weight, cols) for cols in models), key=lambda t: t[1])[0]
    alpha = theta[0] + (1.0 if counts else 0.0)
    return alpha * sampling + theta[1] * level**2


def _fit_variance(
    d2: np.ndarray, design: np.ndarray, offset: np.ndarray, weight: np.ndarray, cols: list[int]
) -> tuple[np.ndarray, float]:
    """Fit ``var = offset + design[:, cols] @ theta`` (theta >= 0) by iteratively
    reweighted least squares on winsorised squared deviations; return theta (padded to
    both columns) and the BIC-penalised winsorised Gaussian log-likelihood."""
    theta = np.zeros(design.shape[1])
    if cols:
        x = design[:, cols]
        start = np.median(np.maximum(d2 - offset, 0.0) / np.maximum(x.sum(axis=1), _TINY)) / 0.455
        t = np.full(len(cols), max(start, 1e-12))
        for _ in range(30):
            var = np.maximum(offset + x @ t, _TINY)
            target = np.minimum(d2, _WINSOR * var) / 0.97 - offset  # 0.97: winsorising bias at 3 sd
            w = weight / var**2
            gram = (x * w[:, None]).T @ x
            if np.linalg.cond(gram) > 1e12:
                break
            new = np.maximum(np.linalg.solve(gram, (x * w[:, None]).T @ target), 0.0)
            converged = np.allclose(new, t, rtol=1e-6)
            t = new
            if converged:
                break
        theta[cols] = t
    var = np.maximum(offset + design @ theta, _TINY)
    loglik = -0.5 * float((weight * (np.log(var) + np.minimum(d2 / var, _WINSOR))).sum())
    return theta, loglik - 0.5 * len(cols) * np.log(max(weight.sum(), 2.0))


@dataclass
class _Cuboid:
    """Group id of every leaf in one cuboid, a representative leaf and the group count."""

    group: np.ndarray
    first: np.ndarray
    size: int


class _Lattice:
    """All cuboids (non-empty subsets of the dimensions) and their parent/child links."""

    def __init__(self, codes: np.ndarray):
        n, d = codes.shape
        radix = codes.max(axis=0) + 1 if n else np.ones(d, dtype=np.int64)
        self.cuboids: dict[tuple[int, ...], _Cuboid] = {}
        for size in range(1, d + 1):
            for cols in combinations(range(d), size):
                key = np.zeros(n, dtype=np.int64)
                for c in cols:
                    key = key * radix[c] + codes[:, c]
                _, first, group = np.unique(key, return_index=True, return_inverse=True)
                self.cuboids[cols] = _Cuboid(group.ravel(), first, first.size)
        # (parent cuboid, child cuboid, parent group of every child group)
        self.links = [
            (cols, child, cub.group[self.cuboids[child].first])
            for cols, cub in self.cuboids.items()
            for child in (tuple(sorted((*cols, extra))) for extra in range(d) if extra not in cols)
        ]


def _greedy(
    lattice: _Lattice,
    actual: np.ndarray,
    expected: np.ndarray,
    variance: np.ndarray,
    volume: np.ndarray,
    z_min: float,
    purity_min: float,
    z_extend: float,
    max_causes: int,
) -> list[tuple[tuple[int, ...], int]]:
    """Pick admissible combinations by decreasing deviation, explaining their leaves."""
    open_ = np.ones(actual.size, dtype=bool)
    chosen: list[tuple[tuple[int, ...], int]] = []
    while len(chosen) < max_causes and open_.any():
        sums = {
            cols: tuple(
                np.bincount(cub.group, np.where(open_, x, 0.0), cub.size) for x in (actual, expected, variance, volume)
            )
            for cols, cub in lattice.cuboids.items()
        }
        best = None
        for sign in (1.0, -1.0):
            for cols, index, dev in _admissible(lattice, sums, sign, z_min, purity_min, z_extend):
                rank = (dev, -len(cols))
                if (
                    best is None
                    or dev > best[0][0] * (1 + 1e-9)
                    or (dev >= best[0][0] * (1 - 1e-9) and rank[1] > best[0][1])
                ):
                    best = (rank, cols, index)
        if best is None:
            break
        _, cols, index = best
        cub = lattice.cuboids[cols]
        chosen.append((cols, int(cub.first[index])))
        open_ &= cub.group != index
    return chosen


def _admissible(lattice: _Lattice, sums: dict, sign: float, z_min: float, purity_min: float, z_extend: float):
    """Yield ``(cuboid, group, deviation)`` of the best admissible group of every cuboid."""
    purity = {cols: np.ones(cub.size) for cols, cub in lattice.cuboids.items()}
    for parent, child, up in lattice.links:
        r, p, _, _ = sums[parent]
        rc, pc, vc, mc = sums[child]
        forecast = (p > 0)[up]
        ratio = (r / np.where(p > 0, p, 1.0))[up]
        score_parent = np.where(p > 0, 2 * (r - p) / np.maximum(r + p, _TINY), 2 * sign)[up]
        score_child = np.where(rc + pc > 0, 2 * (rc - pc) / np.maximum(rc + pc, _TINY), 0.0)
        anomalous = (score_child / np.where(score_parent != 0, score_parent, 1.0) >= 0.5) & (score_parent * sign > 0)
        detectability = np.where(forecast & (vc > 0), np.abs(ratio - 1) * pc / np.sqrt(np.maximum(vc, _TINY)), 0.0)
        for weight in (detectability, mc):
            total = np.bincount(up, weight, r.size)
            share = np.bincount(up, weight * anomalous, r.size) / np.where(total > 0, total, 1.0)
            purity[parent] = np.minimum(purity[parent], np.where(total > 0, share, 1.0))

    deviation, valid = {}, {}
    for cols in lattice.cuboids:
        r, p, v, _ = sums[cols]
        dev = sign * (r - p)
        deviation[cols] = dev
        valid[cols] = (dev > 0) & (dev >= z_min * np.sqrt(v)) & (purity[cols] >= purity_min)

    admissible = {cols: ok.copy() for cols, ok in valid.items()}
    for parent, child, up in lattice.links:
        r, p, v, _ = sums[parent]
        rc, pc, vc, _ = sums[child]
        rest_dev = sign * ((r[up] - rc) - (p[up] - pc))
        rest_var = v[up] - vc
        nonempty = rest_var > 1e-12 * np.maximum(v[up], _TINY)
        rest_z = np.where(nonempty, rest_dev / np.sqrt(np.maximum(rest_var, _TINY)), 0.0)
        # too specific: the anomaly extends to the rest of a valid parent
        admissible[child] &= ~((rest_z >= z_extend) & valid[parent][up])
        # too general: a valid child holds the anomaly and the rest of the parent does not
        holds_all = valid[child] & nonempty & (rest_z < z_extend)
        admissible[parent] &= np.bincount(up, holds_all, r.size) == 0

    for cols, ok in admissible.items():
        if ok.any():
            index = int(np.argmax(np.where(ok, deviation[cols], -np.inf)))
            yield cols, index, float(deviation[cols][index])


def _drop_implied(causes: list[dict[str, str]]) -> list[dict[str, str]]:
    """Remove combinations that refine (are implied by) another returned combination."""
    items = [set(c.items()) for c in causes]
    return [c for c, s in zip(causes, items, strict=True) if not any(o < s for o in items)]

"""Scoring for the Turing Change Point Dataset (TCPD) benchmark.

Implements the two metrics of van den Burg & Williams, *An Evaluation of
Change Point Detection Algorithms* (arXiv:2003.06222): the F1 score with a
margin and the segmentation covering, both against several annotators.
Index 0 is counted as a change point in the annotations and in the
prediction, as in the paper. Also loads the benchmark folder.
"""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

MARGIN = 5


def clean_predictions(predictions, n_obs: int) -> list[int]:
    """Drop duplicates and keep only locations 1 <= t <= n_obs - 2, sorted."""
    return sorted({int(t) for t in predictions if 1 <= int(t) <= n_obs - 2})


def true_positives(truth, predictions, margin: int = MARGIN) -> int:
    """Count true points matched one-to-one to a prediction within +/- margin.

    Each true point (in increasing order) takes the closest unmatched
    prediction within the margin; ties go to the earlier prediction.
    """
    unmatched = set(predictions)
    hits = 0
    for tau in sorted(truth):
        close = sorted((abs(tau - x), x) for x in unmatched if abs(tau - x) <= margin)
        if close:
            unmatched.remove(close[0][1])
            hits += 1
    return hits


def f_measure(annotations: dict, predictions, n_obs: int, margin: int = MARGIN) -> float:
    """F1 of the predicted change points against all annotators.

    Precision uses the union of the annotations, recall is averaged over the
    annotators; 0 is added to every set.
    """
    truths = [set(cps) | {0} for cps in annotations.values()]
    x = set(clean_predictions(predictions, n_obs)) | {0}
    union = set().union(*truths)
    precision = true_positives(union, x, margin) / len(x)
    recall = sum(true_positives(t, x, margin) / len(t) for t in truths) / len(truths)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def partition(cps, n_obs: int) -> list[range]:
    """Split range(n_obs) into segments that start at 0 and at each change point."""
    bounds = [0] + [t for t in sorted(set(cps)) if 0 < t < n_obs] + [n_obs]
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def _jaccard(a: range, b: range) -> float:
    inter = max(0, min(a.stop, b.stop) - max(a.start, b.start))
    return inter / (len(a) + len(b) - inter)


def cover_single(predicted: list[range], truth: list[range], n_obs: int) -> float:
    """Covering of the true partition by the predicted one."""
    return sum(len(a) * max(_jaccard(a, b) for b in predicted) for a in truth) / n_obs


def covering(annotations: dict, predictions, n_obs: int) -> float:
    """Segmentation covering averaged over the annotators."""
    predicted = partition(clean_predictions(predictions, n_obs), n_obs)
    scores = [cover_single(predicted, partition(cps, n_obs), n_obs) for cps in annotations.values()]
    return sum(scores) / len(scores)


@dataclass
class Series:
    """One TCPD series with its annotations and manifest flags."""

    name: str
    n_obs: int
    values: list | None  # None when the data file is absent (licence)
    annotations: dict
    in_paper_aggregate: bool
    univariate: bool


def load_tcpd(data_dir: Path) -> list[Series]:
    """Load every series listed in the manifest (first dimension of the values)."""
    data_dir = Path(data_dir)
    annotations = json.loads((data_dir / "annotations.json").read_text())
    out = []
    with open(data_dir / "series_manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            name = row["name"]
            path = data_dir / "datasets" / name / f"{name}.json"
            values = None
            if path.exists():
                values = json.loads(path.read_text())["series"][0]["raw"]
            out.append(
                Series(
                    name=name,
                    n_obs=int(row["n_obs"]),
                    values=values,
                    annotations=annotations[name],
                    in_paper_aggregate=row["in_paper_univariate_aggregate"] == "yes",
                    univariate=row["n_dim"] == "1",
                )
            )
    return out


def paper_series(data_dir: Path) -> list[Series]:
    """The univariate series of the paper's aggregate that are present locally (25)."""
    return [s for s in load_tcpd(data_dir) if s.in_paper_aggregate and s.values is not None]

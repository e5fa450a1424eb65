"""Root cause: explain a change, localize anomalies, decomposition tree."""

from insights.rootcause.explain import ChangeExplanation, explain_change
from insights.rootcause.exposure_split import ExposureSplit, exposure_split, exposure_splits, split_rate_change
from insights.rootcause.localize import localize
from insights.rootcause.suggest import PeriodSuggestion, suggest_periods
from insights.rootcause.tree import TreeNode, decomposition_tree

__all__ = [
    "ChangeExplanation",
    "ExposureSplit",
    "PeriodSuggestion",
    "TreeNode",
    "decomposition_tree",
    "explain_change",
    "exposure_split",
    "exposure_splits",
    "localize",
    "split_rate_change",
    "suggest_periods",
]

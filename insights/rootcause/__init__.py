"""Root cause: explain a change, localize anomalies, decomposition tree."""

from insights.rootcause.explain import ChangeExplanation, explain_change
from insights.rootcause.localize import localize
from insights.rootcause.suggest import PeriodSuggestion, suggest_periods
from insights.rootcause.tree import TreeNode, decomposition_tree

__all__ = [
    "ChangeExplanation",
    "PeriodSuggestion",
    "TreeNode",
    "decomposition_tree",
    "explain_change",
    "localize",
    "suggest_periods",
]

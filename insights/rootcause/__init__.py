"""Root cause: explain a change, localize anomalies, decomposition tree."""

from insights.rootcause.explain import ChangeExplanation, explain_change
from insights.rootcause.localize import localize

__all__ = ["ChangeExplanation", "explain_change", "localize"]

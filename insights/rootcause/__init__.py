"""Root cause: explain a change, localize anomalies, decomposition tree."""

from insights.rootcause.localize import localize

__all__ = ["localize"]

"""Sources: every input (files, SQL databases, public transparency reports) becomes a Cube.

One small importer per format (``claims`` / ``load``), listed in ``insights.sources.registry``;
``insights.load_source`` asks them in order.
"""

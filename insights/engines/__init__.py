"""Engines: where a cube's questions are answered.

A ``Cube`` is an interface over a *store*: the Polars frame in memory (``memory``) for small
inputs and the public reports, or events kept in an engine — DuckDB embedded over Parquet
files scanned in place, a SQL database (PostgreSQL, SQLite, any SQLAlchemy dialect), a Spark
session — where each question (``request.Request``: its measures, breakdown, grain, filters and
dates) is compiled (``compile``) into one aggregate query and only the answer comes back
(``store``). Answers are cached per source version and frequently used aggregates are
materialised (``aggregates``). ``choice`` picks the engine by source and size.
"""

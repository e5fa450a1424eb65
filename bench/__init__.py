"""Benchmarks: scripts that print tables, run as ``python -m bench.<name>`` from the repository root."""

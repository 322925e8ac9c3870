"""Benchmarks: run from the repository root, e.g. `python bench/load_actions.py` (see README.md)."""

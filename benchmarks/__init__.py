"""Benchmarks (not collected by the test suite). Run: ``python -m benchmarks``."""

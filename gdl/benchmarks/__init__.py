"""Benchmarks: commands that measure speed, run as python -m gdl.benchmarks.<name>."""

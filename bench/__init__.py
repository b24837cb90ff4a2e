"""Benchmarks: run as `python -m bench.<name>`; each prints figures beside a same-run baseline."""

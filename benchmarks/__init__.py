"""Benchmarks: `make bench` (benchmarks.bench) measures, `make cost` (benchmarks.cost) prices the measurements."""

"""Benchmarks of convoso-exporter: `python -m bench` (full) or `python -m bench --quick`.

The harness starts the simulator, the exporter and the baselines (a static file server,
a naive prometheus_client exporter) as separate processes on loopback, measures each
figure against a baseline taken in the same run, and prints one row per figure.
See docs/benchmarks.md for the figures, the goals and a recorded run.
"""

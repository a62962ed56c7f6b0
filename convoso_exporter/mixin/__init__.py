"""The monitoring mixin: Prometheus rules, the Kubernetes PrometheusRule and the Grafana dashboards.

All of it is generated from Python so that a threshold lives in one place
(`settings.Settings`) and the alerts, the PrometheusRule and the dashboards' threshold
lines can never disagree. It ships in the wheel, so an installed exporter can regenerate
its own copy with other thresholds:

    python -m convoso_exporter.mixin                   # rewrite every generated file
    python -m convoso_exporter.mixin --check           # exit 1 naming each stale file (CI)
    python -m convoso_exporter.mixin --set drop_rate_critical=0.025 --output-dir /srv/mixin
"""

"""The Prometheus Operator's `PrometheusRule` (`deploy/kubernetes/base/prometheusrule.yaml`).

It carries exactly the rule file's groups, built from the same `rules.rule_groups`, so
Kubernetes users get the alerts other users get from `prometheus/convoso.rules.yml`.
"""

from __future__ import annotations

from typing import Any

from convoso_exporter.mixin import rules
from convoso_exporter.mixin.files import Generated, generated_note, source_file, yaml_text
from convoso_exporter.mixin.settings import Settings

PATH = "deploy/kubernetes/base/prometheusrule.yaml"
HEADER = (
    f"# {generated_note(__name__)}\n"
    f"# The same groups as {rules.PATH}: change the rules in {source_file(rules.__name__)}.\n"
    "# Add the label your Prometheus selects rules by (kube-prometheus-stack: `release: <helm release name>`).\n"
    "# The 30-day drop rate needs 31 days of retention: the Prometheus resource's `spec.retention: 31d`\n"
    "# (kube-prometheus-stack: `prometheus.prometheusSpec.retention`, 10d by default). docs/alerts.md.\n"
)


def prometheus_rule(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The PrometheusRule object carrying the rule groups unchanged."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "convoso-exporter",
            "labels": {
                "app.kubernetes.io/name": "convoso-exporter",
                "app.kubernetes.io/component": "exporter",
            },
        },
        "spec": {"groups": groups},
    }


def render(settings: Settings) -> str:
    """The manifest text for `settings`."""
    return HEADER + yaml_text(prometheus_rule(rules.rule_groups(settings)["groups"]))


def files(settings: Settings) -> list[Generated]:
    """The PrometheusRule for `settings`, as the generator writes it."""
    return [Generated(PATH, render(settings))]

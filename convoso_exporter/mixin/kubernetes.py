"""The Kubernetes manifests generated from the mixin (`deploy/kubernetes/base/`).

- `prometheusrule.yaml`: the Prometheus Operator's `PrometheusRule`, carrying exactly the
  rule file's groups, built from the same `rules.rule_groups`, so Kubernetes users get the
  alerts other users get from `prometheus/convoso.rules.yml`.
- `grafana-dashboards.yaml`: one ConfigMap per dashboard, labelled `grafana_dashboard: "1"`
  for the Grafana sidecar (kube-prometheus-stack), each carrying the dashboard's JSON
  exactly as committed under `grafana/dashboards/`. One per dashboard, because
  `kubectl apply` keeps a copy of each object in an annotation capped at 256 KiB.
"""

from __future__ import annotations

from typing import Any

from convoso_exporter.mixin import dashboards, rules
from convoso_exporter.mixin.files import Generated, generated_note, source_file, yaml_text
from convoso_exporter.mixin.settings import Settings

PATH = "deploy/kubernetes/base/prometheusrule.yaml"
DASHBOARDS_PATH = "deploy/kubernetes/base/grafana-dashboards.yaml"
LABELS = {"app.kubernetes.io/name": "convoso-exporter", "app.kubernetes.io/component": "exporter"}
# The label kube-prometheus-stack's Grafana sidecar loads dashboards by (its default).
SIDECAR_LABEL = {"grafana_dashboard": "1"}
HEADER = (
    f"# {generated_note(__name__)}\n"
    f"# The same groups as {rules.PATH}: change the rules in {source_file(rules.__name__)}.\n"
    "# Add the label your Prometheus selects rules by (kube-prometheus-stack: `release: <helm release name>`).\n"
    "# The 30-day drop rate needs 31 days of retention: the Prometheus resource's `spec.retention: 31d`\n"
    "# (kube-prometheus-stack: `prometheus.prometheusSpec.retention`, 10d by default). docs/alerts.md.\n"
)
DASHBOARDS_HEADER = (
    f"# {generated_note(__name__)}\n"
    f"# The dashboards of {dashboards.FOLDER}/, one ConfigMap each, for the Grafana sidecar, which loads\n"
    '# ConfigMaps labelled grafana_dashboard: "1" (kube-prometheus-stack: from Grafana\'s own namespace\n'
    "# unless its values set grafana.sidecar.dashboards.searchNamespace: ALL).\n"
)


def prometheus_rule(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The PrometheusRule object carrying the rule groups unchanged."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "convoso-exporter", "labels": dict(LABELS)},
        "spec": {"groups": groups},
    }


def dashboard_configmap(file: Generated) -> dict[str, Any]:
    """One dashboard file as a ConfigMap the Grafana sidecar picks up."""
    key = file.path.rsplit("/", 1)[-1]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{key.removesuffix('.json')}-dashboard",
            "labels": {**LABELS, **SIDECAR_LABEL},
        },
        "data": {key: file.text},
    }


def render(settings: Settings) -> str:
    """The PrometheusRule manifest text for `settings`."""
    return HEADER + yaml_text(prometheus_rule(rules.rule_groups(settings)["groups"]))


def render_dashboards(settings: Settings) -> str:
    """The dashboards' ConfigMaps for `settings`, one YAML document each."""
    documents = [yaml_text(dashboard_configmap(file)) for file in dashboards.files(settings)]
    return DASHBOARDS_HEADER + "".join(f"---\n{document}" for document in documents)


def files(settings: Settings) -> list[Generated]:
    """The PrometheusRule and the dashboards' ConfigMaps for `settings`, as the generator writes them."""
    return [Generated(PATH, render(settings)), Generated(DASHBOARDS_PATH, render_dashboards(settings))]

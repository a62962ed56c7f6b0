"""The demo stack (deploy/docker-compose.yml) and the Kubernetes manifests (deploy/kubernetes/).

No container engine or cluster runs here, so each service's files are laid out in a temp
folder exactly where its container would see them (bind mounts, secrets, ConfigMaps), and
the real tools check them there: `promtool check config`, `amtool check-config`, and the
exporter's own `--config.check`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import convoso_exporter
from convoso_exporter.shard import parse_shard
from convoso_exporter.simulator import server as simulator_server
from convoso_exporter.simulator.center import ContactCenter
from tests.support import ROOT, require_binary

DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "kubernetes"
BASE = K8S / "base"
SHARDED = K8S / "sharded"
RULES_FILE = ROOT / "prometheus" / "convoso.rules.yml"
EXPORTER_PORT = 10717


def run_exporter_config_check(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CONVOSO_AUTH_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "convoso_exporter", "--config.check", "--config.file", str(config)],
        capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
    )


def inside(root: Path, container_path: str) -> Path:
    """Where a container's absolute path lives in a laid-out temp root."""
    return root / container_path.lstrip("/")


def copy_into(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination)


# ---- docker compose ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of a service's bind mounts; named volumes left out."""
    mounts = []
    for spec in service.get("volumes", []):
        assert isinstance(spec, str), f"use the short volume syntax: {spec!r}"
        source, target, *_ = spec.split(":")
        if source.startswith((".", "/", "~")):
            mounts.append(((COMPOSE_FILE.parent / source).resolve(), target))
    return mounts


def lay_out_service(compose: dict[str, Any], name: str, root: Path) -> None:
    """Copy what the service's container would see (mounts, secrets) under `root`."""
    service = compose["services"][name]
    for source, target in bind_mounts(service):
        copy_into(source, inside(root, target))
    for secret in service.get("secrets", []):
        source = COMPOSE_FILE.parent / compose["secrets"][secret]["file"]
        copy_into(source, inside(root, f"/run/secrets/{secret}"))


def flag_value(command: list[str], flag: str) -> str:
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"{flag}=")]
    assert len(values) == 1, (flag, command)
    return values[0]


def test_compose_has_the_demo_services(compose):
    assert set(compose["services"]) == {"simulator", "exporter", "prometheus", "alertmanager", "grafana"}
    for name in ("simulator", "exporter"):
        build = compose["services"][name]["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == ROOT
        assert build["dockerfile"] == "Dockerfile"
    assert compose["services"]["simulator"]["command"] == [
        "simulate", "--web.listen-address", "0.0.0.0:18080", "--auth-token", "demo",
    ]
    assert compose["services"]["prometheus"]["image"].startswith("prom/prometheus:")
    assert compose["services"]["alertmanager"]["image"].startswith("prom/alertmanager:")
    assert compose["services"]["grafana"]["image"].startswith("grafana/grafana:")


def test_exporter_targets_exist_in_the_simulated_center(compose):
    parser = argparse.ArgumentParser()
    simulator_server.add_arguments(parser)
    args = parser.parse_args(compose["services"]["simulator"]["command"][1:])
    center = ContactCenter(agents=args.agents, campaigns=args.campaigns, queues=args.queues,
                           skills=args.skills, seed=args.seed)
    config = yaml.safe_load((DEPLOY / "config" / "exporter.yaml").read_text())
    assert config["convoso"]["base_url"].endswith(f":{args.listen.rsplit(':', 1)[1]}/v1")
    targets = config["targets"]
    assert {t["campaign_id"] for t in targets if "campaign_id" in t} == set(center.campaign_ids())
    assert {t["queue_id"] for t in targets if "queue_id" in t} == set(center.queue_ids())
    assert {s for t in targets for s in t.get("skills", [])} <= set(center.skills)
    # The simulator accepts the token the exporter reads from the compose secret.
    secret = COMPOSE_FILE.parent / compose["secrets"]["convoso-token"]["file"]
    assert secret.read_text().strip() == args.auth_token


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for source, _ in bind_mounts(service):
            assert source.exists(), f"{name}: {source} does not exist"
    for name, secret in compose["secrets"].items():
        assert (COMPOSE_FILE.parent / secret["file"]).is_file(), name


def test_published_ports_are_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_token_reaches_the_exporter_only_as_a_file(compose):
    exporter_service = compose["services"]["exporter"]
    assert "environment" not in exporter_service
    assert not any("token" in str(arg).lower() for arg in exporter_service["command"])
    assert exporter_service["secrets"] == ["convoso-token"]


def test_exporter_config_passes_config_check(compose, tmp_path):
    lay_out_service(compose, "exporter", tmp_path)
    command = compose["services"]["exporter"]["command"]
    config_path = inside(tmp_path, flag_value(command, "--config.file"))
    config = yaml.safe_load(config_path.read_text())

    # The token file the config names is the compose secret, where compose mounts it.
    token_file = inside(tmp_path, config["convoso"]["auth_token_file"])
    assert token_file.is_file()
    url = urlsplit(config["convoso"]["base_url"])
    assert (url.hostname, url.port, url.path) == ("simulator", 18080, "/v1")

    # Check a copy whose token path points into the laid-out root.
    config["convoso"]["auth_token_file"] = str(token_file)
    checked = tmp_path / "checked-config.yaml"
    checked.write_text(yaml.safe_dump(config))
    result = run_exporter_config_check(checked, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.prometheus
def test_prometheus_config_passes_promtool(compose, tmp_path):
    promtool = require_binary("promtool")
    lay_out_service(compose, "prometheus", tmp_path)
    config_path = inside(tmp_path, flag_value(compose["services"]["prometheus"]["command"], "--config.file"))
    result = subprocess.run([promtool, "check", "config", str(config_path)],
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The shipped rules were found and loaded, not just an empty glob.
    assert "convoso.rules.yml" in output and "rules found" in output, output


def rules_job() -> str:
    """The `job` the shipped rules expect the exporter to be scraped as."""
    jobs = set(re.findall(r'up\{job="([^"]+)"\}', RULES_FILE.read_text()))
    assert len(jobs) == 1, jobs
    return jobs.pop()


def test_prometheus_scrapes_the_exporter_as_the_rules_expect_and_alerts_alertmanager():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs[rules_job()]["static_configs"] for t in sc["targets"]]
    assert targets == [f"exporter:{EXPORTER_PORT}"]
    alertmanagers = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert alertmanagers == ["alertmanager:9093"]


@pytest.mark.prometheus
def test_alertmanager_config_passes_amtool(compose, tmp_path):
    amtool = require_binary("amtool")
    lay_out_service(compose, "alertmanager", tmp_path)
    config_path = inside(tmp_path, flag_value(compose["services"]["alertmanager"]["command"], "--config.file"))
    result = subprocess.run([amtool, "check-config", str(config_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_finds_the_dashboards_and_the_prometheus_datasource(compose, tmp_path):
    lay_out_service(compose, "grafana", tmp_path)
    env = compose["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert inside(tmp_path, env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]).is_file()
    provisioning = inside(tmp_path, "/etc/grafana/provisioning")

    providers = [p for f in sorted((provisioning / "dashboards").glob("*.y*ml"))
                 for p in yaml.safe_load(f.read_text())["providers"]]
    assert providers, "no dashboard provider in grafana/provisioning/dashboards"
    for provider in providers:
        folder = inside(tmp_path, provider["options"]["path"])
        assert list(folder.rglob("*.json")), f"provider {provider['name']}: no dashboards at {folder}"

    datasources = [d for f in sorted((provisioning / "datasources").glob("*.y*ml"))
                   for d in yaml.safe_load(f.read_text()).get("datasources", [])]
    # The shipped datasource reaches the compose service by its name.
    prometheus_urls = {d["url"] for d in datasources if d["type"] == "prometheus"}
    assert prometheus_urls == {"http://prometheus:9090"}, prometheus_urls


# ---- Kubernetes ----------------------------------------------------------------------------

def load_kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def load_objects(folder: Path) -> dict[str, dict[str, Any]]:
    """The objects a kustomization lists (by kind), read from its local resource files."""
    objects = {}
    for resource in load_kustomization(folder)["resources"]:
        path = folder / resource
        if path.is_dir():
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in objects, f"two {doc['kind']}s"
            objects[doc["kind"]] = doc
    return objects


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    return load_objects(BASE)


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def test_kustomization_lists_every_manifest(k8s):
    for resource in load_kustomization(BASE)["resources"]:
        assert (BASE / resource).is_file(), resource
    assert set(k8s) == {"ConfigMap", "Deployment", "Service", "ServiceMonitor", "PrometheusRule"}
    # The Secret example must never be applied over the real token.
    assert "secret.example.yaml" not in load_kustomization(BASE)["resources"]


def test_deployment_is_locked_down(k8s):
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    main = container(k8s["Deployment"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = main["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]


def test_deployment_probes_and_ports(k8s):
    main = container(k8s["Deployment"])
    assert main["ports"] == [{"name": "metrics", "containerPort": EXPORTER_PORT, "protocol": "TCP"}]
    assert main["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "metrics"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "metrics"}
    assert not any("token" in arg.lower() for arg in main["args"])
    assert "env" not in main


def test_service_and_servicemonitor_select_the_exporter(k8s):
    pod_labels = k8s["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = k8s["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert k8s["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": EXPORTER_PORT, "targetPort": "metrics", "protocol": "TCP"},
    ]
    monitor = k8s["ServiceMonitor"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    # The rules' `up{job=...}` must match what the operator names the job.
    assert {"action": "replace", "targetLabel": "job", "replacement": rules_job()} in endpoint["relabelings"]


def lay_out_pod(k8s: dict[str, dict[str, Any]], secret: dict[str, Any], root: Path) -> None:
    """Write the ConfigMap and Secret volumes where the exporter container mounts them."""
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container(k8s["Deployment"])["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            assert volume["configMap"]["name"] == k8s["ConfigMap"]["metadata"]["name"]
            data = k8s["ConfigMap"]["data"]
        else:
            assert volume["secret"]["secretName"] == secret["metadata"]["name"]
            data = {item["key"]: "k8s-test-token" for item in volume["secret"]["items"]}
            assert set(data) <= set(secret["stringData"])
        items = volume.get("configMap", volume.get("secret")).get("items")
        paths = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
        for key, value in data.items():
            target = inside(root, mount["mountPath"]) / paths[key]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(value)


def test_configmap_config_passes_config_check_with_the_secret_mounted(k8s, tmp_path):
    secret = yaml.safe_load((BASE / "secret.example.yaml").read_text())
    assert secret["kind"] == "Secret" and "REPLACE" in secret["stringData"]["token"]
    lay_out_pod(k8s, secret, tmp_path)
    config_path = inside(tmp_path, flag_value(container(k8s["Deployment"])["args"], "--config.file"))
    config = yaml.safe_load(config_path.read_text())
    token_file = inside(tmp_path, config["convoso"]["auth_token_file"])
    assert token_file.read_text() == "k8s-test-token", "auth_token_file is not where the Secret is mounted"

    config["convoso"]["auth_token_file"] = str(token_file)
    checked = tmp_path / "checked-config.yaml"
    checked.write_text(yaml.safe_dump(config))
    result = run_exporter_config_check(checked, tmp_path)
    assert result.returncode == 0, result.stderr


def test_image_tags_are_the_package_version():
    for folder in (BASE, SHARDED):
        images = load_kustomization(folder)["images"]
        assert images == [{"name": "convoso-exporter", "newTag": convoso_exporter.__version__}], folder


# ---- sharding ------------------------------------------------------------------------------

def test_sharded_statefulset_is_the_deployments_pod_plus_a_shard(k8s):
    statefulset = load_objects(SHARDED)["StatefulSet"]
    deployment = k8s["Deployment"]
    replicas = statefulset["spec"]["replicas"]
    shard_args = [a for a in container(statefulset)["args"] if a.startswith("--shard=")]
    assert shard_args == [f"--shard=$(POD_INDEX)/{replicas}"]
    for index in range(replicas):
        assert parse_shard(f"{index}/{replicas}") == (index, replicas)
    (env,) = container(statefulset)["env"]
    assert env["name"] == "POD_INDEX"
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']"

    # Apart from the shard, the pod is the base Deployment's, so the two never drift apart.
    pod = yaml.safe_load(yaml.safe_dump(statefulset["spec"]["template"]))
    main = container({"spec": {"template": pod}})
    main["args"].remove(shard_args[0])
    del main["env"]
    assert pod == deployment["spec"]["template"]
    assert statefulset["spec"]["selector"] == deployment["spec"]["selector"]


def test_sharded_overlay_replaces_the_deployment():
    kustomization = load_kustomization(SHARDED)
    assert kustomization["resources"] == ["../base", "statefulset.yaml"]
    (patch,) = kustomization["patches"]
    deleted = yaml.safe_load(patch["patch"])
    assert deleted["$patch"] == "delete" and deleted["kind"] == "Deployment"
    assert deleted["metadata"]["name"] == load_objects(BASE)["Deployment"]["metadata"]["name"]


def test_kustomize_renders_both(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed; the checks above cover the manifests without it")
    for folder, workload, absent in ((BASE, "Deployment", "StatefulSet"), (SHARDED, "StatefulSet", "Deployment")):
        result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout)]
        assert workload in kinds and absent not in kinds
        assert f"image: convoso-exporter:{convoso_exporter.__version__}" in result.stdout

"""The demo stack (deploy/docker-compose.yml); the Kubernetes manifests are in test_kubernetes.py.

The compose file is validated against the compose specification's schema (the copy
check-jsonschema vendors). No container engine runs here, so each service's files are
laid out in a temp folder exactly where its container would see them (bind mounts,
secrets), and the real tools check them there: `promtool check config`,
`amtool check-config`, and the exporter's own `--config.check`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from convoso_exporter.simulator import flags as simulator_flags
from convoso_exporter.simulator.center import ContactCenter
from tests.deploy_support import copy_into, flag_value, inside, rules_job, run_exporter_config_check
from tests.support import ROOT, require_binary

DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
EXPORTER_PORT = 10717
CONFIG_DIR = "/etc/convoso-exporter"


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


def secret_mounts(compose: dict[str, Any], service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host file, container path) of a service's secrets, short or long syntax."""
    mounts = []
    for secret in service.get("secrets", []):
        spec = {"source": secret} if isinstance(secret, str) else secret
        target = spec.get("target", spec["source"])
        target = target if target.startswith("/") else f"/run/secrets/{target}"
        mounts.append((COMPOSE_FILE.parent / compose["secrets"][spec["source"]]["file"], target))
    return mounts


def lay_out_service(compose: dict[str, Any], name: str, root: Path) -> None:
    """Copy what the service's container would see (mounts, secrets) under `root`."""
    service = compose["services"][name]
    for source, target in bind_mounts(service) + secret_mounts(compose, service):
        copy_into(source, inside(root, target))


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def test_compose_file_follows_the_compose_spec():
    result = check_compose_schema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_spec_check_really_refuses_mistakes(tmp_path):
    # Guards the test above against a schema that accepts anything.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("    ports:\n", "    port:\n", 1))
    assert "    port:\n" in broken.read_text()
    result = check_compose_schema(broken)
    assert result.returncode != 0 and "port" in result.stdout, result.stdout


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


def test_exporter_polls_the_simulator_like_the_demo(compose):
    parser = argparse.ArgumentParser()
    simulator_flags.add_arguments(parser)
    args = parser.parse_args(compose["services"]["simulator"]["command"][1:])
    center = ContactCenter(agents=args.agents, campaigns=args.campaigns, queues=args.queues,
                           skills=args.skills, seed=args.seed)
    assert center.campaign_ids() and center.queue_ids()
    config = yaml.safe_load((DEPLOY / "config" / "exporter.yaml").read_text())
    assert config["convoso"]["base_url"].endswith(f":{args.listen.rsplit(':', 1)[1]}/v1")
    # No target by hand: the account, and every campaign and queue discovered in it.
    assert "targets" not in config and config.get("discovery", {}).get("enabled", True)
    # The simulator accepts the token the exporter reads from the compose secret.
    secret = COMPOSE_FILE.parent / compose["secrets"]["convoso-token"]["file"]
    assert secret.read_text().strip() == args.auth_token


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for source, _ in bind_mounts(service) + secret_mounts(compose, service):
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
    # Beside the config, where its `auth_token_file: convoso-token` looks (as in the image and Kubernetes).
    assert exporter_service["secrets"] == [{"source": "convoso-token", "target": f"{CONFIG_DIR}/convoso-token"}]


def test_exporter_config_passes_config_check(compose, tmp_path):
    lay_out_service(compose, "exporter", tmp_path)
    command = compose["services"]["exporter"]["command"]
    config_path = inside(tmp_path, flag_value(command, "--config.file"))
    assert config_path == inside(tmp_path, f"{CONFIG_DIR}/config.yaml")
    config = yaml.safe_load(config_path.read_text())

    # The token file the config names (relative: beside it) is the compose secret.
    assert config["convoso"]["auth_token_file"] == "convoso-token"
    assert (config_path.parent / "convoso-token").is_file()
    url = urlsplit(config["convoso"]["base_url"])
    assert (url.hostname, url.port, url.path) == ("simulator", 18080, "/v1")

    # The laid-out config, unchanged, finds its token where compose mounts it.
    result = run_exporter_config_check(config_path, tmp_path)
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

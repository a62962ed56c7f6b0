"""The Kubernetes manifests (deploy/kubernetes/), rendered as `kubectl apply -k` renders them
(tests/kustomize.py) and checked offline the way the API server would check them:

- every built-in object strictly against the Kubernetes schemas of 1.28 (the oldest the
  sharded overlay runs on: it needs the pod-index label) and of 1.37, with
  kubernetes-validate in strict mode (an unknown field is an error, as with
  `kubectl apply --validate=strict`);
- the ServiceMonitor and the PrometheusRule against the Prometheus Operator's CRD schemas
  (v0.93.0, kept in tests/fixtures/prometheus-operator-crds/), with jsonschema, just as
  strictly, and their metadata as Kubernetes ObjectMeta;
- what the objects must say: a locked-down pod whose readiness gates a rollout, the
  token projected beside the config that names it, a NetworkPolicy that lets Prometheus
  in and the exporter out to DNS and HTTPS only, the dashboards as ConfigMaps for the
  Grafana sidecar, the rules as a PrometheusRule;
- and the pod's config, with the Secret projected where the pod sees it, passes
  `--config.check`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

import convoso_exporter
from convoso_exporter.mixin import dashboards, kubernetes
from convoso_exporter.mixin.settings import Settings
from convoso_exporter.shard import parse_shard
from tests.kustomize import Unsupported, key, load_kustomization, render
from tests.deploy_support import flag_value, inside, rules_job, run_exporter_config_check
from tests.support import FIXTURES_DIR, ROOT

K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
SHARDED = K8S / "sharded"
OVERLAYS = {"base": BASE, "sharded": SHARDED}
EXPORTER_PORT = 10717
TOKEN_FILE = "convoso-token"  # beside the config, in every layout
CONFIG_DIR = "/etc/convoso-exporter"

# 1.28: the oldest the sharded overlay supports (apps.kubernetes.io/pod-index); 1.37: the
# newest kubernetes-validate ships schemas for (pyproject: kubernetes-validate>=1.37).
KUBERNETES_VERSIONS = ("1.28.0", "1.37.0")
OPERATOR_VERSION = "v0.93.0"
CRDS = FIXTURES_DIR / "prometheus-operator-crds"
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
# `kubectl apply` keeps each object in an annotation capped at 256 KiB.
LAST_APPLIED_LIMIT = 256 * 1024

Object = dict[str, Any]


# ---- rendering --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Object]]:
    return {name: render(folder) for name, folder in OVERLAYS.items()}


def one(objects: list[Object], kind: str, name: str | None = None) -> Object:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [key(o) for o in found])
    return found[0]


def workload(objects: list[Object]) -> Object:
    (found,) = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    return found


def container(obj: Object) -> Object:
    (only,) = obj["spec"]["template"]["spec"]["containers"]
    return only


def test_kustomization_lists_every_manifest(rendered):
    for resource in load_kustomization(BASE)["resources"]:
        assert (BASE / resource).is_file(), resource
    kinds = {o["kind"] for o in rendered["base"]}
    assert kinds == {"ConfigMap", "Deployment", "Service", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"}
    # The Secret example must never be applied over the real token.
    assert "secret.example.yaml" not in load_kustomization(BASE)["resources"]
    assert {key(o) for o in rendered["sharded"]} == {key(o) for o in rendered["base"]} - {
        ("Deployment", "convoso-exporter")} | {("StatefulSet", "convoso-exporter")}


def test_the_renderer_matches_kubectl_kustomize(rendered):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed; tests/kustomize.py renders the manifests without it")
    for name, folder in OVERLAYS.items():
        result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        theirs = sorted((doc for doc in yaml.safe_load_all(result.stdout) if doc), key=key)
        assert theirs == sorted(rendered[name], key=key), name


def test_the_renderer_refuses_what_it_cannot_render(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(Unsupported):
        render(tmp_path)


# ---- schemas ------------------------------------------------------------------------------

def validation_error(error: Exception) -> str:
    """One readable line from a jsonschema-style error (not its multi-page schema dump)."""
    path = "/".join(str(p) for p in getattr(error, "absolute_path", []))
    return f"{path}: {getattr(error, 'message', error)}"


def validate_builtin(obj: Object, version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_builtin_object_passes_the_kubernetes_schemas_strictly(rendered, overlay, version):
    checked = set()
    for obj in rendered[overlay]:
        if obj["kind"] in OPERATOR_KINDS:
            continue
        try:
            validate_builtin(obj, version)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay} {key(obj)} on Kubernetes {version}: {validation_error(error)}")
        checked.add(obj["kind"])
    # Everything is validated: the built-ins here, the operator's kinds below.
    assert checked | OPERATOR_KINDS == {o["kind"] for o in rendered[overlay]} | OPERATOR_KINDS


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_secret_example_passes_the_kubernetes_schemas_strictly(version):
    validate_builtin(yaml.safe_load((BASE / "secret.example.yaml").read_text()), version)


def strict(schema: Any) -> Any:
    """An OpenAPI v3 (structural) schema where every object that lists its properties
    accepts no others, unless it says x-kubernetes-preserve-unknown-fields: what the API
    server does with strict field validation (it would only prune them otherwise)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: strict(sub) for name, sub in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for word in ("items", "additionalProperties", "not"):
        if isinstance(out.get(word), dict):
            out[word] = strict(out[word])
    for word in ("allOf", "anyOf", "oneOf"):
        if word in out:
            out[word] = [strict(sub) for sub in out[word]]
    return out


def crd_validator(kind: str) -> jsonschema.Validator:
    """The strict validator of the operator's `kind`, from the CRD kept as test data."""
    (crd,) = [c for c in map(lambda p: yaml.safe_load(p.read_text()), sorted(CRDS.glob("*.yaml")))
              if c["spec"]["names"]["kind"] == kind]
    assert crd["metadata"]["annotations"]["operator.prometheus.io/version"] == OPERATOR_VERSION.lstrip("v")
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return jsonschema.Draft4Validator(strict(served["schema"]["openAPIV3Schema"]))


def check_operator_object(obj: Object) -> None:
    """Raise jsonschema.ValidationError (or kubernetes-validate's) on what the API server
    would refuse: the CRD schema, strict; the metadata as Kubernetes ObjectMeta, strict."""
    assert obj["apiVersion"] == "monitoring.coreos.com/v1", key(obj)
    crd_validator(obj["kind"]).validate(obj)
    # The CRD schema says only `metadata: {type: object}`; check it as ObjectMeta.
    as_configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}
    validate_builtin(as_configmap, KUBERNETES_VERSIONS[-1])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_operators_objects_pass_its_crd_schemas_strictly(rendered, overlay):
    operator_objects = [o for o in rendered[overlay] if o["kind"] in OPERATOR_KINDS]
    assert {o["kind"] for o in operator_objects} == OPERATOR_KINDS
    for obj in operator_objects:
        try:
            check_operator_object(obj)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            pytest.fail(f"{overlay} {key(obj)} against the {OPERATOR_VERSION} CRD: {validation_error(error)}")


def test_the_schema_checks_really_refuse_mistakes(rendered):
    """Guards the tests above against validators that accept anything."""
    objects = rendered["base"]
    deployment = json.loads(json.dumps(one(objects, "Deployment")))
    container(deployment)["readinessprobe"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin(deployment, KUBERNETES_VERSIONS[0])

    monitor = json.loads(json.dumps(one(objects, "ServiceMonitor")))
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        check_operator_object(monitor)

    rule = json.loads(json.dumps(one(objects, "PrometheusRule")))
    rule["spec"]["groups"][0]["rules"][0]["exprr"] = "up"
    with pytest.raises(jsonschema.ValidationError, match="exprr"):
        check_operator_object(rule)

    rule = json.loads(json.dumps(one(objects, "PrometheusRule")))
    rule["metadata"]["label"] = {"release": "x"}
    with pytest.raises(kubernetes_validate.ValidationError):
        check_operator_object(rule)


# ---- what the objects say ----------------------------------------------------------------

def test_the_pod_is_locked_down(rendered):
    for overlay, objects in rendered.items():
        pod = workload(objects)["spec"]["template"]["spec"]
        main = container(workload(objects))
        assert pod["securityContext"]["runAsNonRoot"] is True, overlay
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        security = main["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["runAsNonRoot"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]


def test_probes_ports_and_a_rollout_that_waits_for_readiness(rendered):
    deployment = one(rendered["base"], "Deployment")
    main = container(deployment)
    assert main["ports"] == [{"name": "metrics", "containerPort": EXPORTER_PORT, "protocol": "TCP"}]
    assert main["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "metrics"}
    # /-/ready: every target polled once and the account answered (tests/system/test_readiness.py).
    assert main["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "metrics"}
    assert not any("token" in arg.lower() for arg in main["args"])
    assert "env" not in main
    # The old pod goes only once the new one is ready, and a stuck rollout fails.
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert 0 < deployment["spec"]["progressDeadlineSeconds"] <= 600


def test_service_and_servicemonitor_select_the_exporter(rendered):
    objects = rendered["base"]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(objects, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert one(objects, "Deployment")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": EXPORTER_PORT, "targetPort": "metrics", "protocol": "TCP"},
    ]
    monitor = one(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    # The rules' `up{job=...}` must match what the operator names the job.
    assert {"action": "replace", "targetLabel": "job", "replacement": rules_job()} in endpoint["relabelings"]


def test_the_networkpolicy_lets_prometheus_in_and_the_exporter_out_to_dns_and_https_only(rendered):
    objects = rendered["base"]
    policy = one(objects, "NetworkPolicy")["spec"]
    pod_labels = workload(objects)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]

    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert [p["name"] for p in container(workload(objects))["ports"]] == ["metrics"]
    # One peer holding both selectors: the Prometheus pods of the Prometheus namespace
    # (two peers would let in any pod of that namespace, or such pods anywhere).
    (peer,) = ingress["from"]
    assert peer == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }

    dns, https = policy["egress"]
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [(53, "TCP"), (53, "UDP")]
    (resolver,) = dns["to"]
    assert resolver["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    assert resolver["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert https == {"ports": [{"port": 443, "protocol": "TCP"}]}


def test_the_dashboards_ship_as_configmaps_for_the_grafana_sidecar(rendered):
    objects = rendered["base"]
    maps = {o["metadata"]["name"]: o for o in objects
            if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_dashboard") == "1"}
    committed = sorted((ROOT / dashboards.FOLDER).glob("*.json"))
    assert len(maps) == len(committed) == len(dashboards.DASHBOARDS)
    shipped = {name: text for cm in maps.values() for name, text in cm["data"].items()}
    assert shipped == {path.name: path.read_text() for path in committed}
    for name, cm in maps.items():
        assert len(json.dumps(cm)) < LAST_APPLIED_LIMIT, f"{name} is too big for kubectl apply"
        json.loads(next(iter(cm["data"].values())))
    # Generated with the rules: regenerating changes nothing (tests/unit/mixin/test_main.py
    # checks every generated file; this one follows the settings too).
    assert (ROOT / kubernetes.DASHBOARDS_PATH).read_text() == kubernetes.render_dashboards(Settings())


def test_the_token_is_projected_beside_the_config_that_names_it(rendered):
    for overlay, objects in rendered.items():
        main = container(workload(objects))
        (mount,) = main["volumeMounts"]
        assert mount["mountPath"] == CONFIG_DIR and mount["readOnly"] is True
        assert flag_value(main["args"], "--config.file") == f"{CONFIG_DIR}/config.yaml"
        (volume,) = workload(objects)["spec"]["template"]["spec"]["volumes"]
        assert volume["name"] == mount["name"]
        assert volume["projected"]["defaultMode"] == 0o440, overlay
        config_source, secret_source = volume["projected"]["sources"]
        assert config_source["configMap"]["items"] == [{"key": "config.yaml", "path": "config.yaml"}]
        assert secret_source["secret"]["items"] == [{"key": TOKEN_FILE, "path": TOKEN_FILE}]
        config = yaml.safe_load(one(objects, "ConfigMap", config_source["configMap"]["name"])["data"]["config.yaml"])
        assert config["convoso"]["auth_token_file"] == TOKEN_FILE
    secret = yaml.safe_load((BASE / "secret.example.yaml").read_text())
    assert secret["metadata"]["name"] == secret_source["secret"]["name"]
    assert list(secret["stringData"]) == [TOKEN_FILE]


def lay_out_pod(objects: list[Object], token: str, root: Path) -> None:
    """Write the pod's projected volume where the exporter container mounts it."""
    pod = workload(objects)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container(workload(objects))["volumeMounts"]:
        for source in volumes[mount["name"]]["projected"]["sources"]:
            if "configMap" in source:
                data = one(objects, "ConfigMap", source["configMap"]["name"])["data"]
                items = source["configMap"]["items"]
            else:
                items = source["secret"]["items"]
                data = {item["key"]: token for item in items}
            for item in items:
                target = inside(root, mount["mountPath"]) / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(data[item["key"]])
                target.chmod(volumes[mount["name"]]["projected"]["defaultMode"])


def test_the_pods_config_passes_config_check_with_the_secret_projected(rendered, tmp_path):
    objects = rendered["base"]
    lay_out_pod(objects, "k8s-test-token", tmp_path)
    config_path = inside(tmp_path, flag_value(container(workload(objects))["args"], "--config.file"))
    # Unchanged: the config's relative token path finds the projected Secret beside it.
    result = run_exporter_config_check(config_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stdout, result.stdout  # 0440 root:fsGroup is not "other users"


def test_image_tags_are_the_package_version(rendered):
    for folder in OVERLAYS.values():
        images = load_kustomization(folder)["images"]
        assert images == [{"name": "convoso-exporter", "newTag": convoso_exporter.__version__}], folder
    for objects in rendered.values():
        assert container(workload(objects))["image"] == f"convoso-exporter:{convoso_exporter.__version__}"


# ---- sharding ------------------------------------------------------------------------------

def test_sharded_statefulset_is_the_deployments_pod_plus_a_shard(rendered):
    statefulset = one(rendered["sharded"], "StatefulSet")
    deployment = one(rendered["base"], "Deployment")
    replicas = statefulset["spec"]["replicas"]
    shard_args = [a for a in container(statefulset)["args"] if a.startswith("--shard=")]
    assert shard_args == [f"--shard=$(POD_INDEX)/{replicas}"]
    for index in range(replicas):
        assert parse_shard(f"{index}/{replicas}") == (index, replicas)
    (env,) = container(statefulset)["env"]
    assert env["name"] == "POD_INDEX"
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']"

    # Apart from the shard, the pod is the base Deployment's, so the two never drift apart.
    pod = json.loads(json.dumps(statefulset["spec"]["template"]))
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
    assert deleted["metadata"]["name"] == one(render(BASE), "Deployment")["metadata"]["name"]

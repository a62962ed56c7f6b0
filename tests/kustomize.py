"""`kustomize build` for the subset of kustomize the project's manifests use.

kustomize is not a Python package and the test machines have no cluster, so the deploy
tests render `deploy/kubernetes/*` with this instead: `resources` (files, and folders
holding a kustomization), `images` (newName / newTag / digest) and inline `patches`
that delete an object (`$patch: delete`). Anything else in a kustomization is an error
here, so a manifest change that needs more kustomize fails loudly instead of being
rendered wrong. Where `kubectl` is installed, tests/system/test_kubernetes.py also
checks that `kubectl kustomize` renders the same objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "images", "patches"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

Object = dict[str, Any]


class Unsupported(Exception):
    """The kustomization uses kustomize features this renderer does not have."""


def load_kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def render(folder: Path) -> list[Object]:
    """The objects `kustomize build folder` would output (in resource order)."""
    kustomization = load_kustomization(folder)
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise Unsupported(f"{folder}/kustomization.yaml: {sorted(unknown)} (extend tests/kustomize.py)")
    objects: list[Object] = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        if path.is_dir():
            objects += render(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for patch in kustomization.get("patches", []):
        objects = _apply_patch(objects, patch, folder)
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_image(obj, image)
    keys = [key(obj) for obj in objects]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise ValueError(f"{folder}: the same object twice: {sorted(duplicates)}")
    return objects


def key(obj: Object) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def _apply_patch(objects: list[Object], patch: dict[str, Any], folder: Path) -> list[Object]:
    if set(patch) != {"patch"}:
        raise Unsupported(f"{folder}: only inline patches are supported, got {sorted(patch)}")
    body = yaml.safe_load(patch["patch"])
    if body.get("$patch") != "delete":
        raise Unsupported(f"{folder}: only `$patch: delete` patches are supported")
    target = key(body)
    if target not in [key(obj) for obj in objects]:
        raise ValueError(f"{folder}: the patch deletes {target}, which is not there")
    return [obj for obj in objects if key(obj) != target]


def _set_image(obj: Object, image: dict[str, str]) -> None:
    if obj["kind"] not in WORKLOAD_KINDS:
        return
    pod = obj["spec"]["template"]["spec"]
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        name, tag = _split_image(container["image"])
        if name != image["name"]:
            continue
        new_name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{new_name}@{image['digest']}"
        else:
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _split_image(image: str) -> tuple[str, str | None]:
    name, _, _ = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None

"""The source release is whole, and the package works on Python 3.13.

One run does both, because each needs a fresh venv and a full unit run (~1 minute
together): build the sdist from a copy of the source tree (`python -m build --sdist`,
with the bounded build backend of pyproject.toml), unpack it, and in a fresh venv of
Python 3.13 install the unpacked sdist with its `[test]` extra and the pinned runtime
dependencies (`pip install --constraint constraints.txt '.[test]'`, which builds the
wheel under 3.13), then run `python -m pytest tests/unit` inside it. So the sdist
carries its tests and their fixtures (MANIFEST.in), the wheel builds from it, and the
unit suite passes on 3.13 against exactly the versions the image ships.

Without Python 3.13 the same run uses this interpreter (the sdist is still checked);
`test_python_3_13_is_there` then skips locally and fails under CI=true.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import convoso_exporter
from tests.support import ROOT

TARGET = (3, 13)
REVISION = "feedface" * 5
# What a source tree holds that is not source: never copied into the build.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                                    "*.pyc", ".pytest_cache", "results", "convoso-token", "config.yaml")


def python_version(executable: str) -> tuple[int, int] | None:
    try:
        result = subprocess.run([executable, "-c", "import sys; print(*sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    if result.returncode != 0:  # e.g. a pyenv shim for a version not selected
        return None
    major, minor = map(int, result.stdout.split())
    return major, minor


def find_python(version: tuple[int, int] = TARGET) -> str | None:
    """An interpreter of `version`: on PATH, else one pyenv installed."""
    name = f"python{version[0]}.{version[1]}"
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(name), *sorted(glob.glob(f"{pyenv_root}/versions/{version[0]}.{version[1]}*/bin/{name}"))]
    for candidate in filter(None, candidates):
        if python_version(candidate) == version:
            return candidate
    return None


def test_python_3_13_is_there():
    if find_python() is None:
        message = "Python 3.13 not found (python3.13 on PATH, or pyenv's): the sdist test ran on this Python only"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def run(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{argv}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.timeout(420)
def test_the_sdist_carries_its_tests_and_they_pass_on_python_3_13(tmp_path):
    python = find_python() or sys.executable
    source, dist, unpacked, venv = (tmp_path / name for name in ("source", "dist", "unpacked", "venv"))
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    # The copy has no .git: the build is told its revision, as the image's is; the wheel
    # built later from the unpacked sdist must take it from the sdist.
    build_env = {**os.environ, "CONVOSO_EXPORTER_REVISION": REVISION}
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(source)], tmp_path, 240, build_env)
    (sdist,) = dist.glob("*.tar.gz")
    assert sdist.name == f"convoso_exporter-{convoso_exporter.__version__}.tar.gz"

    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        archive.extractall(unpacked, filter="data")
    (top,) = unpacked.iterdir()
    inside = {name.split("/", 1)[1] for name in names if "/" in name}
    for needed in ("LICENSE", "constraints.txt", "config.example.yaml", "tests/unit/__init__.py",
                   "tests/fixtures/golden/exposition.txt", "docs/metrics.md", "grafana/dashboards",
                   "deploy/kubernetes/base/prometheusrule.yaml", "prometheus/convoso.rules.yml",
                   "setup.py", "convoso_exporter/_build.py"):
        assert needed in inside, f"the sdist lacks {needed}"
    assert not [n for n in inside if "__pycache__" in n or n.endswith(".pyc") or n.endswith("convoso-token")]

    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "CONVOSO_AUTH_TOKEN", "VIRTUAL_ENV",
                                                              "CONVOSO_EXPORTER_REVISION"}}
    run([python, "-m", "venv", str(venv)], tmp_path, 120, env)
    venv_python = str(venv / "bin" / "python")
    run([venv_python, "-m", "pip", "install", "--quiet", "--constraint", "constraints.txt", ".[test]"], top, 300, env)
    assert python_version(venv_python) == python_version(python)
    where = run([venv_python, "-c", "import convoso_exporter, sys; print(sys.prefix)"], tmp_path, 30, env)
    assert where.strip() == str(venv)
    version = run([venv_python, "-m", "convoso_exporter", "--version"], tmp_path, 30, env)
    assert version.splitlines()[0] == f"convoso-exporter, version {convoso_exporter.__version__} (revision: {REVISION})"

    output = run([venv_python, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"], top, 300, env)
    summary = output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 1000 and "failed" not in summary and "error" not in summary, summary

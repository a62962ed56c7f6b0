"""What the deploy tests (compose, Kubernetes) share.

No container engine or cluster runs here, so a service's files are copied or written
into a temp folder exactly where its container would see them (bind mounts, secrets,
ConfigMap and Secret volumes), and the real tools check them there. And every scrape
config must name the job the shipped rules expect.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

RULES_FILE = ROOT / "prometheus" / "convoso.rules.yml"


def inside(root: Path, container_path: str) -> Path:
    """Where a container's absolute path lives in a laid-out temp root."""
    return root / container_path.lstrip("/")


def copy_into(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination)


def flag_value(command: list[str], flag: str) -> str:
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"{flag}=")]
    assert len(values) == 1, (flag, command)
    return values[0]


def run_exporter_config_check(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`convoso-exporter --config.check` on a laid-out config, with no token in the environment."""
    env = {k: v for k, v in os.environ.items() if k != "CONVOSO_AUTH_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "convoso_exporter", "--config.check", "--config.file", str(config)],
        capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
    )


def rules_job() -> str:
    """The `job` the shipped rules expect the exporter to be scraped as."""
    jobs = set(re.findall(r'up\{job="([^"]+)"\}', RULES_FILE.read_text()))
    assert len(jobs) == 1, jobs
    return jobs.pop()

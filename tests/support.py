"""Helpers shared by the integration tests: free ports, real processes, binaries.

Processes are started with the same interpreter as the tests (`python -m convoso_exporter`),
talk over loopback only, and are always killed at the end of the test.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import zoneinfo
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = ROOT / "tests" / "fixtures"


@contextmanager
def without_system_time_zones() -> Iterator[None]:
    """zoneinfo with no system time zone database, as in a minimal image (and as
    Debian trixie's slim one is for legacy names such as US/Eastern): only the tzdata
    package can answer. In-process: `zoneinfo.reset_tzpath`, its cache cleared."""
    saved = zoneinfo.TZPATH
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        assert zoneinfo.TZPATH == ()
        yield
    finally:
        zoneinfo.reset_tzpath(to=saved)
        zoneinfo.ZoneInfo.clear_cache()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_mb(pid: int, field: str) -> float:
    """A memory figure of a process from /proc/PID/status, in MB: "VmRSS" (resident now)
    or "VmHWM" (its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def require_binary(name: str, package: str = "prometheus prometheus-alertmanager") -> str:
    """Path of a binary; skip the test locally when absent, fail under CI=true."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def wait_http(url: str, *, timeout: float = 15.0, status: int = 200, proc: subprocess.Popen | None = None) -> httpx.Response:
    """Poll `url` until it answers `status`; fail early if `proc` died."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} while waiting for {url}")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == status:
                return response
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last!r})")


@contextmanager
def process(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            open_files: int | None = None) -> Iterator[subprocess.Popen]:
    """Run `python -m convoso_exporter ARGS`; stdout+stderr go to a file readable as `proc.output()`.
    `open_files` lowers the child's RLIMIT_NOFILE."""
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"convoso-proc-{os.getpid()}-{time.monotonic_ns()}.log"
    log_file = open(log_path, "w+b")
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "convoso_exporter", *args],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=full_env,
        cwd=str(cwd or ROOT),
        preexec_fn=None if open_files is None else lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                                (open_files, open_files)),
    )
    proc.output = lambda: log_path.read_bytes().decode("utf-8", errors="replace")  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        log_file.close()
        log_path.unlink(missing_ok=True)


@contextmanager
def simulator_process(*extra: str, token: str = "demo") -> Iterator[tuple[subprocess.Popen, str]]:
    """A `convoso-exporter simulate` process; yields (proc, base_url)."""
    port = free_port()
    args = ["simulate", "--web.listen-address", f"127.0.0.1:{port}", "--auth-token", token, *extra]
    with process(args) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/_sim/state?auth_token={quote(token, safe='')}", proc=proc)
        yield proc, f"{base}/v1"

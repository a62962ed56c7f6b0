"""Child processes and what /proc says about them.

Every process the harness starts goes through `Processes`: loopback only, output to a
log file in the run's folder, killed when the `with` block ends (also on Ctrl-C or an
exception), and sent SIGTERM by the kernel if the harness itself dies (PDEATHSIG), so
nothing outlives a run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import httpx

_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Environment variables that would change what a child process does behind our back.
_SCRUBBED_ENV = ("CONVOSO_AUTH_TOKEN", "CONVOSO_BASE_URL", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")


class ProcessFailed(Exception):
    """A child process died or never became ready; the message names it and its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["NO_PROXY"] = "127.0.0.1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Processes:
    """Starts named children; `stop_all()` (or leaving the `with`) ends every one of them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def python(self, name: str, args: Sequence[str]) -> subprocess.Popen:
        """Run `python <args>` from the project root; stdout and stderr go to <name>.log."""
        if name in self.children:
            raise ValueError(f"process {name!r} already running")
        log = open(self.log_dir / f"{name}.log", "wb")
        try:
            proc = subprocess.Popen(
                [sys.executable, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=Path(__file__).resolve().parent.parent,
                start_new_session=True,  # Ctrl-C reaches the harness only; it stops the children
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        self.children[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 5) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, name: str, timeout: float = 5.0) -> None:
        proc = self.children.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.children):
            self.stop(name)

    def wait_http(self, name: str, url: str, timeout: float = 60.0, request_timeout: float = 2.0) -> None:
        """Poll `url` until it answers 200; ProcessFailed if the child exits or time runs out.
        `request_timeout` must exceed how long one answer may take (a naive scrape: seconds)."""
        proc = self.children[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ProcessFailed(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")
            try:
                if httpx.get(url, timeout=request_timeout, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ProcessFailed(f"{name}: {url} not ready within {timeout:g}s: {self.log_tail(name)}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size (VmRSS) from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise ProcessFailed(f"no VmRSS for pid {pid}")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (the exporter's collector process), from
    /proc/PID/task/TID/children; processes that end meanwhile are left out."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    pending.extend(int(child) for child in f.read().split())
            except OSError:
                pass
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and the processes below it (all threads of each)."""
    return sum(_or_zero(cpu_seconds, each) for each in process_tree(pid))


def tree_rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and the processes below it, added up: pages two of them share (the
    interpreter and modules a fork shares, a mapped exposition) are counted once per
    process that maps them, an upper bound."""
    return sum(_or_zero(rss_bytes, each) for each in process_tree(pid))


def pss_bytes(pid: int) -> int:
    """Proportional set size (Pss in /proc/PID/smaps_rollup): resident memory with each
    shared page divided among the processes that map it."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise ProcessFailed(f"no Pss for pid {pid}")


def tree_pss_bytes(pid: int) -> int:
    """Pss of `pid` and the processes below it, added up: what they hold together, each
    page counted once (what a container's memory limit is charged, near enough)."""
    return sum(_or_zero(pss_bytes, each) for each in process_tree(pid))


def _or_zero(read, pid: int):
    try:
        return read(pid)
    except (OSError, ProcessFailed, IndexError, ValueError):
        return 0

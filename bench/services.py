"""The processes a figure measures: simulator, exporter, naive exporter, static server,
and the load generator, each started as its own process on 127.0.0.1.

`Bench` holds what every figure needs (sizes, the process registry, a work folder) and
starts things with the settings the figures share; every start waits until the
process answers, so a figure only ever measures a ready server.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from bench.loadgen import Answer, Load, LoadResult, fetch
from bench.procs import Processes, child_env, die_with_parent, free_port
from bench.sizes import Sizes

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """Something a figure needs did not happen (wrong answer, missing series...)."""


@dataclass
class Simulator:
    name: str
    port: int
    token: str
    campaign_ids: list[str]
    # One keep-alive connection for control requests, opened before anything is counted,
    # so reading the state never adds to connections_opened.
    control: httpx.Client = field(repr=False)
    queues: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def state(self) -> dict:
        response = self.control.get(f"http://127.0.0.1:{self.port}/_sim/state", params={"auth_token": self.token})
        response.raise_for_status()
        return response.json()


@dataclass
class Exporter:
    name: str
    port: int
    pid: int
    config_path: Path
    targets: int

    def metrics(self, *, gzip: bool = False) -> Answer:
        answer = fetch(self.port, "/metrics", gzip=gzip)
        if answer.status != 200:
            raise BenchError(f"{self.name}: GET /metrics answered {answer.status}")
        return answer


_UP_LINE = re.compile(rb'^convoso_up\{[^}]*\} 1\.0$', re.MULTILINE)


def series_count(body: bytes) -> int:
    """Sample lines in an exposition (lines that are neither empty nor comments)."""
    return sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))


def samples(body: bytes, name: str) -> dict[str, float]:
    """`target` label → value of metric `name` (a gauge labelled by target only)."""
    pattern = re.compile(rb'^' + re.escape(name.encode()) + rb'\{target="([^"]*)"\} (\S+)$', re.MULTILINE)
    return {m.group(1).decode(): float(m.group(2)) for m in pattern.finditer(body)}


class Bench:
    """Starts what figures measure; everything ends with the `Processes` it was given."""

    def __init__(self, sizes: Sizes, procs: Processes, workdir: Path) -> None:
        self.sizes = sizes
        self.procs = procs
        self.workdir = workdir
        self.token = "bench-" + secrets.token_hex(12)
        # Peak VmRSS by agent count, kept across figures (for MB per 1k agents at the margin).
        self.peak_rss: dict[int, int] = {}

    # --- simulator --------------------------------------------------------------------

    def simulator(self, name: str, *, agents: int, campaigns: int, latency: float, queues: int | None = None,
                  style: str = "live") -> Simulator:
        """A simulator of `agents` agents in `campaigns` campaigns and `queues` queues (one
        per campaign by default), answering in `style`."""
        port = free_port()
        self.procs.python(
            name,
            [
                "-m", "convoso_exporter", "simulate",
                "--web.listen-address", f"127.0.0.1:{port}",
                "--auth-token", self.token,
                "--agents", str(agents),
                "--campaigns", str(campaigns),
                "--queues", str(queues or campaigns),
                "--seed", "1",
                "--latency", f"{round(latency * 1000)}ms",
                "--style", style,
                "--log.level", "warn",
            ],
        )
        control = httpx.Client(timeout=30.0, trust_env=False)
        url = f"http://127.0.0.1:{port}/_sim/state?auth_token={self.token}"
        self.procs.wait_http(name, url)
        sim = Simulator(name, port, self.token, [], control)
        state = sim.state()
        sim.campaign_ids = [c["campaign_id"] for c in state["campaigns"]]
        sim.queues = len(state["queues"])
        return sim

    # --- exporter ---------------------------------------------------------------------

    def exporter_config(self, name: str, sim: Simulator, *, poll_interval: float, concurrency: int,
                        discovery_interval: float | None = None) -> Path:
        """The model (`discovery_interval` given): the account and every campaign and queue
        discovered, nothing else. Otherwise one explicit target per campaign, no discovery."""
        config: dict = {
            # A live answer is ~700 bytes an agent: 100,000 agents are 69 MB, over the 32 MiB default.
            # The figures are for the intervals they name (quick mode polls every 1 s and 4 s):
            # the request-rate ceiling must not stretch them.
            "convoso": {"base_url": sim.base_url, "auth_token": sim.token, "concurrency": concurrency, "timeout": "30s",
                        "max_response_bytes": "128MiB", "max_requests_per_minute": 100_000},
            "poll_interval": poll_interval,
            "agent_metrics": True,
            "max_agents_per_target": self.sizes.max_agents_per_target,
        }
        if discovery_interval is not None:
            config["discovery"] = {"interval": discovery_interval}
        else:
            config["targets"] = [{"name": f"campaign-{cid}", "campaign_id": cid} for cid in sim.campaign_ids]
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def exporter(self, name: str, sim: Simulator, *, poll_interval: float, concurrency: int = 8,
                 discovery_interval: float | None = None) -> Exporter:
        """An exporter of `sim` (see exporter_config); returns once every target is up in /metrics."""
        config_path = self.exporter_config(name, sim, poll_interval=poll_interval, concurrency=concurrency,
                                           discovery_interval=discovery_interval)
        port = free_port()
        proc = self.procs.python(
            name,
            ["-m", "convoso_exporter", "--config.file", str(config_path), "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"],
        )
        self.procs.wait_http(name, f"http://127.0.0.1:{port}/-/ready", timeout=300.0)
        # The account, and the campaigns (and queues, when discovered) as targets.
        targets = 1 + len(sim.campaign_ids) + (sim.queues if discovery_interval is not None else 0)
        exporter = Exporter(name, port, proc.pid, config_path, targets)
        wait_all_up(exporter)
        return exporter

    # --- baselines --------------------------------------------------------------------

    def naive_exporter(self, name: str, config_path: Path) -> int:
        port = free_port()
        self.procs.python(name, ["-m", "bench.naive_exporter", "--port", str(port), "--config.file", str(config_path)])
        # Every answer calls the API once per target, one call after another: allow for it.
        self.procs.wait_http(name, f"http://127.0.0.1:{port}/metrics", timeout=300.0, request_timeout=120.0)
        return port

    def static_server(self, name: str, body: bytes, gzip_body: bytes) -> int:
        plain_path, gzip_path = self.workdir / f"{name}.txt", self.workdir / f"{name}.txt.gz"
        plain_path.write_bytes(body)
        gzip_path.write_bytes(gzip_body)
        port = free_port()
        self.procs.python(name, ["-m", "bench.static_server", "--port", str(port), "--body", str(plain_path), "--gzip-body", str(gzip_path)])
        self.procs.wait_http(name, f"http://127.0.0.1:{port}/")
        return port

    # --- load -------------------------------------------------------------------------

    def load(self, load: Load) -> LoadResult:
        """Run the load generator in its own process and return its samples."""
        args = [sys.executable, "-m", "bench.loadgen", "--port", str(load.port), "--path", load.path,
                "--concurrency", str(load.concurrency), "--warmup", str(load.warmup)]
        if load.gzip:
            args.append("--gzip")
        if load.accept:
            args += ["--accept", load.accept]
        if load.pace is not None:
            args += ["--pace", str(load.pace)]
        if load.duration is not None:
            args += ["--duration", str(load.duration)]
            limit = load.duration + 120
        else:
            args += ["--requests", str(load.requests)]
            limit = 600.0
        done = subprocess.run(args, capture_output=True, text=True, timeout=limit, cwd=ROOT, env=child_env(), preexec_fn=die_with_parent)
        if done.returncode != 0:
            raise BenchError(f"load generator failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        data = json.loads(done.stdout)
        result = LoadResult(data["latencies"], data["errors"], data["body_bytes"])
        if result.errors:
            raise BenchError(f"load on port {load.port}: {len(result.errors)} failed requests, first: {result.errors[0]}")
        if not result.latencies:
            raise BenchError(f"load on port {load.port}: no samples")
        return result


def wait_all_up(exporter: Exporter, timeout: float = 300.0) -> bytes:
    """Wait until /metrics shows convoso_up 1 for every target; returns that body."""
    deadline = time.monotonic() + timeout
    up = 0
    while time.monotonic() < deadline:
        body = exporter.metrics().body
        up = len(_UP_LINE.findall(body))
        if up >= exporter.targets:
            return body
        time.sleep(0.1)
    raise BenchError(f"{exporter.name}: only {up} of {exporter.targets} targets up after {timeout:g}s")


def check_gzip_copy(plain: bytes, compressed: bytes) -> None:
    if gzip.decompress(compressed) != plain:
        raise BenchError("the exporter's gzip body does not decompress to its plain body")


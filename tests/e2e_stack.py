"""The real stack behind tests/test_e2e_prometheus.py, started once and killed at the end.

simulator process ──▶ exporter process ◀── Debian's prometheus (scrapes every 1s, rules
loaded, evaluates every 1s) ──▶ Debian's prometheus-alertmanager ──▶ a webhook receiver
running in a thread of the test process, recording every JSON notification.

The exporter runs as users are told to: discovery finds every campaign and queue in the
account answer (no hand-written campaign or queue targets, polled every second here), plus
one custom target from the config, a skill slice within one campaign's queue. Faults are
injected on that slice alone (the simulator matches a fault's campaign *and* queue scope;
the discovered targets filter by one of the two).

Everything listens on 127.0.0.1, on ephemeral ports, with its data in the test's tmp dir.
The Prometheus and Alertmanager configs are the shipped examples (`prometheus/*.yml`) with
only addresses and timings changed, so the test proves the examples' routing and grouping;
the rules are `python -m convoso_exporter.mixin` output with the fast `RULE_SETTINGS` below.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.support import ROOT, free_port, process, simulator_process, wait_http

T = TypeVar("T")

SIM_TOKEN = "e2e-T0KEN/s3cret"


def afternoon_zone(now: float | None = None) -> str:
    """A fixed-offset time zone (Etc/GMT±N) in which it is now 14:xx: the simulator and the
    exporter share it and the real clock, so the exporter's "today" (the day it asks
    agent-performance search for) is the simulator's, and the run can never cross the
    account's midnight (when the daily counters reset), whatever time CI runs at."""
    hour = time.gmtime(time.time() if now is None else now).tm_hour
    offset = 14 - hour  # -9 .. +14 hours: every one is an Etc zone (whose sign is inverted)
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


# A healthy contact center: 0.5% drops can never reach the 2% warning once the
# 100-answered guard is met (at most ~1% plus one rounding drop), nor make 5 drops in
# the burst window. 200 agents take a call about every 2 s between them.
# A busy afternoon, in the account's zone (`afternoon_zone`).
CAMPAIGNS = 2
TIMEZONE = afternoon_zone()
SIM_ARGS = (
    "--agents", "200", "--campaigns", str(CAMPAIGNS), "--queues", "4", "--seed", "7", "--drop-ratio", "0.005",
    "--timezone", TIMEZONE,
)
# Fast rules. The burst must fire, end and send its resolved notification before the
# daily-ratio alerts leave `pending`: once ConvosoDropRateCritical fires, the example
# Alertmanager config inhibits the target's warnings, the burst's resolved one included.
# The answered guard keeps its shipped default (100) on purpose. The 30-day guard is 1: a
# campaign answers ~100 calls in its first minutes, and the panels of the basis the 30-day
# alerts judge (answered, here: auto with no live-human figures) show only judged campaigns.
RULE_SETTINGS = ("drop_rate_for=30s", "burst_window=10s", "burst_for=0s", "tile_window=5s", "min_answered_30d=1")
# Alertmanager timers short enough for a test; the examples' are minutes and hours.
AM_TIMERS = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1m"}
SCRAPE_INTERVAL = "1s"
POLL_INTERVAL = "1s"
DISCOVERY_INTERVAL = "1s"
# Agent-performance every 5 s (its counters step at each poll); the ceiling above what the
# intervals imply (account, custom target, 6 scopes and 3 user-activity calls every second,
# 3 agent-performance calls every 5 s: 696 a minute), so that no interval is stretched.
PERFORMANCE_INTERVAL = "5s"
MAX_REQUESTS_PER_MINUTE = 720
# The one explicit target: a skill slice, so the custom-slice panels have data.
CUSTOM_TARGET = "spanish-slice"


class Webhook:
    """An Alertmanager webhook receiver on 127.0.0.1 that keeps every notification."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification so far, oldest first; each gains `_received_at` (monotonic)."""
        with self._lock:
            return list(self._received)

    def notifications_for(self, alertname: str, target: str, status: str | None = None) -> list[dict[str, Any]]:
        """The notifications of one alert for one target (the example config groups by both)."""
        return [
            n
            for n in self.notifications()
            if n["groupLabels"] == {"alertname": alertname, "target": target} and status in (None, n["status"])
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                payload = json.loads(body)
                payload["_received_at"] = time.monotonic()
                with webhook._lock:
                    webhook._received.append(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest's output clean

        return Handler


def wait_until(check: Callable[[], T | None], what: str, *, timeout: float, every: float = 0.2) -> T:
    """Call `check` until it returns something truthy, and return that; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


class Prometheus:
    """The few HTTP API calls the test needs; every call fails loudly on an API error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=10.0)

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        response = self._http.get(path, params=params)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as a one-item list) `expr` gives now (or at Unix time `at`)."""
        data = self._get("/api/v1/query", {"query": expr} if at is None else {"query": expr, "time": at})
        return data["result"] if data["resultType"] in ("vector", "matrix") else [{"value": data["result"]}]

    def scope_rows(self, expr: str, at: float, noun: str) -> dict[str, tuple[str, float]]:
        """`expr` at Unix time `at`, by campaign or queue (`noun`): id -> (its name, the value)."""
        result = self.query(expr, at)
        rows = {s["metric"][f"{noun}_id"]: (s["metric"].get(f"{noun}_name", ""), float(s["value"][1])) for s in result}
        assert len(rows) == len(result), f"a {noun} has two rows: {result}"
        return rows

    def label_values(self, label: str, selector: str | None) -> list[str]:
        """What Grafana's `label_values(selector, label)` asks Prometheus for."""
        return self._get(f"/api/v1/label/{label}/values", {"match[]": selector} if selector else {})

    def rule_groups(self) -> list[dict[str, Any]]:
        return self._get("/api/v1/rules", {})["groups"]

    def close(self) -> None:
        self._http.close()


@dataclass
class Stack:
    prometheus: Prometheus
    alertmanager_url: str
    webhook: Webhook
    instance: str  # the exporter's `instance` label
    simulated: dict[str, Any]  # the simulator's /_sim/state at start: campaigns, queues, agents
    canary: dict[str, str]  # fault scope that hits the custom target alone
    rules_file: Path  # the generated fast rules Prometheus loaded
    _control_url: str

    @property
    def campaigns(self) -> dict[str, str]:
        """Campaign id -> name, as the simulator made them."""
        return {c["campaign_id"]: c["campaign_name"] for c in self.simulated["campaigns"]}

    @property
    def queues(self) -> dict[str, str]:
        """Queue id -> name, as the simulator made them."""
        return {q["queue_id"]: q["queue_name"] for q in self.simulated["queues"]}

    @property
    def targets(self) -> set[str]:
        """Every target the exporter should publish: the account, each discovered scope, the custom one."""
        scopes = [f"campaign:{i}" for i in self.campaigns] + [f"queue:{i}" for i in self.queues]
        return {"account", CUSTOM_TARGET, *scopes}

    def control(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the simulator's control endpoint (`fault`, `surge`); its state back."""
        response = httpx.post(f"{self._control_url}/_sim/{action}", params={"auth_token": SIM_TOKEN}, json=body)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def binary_process(args: list[str], log_path: Path) -> Iterator[subprocess.Popen]:
    """Run a non-Python binary; output to `log_path`; terminated (then killed) at the end."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=log_path.parent)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def custom_target(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The config's one custom target (Spanish speakers in the first queue) and its fault scope."""
    first = state["queues"][0]
    canary = {"campaign_id": first["campaign_id"], "queue_id": first["queue_id"]}
    return {"name": CUSTOM_TARGET, **canary, "skills": ["spanish"]}, canary


def write_exporter_config(folder: Path, base_url: str, custom: dict[str, Any]) -> Path:
    """Discovery of every campaign and queue (fast), and the one custom target."""
    token = folder / "token"
    token.write_text(SIM_TOKEN + "\n")
    token.chmod(0o600)
    config = {
        "convoso": {"base_url": base_url, "auth_token_file": "token", "timeout": "800ms", "max_backoff": "2s",
                    "max_requests_per_minute": MAX_REQUESTS_PER_MINUTE},
        "poll_interval": POLL_INTERVAL,
        "timezone": TIMEZONE,
        "performance": {"enabled": True, "interval": PERFORMANCE_INTERVAL},
        "agent_metrics": True,
        "discovery": {"enabled": True, "interval": DISCOVERY_INTERVAL},  # off by default beside targets
        "targets": [custom],
    }
    path = folder / "exporter.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_rules(folder: Path) -> Path:
    """The mixin generated with the fast settings into its own folder; its rule file."""
    output = folder / "mixin.fast"
    sets = [arg for setting in RULE_SETTINGS for arg in ("--set", setting)]
    result = subprocess.run(
        [sys.executable, "-m", "convoso_exporter.mixin", "--output-dir", str(output), *sets],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, f"convoso_exporter.mixin {' '.join(sets)}: {result.stderr}"
    return output / "prometheus" / "convoso.rules.yml"


def write_prometheus_config(folder: Path, rules: Path, exporter: str, alertmanager: str) -> Path:
    """The example prometheus.yml, pointed at this stack and scraping every second."""
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=SCRAPE_INTERVAL, evaluation_interval=SCRAPE_INTERVAL)
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    (job,) = config["scrape_configs"]
    job.update(scrape_interval=SCRAPE_INTERVAL, scrape_timeout=SCRAPE_INTERVAL)
    job["static_configs"][0]["targets"] = [exporter]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def write_alertmanager_config(folder: Path, webhook_url: str) -> Path:
    """The example alertmanager.yml (routes, grouping, inhibition kept) with test timers."""
    config = yaml.safe_load((ROOT / "prometheus" / "alertmanager.yml").read_text())
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        for timer in AM_TIMERS:
            if timer in route or route is config["route"]:
                route[timer] = AM_TIMERS[timer]
        routes.extend(route.get("routes", []))
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def e2e_stack(folder: Path, prometheus_bin: str, alertmanager_bin: str) -> Iterator[Stack]:
    """Start everything, wait until each part answers, yield; stop everything."""
    with ExitStack() as stack:
        _, base_url = stack.enter_context(simulator_process(*SIM_ARGS, token=SIM_TOKEN))
        control_url = base_url.removesuffix("/v1")
        state = httpx.get(f"{control_url}/_sim/state", params={"auth_token": SIM_TOKEN}).json()
        custom, canary = custom_target(state)
        exporter_port, prom_port, am_port = free_port(), free_port(), free_port()
        exporter, prom_url, am_url = (f"http://127.0.0.1:{p}" for p in (exporter_port, prom_port, am_port))
        webhook = Webhook()
        stack.callback(webhook.close)

        exporter_args = ["--config.file", str(write_exporter_config(folder, base_url, custom)),
                         "--web.listen-address", f"127.0.0.1:{exporter_port}"]
        exporter_proc = stack.enter_context(process(exporter_args, env={"CONVOSO_AUTH_TOKEN": ""}))
        am_config = write_alertmanager_config(folder, webhook.url)
        am_proc = stack.enter_context(binary_process([
            alertmanager_bin, f"--config.file={am_config}", f"--storage.path={folder / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ], folder / "alertmanager.log"))
        rules = write_rules(folder)
        prom_config = write_prometheus_config(folder, rules, f"127.0.0.1:{exporter_port}", f"127.0.0.1:{am_port}")
        prom_proc = stack.enter_context(binary_process([
            prometheus_bin, f"--config.file={prom_config}", f"--storage.tsdb.path={folder / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ], folder / "prometheus.log"))

        wait_http(f"{exporter}/-/ready", proc=exporter_proc)
        wait_http(f"{am_url}/-/ready", proc=am_proc, timeout=30)
        wait_http(f"{prom_url}/-/ready", proc=prom_proc, timeout=30)
        prometheus = Prometheus(prom_url)
        stack.callback(prometheus.close)
        yield Stack(prometheus, am_url, webhook, f"127.0.0.1:{exporter_port}", state, canary, rules, control_url)


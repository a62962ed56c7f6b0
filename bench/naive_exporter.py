"""The naive baseline: how most Python exporters are written.

A prometheus_client custom collector that, on every scrape, calls the API (the
simulator) once per target, one call after another, builds metric families from the
JSON and lets `generate_latest` render them; served by
`prometheus_client.start_http_server`. It exports the same kinds of series as
convoso-exporter (health, aggregates, per-agent series up to max_agents_per_target),
so both expose about the same number of series for the same config. It reuses one
keep-alive HTTP client, which is kinder to it than many real exporters are.

    python -m bench.naive_exporter --port P --config.file exporter.yaml
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections import Counter
from typing import Any, Iterator

import httpx
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from convoso_exporter.config.schema import ACCOUNT, Config, Target, load_config

INFO_FIELDS = ("user_full_name", "extension", "campaign_id", "campaign_name", "queue_id", "queue_name", "channel_type", "call_type", "connection_type")


def number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def agents_of(doc: Any) -> list[dict]:
    """Agents at data.entries.agents, data.agents or agents, as an array or keyed object."""
    for path in (("data", "entries", "agents"), ("data", "agents"), ("agents",)):
        node = doc
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            return [a for a in node if isinstance(a, dict)]
    return []


def root_of(doc: Any) -> dict:
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        data = doc["data"]
        return data["entries"] if isinstance(data.get("entries"), dict) else data
    return doc if isinstance(doc, dict) else {}


class NaiveCollector(Collector):
    def __init__(self, config: Config) -> None:
        self.config = config
        self.http = httpx.Client(timeout=config.convoso.timeout)

    def describe(self) -> list:
        return []  # so registering does not call the API

    def search(self, target: Target) -> Any:
        token = self.config.convoso.auth_token
        form = {"auth_token": token}
        for key, value in (("campaign_id", target.campaign_id), ("queue_id", target.queue_id), ("user_id", target.user_id)):
            if value:
                form[key] = value
        if target.skills:
            form["filter_by_skill_options"] = ",".join(target.skills)
        response = self.http.post(self.config.convoso.base_url + "/agent-monitor/search", params={"auth_token": token}, data=form)
        response.raise_for_status()
        return response.json()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("convoso_up", "1 if the last call for this target succeeded", labels=["target"])
        counts = {name: GaugeMetricFamily(f"convoso_{name}", f"{name} as the API reports it", labels=["target"]) for name in ("agent_count", "agent_ready", "agent_incall", "agent_paused")}
        by_status = GaugeMetricFamily("convoso_agents", "agents in each status", labels=["target", "status"])
        status_time = GaugeMetricFamily("convoso_agent_status_time_seconds", "seconds in the current status", labels=["target", "user_id", "status"])
        calls_today = GaugeMetricFamily("convoso_agent_calls_today", "calls today", labels=["target", "user_id"])
        session_calls = GaugeMetricFamily("convoso_agent_session_calls", "calls this session", labels=["target", "user_id"])
        info = GaugeMetricFamily("convoso_agent_info", "who the agent is", labels=["target", "user_id", *INFO_FIELDS])
        # A config without targets is the model's: the account (discovery is not copied).
        for target in self.config.targets or (Target("account", kind=ACCOUNT),):
            try:
                doc = self.search(target)
            except (httpx.HTTPError, ValueError):
                up.add_metric([target.name], 0)
                continue
            up.add_metric([target.name], 1)
            root, agents = root_of(doc), agents_of(doc)
            for name, key in (("agent_count", "agent_total"), ("agent_ready", "agent_ready"), ("agent_incall", "agent_incall"), ("agent_paused", "agent_paused")):
                value = number(root.get(key))
                if value is not None:
                    counts[name].add_metric([target.name], value)
            for status, count in sorted(Counter(str(a.get("status", "")) for a in agents).items()):
                by_status.add_metric([target.name, status], count)
            if not self.config.agent_metrics:
                continue
            for agent in agents[: self.config.max_agents_per_target]:
                user = str(agent.get("user_id", ""))
                labels = [target.name, user]
                for family, key in ((calls_today, "calls_today"), (session_calls, "total_calls")):
                    value = number(agent.get(key))
                    if value is not None:
                        family.add_metric(labels, value)
                value = number(agent.get("status_time_sec"))
                if value is not None:
                    status_time.add_metric([*labels, str(agent.get("status", ""))], value)
                info.add_metric(labels + [str(agent.get(f, "")) for f in INFO_FIELDS], 1)
        yield up
        yield from counts.values()
        yield from (by_status, status_time, calls_today, session_calls, info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive_exporter", description="A naive render-on-scrape exporter (baseline).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config.file", dest="config_file", required=True)
    args = parser.parse_args(argv)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NaiveCollector(load_config(args.config_file)))
    server, thread = start_http_server(args.port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Figure 4 in its own process: render a snapshot to exposition text, ours vs
`prometheus_client.generate_latest` over the same families.

The snapshot is what the exporter would hold after a poll round: the simulator's
contact center answers one search per campaign target, `convoso_exporter.api.parse` turns each
answer into a `SearchResult`. Agents and targets are sized so the families come to
about the asked number of series.

- ours: a cold `MetricsRenderer.render` (a new renderer, empty cache, as after a
  round where every target changed): snapshot → families → text, plus its gzip copy.
- generate_latest: the same families, already built as prometheus_client metric
  families (their building is not timed), rendered by `generate_latest`.
Both are checked to give the same text. Median of `--repeats` runs each.

    python -m bench.render --series 100000 --repeats 5   → one JSON object
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from prometheus_client import generate_latest

from convoso_exporter import __version__
from convoso_exporter.config.schema import Target
from convoso_exporter.expose.exposition import render as render_families, to_prometheus_client
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.families import ExporterInfo
from convoso_exporter.api.parse import parse_search
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator.center import ContactCenter
from convoso_exporter.api.stats import ApiStats

# Per-agent series of one agent: status time, calls today, session calls, info.
SERIES_PER_AGENT = 4
MAX_AGENTS_PER_TARGET = 5000
# Enough agents per target for every status to show up in the probe.
PROBE_AGENTS_PER_TARGET = 50
NOW = 1_700_000_000.0


def make_states(agents: int, targets: int) -> list[TargetState]:
    center = ContactCenter(agents=agents, campaigns=targets, queues=targets, seed=1, clock=lambda: 0.0, start_wall=NOW)
    states = []
    for campaign_id in center.campaign_ids():
        snapshot = parse_search(json.loads(json.dumps(center.search(campaign_id=campaign_id))))
        target = Target(name=f"campaign-{campaign_id}", campaign_id=campaign_id)
        states.append(TargetState(target, 45.0, snapshot, last_success=NOW, up=True, attempted=True, last_duration=0.25, generation=1))
    return states


def new_renderer() -> MetricsRenderer:
    # No process metrics: generate_latest is given only the snapshot's families too.
    return MetricsRenderer(agent_metrics=True, max_agents_per_target=MAX_AGENTS_PER_TARGET, process_metrics=False)


INFO = ExporterInfo(version=__version__, targets=0, reload_ok=True, reload_timestamp=NOW)


def count_series(states: list[TargetState]) -> int:
    return sum(f.series() for f in new_renderer().families(states, ApiStats(), NOW, INFO))


def sized_states(series: int) -> list[TargetState]:
    """States whose families hold about `series` series: a small probe with the same
    targets measures the per-target overhead (health, aggregates), agents fill the rest."""
    targets = max(1, min(20, series // 5000))
    probe_agents = PROBE_AGENTS_PER_TARGET * targets
    overhead = count_series(make_states(probe_agents, targets)) - probe_agents * SERIES_PER_AGENT
    agents = max(targets, (series - overhead) // SERIES_PER_AGENT)
    return make_states(agents, targets)


class _Fixed:
    """A registry stand-in: generate_latest only calls collect()."""

    def __init__(self, metrics: list) -> None:
        self.metrics = metrics

    def collect(self) -> list:
        return self.metrics


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(series: int, repeats: int) -> dict:
    states = sized_states(series)
    stats = ApiStats()
    families = new_renderer().families(states, stats, NOW, INFO)
    registry = _Fixed(to_prometheus_client(families))
    ours_body = new_renderer().render(states, stats, NOW, INFO).body
    if ours_body != generate_latest(registry) or ours_body != render_families(families):
        raise SystemExit("bench.render: our exposition differs from generate_latest's for the same families")
    return {
        "series": sum(f.series() for f in families),
        "agents": sum(len(s.snapshot.agents) for s in states),
        "targets": len(states),
        "ours": median_seconds(lambda: new_renderer().render(states, stats, NOW, INFO), repeats),
        "text_only": median_seconds(lambda: render_families(families), repeats),
        "generate_latest": median_seconds(lambda: generate_latest(registry), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description="Time one render, ours vs generate_latest.")
    parser.add_argument("--series", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.series, args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

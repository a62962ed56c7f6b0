"""The render figure in its own process: render the model's states to exposition text,
ours vs `prometheus_client.generate_latest` over the same families.

The states are what the exporter holds after a poll round (bench/stages.py): the
simulated account answered in the live style, parsed by the exporter's client, agent
time derived, and the discovered campaigns and queues; agents are sized so the families
come to about the asked number of series.

- ours: a cold `MetricsRenderer.render` (a new renderer, empty cache, as after a
  round where every target changed): states → families → text, plus its gzip copy
  (and, where the renderer serves more than one format, each of them).
- generate_latest: the same families (`expose.families.merged_families`), already built
  as prometheus_client metric families (their building is not timed).
Both are checked to give the same text. Median of `--repeats` runs each.

    python -m bench.render --series 100000 --repeats 5   → one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

from prometheus_client import generate_latest

from bench.stages import START, Answers, client_for, scope_states
from convoso_exporter import __version__
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.expose.exposition import render as render_families, to_prometheus_client
from convoso_exporter.expose.families import FamilyOptions, merged_families
from convoso_exporter.poll.state import TargetState

# A probe this big measures the series per agent (the per-agent series and the share of
# the breakdown, distributions and discovered targets that grows with agents).
PROBE_AGENTS = 2_000
NOW = START


def make_states(agents: int) -> list[TargetState]:
    answers = Answers(agents)
    answers.body = answers.account()
    client = client_for(lambda: answers.body)
    loop = asyncio.new_event_loop()
    try:
        scopes = scope_states(answers, client, loop)
        answers.body = answers.account()
        result = loop.run_until_complete(client.search())
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    account = Target("account", kind=ACCOUNT)
    derived = Deriver().advance(account, None, result, NOW)
    state = TargetState(account, 45.0, result, last_success=NOW, up=True, attempted=True, last_duration=0.2,
                        generation=1, derived=derived)
    return [state, *scopes]


def new_renderer(agents: int) -> MetricsRenderer:
    # No process metrics: generate_latest is given only the states' families too.
    return MetricsRenderer(agent_metrics=True, max_agents_per_target=max(agents, 1), process_metrics=False)


INFO = ExporterInfo(version=__version__, targets={ACCOUNT: 1}, reload_ok=True, reload_timestamp=NOW)


def families_of(states: list[TargetState], agents: int) -> list:
    options = FamilyOptions(agent_metrics=True, max_agents_per_target=max(agents, 1))
    return merged_families(states, ApiStats(), NOW, INFO, options)


def sized_states(series: int) -> tuple[list[TargetState], int]:
    """States whose families hold about `series` series, and their agents."""
    probe = sum(f.series() for f in families_of(make_states(PROBE_AGENTS), PROBE_AGENTS))
    agents = max(10, round(series * PROBE_AGENTS / probe))
    return make_states(agents), agents


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
    states, agents = sized_states(series)
    stats = ApiStats()
    families = families_of(states, agents)
    registry = _Fixed(to_prometheus_client(families))
    ours_body = bytes(new_renderer(agents).render(states, stats, NOW, INFO).body)
    if ours_body != generate_latest(registry) or ours_body != render_families(families):
        raise SystemExit("bench.render: our exposition differs from generate_latest's for the same families")
    return {
        "series": sum(f.series() for f in families),
        "agents": sum(len(s.snapshot.agents) for s in states),
        "targets": len(states),
        "ours": median_seconds(lambda: new_renderer(agents).render(states, stats, NOW, INFO), repeats),
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

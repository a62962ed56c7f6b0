"""One process against the forked collector (issue #20): what a scraper feels.

Prometheus gives up on a scrape after its timeout (10 s by default) and a user feels the
slowest scrapes, not the median: so the figure is the worst and the p99 scrape latency
while the exporter polls the model account (bench/sizes.py) at the default intervals
(15 s account, 60 s discovered scopes), and again with 1 s polls (reported, not judged:
at 50,000 agents a round then needs more CPU than a second holds, in either design).
Scrapes ask as Prometheus does (OpenMetrics first, gzip), one every 250 ms, so a window
of 60 s holds four account rounds and one discovery round. Beside them: the exporter's
CPU per round and its peak Pss (every process of it, each page once).

Both designs run against the same simulator in the same run, one after the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.figures import MB, SETTLE_SECONDS, ms
from bench.loadgen import PROMETHEUS_ACCEPT, Load, LoadResult, percentile
from bench.procs import tree_cpu_seconds, tree_pss_bytes
from bench.report import Row
from bench.services import Bench
from bench.sizes import campaigns_for, queues_for

DESIGNS = (("single", "one process"), ("fork", "forked collector"))
# The rule of issue #20, judged at the largest size with the default intervals.
WORST_LIMIT = 1.0
P99_LIMIT = 0.25


@dataclass
class Run:
    result: LoadResult
    cpu_seconds: float
    window: float
    peak_pss: int

    @property
    def worst(self) -> float:
        return max(self.result.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.result.latencies, 99)

    def latency(self) -> str:
        lat = self.result.latencies
        return f"worst {ms(self.worst)} / p99 {ms(self.p99)} / p50 {ms(percentile(lat, 50))} (n={len(lat)})"

    def cost(self, interval: float) -> str:
        rounds = self.window / interval
        return f"CPU {ms(self.cpu_seconds / rounds)} per {interval:g} s round; peak Pss {self.peak_pss / MB:.1f} MB"


def measure(bench: Bench, port: int, pid: int, window: float, pace: float) -> Run:
    """Scrape for `window` seconds (in the load generator's process) while sampling the
    exporter's Pss every 250 ms here."""
    peak = [tree_pss_bytes(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            peak[0] = max(peak[0], tree_pss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_before, started = tree_cpu_seconds(pid), time.monotonic()
    sampler.start()
    try:
        result = bench.load(Load(port, gzip=True, concurrency=1, duration=window, accept=PROMETHEUS_ACCEPT,
                                 pace=pace, warmup=1))
    finally:
        done.set()
        sampler.join()
    elapsed = time.monotonic() - started
    return Run(result, tree_cpu_seconds(pid) - cpu_before, elapsed, peak[0])


def designs(bench: Bench) -> Iterator[Row]:
    s = bench.sizes
    modes = [("default intervals", s.design_poll_interval, s.design_discovery_interval, s.design_window)]
    if not s.quick:
        modes.append(("1 s polls", 1.0, 4.0, s.design_busy_window))
    for agents in s.design_agents:
        sim = bench.simulator(f"sim-design-{agents}", agents=agents, campaigns=campaigns_for(agents),
                              queues=queues_for(agents), latency=s.api_latency)
        for mode, interval, discovery, window in modes:
            runs: dict[str, Run] = {}
            for design, _ in DESIGNS:
                name = f"exporter-{design}-{agents}-{interval:g}"
                exporter = bench.exporter(name, sim, poll_interval=interval, discovery_interval=discovery,
                                          env={"CONVOSO_EXPORTER_DESIGN": design})
                time.sleep(SETTLE_SECONDS)
                runs[design] = measure(bench, exporter.port, exporter.pid, window, s.design_pace)
                bench.procs.stop(name)
            yield from rows(agents, mode, interval, runs, judged=mode == "default intervals" and agents == max(s.design_agents))
        bench.procs.stop(sim.name)


def rows(agents: int, mode: str, interval: float, runs: dict[str, Run], judged: bool) -> Iterator[Row]:
    one, fork = runs["single"], runs["fork"]
    goal = f"worst ≤ {WORST_LIMIT:g} s, p99 ≤ {P99_LIMIT * 1000:g} ms" if judged else "report"
    met = (one.worst <= WORST_LIMIT and one.p99 <= P99_LIMIT) if judged else None
    yield Row(f"{agents:,} agents, {mode}: scrape latency, one process (baseline: forked collector)",
              one.latency(), fork.latency(), one.worst / fork.worst, goal, met)
    yield Row(f"{agents:,} agents, {mode}: cost, one process (baseline: forked collector)",
              one.cost(interval), fork.cost(interval), one.peak_pss / fork.peak_pss, "report", None)

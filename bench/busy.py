"""What a scraper feels while the exporter polls the model account (issue #20).

Prometheus gives up on a scrape after its timeout (10 s by default) and a user feels the
slowest scrapes, not the median: so the figure is the worst and the p99 scrape latency
while the exporter polls the model account (bench/sizes.py) at the default intervals
(15 s account, 60 s discovered scopes), and again with 1 s polls (reported, not judged:
at 50,000 agents a round then needs more CPU than a second holds). Scrapes ask as
Prometheus does (OpenMetrics first, gzip), one every 250 ms, so a window of 60 s holds
four account rounds and one discovery round. Beside them: the exporter's CPU per round
and its peak Pss.

The rule it judges, at 50,000 agents with the default intervals: worst ≤ 1 s and p99 ≤
250 ms. It decided the design: one process, polling, rendering and serving on one
interpreter, against a forked collector handing each exposition to a serving process,
both measured in one run at commit aeb1a50 (`python -m bench --figure designs` there);
docs/benchmarks.md keeps that run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.figures import MB, SETTLE_SECONDS, ms, p99
from bench.loadgen import PROMETHEUS_ACCEPT, Load, LoadResult, percentile
from bench.procs import tree_cpu_seconds, tree_pss_bytes
from bench.report import Row
from bench.services import Bench
from bench.sizes import campaigns_for, queues_for

WORST_LIMIT = 1.0
P99_LIMIT = 0.25
RULE = f"worst ≤ {WORST_LIMIT:g} s, p99 ≤ {P99_LIMIT * 1000:g} ms"


@dataclass
class Run:
    result: LoadResult
    cpu_seconds: float
    window: float
    peak_pss: int

    @property
    def worst(self) -> float:
        return max(self.result.latencies)

    def latency(self) -> str:
        lat = self.result.latencies
        return f"worst {ms(self.worst)} / p99 {ms(p99(self.result))} / p50 {ms(percentile(lat, 50))} (n={len(lat)})"

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


def busy_scrapes(bench: Bench) -> Iterator[Row]:
    s = bench.sizes
    modes = [("default intervals", s.poll_interval, s.discovery_interval, s.design_window)]
    if not s.quick:
        modes.append(("1 s polls", 1.0, 4.0, s.design_busy_window))
    for agents in s.design_agents:
        sim = bench.simulator(f"sim-busy-{agents}", agents=agents, campaigns=campaigns_for(agents),
                              queues=queues_for(agents), latency=s.api_latency)
        for mode, interval, discovery, window in modes:
            name = f"exporter-busy-{agents}-{interval:g}"
            exporter = bench.exporter(name, sim, poll_interval=interval, discovery_interval=discovery)
            time.sleep(SETTLE_SECONDS)
            run = measure(bench, exporter.port, exporter.pid, window, s.design_pace)
            bench.procs.stop(name)
            judged = mode == "default intervals" and agents == max(s.design_agents)
            tail = p99(run.result)
            yield Row(f"{agents:,} agents, {mode}: scrape latency while polling", run.latency(), RULE,
                      tail / P99_LIMIT, RULE if judged else "report",
                      (run.worst <= WORST_LIMIT and tail <= P99_LIMIT) if judged else None)
            yield Row(f"{agents:,} agents, {mode}: CPU and memory meanwhile", run.cost(interval), "—", None,
                      "report", None)
        bench.procs.stop(sim.name)

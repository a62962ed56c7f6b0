"""The figures. Each is a generator: it starts what it measures, yields table rows as
soon as they are known, and leaves stopping processes to the harness.

What each one measures, and why that is the honest measure, is in its docstring and
in docs/benchmarks.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.loadgen import Load, LoadResult, fetch, percentile
from bench.procs import tree_cpu_seconds, tree_pss_bytes, tree_rss_bytes
from bench.report import Row
from bench.services import Bench, BenchError, Exporter, Simulator, samples, series_count
from bench.sizes import CPU_GOALS, GOAL_POLL_INTERVAL, RSS_GOALS, campaigns_for, queues_for

MB = 1024 * 1024
# After every target is up, renders may still be queued (the app coalesces them for 1 s).
SETTLE_SECONDS = 1.5


# --- formatting -------------------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 10_000:
        return f"{seconds:.1f} s"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def thousands(count: int) -> str:
    return f"{count / 1000:.0f}k" if count >= 1000 else str(count)


def p50_p99(result: LoadResult) -> str:
    return f"p50 {ms(percentile(result.latencies, 50))} / p99 {ms(percentile(result.latencies, 99))}"


def p99(result: LoadResult) -> float:
    return percentile(result.latencies, 99)


# --- 1. one poll round ----------------------------------------------------------------


def poll_round(bench: Bench) -> Iterator[Row]:
    """One poll round of many targets against a slow API, with bounded concurrency.

    Measured from the exporter's own metrics after its first round: every target's poll
    starts when the poller starts (its duration includes waiting for a free connection),
    so the round runs from min(last_success - poll_duration) to max(last_success). That
    is the poller's round, without process start-up and without our own polling of
    /-/ready. Connections come from the simulator's count of accepted TCP connections.
    """
    s = bench.sizes
    n, concurrency, latency = s.round_targets, s.round_concurrency, s.round_latency
    sim = bench.simulator("sim-round", agents=n * s.round_agents_per_target, campaigns=n, latency=latency,
                          style="documented")
    opened_before = sim.state()["connections_opened"]
    # A long interval: only the first round happens while we look.
    exporter = bench.exporter("exporter-round", sim, poll_interval=600, concurrency=concurrency)
    body = exporter.metrics().body
    opened = sim.state()["connections_opened"] - opened_before
    finished = samples(body, "convoso_last_success_timestamp_seconds")
    durations = samples(body, "convoso_poll_duration_seconds")
    polled = n + 1  # the campaigns, and the account every exporter polls
    if len(finished) != polled or len(durations) != polled:
        raise BenchError(f"expected {polled} targets in /metrics, found {len(finished)}")
    started = min(finished[t] - durations[t] for t in finished)
    round_seconds = max(finished.values()) - started
    ideal = math.ceil(polled / concurrency) * latency
    yield Row(
        f"poll round: {polled} targets, {ms(latency)} API, concurrency {concurrency}",
        ms(round_seconds),
        f"ideal {ms(ideal)}",
        round_seconds / ideal,
        "≤ 1.15×",
        round_seconds / ideal <= 1.15,
    )
    yield Row(
        "  TCP connections opened for that round",
        str(opened),
        f"concurrency {concurrency}",
        opened / concurrency,
        "≤ 1× (keep-alive)",
        opened <= concurrency,
    )


# --- 2. the model: CPU, memory and series by account size -------------------------------


@dataclass
class Footprint:
    cpu_seconds: float  # of the exporter's processes over the window
    window: float
    polls: int
    peak_rss: int  # of the exporter's processes, added up
    peak_pss: int  # the same, each shared page counted once
    series: int


def measure_footprint(bench: Bench, sim: Simulator, exporter: Exporter) -> Footprint:
    """CPU of the exporter's processes (every thread) over the window, and their peak
    memory added up, sampled every 250 ms: VmRSS (a page both processes map counts
    twice) and Pss (each page once). Nothing scrapes the exporter meanwhile."""
    s = bench.sizes
    time.sleep(SETTLE_SECONDS)
    series = series_count(exporter.metrics().body)
    served_before = sim.state()["requests_served"]
    cpu_before, started = tree_cpu_seconds(exporter.pid), time.monotonic()
    peak, peak_pss = tree_rss_bytes(exporter.pid), tree_pss_bytes(exporter.pid)
    while time.monotonic() - started < s.cpu_window:
        time.sleep(0.25)
        peak = max(peak, tree_rss_bytes(exporter.pid))
        peak_pss = max(peak_pss, tree_pss_bytes(exporter.pid))
    cpu_used, window = tree_cpu_seconds(exporter.pid) - cpu_before, time.monotonic() - started
    polls = sim.state()["requests_served"] - served_before
    return Footprint(cpu_used, window, polls, peak, peak_pss, series)


def model(bench: Bench) -> Iterator[Row]:
    """The account of each size (bench/sizes.py) and its discovered campaigns and queues,
    polled at the default intervals (15 s, 60 s; quick mode polls faster and scales the
    CPU to them): CPU per account round, peak memory and series, also per 1,000 agents."""
    s = bench.sizes
    scale = s.poll_interval / GOAL_POLL_INTERVAL
    for agents in s.model_agents:
        sim = bench.simulator(f"sim-{agents}", agents=agents, campaigns=campaigns_for(agents),
                              queues=queues_for(agents), latency=s.api_latency)
        exporter = bench.exporter(f"exporter-{agents}", sim, poll_interval=s.poll_interval,
                                  discovery_interval=s.discovery_interval)
        f = measure_footprint(bench, sim, exporter)
        bench.procs.stop(exporter.name)
        bench.procs.stop(sim.name)
        share = f.cpu_seconds / f.window * scale
        per_round = share * GOAL_POLL_INTERVAL
        k = agents / 1000
        how = f"{f.polls} polls in {f.window:.0f} s" + ("" if scale == 1 else f", scaled to {GOAL_POLL_INTERVAL:g} s")
        goal = CPU_GOALS.get(agents)
        yield Row(
            f"{agents:,} agents, {exporter.targets} targets: CPU per {GOAL_POLL_INTERVAL:g} s round",
            f"{ms(per_round)} = {share * 100:.2f} % of a core ({ms(per_round / k)} per 1k agents; {how})",
            "one core",
            share,
            f"≤ {goal:g} %" if goal is not None else "report",
            share * 100 <= goal if goal is not None else None,
        )
        mb, rss = f.peak_pss / MB, f.peak_rss / MB
        limit = RSS_GOALS.get(agents)
        yield Row(
            f"{agents:,} agents: peak memory (Pss); series",
            f"{mb:.1f} MB ({mb / k:.2f} MB per 1k agents; RSS added up {rss:.1f} MB); "
            f"{f.series:,} series ({f.series / k:,.0f} per 1k agents)",
            "—",
            None,
            f"≤ {limit:g} MB" if limit is not None else "report",
            mb <= limit if limit is not None else None,
        )


# --- 3. the naive exporter ---------------------------------------------------------------


def naive(bench: Bench) -> Iterator[Row]:
    """Our scrape vs a render-on-scrape prometheus_client exporter of the same account
    (it calls the account once per scrape), both scraped with gzip by the load generator."""
    s = bench.sizes
    agents = s.naive_agents
    sim = bench.simulator("sim-naive", agents=agents, campaigns=campaigns_for(agents), queues=queues_for(agents),
                          latency=s.api_latency)
    exporter = bench.exporter("exporter-naive", sim, poll_interval=s.poll_interval,
                              discovery_interval=s.discovery_interval)
    time.sleep(SETTLE_SECONDS)
    ours = bench.load(Load(exporter.port, gzip=True, concurrency=1, requests=s.ours_scrapes))
    naive_port = bench.naive_exporter("naive-exporter", exporter.config_path)
    naive_series = series_count(fetch(naive_port, "/metrics").body)
    ours_series = series_count(exporter.metrics().body)
    result = bench.load(Load(naive_port, gzip=True, concurrency=1, requests=s.naive_scrapes, warmup=1))
    yield Row(
        f"scrape p99 vs naive exporter, {agents:,} agents ({thousands(ours_series)} vs {thousands(naive_series)} series)",
        f"p99 {ms(p99(ours))} (n={len(ours.latencies)})",
        f"naive p99 {ms(p99(result))} (n={len(result.latencies)})",
        p99(ours) / p99(result),
        "report",
        None,
    )


def encoding(gzip: bool) -> str:
    return "gzip" if gzip else "plain"

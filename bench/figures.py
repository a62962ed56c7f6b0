"""The figures. Each is a generator: it starts what it measures, yields table rows as
soon as they are known, and leaves stopping processes to the harness.

What each one measures, and why that is the honest measure, is in its docstring and
in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench.loadgen import Load, LoadResult, fetch, percentile
from bench.procs import child_env, cpu_seconds, die_with_parent, rss_bytes
from bench.report import Row
from bench.services import ROOT, Bench, BenchError, Exporter, Simulator, check_gzip_copy, samples, series_count
from bench.sizes import GOAL_POLL_INTERVAL

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
    sim = bench.simulator("sim-round", agents=n * s.round_agents_per_target, campaigns=n, latency=latency)
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


# --- 2, 3, 7, 8. CPU and memory while polling; the naive exporter -----------------------


@dataclass
class Footprint:
    cpu_share: float  # of one core, at GOAL_POLL_INTERVAL
    polls: int
    window: float
    peak_rss: int


def measure_footprint(bench: Bench, sim: Simulator, exporter: Exporter) -> Footprint:
    """CPU of the exporter process (all threads) over the window, and its peak VmRSS.

    Nothing scrapes the exporter meanwhile. When the run polls faster than the goal's
    interval (quick mode), the CPU share is scaled by run interval / goal interval.
    """
    s = bench.sizes
    time.sleep(SETTLE_SECONDS)
    served_before = sim.state()["requests_served"]
    cpu_before, started = cpu_seconds(exporter.pid), time.monotonic()
    peak = rss_bytes(exporter.pid)
    while time.monotonic() - started < s.cpu_window:
        time.sleep(0.25)
        peak = max(peak, rss_bytes(exporter.pid))
    cpu_used, window = cpu_seconds(exporter.pid) - cpu_before, time.monotonic() - started
    polls = sim.state()["requests_served"] - served_before
    share = cpu_used / window * (s.cpu_poll_interval / GOAL_POLL_INTERVAL)
    return Footprint(share, polls, window, peak)


def cpu_row(bench: Bench, agents: int, footprint: Footprint, goal_percent: float) -> Row:
    s = bench.sizes
    how = f"{footprint.polls} polls in {footprint.window:.0f} s"
    if s.cpu_poll_interval != GOAL_POLL_INTERVAL:
        how += f" at {s.cpu_poll_interval:g} s, scaled to {GOAL_POLL_INTERVAL:g} s"
    percent = footprint.cpu_share * 100
    return Row(
        f"CPU: {agents:,} agents / {s.targets} targets, every {GOAL_POLL_INTERVAL:g} s",
        f"{percent:.2f} % ({how})",
        "one core",
        footprint.cpu_share,
        f"≤ {goal_percent:g} %",
        percent <= goal_percent,
    )


def memory_row(agents: int, peak_rss: int, goal_mb: float, marginal: str = "") -> Row:
    mb = peak_rss / MB
    return Row(
        f"resident memory (peak VmRSS), {agents:,} agents",
        f"{mb:.1f} MB ({mb / (agents / 1000):.2f} MB/1k agents{marginal})",
        "—",
        None,
        f"≤ {goal_mb:g} MB",
        mb <= goal_mb,
    )


def small(bench: Bench) -> Iterator[Row]:
    """Figures 2 and 7 on the small contact center, then 8 against the same simulator."""
    s = bench.sizes
    sim = bench.simulator("sim-small", agents=s.small_agents, campaigns=s.targets, latency=s.api_latency)
    exporter = bench.exporter("exporter-small", sim, poll_interval=s.cpu_poll_interval)
    footprint = measure_footprint(bench, sim, exporter)
    bench.peak_rss[s.small_agents] = footprint.peak_rss
    yield cpu_row(bench, s.small_agents, footprint, 2)
    yield memory_row(s.small_agents, footprint.peak_rss, 80)
    yield naive_comparison(bench, exporter)


def large(bench: Bench) -> Iterator[Row]:
    """Figures 3 and 7 on the large contact center; MB per 1k agents at the margin when
    the small one ran too."""
    s = bench.sizes
    sim = bench.simulator("sim-large", agents=s.large_agents, campaigns=s.targets, latency=s.api_latency)
    exporter = bench.exporter("exporter-large", sim, poll_interval=s.cpu_poll_interval)
    footprint = measure_footprint(bench, sim, exporter)
    yield cpu_row(bench, s.large_agents, footprint, 10)
    marginal = ""
    if s.small_agents in bench.peak_rss:
        per_thousand = (footprint.peak_rss - bench.peak_rss[s.small_agents]) / MB / ((s.large_agents - s.small_agents) / 1000)
        marginal = f"; marginal {per_thousand:.2f}"
    yield memory_row(s.large_agents, footprint.peak_rss, 300, marginal)


def naive_comparison(bench: Bench, exporter: Exporter) -> Row:
    """Our scrape vs a render-on-scrape prometheus_client exporter on the same config and
    simulator, both scraped by the load generator with gzip, as Prometheus asks."""
    s = bench.sizes
    ours = bench.load(Load(exporter.port, gzip=True, concurrency=1, requests=s.ours_scrapes))
    naive_port = bench.naive_exporter("naive-exporter", exporter.config_path)
    naive_series = series_count(fetch(naive_port, "/metrics").body)
    ours_series = series_count(exporter.metrics().body)
    naive = bench.load(Load(naive_port, gzip=True, concurrency=1, requests=s.naive_scrapes, warmup=1))
    bench.procs.stop("naive-exporter")
    return Row(
        f"scrape p99 vs naive exporter ({thousands(ours_series)} vs {thousands(naive_series)} series)",
        f"p99 {ms(p99(ours))} (n={len(ours.latencies)})",
        f"naive p99 {ms(p99(naive))} (n={len(naive.latencies)})",
        p99(ours) / p99(naive),
        "report",
        None,
    )


# --- 4. render ------------------------------------------------------------------------


def render(bench: Bench) -> Iterator[Row]:
    """Text rendering of the same families by convoso_exporter.expose.exposition and by generate_latest,
    in a separate process (see bench/render.py)."""
    for series in bench.sizes.render_series:
        args = [sys.executable, "-m", "bench.render", "--series", str(series), "--repeats", str(bench.sizes.render_repeats)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT, env=child_env(), preexec_fn=die_with_parent)
        if done.returncode != 0:
            raise BenchError(f"bench.render failed: {done.stderr.strip()[-300:]}")
        data = json.loads(done.stdout)
        ours, baseline = data["ours"], data["generate_latest"]
        yield Row(
            f"render {thousands(data['series'])} series (snapshot → text + gzip)",
            f"{ms(ours)} (text alone {ms(data['text_only'])})",
            f"generate_latest {ms(baseline)}",
            ours / baseline,
            "≤ 1× (never slower)",
            ours <= baseline,
        )


# --- 5, 6. scrape latency, idle and while polling --------------------------------------


def paired_load(bench: Bench, ours_port: int, static_port: int, gzip: bool, concurrency: int, seconds: float) -> tuple[LoadResult, LoadResult]:
    """Both servers under the same load, in alternating halves so drift hits both alike."""
    ours, static = LoadResult(), LoadResult()
    for _ in range(2):
        for port, into in ((ours_port, ours), (static_port, static)):
            half = bench.load(Load(port, gzip=gzip, concurrency=concurrency, duration=seconds / 2))
            into.latencies += half.latencies
    return ours, static


def scrape_latency(bench: Bench) -> Iterator[Row]:
    """GET /metrics of an idle exporter vs the same bytes from a static server, then
    GET /metrics of an exporter that polls and re-renders all the time vs idle."""
    s = bench.sizes
    sim = bench.simulator("sim-scrape", agents=s.scrape_agents, campaigns=s.targets, latency=s.api_latency)
    idle = bench.exporter("exporter-idle", sim, poll_interval=3600)
    time.sleep(SETTLE_SECONDS)
    plain, compressed = idle.metrics(), idle.metrics(gzip=True)
    check_gzip_copy(plain.body, compressed.body)
    series = series_count(plain.body)
    static_port = bench.static_server("static-server", plain.body, compressed.body)
    idle_one_scraper: dict[bool, LoadResult] = {}
    for gzip in (False, True):
        for concurrency in (1, 4):
            ours, static = paired_load(bench, idle.port, static_port, gzip, concurrency, s.scrape_seconds)
            if concurrency == 1:
                idle_one_scraper[gzip] = ours
            size = len(compressed.body if gzip else plain.body)
            yield Row(
                f"GET /metrics {thousands(series)} series, {encoding(gzip)} {size / MB:.1f} MB, {concurrency} scraper{'s' if concurrency > 1 else ''}",
                p50_p99(ours),
                "static " + p50_p99(static),
                p99(ours) / p99(static),
                "p99 ≤ 1.5×",
                p99(ours) / p99(static) <= 1.5,
            )
    bench.procs.stop("static-server")
    bench.procs.stop("exporter-idle")
    yield from scrape_while_busy(bench, sim, idle_one_scraper, series)


def encoding(gzip: bool) -> str:
    return "gzip" if gzip else "plain"


def scrape_while_busy(bench: Bench, sim: Simulator, idle: dict[bool, LoadResult], series: int) -> Iterator[Row]:
    """The same scrapes (1 scraper, plain and gzip) on an exporter polling every target
    every second (the shortest interval allowed), so that parsing and rendering run
    through the whole measurement: every scrape meets a poll round in progress."""
    s = bench.sizes
    busy = bench.exporter("exporter-busy", sim, poll_interval=s.busy_poll_interval)
    time.sleep(SETTLE_SECONDS)
    for gzip in (False, True):
        cpu_before, started = cpu_seconds(busy.pid), time.monotonic()
        result = bench.load(Load(busy.port, gzip=gzip, concurrency=1, duration=s.busy_seconds))
        busy_share = (cpu_seconds(busy.pid) - cpu_before) / (time.monotonic() - started)
        ratio = p99(result) / p99(idle[gzip])
        yield Row(
            f"GET /metrics {thousands(series)} series, {encoding(gzip)}, polling+rendering every {s.busy_poll_interval:g} s",
            f"p99 {ms(p99(result))} (exporter CPU {busy_share * 100:.0f} %)",
            f"idle p99 {ms(p99(idle[gzip]))}",
            ratio,
            "p99 ≤ 2×",
            ratio <= 2,
        )


# The figures in the order they run, by the name `--figure` selects them with.
FIGURES: tuple[tuple[str, Callable[[Bench], Iterator[Row]]], ...] = (
    ("round", poll_round),
    ("small", small),
    ("large", large),
    ("render", render),
    ("scrape", scrape_latency),
)

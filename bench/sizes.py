"""How big each figure is, full and quick (the same figures, smaller and shorter).

The contact centers follow the exporter's model: one account-wide call per poll
interval with every agent, plus the campaigns and queues discovery finds, each polled
every discovery interval. An account of N agents has N/100 campaigns and N/50 queues,
each capped at 100, so the discovered targets stay within discovery's default
`max_targets` (200) and the benchmark runs the default config: 2,000 agents are 20
campaigns and 40 queues (docs/metrics.md's example account), 20,000 and more are 100
and 100. The simulator answers in the live service's style (wrapped, numbers as
strings, agents keyed by user_id, extra fields), and every agent's series are published
(`max_agents_per_target` covers the largest account), the costliest case.
"""

from __future__ import annotations

from dataclasses import dataclass

# The poll interval the CPU goals are stated for, and discovery's default interval.
GOAL_POLL_INTERVAL = 15.0
GOAL_DISCOVERY_INTERVAL = 60.0
MAX_CAMPAIGNS = 100
MAX_QUEUES = 100


def campaigns_for(agents: int) -> int:
    return max(1, min(MAX_CAMPAIGNS, agents // 100))


def queues_for(agents: int) -> int:
    return max(campaigns_for(agents), min(MAX_QUEUES, agents // 50))


@dataclass(frozen=True)
class Sizes:
    quick: bool
    # Figure: one poll round (many explicit targets against a slow API).
    round_targets: int = 200
    round_concurrency: int = 16
    round_latency: float = 0.25
    round_agents_per_target: int = 10
    # Figures: CPU, memory and series of the model at each account size. Goals are
    # judged at the sizes that have one (CPU_GOALS, RSS_GOALS); the others are reported.
    model_agents: tuple[int, ...] = (2_000, 5_000, 20_000, 50_000, 100_000)
    api_latency: float = 0.25
    max_agents_per_target: int = 100_000
    # The intervals the runs really poll at, and how long CPU is measured. When shorter
    # than the goal's intervals the CPU share is scaled to them (quick only).
    poll_interval: float = GOAL_POLL_INTERVAL
    discovery_interval: float = GOAL_DISCOVERY_INTERVAL
    cpu_window: float = 60.0
    # Figure: the per-agent cost of each stage (decode + parse, derive, render), in-process.
    stage_agents: tuple[int, ...] = (2_000, 20_000, 100_000)
    stage_repeats: int = 5
    # Figure: render, ours vs prometheus_client.
    render_series: tuple[int, ...] = (1_000, 10_000, 100_000)
    render_repeats: int = 5
    # Figures: scrape latency (agents chosen for about 100k series) and scrape while busy.
    scrape_agents: int = 25_000
    scrape_seconds: float = 10.0
    busy_seconds: float = 15.0
    busy_poll_interval: float = 1.0
    # Figure: naive exporter (scrapes per scraper; ours is cheap, so it gets more).
    naive_agents: int = 2_000
    naive_scrapes: int = 20
    ours_scrapes: int = 200
    # Figure: the worst scrapes while polling the model, by account size (bench/busy.py, issue #20).
    design_agents: tuple[int, ...] = (5_000, 20_000, 50_000)
    design_window: float = 60.0
    design_busy_window: float = 20.0
    design_pace: float = 0.25


# Goals by account size: CPU (% of one core at the goal's intervals), peak RSS (MB).
CPU_GOALS: dict[int, float] = {50_000: 3.0}
RSS_GOALS: dict[int, float] = {5_000: 60.0, 50_000: 150.0}

FULL = Sizes(quick=False)
QUICK = Sizes(
    quick=True,
    round_latency=0.1,
    model_agents=(2_000, 5_000),
    api_latency=0.02,
    poll_interval=1.0,
    discovery_interval=4.0,
    cpu_window=2.0,
    stage_agents=(2_000, 20_000),
    stage_repeats=1,
    render_series=(1_000, 10_000),
    render_repeats=1,
    scrape_agents=5_000,
    scrape_seconds=0.8,
    busy_seconds=2.0,
    naive_agents=500,
    naive_scrapes=5,
    ours_scrapes=50,
    design_agents=(2_000,),
    design_window=3.0,
)

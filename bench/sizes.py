"""How big each figure is, full and quick (the same figures, smaller and shorter)."""

from __future__ import annotations

from dataclasses import dataclass

# The poll interval the CPU goals are stated for.
GOAL_POLL_INTERVAL = 15.0


@dataclass(frozen=True)
class Sizes:
    quick: bool
    # Figure: one poll round.
    round_targets: int = 200
    round_concurrency: int = 16
    round_latency: float = 0.25
    round_agents_per_target: int = 10
    # Figures: CPU and memory while polling (and the naive exporter, on the small one).
    targets: int = 20
    small_agents: int = 5_000
    large_agents: int = 50_000
    api_latency: float = 0.25
    max_agents_per_target: int = 5_000
    # The interval the CPU runs really poll at, and how long CPU is measured. When it is
    # shorter than GOAL_POLL_INTERVAL the CPU share is scaled to that interval (quick only).
    cpu_poll_interval: float = GOAL_POLL_INTERVAL
    cpu_window: float = 120.0
    # Figure: render.
    render_series: tuple[int, ...] = (1_000, 10_000, 100_000)
    render_repeats: int = 5
    # Figures: scrape latency (agents chosen for about 100k series) and scrape while busy.
    scrape_agents: int = 25_000
    scrape_seconds: float = 10.0
    busy_seconds: float = 15.0
    busy_poll_interval: float = 1.0
    # Figure: naive exporter (scrapes per scraper; ours is cheap, so it gets more).
    naive_scrapes: int = 20
    ours_scrapes: int = 200


FULL = Sizes(quick=False)
QUICK = Sizes(
    quick=True,
    round_latency=0.1,
    large_agents=20_000,
    api_latency=0.02,
    cpu_poll_interval=1.0,
    cpu_window=3.0,
    render_repeats=1,
    scrape_agents=5_000,
    scrape_seconds=0.8,
    busy_seconds=2.0,
    naive_scrapes=5,
    ours_scrapes=50,
)

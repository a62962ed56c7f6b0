"""`--demo`: a living contact center with no account.

Starts the simulator in-process on an ephemeral loopback port and gives the
exporter a preset config pointing at it, with no target list: the account is
polled and every campaign and queue is discovered from it, as a new user's
config would. The only module of the exporter that imports the simulator.
"""

from __future__ import annotations

import secrets

from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings, PerformanceSettings

DEMO_AGENTS = 60
DEMO_POLL_INTERVAL = 5.0
# Discovered targets are polled less often in real use (60 s); the demo shows them moving.
DEMO_DISCOVERY_INTERVAL = 15.0


async def start_demo(*, agents: int = DEMO_AGENTS, seed: int = 7, style: str = "documented",
                     count_style: str = "documented"):
    """Start the simulator answering in `style` (documented, or live: the live service's
    known differences) and counting agents by `count_style`; return it with the preset
    config. Close it with `await sim.close()`."""
    from convoso_exporter.simulator import ContactCenter, Simulator

    center = ContactCenter(agents=agents, campaigns=3, queues=4, seed=seed)
    # A fresh random token per run: the demo never has a fixed credential to leak.
    token = secrets.token_urlsafe(16)
    sim = Simulator(center, token=token, style=style, count_style=count_style)
    await sim.start("127.0.0.1", 0)
    return sim, demo_config(sim.base_url, token)


def demo_config(base_url: str, token: str) -> Config:
    return Config(
        convoso=ConvosoSettings(base_url=base_url, auth_token=token, timeout=5.0, concurrency=4, max_backoff=20.0),
        poll_interval=DEMO_POLL_INTERVAL,
        discovery=DiscoverySettings(interval=DEMO_DISCOVERY_INTERVAL),
        # Agent-performance every 5 min in real use; the demo shows its figures moving too.
        performance=PerformanceSettings(interval=DEMO_DISCOVERY_INTERVAL),
    )

"""`--demo`: a living contact center with no account.

Starts the simulator in-process on an ephemeral loopback port and gives the
exporter a preset config pointing at it: one target per campaign and per queue,
one skill-filtered target and the whole account. The only module of the
exporter that imports the simulator.
"""

from __future__ import annotations

import secrets

from convoso_exporter.config.schema import Config, ConvosoSettings, Target

DEMO_AGENTS = 60
DEMO_POLL_INTERVAL = 5.0


async def start_demo(*, agents: int = DEMO_AGENTS, seed: int = 7):
    """Start the simulator; return it with the preset config. Close it with `await sim.close()`."""
    from convoso_exporter.simulator import ContactCenter, Simulator

    center = ContactCenter(agents=agents, campaigns=3, queues=4, seed=seed)
    # A fresh random token per run: the demo never has a fixed credential to leak.
    token = secrets.token_urlsafe(16)
    sim = Simulator(center, token=token)
    await sim.start("127.0.0.1", 0)
    return sim, demo_config(sim.base_url, token, center)


def demo_config(base_url: str, token: str, center) -> Config:
    targets = [Target(name="all-agents")]
    targets += [Target(name=f"campaign-{cid}", campaign_id=cid) for cid in center.campaign_ids()]
    targets += [Target(name=f"queue-{qid}", queue_id=qid) for qid in center.queue_ids()]
    targets.append(Target(name="spanish-speakers", skills=("spanish",)))
    return Config(
        convoso=ConvosoSettings(base_url=base_url, auth_token=token, timeout=5.0, concurrency=4, max_backoff=20.0),
        poll_interval=DEMO_POLL_INTERVAL,
        agent_metrics=True,
        max_agents_per_target=5000,
        targets=tuple(targets),
    )

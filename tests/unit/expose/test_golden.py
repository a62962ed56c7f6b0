"""Golden exposition: the simulator with a fixed seed and clock, polled over real
loopback HTTP by the real client and poller, rendered by the real renderer, must
produce exactly the committed text. Any change to what users scrape shows up here
as a reviewable diff.

The targets are what a config with discovery and one explicit slice gives: the account,
every discovered campaign and queue, a skill target, and the optional endpoints' calls
beside the account and the campaigns (user-activity, agent-performance).

Regenerate after an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/unit/expose/test_golden.py`.
"""

from __future__ import annotations

import asyncio
import os
import platform
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Config, Target
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.endpoints import Endpoints
from convoso_exporter.poll.plan import ACCOUNT_NAME, budget_per_minute, plan
from convoso_exporter.poll.poller import Poller
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator
from tests.support import FIXTURES_DIR

GOLDEN = FIXTURES_DIR / "golden" / "exposition.txt"
GOLDEN_OPENMETRICS = FIXTURES_DIR / "golden" / "exposition.openmetrics.txt"
TOKEN = "golden-token"
# 2026-11-24 10:00:00 UTC: a weekday morning, so the center is busy.
WALL = 1795514400.0
SIMULATED_SECONDS = 1800

CONFIG = Config(targets=(Target(name="spanish", skills=("spanish",)),))

# Families whose values come from the agents list and the root counters: the part of
# the exposition both response styles must agree on.
# (Not convoso_agents: the live style blanks queue_id for some agents, as the live
# service does, so the breakdown puts them under queue_id="".)
AGGREGATES = (
    "convoso_agent_count",
    "convoso_agent_ready",
    "convoso_agent_incall",
    "convoso_agent_paused",
    "convoso_target_agents",
    "convoso_target_agents_status_time_seconds",
    "convoso_target_agents_status_time_max_seconds",
    "convoso_target_agents_calls_today",
    "convoso_queue_dialable_leads",
    "convoso_queue_calls_today",
    "convoso_queue_answered_today",
    "convoso_queue_dropped_today",
    "convoso_calls_today",
    "convoso_calls_answered_today",
    "convoso_calls_dropped_today",
)


async def render_simulated(style: str, openmetrics: bool = False) -> str:
    clock = FakeClock(0.0)
    # machine_share=0: the center these files were made from (answering machines, added
    # later, change the numbers, not what users scrape).
    center = ContactCenter(agents=12, campaigns=2, queues=2, seed=42, clock=clock, start_wall=WALL, machine_share=0.0)
    clock.advance(SIMULATED_SECONDS)
    sim = Simulator(center, token=TOKEN, style=style)
    await sim.start("127.0.0.1", 0)
    try:
        async with ConvosoClient(sim.base_url, TOKEN) as client:
            poller = Poller(plan(CONFIG, (), None), client, interval=15.0, max_backoff=60.0,
                            clock=lambda: 0.0, wall=lambda: WALL,
                            max_requests_per_minute=CONFIG.convoso.max_requests_per_minute)
            await poller.poll_once(ACCOUNT_NAME)
            discovery = Discovery(CONFIG.discovery)
            found = discovery.update(poller.states[ACCOUNT_NAME].snapshot, WALL)
            targets = plan(CONFIG, found.targets, None)
            poller.replace(targets)
            for target in targets[1:]:
                await poller.poll_once(target.name)
            renderer = MetricsRenderer(agent_metrics=True, max_agents_per_target=5000, process_metrics=False)
            info = ExporterInfo(version="golden", targets=Counter(t.kind for t in targets), reload_ok=True,
                                reload_timestamp=WALL, budget_per_minute=budget_per_minute(targets, 15.0),
                                discovered=found.counts, stretch=poller.stretch,
                                ceiling_wait_seconds=poller.ceiling_wait_seconds,
                                endpoints=Endpoints(CONFIG).enabled())
            exposition = renderer.render(poller.states.values(), ApiStats(), WALL, info)
            body = exposition.om_body if openmetrics else exposition.body
    finally:
        await sim.close()
    # The values that depend on the interpreter and the commit running the test.
    text = body.decode().replace(f'python_version="{platform.python_version()}"', 'python_version="X"')
    return text.replace(f'revision="{info.revision}"', 'revision="X"')


def test_exposition_matches_the_golden_file():
    text = asyncio.run(render_simulated("documented"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_golden_file_is_a_busy_living_center():
    # Guards the golden file itself: regenerated from a broken simulator it would be
    # "equal" and useless.
    families = {f.name: f for f in text_string_to_metric_families(GOLDEN.read_text())}
    statuses = {s.labels["status"] for s in families["convoso_agents"].samples if s.value > 0}
    assert {"READY", "INCALL"} <= statuses
    assert sum(s.value for s in families["convoso_agents"].samples) == 12
    ups = {s.labels["target"]: s.value for s in families["convoso_up"].samples}
    assert ups == dict.fromkeys(["account", "campaign:1001", "campaign:1002", "queue:2001", "queue:2002", "spanish"], 1.0)
    answered = {s.labels["target"]: s.value for s in families["convoso_queue_answered_today"].samples}
    assert answered["account"] > 0
    agents = [s.labels["user_id"] for s in families["convoso_agent_info"].samples]
    assert len(agents) == len(set(agents)) == 12


def aggregate_samples(text: str) -> set[tuple]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        if family.name in AGGREGATES
        for sample in family.samples
    }


def test_live_style_gives_the_same_aggregates_as_documented():
    # Same center, same moment: wrapped payloads, numbers as strings and "-" empties
    # must not change a single aggregate the exporter publishes.
    documented = asyncio.run(render_simulated("documented"))
    live = asyncio.run(render_simulated("live"))
    assert aggregate_samples(live) == aggregate_samples(documented)
    assert len(aggregate_samples(documented)) > 50


def test_openmetrics_exposition_matches_its_golden_file():
    text = asyncio.run(render_simulated("documented", openmetrics=True))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_OPENMETRICS.write_text(text)
    assert text == GOLDEN_OPENMETRICS.read_text()


def test_openmetrics_golden_says_what_text_cannot_and_holds_the_same_samples():
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

    om = {f.name: f for f in openmetrics_families(GOLDEN_OPENMETRICS.read_text())}
    assert om["convoso_agents_status_time_seconds"].type == "gaugehistogram"
    assert om["convoso_agents_calls_today"].type == "gaugehistogram"
    assert om["convoso_agent_count"].type == "unknown"
    assert om["convoso_agent_status_time_seconds"].unit == "seconds"
    assert om["convoso_exporter_api_requests"].type == "counter"  # counters (their _created: test_openmetrics.py)
    # Every sample of text 0.0.4 is in OpenMetrics with the same value.
    text = {(s.name, tuple(sorted(s.labels.items())), s.value)
            for f in text_string_to_metric_families(GOLDEN.read_text()) for s in f.samples}
    both = {(s.name, tuple(sorted(s.labels.items())), s.value)
            for f in om.values() for s in f.samples}
    assert text <= both
    assert {name for name, _, _ in both - text} == {name for name, _, _ in both if name.endswith("_created")}

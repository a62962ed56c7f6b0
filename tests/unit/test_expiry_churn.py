"""Bounded state under churn: campaigns and queues that appear and vanish every poll.

The exporter's real poll path on a fake clock: the simulator behind the in-process
transport ▶ `ConvosoClient` ▶ `Poller.poll_once` (deriving with `Deriver`) ▶ discovery
and `Poller.replace` after each account answer (as the collector does) ▶ `MetricsRenderer`.
Every poll the simulator gets a new campaign (agents move into it) and a new queue, and
loses the ones the poll before added; ids are never reused. After the first minutes
(discovery's three-interval window) the series and the memory the exporter holds must be
flat: before `expiry.py`, agent time kept every (campaign, queue, status) cell it ever
saw, and from minute 4 to minute 10 the series grew by 34% and the memory by 45%.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import tracemalloc
from dataclasses import dataclass, field

import pytest

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, DiscoverySettings, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose import exposition
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.poller import Poller
from convoso_exporter.simulator import ContactCenter, FakeClock, Simulator

START = 1_790_000_000.0
TOKEN = "churn-token"
POLL = 30.0  # the account's poll interval; every poll churns
DISCOVERY = 30.0  # discovery.interval: scopes are kept 90 s after they were last seen
MINUTES = 10
TRACE_FROM = 2  # minute: the memory counted is what is allocated from then on and still held
# Allowed growth from minute 4 to minute 10, of series and of memory: the churn's own
# unevenness (how many queues the moved agents land in). Before expiry.py both grew by
# a third or more over these six minutes.
SLACK = 0.05
INFO = ExporterInfo(version="test", targets={}, reload_ok=True, reload_timestamp=None, revision="test")


@dataclass
class Run:
    series: dict[int, int] = field(default_factory=dict)  # minute -> series in the exposition
    memory: dict[int, int] = field(default_factory=dict)  # minute -> bytes the exporter holds
    bodies: dict[float, str] = field(default_factory=dict)  # wall -> exposition, when asked for
    appeared: dict[str, float] = field(default_factory=dict)  # campaign id -> wall of the one answer it was in


def churn(minutes: int = MINUTES, weigh: tuple[int, ...] = (4, MINUTES), keep_bodies: tuple[float, ...] = ()) -> Run:
    """Run the exporter against a churning account: its series at the end of each minute,
    the memory it holds at the end of the minutes in `weigh` (after TRACE_FROM)."""
    return asyncio.run(_churn(minutes, weigh, keep_bodies))


async def _churn(minutes: int, weigh: tuple[int, ...], keep_bodies: tuple[float, ...]) -> Run:
    clock = FakeClock()
    center = ContactCenter(agents=12, campaigns=2, queues=2, seed=3, clock=clock, start_wall=START)
    sim = Simulator(center, token=TOKEN, style="live")
    stats = ApiStats()
    client = ConvosoClient("http://simulator.invalid/v1", TOKEN, transport=sim.transport(), stats=stats)
    discovery = Discovery(DiscoverySettings(interval=DISCOVERY))
    renderer = MetricsRenderer(agent_metrics=True, max_agents_per_target=1000, process_metrics=False)
    account = Target("account", kind=ACCOUNT)

    def discover(state) -> None:  # what the collector does after each account answer
        if state.target.kind == ACCOUNT and state.up:
            found = discovery.update(state.snapshot, state.last_success)
            poller.replace([account, *found.targets])

    # Vanished scopes' targets fail ("Campaign not found") until dropped: not logged here,
    # where pytest would keep every record.
    quiet = logging.Logger("churn", logging.CRITICAL)
    deriver = Deriver(discovery_interval=DISCOVERY)
    poller = Poller([account], client, interval=POLL, max_backoff=60.0, on_change=discover,
                    derive=deriver.advance, clock=clock, wall=lambda: START + clock.now, logger=quiet)
    run, churned = Run(), ("", "")
    polls_a_minute = int(60 / POLL)
    try:
        for poll in range(minutes * polls_a_minute):
            if poll >= TRACE_FROM * polls_a_minute:
                # A full collection empties the interpreter's free lists: what is built
                # from objects parked there is traced where it was first allocated,
                # so each poll starts from the same, empty, free lists.
                gc.collect()
                if not tracemalloc.is_tracing():
                    tracemalloc.start()
            clock.now = poll * POLL
            wall = START + clock.now
            churned = _next_scopes(center, churned)
            run.appeared[churned[0]] = wall
            await poller.poll_once("account")
            for name, state in poller.states.items():
                if name != "account" and (state.last_attempt is None or wall - state.last_attempt >= DISCOVERY):
                    await poller.poll_once(name)
            minute, second = divmod(int(clock.now + POLL), 60)
            if second == 0 or wall in keep_bodies:
                rendered = renderer.render(list(poller.states.values()), stats, wall, INFO)
                if wall in keep_bodies:  # as text: allocated here, not counted as the exporter's
                    run.bodies[wall] = rendered.body.decode()
                if second == 0:
                    run.series[minute] = rendered.series
                del rendered
                if second == 0 and minute in weigh:
                    run.memory[minute] = _exporter_memory()
    finally:
        tracemalloc.stop()
        await client.aclose()
    return run


def _next_scopes(center: ContactCenter, churned: tuple[str, str]) -> tuple[str, str]:
    """A new campaign (three agents move in) and a new queue of campaign 1001 (two agents);
    the ones the poll before added go (their agents move to the queues left)."""
    campaign = center.add_campaign(agents=3)
    queue = center.add_queue("1001", agents=2)
    old_campaign, old_queue = churned
    if old_campaign:
        center.remove_campaign(old_campaign)
        center.remove_queue(old_queue)
    return campaign, queue


def _exporter_memory() -> int:
    """Bytes allocated by the exporter's own code since tracing began and still held.
    Not the simulator's (it keeps every removed queue for its ground truth), nor two
    bounded caches that fill whatever the scopes: the renderer's memo of formatted
    sample values (at most 100,000, filled by the values counters pass through) and
    CPython's attribute cache (4,096 slots keyed by the name string's address, so every
    `getattr(x, path[10:])` can keep one more string until its slot is taken)."""
    exposition._VALUE_LINE.clear()
    sys._clear_type_cache()
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*/convoso_exporter/*"), tracemalloc.Filter(False, "*/simulator/*")])
    return sum(stat.size for stat in snapshot.statistics("filename"))


GONE_AT = START + 300  # one campaign that is in the account's answer at this poll only
KEPT = (GONE_AT + 90, GONE_AT + 120, GONE_AT + 150)  # the polls after it: 3, 4 and 5 intervals


@pytest.fixture(scope="module")
def run() -> Run:
    return churn(keep_bodies=KEPT)


def test_series_and_memory_are_flat_under_campaign_and_queue_churn(run):
    print(f"churn, {MINUTES} simulated minutes: series {run.series}, exporter memory {run.memory}")
    assert run.series[MINUTES] <= run.series[4] * (1 + SLACK), run.series
    assert run.memory[MINUTES] <= run.memory[4] * (1 + SLACK), run.memory


def test_a_gone_campaigns_series_stay_three_intervals_then_go(run):
    ident = next(ident for ident, wall in run.appeared.items() if wall == GONE_AT)
    counter = f'convoso_calls_total{{target="campaign:{ident}"}}'
    agent_time = f'convoso_agents_status_seconds_total{{campaign_id="{ident}"'
    # Its target's day counters: its last answer was at GONE_AT, its data is served for three
    # discovery intervals, and discovery drops the target once it has been absent longer.
    # Its agent time: its agents left between GONE_AT and the next poll (their last
    # increase), then three intervals more.
    published = [(any(line.startswith(counter) for line in body.splitlines()),
                  any(line.startswith(agent_time) for line in body.splitlines()))
                 for body in (run.bodies[wall] for wall in KEPT)]
    assert published == [(True, True), (False, True), (False, False)]

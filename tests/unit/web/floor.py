"""A small contact center as the exporter holds it, for the page and JSON tests: the
account answer (agents in two campaigns and three queues, one listed twice, hostile
names), the campaign and queue targets' own answers, and a fake backend serving them."""

from __future__ import annotations

import asyncio
import gzip
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import AsyncIterator, NamedTuple

import httpx

from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.model import Agent, CallData, Scope, SearchResult
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, QUEUE, USER_ACTIVITY, Target
from convoso_exporter.poll.state import TargetState
from convoso_exporter.web.board import View
from convoso_exporter.web.routes import ExporterServer, ReloadError

NOW = 1_800_000_000.0
HOSTILE = '<img src=x onerror="window.__pwned=1"></script><b>x</b> & "q"\n'


def agent(user_id: str, status: str | None, seconds: int | None, campaign: str = "1001", queue: str = "2001",
          **fields) -> Agent:
    names = {"1001": "Sales", "1002": "Renewals"}
    queues = {"2001": "Sales Main", "2002": "Sales Spanish", "2003": "Renewals Main"}
    return Agent(
        user_id=user_id,
        user_full_name=fields.pop("user_full_name", f"Agent {user_id}"),
        status=status,
        status_time_sec=seconds,
        calls_today=fields.pop("calls_today", 10),
        total_calls=3,
        campaign_id=campaign,
        campaign_name=names.get(campaign),
        queue_id=queue,
        queue_name=queues.get(queue),
        extension="1" + user_id[-3:],
        skill_options=fields.pop("skill_options", ("english",)),
        **fields,
    )


ACCOUNT_AGENTS = (
    agent("100001", "READY", 700),  # red (READY 600 s)
    agent("100002", "READY", 20),
    agent("100003", "INCALL", 95, queue="2002", skill_options=("spanish",)),
    agent("100004", "PAUSED", 1000),  # orange (PAUSED 900 s)
    agent("100005", "WRAP", 10, campaign="1002", queue="2003"),
    agent("100006", "LOGGED_OUT", 4000, campaign="1002", queue="2003"),
    agent("100007", "LUNCH", 300, campaign="1002", queue="2003", user_full_name=HOSTILE),
    agent("100002", "INCALL", 5),  # listed twice: the first entry wins
    agent("100008", "INCALL", 400, campaign="1002", queue="2003"),
)


def answer(agents: tuple[Agent, ...], leads: int, calls: int, answered: int, dropped: int) -> SearchResult:
    return SearchResult(
        agents=agents,
        call_data=CallData(total_calls=calls, answered=answered, dropped=dropped),
        queue_dialable_leads=leads,
        queue_calls_today=calls,
        queue_answered=answered,
        queue_dropped=dropped,
        agent_total=len(agents),
        agent_ready=sum(a.status == "READY" for a in agents),
        agent_incall=sum(a.status == "INCALL" for a in agents),
        agent_paused=sum(a.status == "PAUSED" for a in agents),
        campaigns=(Scope("1001", "Sales"), Scope("1002", "Renewals")),
        queues=(Scope("2001", "Sales Main"), Scope("2002", "Sales Spanish"), Scope("2003", "Renewals Main")),
    )


def ok(target: Target, result: SearchResult, age: float = 3.0, stale_after: float = 45.0) -> TargetState:
    state = TargetState(target, stale_after=stale_after)
    return state.succeeded(result, wall=NOW - age, duration=0.25)


def floor_states(account_age: float = 3.0) -> dict[str, TargetState]:
    account = Target("account", kind=ACCOUNT)
    sales = Target("campaign:1001", campaign_id="1001", kind=CAMPAIGN, campaign_name="Sales")
    renewals = Target("campaign:1002", campaign_id="1002", kind=CAMPAIGN, campaign_name="Renewals")
    spanish = Target("queue:2002", queue_id="2002", kind=QUEUE, queue_name="Sales Spanish")
    custom = Target("spanish-speakers", skills=("spanish",))
    in_sales = tuple(a for a in ACCOUNT_AGENTS if a.campaign_id == "1001")
    states = [
        ok(account, answer(ACCOUNT_AGENTS, 9000, 3000, 1500, 30), age=account_age, stale_after=15.0),
        ok(sales, answer(in_sales, 6000, 2000, 1000, 40), age=20.0),  # 4.00%: red
        ok(renewals, answer((), 3000, 1000, 500, 5), age=20.0),  # 1.00%
        ok(spanish, answer(in_sales[2:3], 100, 0, 0, 0), age=20.0),  # nothing answered: no rate
        TargetState(custom),  # never polled
    ]
    return {state.target.name: state for state in states}


def with_service_counts(states: dict[str, TargetState]) -> dict[str, TargetState]:
    """`states` and the user-activity targets beside the account (fresh) and campaign 1001
    (stale): Convoso's own counts of logged-in and available agents."""
    beside = [
        ok(Target("user_activity:account", kind=USER_ACTIVITY, scope="account"), UserActivity(8, 3), stale_after=45.0),
        ok(Target("user_activity:campaign:1001", campaign_id="1001", kind=USER_ACTIVITY, scope="campaign:1001"),
           UserActivity(4, None), age=200.0),
    ]
    return {**states, **{state.target.name: state for state in beside}}


def view(states: dict[str, TargetState] | None = None, **settings) -> View:
    return View(
        states=MappingProxyType(states if states is not None else floor_states()),
        generation=settings.pop("generation", 7),
        poll_interval=15.0,
        api_calls_per_minute=settings.pop("api_calls_per_minute", 7.0),
        **settings,
    )


class Exposition(NamedTuple):
    """The shape of convoso_exporter.expose.cache.Exposition; the server reads only these fields."""

    body: bytes
    gzip_body: bytes
    series: int


def make_exposition(series: int = 3000) -> Exposition:
    lines = ["# HELP convoso_agents Agents by status.", "# TYPE convoso_agents gauge"]
    lines += [f'convoso_agents{{target="t{i % 7}",status="S{i}"}} {i}' for i in range(series)]
    body = ("\n".join(lines) + "\n").encode()
    return Exposition(body, gzip.compress(body), series)


class FakeBackend:
    """What the server reads, held in attributes a test can change."""

    version = "1.2.3-test"

    def __init__(self, current: View | None = None) -> None:
        self.current = make_exposition()
        self.is_ready = False
        self.current_view = current or view({})
        self.reload_error: str | None = None
        self.stuck_reason: str | None = None
        self.reload_started = asyncio.Event()
        self.reload_may_finish: asyncio.Event | None = None

    def exposition(self) -> Exposition:
        return self.current

    def ready(self) -> bool:
        return self.is_ready

    def not_ready_reason(self) -> str:
        return "waiting for the first poll round"

    def stuck(self) -> str | None:
        return self.stuck_reason

    def view(self) -> View:
        return self.current_view

    async def reload(self) -> str:
        self.reload_started.set()
        if self.reload_may_finish is not None:
            await self.reload_may_finish.wait()
        if self.reload_error:
            raise ReloadError(self.reload_error)
        return "config reloaded: 2 targets"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


@asynccontextmanager
async def serving(backend: FakeBackend, **options) -> AsyncIterator[tuple[ExporterServer, httpx.AsyncClient]]:
    """The server on a loopback port, its clock at NOW, and a client for it."""
    server = ExporterServer(backend, wall=lambda: NOW, **options)
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            yield server, client
    finally:
        await server.close()


def drift_report():
    """The shape telemetry after two live-style answers, one read by the reference, and an
    unknown field whose name and example try to break the page."""
    from convoso_exporter.api.drift import Drift, Tally

    drift = Drift(clock=lambda: NOW - 30)
    for fallback in (None, "a byte-order mark"):
        tally = Tally("search", "tok")
        tally.note("agents.calls_today", "number_as_text", "52")
        tally.note("data.entries", "wrapped")
        tally.fallback = fallback
        drift.add(tally)
    hostile = Tally("search", "tok")
    hostile.unknown("agents.", "<b>x</b>", "<script>alert(1)</script>")
    drift.add(hostile)
    return drift.report()

"""convoso_exporter/app.py: the exporter in one process, driven in-process.

A real `App` (client, poller, discovery, publisher, server on an ephemeral loopback port)
polls the in-process simulator over loopback. Signals, the demo and real processes are
tests/system/test_app.py's; the watchdog's exit in real time is tests/system/test_watchdog.py's.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter import publisher as publisher_module
from convoso_exporter.app import App, RunOptions
from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings, PerformanceSettings
from convoso_exporter.simulator import ContactCenter, Simulator
from convoso_exporter.web.http import Pieces

TOKEN = "app-test-token-0123456789abcdef"
AGENTS = 12
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@pytest.fixture(autouse=True)
def quick_renders(monkeypatch):
    # Renders wait at least a second after one another (publisher.py); a test need not.
    monkeypatch.setattr(publisher_module, "RENDER_COALESCE_SECONDS", 0.05)


def config_for(sim: Simulator, **changes) -> Config:
    settings = ConvosoSettings(base_url=sim.base_url, auth_token=TOKEN, timeout=changes.pop("timeout", 5.0))
    return Config(convoso=settings, poll_interval=1.0, discovery=DiscoverySettings(interval=2.0), **changes)


async def until(found: Callable[[], object], timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


def run(scenario: Callable[[App, httpx.AsyncClient, Simulator], Awaitable[None]], *, loader=None, before=None,
        deny: tuple[str, ...] = (), **changes) -> int:
    """The simulator and an App serving on 127.0.0.1:0 (`before(app)` called before it runs);
    `scenario`; then stop. The App's exit status."""

    async def main() -> int:
        sim = Simulator(ContactCenter(agents=AGENTS, campaigns=2, queues=2, seed=3), token=TOKEN, deny=deny)
        await sim.start()
        app = App(config_for(sim, **changes), RunOptions(listen_addresses=("127.0.0.1:0",)), config_loader=loader)
        if before is not None:
            before(app)
        task = asyncio.create_task(app.run())
        try:
            await until(lambda: app.server.addresses)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.server.port}", trust_env=False) as web:
                await scenario(app, web, sim)
            app.stop()
            return await asyncio.wait_for(task, 10)
        finally:
            if not task.done():
                task.cancel()
            await sim.close()

    return asyncio.run(main())


def agents_in(text: str) -> float:
    families = {family.name: family for family in text_string_to_metric_families(text)}
    return sum(sample.value for sample in families["convoso_agents"].samples)


def test_not_ready_until_the_served_metrics_hold_the_first_round_then_every_agent_once():
    seen: dict = {}

    def before(app: App) -> None:
        seen["first"] = (app.ready(), app.not_ready_reason())

    async def scenario(app: App, web: httpx.AsyncClient, sim: Simulator) -> None:
        await until(app.ready)
        seen["ready"] = (await web.get("/-/ready")).status_code
        seen["metrics"] = (await web.get("/metrics")).text
        seen["keep_for"] = app.deriver.keep_for

    assert run(scenario, before=before) == 0
    # Before the first poll: the reason is judged on the states the served exposition was rendered from.
    assert seen["first"] == (False, "waiting for the first poll of 3 of 3 targets (account, user_activity:account, "
                                    "performance:account)")
    assert seen["ready"] == 200
    assert agents_in(seen["metrics"]) == AGENTS
    # Agent-time cells of a scope gone linger three of the config's discovery intervals (2 s).
    assert seen["keep_for"] == 6.0


def test_the_exposition_is_served_from_its_pieces_in_both_formats_and_gzip():
    seen: dict = {}

    async def scenario(app: App, web: httpx.AsyncClient, sim: Simulator) -> None:
        await until(app.ready)
        published = app.publisher.published
        seen["pieces"] = published.exposition.body
        seen["plain"] = (await web.get("/metrics", headers={"Accept-Encoding": "identity"})).content
        zipped = await web.get("/metrics", headers={"Accept-Encoding": "gzip"})
        seen["gzip"] = zipped.content, zipped.headers.get("content-encoding")
        seen["om"] = (await web.get("/metrics", headers={"Accept": OPENMETRICS, "Accept-Encoding": "identity"})).text
        seen["same"] = app.publisher.published is published

    assert run(scenario) == 0
    assert isinstance(seen["pieces"], Pieces) and len(seen["pieces"].parts) > 10
    if seen["same"]:  # no render between the requests: byte for byte what was published
        assert seen["plain"] == seen["pieces"].joined()
    body, encoding = seen["gzip"]
    # httpx inflates it; the header says it came gzipped.
    assert encoding == "gzip" and agents_in(body.decode()) == AGENTS
    assert agents_in(seen["plain"].decode()) == AGENTS
    # The request-rate ceiling reaches the poller and the exporter's own figures.
    assert "convoso_exporter_api_ceiling_calls_per_minute 300.0" in seen["plain"].decode()
    assert seen["om"].endswith("# EOF\n")
    assert sum(s.value for f in om_families(seen["om"]) if f.name == "convoso_agents" for s in f.samples) == AGENTS


def test_a_stuck_poller_fails_scrapes_and_health_instead_of_serving_old_numbers():
    """The client never answers (a bug past its own deadline): once no poll has finished for
    the bound, /metrics and /-/healthy answer 503 saying why; seen here on a clock moved on."""
    seen: dict = {}

    async def scenario(app: App, web: httpx.AsyncClient, sim: Simulator) -> None:
        await until(app.ready)
        hung = asyncio.Event()

        async def never(**_: object):
            hung.set()
            await asyncio.Event().wait()

        app.client.search = never  # type: ignore[method-assign]
        await until(hung.is_set)
        seen["before"] = (await web.get("/metrics")).status_code, (await web.get("/-/healthy")).status_code
        app._clock = lambda: time.monotonic() + app.watchdog.bound + 1
        seen["metrics"] = await web.get("/metrics")
        seen["healthy"] = await web.get("/-/healthy")

    assert run(scenario, timeout=1.0) == 0
    assert seen["before"] == (200, 200)
    assert seen["metrics"].status_code == 503 and seen["healthy"].status_code == 503
    assert "no poll has finished for" in seen["metrics"].text
    assert seen["healthy"].text.startswith("stuck: no poll has finished for")
    assert "convoso_up" not in seen["metrics"].text


def test_a_reload_says_each_config_warning_once_not_on_every_reload(caplog):
    warning = "convoso.timeout (5s) is not shorter than poll_interval (1s)"
    holder: dict = {}
    seen: list[int] = []

    async def scenario(app: App, web: httpx.AsyncClient, sim: Simulator) -> None:
        holder["config"] = app.config  # every reload reads the same file
        for _ in range(3):
            seen.append((await web.post("/-/reload")).status_code)

    with caplog.at_level(logging.WARNING, logger="convoso_exporter.app"):
        assert run(scenario, loader=lambda: holder["config"], warnings=(warning,)) == 0
    assert seen == [200, 200, 200]
    assert [r.getMessage() for r in caplog.records].count(warning) == 1


def test_a_token_without_the_agent_performance_permission_turns_off_that_endpoint_alone_until_reload(caplog):
    """The simulator refuses agent-performance search (HTTP 403): one warning, the endpoint
    off (its gauge 0, no figures), every agent-monitor series as it was and user-activity
    on; an hour later one probe is refused again; once the token may, a reload brings it
    back, every campaign's figures with it."""
    holder: dict = {}
    seen: dict = {}

    def series(text: str) -> set[tuple]:
        return {(s.name, tuple(sorted(s.labels.items()))) for f in text_string_to_metric_families(text)
                for s in f.samples}

    def performance_requests(sim: Simulator) -> int:
        return sim.requests_by_endpoint["performance"]

    async def scenario(app: App, web: httpx.AsyncClient, sim: Simulator) -> None:
        holder["config"] = app.config
        await until(lambda: app.ready() and not app.endpoints.enabled()["performance"])
        await until(lambda: 'target="campaign:1001"' in app.render_now().body.decode())
        seen["off"] = (await web.get("/metrics")).text
        seen["page"] = (await web.get("/")).text
        seen["targets"] = {state.target.kind for state in app.poller.states.values()}
        asked = performance_requests(sim)
        app.endpoints._wall = lambda: time.time() + 3600  # an hour on: one probe, refused again
        await until(lambda: performance_requests(sim) == asked + 1)
        await until(lambda: "performance" not in app.endpoints.polling())
        seen["probed"] = performance_requests(sim) - asked
        sim.deny(())  # the permission ticked in Convoso
        assert (await web.post("/-/reload")).status_code == 200
        await until(lambda: "convoso_campaign_live_answered_total" in app.render_now().body.decode(), timeout=10)
        await until(lambda: 'convoso_campaign_live_answered_total{target="campaign:1002"}'
                    in app.render_now().body.decode(), timeout=10)
        seen["back"] = app.render_now().body.decode()

    with caplog.at_level(logging.WARNING):
        assert run(scenario, loader=lambda: holder["config"], deny=("performance",),
                   performance=PerformanceSettings(interval=1.0)) == 0
    off, back = seen["off"], seen["back"]
    assert 'convoso_exporter_endpoint_enabled{endpoint="performance"} 0.0' in off
    assert 'convoso_exporter_endpoint_enabled{endpoint="user_activity"} 1.0' in off
    assert not re.search(r"convoso_campaign_(live|machine|agent)_|convoso_agent_live_answered", off)
    assert 'convoso_user_activity_agents{state="logged_in",target="account"}' in off
    assert "performance" not in seen["targets"] and seen["probed"] == 1
    assert "Tick the Agent Performance permission" in seen["page"]
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "denied" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("agent-performance search turned off")
    assert "tick the Agent Performance permission" in warned[0]
    assert 'convoso_exporter_endpoint_enabled{endpoint="performance"} 1.0' in back
    # Everything agent-monitor search gave is as it was: the same series, nothing lost or added.
    searched = {key for key in series(off) if not key[0].startswith(("convoso_exporter_", "convoso_user_activity"))}
    beside = ("convoso_exporter_", "convoso_user_activity", "convoso_campaign_live", "convoso_campaign_machine",
              "convoso_campaign_agent", "convoso_agent_live", "convoso_agent_machine", "convoso_agent_activity")
    again = {key for key in series(back) if not key[0].startswith(beside)}
    assert searched == again and agents_in(off) == AGENTS

"""convoso_exporter/collector.py: the collector's side of the channel, driven in-process.

A real `Collector` (client, poller, discovery, renderer) polls the simulator over
loopback and talks to the test's end of the socketpair exactly as it talks to the
serving process: expositions handed over in sealed memfds with the readiness they go
with, relayed requests answered, reloads, stop. The fork itself is tests/system's.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter import collector as collector_module
from convoso_exporter.app import RunOptions
from convoso_exporter.channel import Channel, mapped, socket_pair
from convoso_exporter.collector import Collector
from convoso_exporter.config.schema import Config, ConvosoSettings, DiscoverySettings
from convoso_exporter.simulator import ContactCenter, Simulator
from convoso_exporter.web.http import Request

TOKEN = "collector-test-token-0123456789"
AGENTS = 12


@pytest.fixture(autouse=True)
def quick_renders(monkeypatch):
    # Renders wait at least a second after one another (collector.py); a test need not.
    monkeypatch.setattr(collector_module, "RENDER_COALESCE_SECONDS", 0.05)


class ServingEnd:
    """The test's end of the channel: what the serving process would receive."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.expositions: list[dict] = []
        self.answers: dict[int, tuple] = {}
        self.closed = asyncio.Event()
        channel.start(self._on_message, self.closed.set)

    def _on_message(self, message: tuple, fds: list[int]) -> None:
        kind = message[0]
        if kind == "exposition":
            _, series, sizes, ready, reason = message
            plain, plain_gz, om, om_gz = (bytes(part) for part in mapped(fds[0], sizes))
            self.expositions.append({"series": series, "ready": ready, "reason": reason, "plain": plain,
                                     "plain_gz": plain_gz, "om": om, "om_gz": om_gz})
        elif kind == "response":
            status, content_type, _headers, body, size = message[2:]
            if fds:
                body = bytes(mapped(fds[0], [size])[0])
            self.answers[message[1]] = (status, content_type, body)
        else:
            self.answers[message[1]] = message[2:]

    async def ask(self, message: tuple) -> tuple:
        await self.channel.send(message)
        return await until(lambda: self.answers.get(message[1]))

    async def ready_exposition(self) -> dict:
        return await until(lambda: next((e for e in self.expositions if e["ready"]), None))


async def until(found: Callable[[], object], timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := found()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


def run(scenario: Callable[[ServingEnd, Collector, asyncio.Task], Awaitable[None]], *, loader=None) -> int:
    """Start the simulator and a collector on a socketpair; run `scenario`; return the
    collector's exit status."""

    async def main() -> int:
        sim = Simulator(ContactCenter(agents=AGENTS, campaigns=2, queues=2, seed=3), token=TOKEN)
        await sim.start()
        config = Config(
            convoso=ConvosoSettings(base_url=sim.base_url, auth_token=TOKEN, timeout=5.0),
            poll_interval=1.0,
            discovery=DiscoverySettings(interval=2.0),
        )
        ours, theirs = socket_pair()
        collector = Collector(config, RunOptions(), config_loader=loader)
        task = asyncio.create_task(collector.run(Channel(theirs)))
        serving = ServingEnd(Channel(ours))
        try:
            await scenario(serving, collector, task)
            return await asyncio.wait_for(task, 10)
        finally:
            serving.channel.close()
            if not task.done():
                task.cancel()
            await sim.close()

    return asyncio.run(main())


def agents_in(text: str) -> float:
    families = {family.name: family for family in text_string_to_metric_families(text)}
    return sum(sample.value for sample in families["convoso_agents"].samples)


def test_the_first_hand_over_is_at_once_and_not_ready_then_ready_with_every_agent_once():
    seen: dict = {}

    async def scenario(serving: ServingEnd, collector: Collector, task: asyncio.Task) -> None:
        first = await until(lambda: serving.expositions and serving.expositions[0])
        seen["first"] = first
        seen["ready"] = await serving.ready_exposition()
        await serving.channel.send(("stop",))

    assert run(scenario) == 0
    first, ready = seen["first"], seen["ready"]
    # Handed over before any poll finished: served, but not ready, and saying why.
    assert first["ready"] is False and first["reason"].startswith("waiting for the first poll of 1 of 1 targets")
    assert b"convoso_exporter_build_info" in first["plain"]
    # Ready once the account has answered: the breakdown holds every agent, once.
    text = ready["plain"].decode()
    assert agents_in(text) == AGENTS
    assert ready["reason"] is None
    assert gzip.decompress(ready["plain_gz"]) == ready["plain"]
    assert gzip.decompress(ready["om_gz"]) == ready["om"]
    assert ready["om"].endswith(b"# EOF\n") and not ready["plain"].endswith(b"# EOF\n")
    assert ready["series"] == sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def test_relayed_requests_are_answered_from_the_states_held_there(monkeypatch):
    # Bodies above INLINE_BODY travel in a memfd; make the snapshot one of them.
    monkeypatch.setattr(collector_module, "INLINE_BODY", 64)
    answers: dict = {}

    async def scenario(serving: ServingEnd, collector: Collector, task: asyncio.Task) -> None:
        await serving.ready_exposition()
        answers["snapshot"] = await serving.ask(("request", 1, Request("GET", "/api/v1/snapshot", {}, {}, b"")))
        answers["missing"] = await serving.ask(("request", 2, Request("GET", "/nothing-here", {}, {}, b"")))
        answers["reload"] = await serving.ask(("reload", 3))
        await serving.channel.send(("stop",))

    assert run(scenario) == 0
    status, content_type, body = answers["snapshot"]
    assert status == 200 and content_type.startswith("application/json")
    snapshot = json.loads(body)
    assert len(snapshot["agents"]) == AGENTS
    assert TOKEN not in body.decode()
    assert answers["missing"][0] == 404
    assert answers["reload"] == (True, "nothing to reload: running without a config file")


def test_a_reload_that_fails_keeps_the_running_config_and_says_why():
    from convoso_exporter.config.schema import ConfigError

    def broken() -> Config:
        raise ConfigError("config.yaml:3: poll_interval: must be at least 1s, got 0s")

    answers: dict = {}

    async def scenario(serving: ServingEnd, collector: Collector, task: asyncio.Task) -> None:
        await serving.ready_exposition()
        answers["reload"] = await serving.ask(("reload", 1))
        answers["polling"] = len(collector.poller.states)
        await serving.channel.send(("stop",))

    assert run(scenario, loader=broken) == 0
    assert answers["reload"] == (False, "config.yaml:3: poll_interval: must be at least 1s, got 0s")
    assert answers["polling"] >= 1


def test_the_collector_stops_when_the_serving_end_goes_away():
    async def scenario(serving: ServingEnd, collector: Collector, task: asyncio.Task) -> None:
        await until(lambda: serving.expositions)
        serving.channel.close()  # the serving process died

    assert run(scenario) == 0

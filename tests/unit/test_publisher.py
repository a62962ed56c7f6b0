"""convoso_exporter/publisher.py: renders after changes, publishes the exposition's pieces
with the readiness judged on the states rendered, whole; a failed render keeps the last."""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from types import MappingProxyType

import pytest

from convoso_exporter import publisher as publisher_module
from convoso_exporter.api.model import Agent, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.state import TargetState
from convoso_exporter.publisher import Frame, Publisher
from convoso_exporter.web.http import Pieces

ACCOUNT_TARGET = Target("account", kind=ACCOUNT)
ANSWER = SearchResult(agents=(Agent(user_id="1", status="READY", campaign_id="7", queue_id="9"),), agent_total=1)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(publisher_module, "RENDER_COALESCE_SECONDS", 0.01)
    monkeypatch.setattr(publisher_module, "RENDER_BATCH_SECONDS", 0.01)


class Source:
    def __init__(self) -> None:
        self.states = MappingProxyType({"account": TargetState(ACCOUNT_TARGET, stale_after=45.0)})
        self.renderer = MetricsRenderer(agent_metrics=True, max_agents_per_target=10, process_metrics=False)

    def frame(self) -> Frame:
        return Frame(self.states, ApiStats(), ExporterInfo("test", {"account": 1}, True, None), self.renderer)

    def answered(self) -> None:
        state = self.states["account"].succeeded(ANSWER, wall=time.time(), duration=0.1)
        self.states = MappingProxyType({"account": state})


async def until(found, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)
    return value


def test_the_first_exposition_is_published_at_once_not_ready_and_saying_why():
    source = Source()
    published = Publisher(source.frame, interval=lambda: 1.0, states=lambda: source.states).published
    assert isinstance(published.exposition.body, Pieces) and b"convoso_agents" not in published.exposition.body.joined()
    # What Prometheus asks for, gzip, is one buffer; the text stays in pieces.
    assert isinstance(published.exposition.gzip_body, bytes) and isinstance(published.exposition.om_gzip_body, bytes)
    assert gzip.decompress(published.exposition.om_gzip_body) == published.exposition.om_body.joined()
    assert published.readiness.reason == "waiting for the first poll of 1 of 1 targets (account)"


def test_a_change_is_published_whole_with_the_readiness_of_what_was_rendered():
    source = Source()

    async def scenario():
        publisher = Publisher(source.frame, interval=lambda: 1.0, states=lambda: source.states)
        first = publisher.published
        task = asyncio.create_task(publisher.run())
        source.answered()
        publisher.changed(prompt=True)
        pending = publisher.pending_since
        await until(lambda: publisher.published is not first)
        task.cancel()
        return pending, publisher.pending_since, publisher.published

    pending, after, published = asyncio.run(scenario())
    assert pending is not None and after is None
    assert published.readiness.ready
    assert b'convoso_agents{campaign_id="7",queue_id="9",status="READY"} 1.0' in published.exposition.body.joined()


def test_a_render_that_fails_keeps_the_last_exposition_and_the_change_pending(caplog):
    source = Source()

    async def scenario():
        publisher = Publisher(source.frame, interval=lambda: 1.0, states=lambda: source.states)
        first = publisher.published

        def broken(*args):
            raise ValueError("a bug in rendering")

        source.renderer.render_parts = broken  # type: ignore[method-assign]
        task = asyncio.create_task(publisher.run())
        publisher.changed(prompt=True)
        await until(lambda: "render failed" in caplog.text)
        task.cancel()
        return first, publisher

    with caplog.at_level(logging.ERROR):
        first, publisher = asyncio.run(scenario())
    assert publisher.published is first and publisher.pending_since is not None
    assert "render failed, serving the previous metrics: ValueError: a bug in rendering" in caplog.text


def test_data_going_stale_is_rendered_again_without_a_poll():
    source = Source()
    source.answered()
    renders: list[int] = []

    async def scenario():
        publisher = Publisher(source.frame, interval=lambda: 1.0, states=lambda: source.states)
        original = source.renderer.render_parts

        def counted(*args):
            renders.append(1)
            return original(*args)

        source.renderer.render_parts = counted  # type: ignore[method-assign]
        first = publisher.published
        task = asyncio.create_task(publisher.run())
        # The account's answer ages past its staleness (45 s) without any poll finishing.
        publisher._wall = lambda: time.time() + 60
        await until(lambda: publisher.published is not first, timeout=5.0)
        task.cancel()
        return publisher.published

    published = asyncio.run(scenario())
    assert renders and b"convoso_agents{" not in published.exposition.body.joined()

"""convoso_exporter/app.py: the serving process's side, without the fork.

What it does with what the collector sends (expositions in sealed memfds, with their
readiness), what it answers when the collector cannot, and that it stops when the
collector dies. The fork, signals and real scrapes are tests/system/test_app.py's.
"""

from __future__ import annotations

import asyncio
import gzip
import os

from convoso_exporter.app import App, RunOptions, _Sequence
from convoso_exporter.channel import seal
from convoso_exporter.config.schema import Config
from convoso_exporter.web.http import Request


def hand_over(app: App, bodies: list[bytes], ready: bool, reason: str | None, series: int = 3) -> None:
    fd, sizes = seal([[body] for body in bodies])
    app._on_message(("exposition", series, sizes, ready, reason), [fd])


def test_an_exposition_handed_over_is_served_whole_with_its_readiness():
    async def scenario():
        app = App(Config(), RunOptions())
        assert not app.ready() and app.not_ready_reason() == "waiting for the collector's first render"
        plain, om = b"up 1\n", b"up 1\n# EOF\n"
        hand_over(app, [plain, gzip.compress(plain), om, gzip.compress(om)], False, None)
        await asyncio.wait_for(app._first.wait(), 5)
        first = (bytes(app.exposition().body), app.ready(), app.not_ready_reason())
        hand_over(app, [b"up 2\n", b"", b"up 2\n# EOF\n", b""], True, None, series=4)
        await app._mapping._last
        exposition = app.exposition()
        return first, bytes(exposition.body), bytes(exposition.om_body), exposition.series, app.ready()

    first, body, om_body, series, ready = asyncio.run(scenario())
    # Not ready yet, and the reason it gives when the collector gave none.
    assert first == (b"up 1\n", False, "waiting for the metrics to include the first poll round")
    # Hand-overs are taken in the order they came: the last one is served.
    assert (body, om_body, series, ready) == (b"up 2\n", b"up 2\n# EOF\n", 4, True)


def test_hand_overs_are_taken_in_order_even_when_the_first_takes_longer():
    async def scenario() -> list[int]:
        done: list[int] = []

        async def step(n: int, delay: float) -> None:
            await asyncio.sleep(delay)
            done.append(n)

        sequence = _Sequence()
        for n, delay in enumerate([0.05, 0.0, 0.02, 0.0]):
            sequence.then(step(n, delay))
        await sequence._last
        return done

    assert asyncio.run(scenario()) == [0, 1, 2, 3]


def test_pages_get_a_one_line_503_when_the_collector_cannot_answer():
    async def scenario():
        app = App(Config(), RunOptions())
        return await app._relay(Request("GET", "/wallboard", {}, {}, b""))

    response = asyncio.run(scenario())
    assert response.status == 503
    assert response.body == b"the collector cannot answer: the collector is not running\n"


def test_when_the_collector_dies_the_exporter_stops_and_pending_answers_fail():
    async def scenario():
        app = App(Config(), RunOptions())
        pending = asyncio.get_running_loop().create_future()
        app._pending[7] = pending
        app._collector_gone()
        return app._failed, app._stopping.is_set(), app._first.is_set(), pending.exception()

    failed, stopping, first, error = asyncio.run(scenario())
    assert failed and stopping and first  # run() stops waiting for a first exposition, and exits 1
    assert isinstance(error, ConnectionError) and str(error) == "the collector process has exited"


def test_the_exporter_refuses_to_start_without_memfd_in_one_line(monkeypatch, caplog):
    monkeypatch.delattr(os, "memfd_create")
    assert asyncio.run(App(Config(), RunOptions()).run()) == 1
    assert "convoso-exporter needs Linux (memfd_create, fork); elsewhere run its container image" in caplog.text

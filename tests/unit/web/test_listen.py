"""convoso_exporter.web.listen: the accept loop logs running out of descriptors once per
episode, keeps retrying, and serves again once accepting works."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

import pytest

from convoso_exporter.web import listen
from convoso_exporter.web.listen import Listener


def test_exhaustion_is_logged_once_per_episode_and_the_end_once(monkeypatch, caplog):
    monkeypatch.setattr(listen, "ACCEPT_RETRY", 0.01)
    monkeypatch.setattr(listen, "EPISODE_QUIET", 0.3)

    async def scenario() -> list[socket.socket]:
        accepted: list[socket.socket] = []
        listener = Listener(accepted.append)
        await listener.start("127.0.0.1", 0)
        loop = asyncio.get_running_loop()
        real_accept = loop.sock_accept
        script = iter([True] * 20 + [False] + [True] * 3 + [False] * 3)  # True: out of descriptors

        async def flaky(sock):
            if next(script, False):
                raise OSError(errno.EMFILE, "Too many open files")
            return await real_accept(sock)

        monkeypatch.setattr(loop, "sock_accept", flaky)
        port = listener.sockets[0].getsockname()[1]
        clients = []
        for pause in (0.0, 0.0, 0.0, 0.4, 0.0):  # the 4th accept comes after a quiet spell
            await asyncio.sleep(pause)
            clients.append(socket.create_connection(("127.0.0.1", port)))
            await asyncio.sleep(0.3)
        await listener.close()
        for sock in clients + accepted:
            sock.close()
        return accepted

    with caplog.at_level(logging.INFO, logger="convoso_exporter.web.listen"):
        accepted = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert len(accepted) == 5
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO"], messages
    assert messages[0][1].startswith("cannot accept connections: Too many open files (open files limit ")
    assert messages[1][1].startswith("accepting connections again: 23 accepts failed over ")


def test_a_taken_port_is_an_oserror_naming_the_address():
    async def scenario():
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            with pytest.raises(OSError) as caught:
                await Listener(print).start("127.0.0.1", taken.getsockname()[1])
            return caught.value

    error = asyncio.run(scenario())
    assert error.errno == errno.EADDRINUSE and "error while attempting to bind on address" in error.strerror

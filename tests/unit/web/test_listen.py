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
            return caught.value, taken.getsockname()[1]

    error, port = asyncio.run(scenario())
    assert error.errno == errno.EADDRINUSE
    assert error.strerror == f"cannot listen on 127.0.0.1:{port}: Address already in use"


# --- which sockets an address gets ------------------------------------------------------


# The IPv6 halves skip only on a machine without an IPv6 loopback (socket.has_ipv6 and ::1 bindable).
needs_ipv6 = pytest.mark.skipif(not listen.ipv6_available(), reason="no IPv6 loopback on this machine")


def reachable(port: int) -> dict[str, bool]:
    """Whether a connection to `port` is accepted on 127.0.0.1 and on ::1."""
    seen = {}
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        if family == socket.AF_INET6 and not listen.ipv6_available():
            continue
        with socket.socket(family) as client:
            client.settimeout(2)
            seen[host] = client.connect_ex((host, port)) == 0
    return seen


def listening(host: str) -> tuple[list[tuple[int, str, int]], dict[str, bool]]:
    """Bind `host` on a free port: (family, address, IPV6_V6ONLY) per socket, and what answers."""

    async def scenario():
        sockets = await listen.bind(host, 0)
        try:
            port = sockets[0].getsockname()[1]
            shape = [(s.family, s.getsockname()[0],
                      s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) if s.family == socket.AF_INET6 else -1)
                     for s in sockets]
            return shape, await asyncio.to_thread(reachable, port)
        finally:
            for sock in sockets:
                sock.close()

    return asyncio.run(scenario())


@needs_ipv6
def test_no_host_is_one_dual_stack_socket_reached_over_ipv4_and_ipv6():
    # ":PORT" as Go's net.Listen("tcp", ":PORT"): one IPv6 socket that takes IPv4 too.
    shape, answers = listening("")
    assert shape == [(socket.AF_INET6, "::", 0)]
    assert answers == {"127.0.0.1": True, "::1": True}


def test_no_host_without_ipv6_is_ipv4_on_every_address(monkeypatch):
    monkeypatch.setattr(listen, "ipv6_available", lambda: False)
    shape, answers = listening("")
    assert shape == [(socket.AF_INET, "0.0.0.0", -1)]
    assert answers["127.0.0.1"] is True and answers.get("::1", False) is False


def test_0_0_0_0_is_ipv4_only():
    shape, answers = listening("0.0.0.0")
    assert shape == [(socket.AF_INET, "0.0.0.0", -1)]
    assert answers["127.0.0.1"] is True and answers.get("::1", False) is False


@needs_ipv6
def test_the_ipv6_wildcard_takes_ipv4_where_the_os_maps_it():
    shape, answers = listening("::")
    assert shape == [(socket.AF_INET6, "::", 0)]
    assert answers == {"127.0.0.1": True, "::1": True}


@needs_ipv6
def test_ipv6_loopback_is_ipv6_only():
    shape, answers = listening("::1")
    assert shape == [(socket.AF_INET6, "::1", 1)]
    assert answers == {"127.0.0.1": False, "::1": True}


def test_ipv4_loopback_is_ipv4_only():
    shape, answers = listening("127.0.0.1")
    assert shape == [(socket.AF_INET, "127.0.0.1", -1)]
    assert answers["127.0.0.1"] is True and answers.get("::1", False) is False


def test_a_host_that_does_not_resolve_is_named():
    async def scenario():
        with pytest.raises(OSError) as caught:
            await listen.bind("nowhere.invalid", 0)
        return caught.value

    assert asyncio.run(scenario()).strerror.startswith("cannot resolve nowhere.invalid: ")


@pytest.mark.parametrize(
    ("address", "text"),
    [(("127.0.0.1", 80), "127.0.0.1:80"), (("::", 10717, 0, 0), "[::]:10717"), ("/run/x.sock", "unix:/run/x.sock")],
)
def test_shown(address, text):
    assert listen.shown(address) == text


@pytest.mark.parametrize("ours", [True, False], ids=["bound here", "handed over (systemd's)"])
def test_accepted_connections_do_not_wait_on_delayed_acks(ours):
    # Without TCP_NODELAY a response's last segment waits for the client's delayed ACK
    # (~40 ms a request): every poll of the simulator and every scrape paid it.
    async def scenario() -> int:
        accepted: asyncio.Queue[socket.socket] = asyncio.Queue()
        listener = Listener(accepted.put_nowait)
        if ours:
            await listener.start("127.0.0.1", 0)
        else:  # a socket made elsewhere, with no protocol named (as systemd passes them)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            listener.serve([sock])
        port = listener.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            conn = await asyncio.wait_for(accepted.get(), 5)
            with conn:
                nodelay = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await listener.close()
        return nodelay

    assert asyncio.run(scenario()) != 0

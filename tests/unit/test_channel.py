"""convoso_exporter/channel.py: messages and memfd-held bodies between the exporter's two processes."""

from __future__ import annotations

import asyncio
import fcntl
import os

import pytest

from convoso_exporter.channel import Channel, mapped, seal, socket_pair, unsupported


def test_sealed_bodies_map_back_whole_and_cannot_be_changed():
    parts = [[b"a" * 70_000, b"b", memoryview(b"cde")], [], [b"x" * 3000] * 2000]
    fd, sizes = seal(parts)
    assert sizes == [70_004, 0, 6_000_000]
    seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    assert seals & fcntl.F_SEAL_WRITE and seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW
    with pytest.raises(PermissionError):
        os.write(fd, b"changed")
    first, empty, third = mapped(fd, sizes)
    assert bytes(first) == b"a" * 70_000 + b"bcde" and bytes(empty) == b"" and bytes(third) == b"x" * 6_000_000
    with pytest.raises(TypeError):
        first[0] = 1  # read-only


def test_messages_and_descriptors_cross_the_pair_in_order_and_the_close_is_seen():
    async def scenario():
        a, b = socket_pair()
        left, right = Channel(a), Channel(b)
        got, closed = [], asyncio.Event()
        right.start(lambda message, fds: got.append((message, [bytes(v) for v in mapped(fds[0], message[1])]
                                                             if fds else [])), closed.set)
        left.start(lambda message, fds: None, lambda: None)
        fd, sizes = seal([[b"metrics"], [b"gz"]])
        await left.send(("exposition", sizes), [fd])
        os.close(fd)
        for i in range(500):  # more than the socket buffer holds at once
            await left.send(("n", i, "x" * 2000))
        while len(got) < 501:
            await asyncio.sleep(0.01)
        left.close()
        await asyncio.wait_for(closed.wait(), 5)
        return got

    got = asyncio.run(scenario())
    assert got[0] == (("exposition", [7, 2]), [b"metrics", b"gz"])
    assert [message[1] for message, _ in got[1:]] == list(range(500))


def test_a_system_without_memfd_is_named_in_one_line(monkeypatch):
    assert unsupported() is None  # Linux, where the suite runs
    monkeypatch.delattr(os, "memfd_create")
    assert unsupported() == "convoso-exporter needs Linux (memfd_create, fork); elsewhere run its container image"


"""What the serving process and the collector process say to each other.

One SOCK_SEQPACKET socketpair between the two (app.py makes it before forking): each
message is one small pickled tuple, with file descriptors beside it. Bodies never
travel through the socket: the sender writes them into a sealed memfd (`seal`) and
passes its descriptor; the receiver maps it read-only (`mapped`) and serves memoryview
slices of the mapping. So handing over an exposition of 35 MB costs the serving process
one mmap call, never a copy or a join holding its event loop, and the kernel's seals
(no write, no resize) make the handed-over bytes as immutable as a published state:
swapped, never edited.

Only the two processes of one exporter hold the socketpair: nobody else can send on it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import mmap
import os
import pickle
import socket
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024  # a pickled message; bodies go by memfd
MAX_FDS = 4
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL

Handler = Callable[[tuple, list[int]], None]


def unsupported() -> str | None:
    """Why this system cannot run the two processes, or None. memfd_create and
    SOCK_SEQPACKET are Linux's (the image, every supported deployment)."""
    if not hasattr(os, "memfd_create") or not hasattr(socket, "SOCK_SEQPACKET") or not hasattr(os, "fork"):
        return "convoso-exporter needs Linux (memfd_create, fork); elsewhere run its container image"
    return None


def socket_pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class Channel:
    """One end of the socketpair, on the running event loop."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def start(self, on_message: Handler, on_close: Callable[[], None]) -> None:
        """Call `on_message(message, fds)` for every message (it owns the fds), and
        `on_close()` once the other end has gone."""
        self._loop = asyncio.get_running_loop()
        self._on_message, self._on_close = on_message, on_close
        self._loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        while not self._closed:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                self.close()
                self._on_close()
                return
            try:
                message = pickle.loads(data)
            except Exception:
                log.exception("unreadable message from the other process; dropped")
                for fd in fds:
                    os.close(fd)
                continue
            self._on_message(message, fds)

    async def send(self, message: tuple, fds: Sequence[int] = ()) -> None:
        """Send `message` (and `fds`, which the caller still owns and closes)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        while True:
            if self._closed:
                raise ConnectionError("the other process has gone")
            try:
                socket.send_fds(self.sock, [data], list(fds))
                return
            except (BlockingIOError, InterruptedError):
                await self._writable()

    async def _writable(self) -> None:
        assert self._loop is not None
        ready = self._loop.create_future()
        fd = self.sock.fileno()
        self._loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            self._loop.remove_writer(fd)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


def seal(parts: Sequence[Sequence[bytes]]) -> tuple[int, list[int]]:
    """A sealed memfd holding `parts` one after the other (each given as the pieces it is
    made of, never joined here), and their sizes. The caller sends it and closes it."""
    fd = os.memfd_create("convoso-exporter", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        for pieces in parts:
            for start in range(0, len(pieces), _IOV_MAX):
                _write_all(fd, [piece for piece in pieces[start:start + _IOV_MAX] if piece])
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd, [sum(map(len, pieces)) for pieces in parts]


_IOV_MAX = 1024


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """os.writev until every byte is written (a write may take fewer)."""
    while pieces:
        written = os.writev(fd, pieces)
        while pieces and written >= len(pieces[0]):
            written -= len(pieces[0])
            pieces.pop(0)
        if written:
            pieces[0] = memoryview(pieces[0])[written:]


def mapped(fd: int, sizes: Sequence[int], populate: bool = False) -> list[Any]:
    """The parts a `seal`ed memfd holds, as read-only memoryviews of one mapping (which
    lives as long as any of them). Closes `fd`. With `populate` the pages are mapped at
    once (MAP_POPULATE): no page fault while they are served, and the process's RSS says
    what it holds."""
    try:
        total = sum(sizes)
        if not total:
            return [b""] * len(sizes)
        flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0)
        view = memoryview(mmap.mmap(fd, total, flags, mmap.PROT_READ))
    finally:
        os.close(fd)
    parts, start = [], 0
    for size in sizes:
        parts.append(view[start:start + size])
        start += size
    return parts

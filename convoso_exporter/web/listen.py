"""Accepting connections, in a way that survives running out of file descriptors.

asyncio's own accept loop (what `asyncio.start_server` runs), when `accept()` fails for
lack of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM), logs an error with a traceback and
schedules a retry, and does so for every connection waiting in the backlog, up to 100
times per wakeup, each retry scheduling more: an exporter whose descriptors ran out
wrote 3,621 log lines in 5 s. Here each listening socket has one accept loop of our own:
on such an error it logs one warning per episode (naming the error and the descriptor
limit), waits ACCEPT_RETRY seconds and tries again. An episode ends, with one info line,
at the first accept that works after EPISODE_QUIET seconds without a failure: at the
edge of the limit accepts fail and work by turns, and that is still one episode.
Connections wait in the kernel's backlog meanwhile.

Which sockets an address gets (`bind`), as Go's `net.Listen("tcp", address)` makes them
for the exporters of the ecosystem:
- `:PORT` (no host): every address, IPv6 and IPv4: one IPv6 socket on `::` that also
  takes IPv4 (IPV6_V6ONLY off, v4-mapped), where the host has IPv6 (`::1` can be bound,
  Go's own probe); otherwise one IPv4 socket on `0.0.0.0`;
- `0.0.0.0:PORT`: IPv4 only (Go would take it as "every address"; here it means what it says);
- `[::]:PORT`: IPv6, and IPv4 where the OS maps it (IPV6_V6ONLY off);
- a literal address or a host name: one socket per address it resolves to (an IPv6 one
  with IPV6_V6ONLY on, so `localhost` gets `127.0.0.1` and `::1` side by side).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ACCEPT_RETRY = 0.5  # seconds between accept attempts while a resource is exhausted
EPISODE_QUIET = 10.0  # seconds without a failed accept that end an episode
EXHAUSTED = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
BACKLOG = 100


def ipv6_available() -> bool:
    """Whether this host can listen on IPv6: an IPv6 socket can be bound to `::1` (what
    Go probes before it listens on `[::]` for an address without a host)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def shown(address: object) -> str:
    """A socket address as it is written in a listen address: `[::]:10717`, `127.0.0.1:80`."""
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"unix:{address}" if address else "unix:(unnamed)"


async def bind(host: str, port: int, backlog: int = BACKLOG) -> list[socket.socket]:
    """Listening, non-blocking sockets for `host:port` (see the module docstring); an
    OSError whose strerror names the socket address or the host that failed."""
    if not host:
        if ipv6_available():
            return _bound([(socket.AF_INET6, ("::", port), True)], backlog)
        return _bound([(socket.AF_INET, ("0.0.0.0", port), False)], backlog)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(exc.errno, f"cannot resolve {host}: {exc.strerror}") from None
    specs = [(family, address, host == "::") for family, _, _, _, address in dict.fromkeys(infos)]
    return _bound(specs, backlog)


def _bound(specs: list[tuple[int, tuple, bool]], backlog: int) -> list[socket.socket]:
    """A listening socket per (family, address, dual-stack), as `loop.create_server` makes them."""
    sockets: list[socket.socket] = []
    try:
        for family, address, dual in specs:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot listen on {shown(address)}: {exc.strerror}") from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def open_files_limit() -> str:
    """The soft limit on open files, or "unknown" where there is no such limit to read
    (the `resource` module is POSIX only)."""
    try:
        import resource
    except ImportError:
        return "unknown"
    return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


class Listener:
    """Accepts on its listening sockets (bound by `start`, or handed over to `serve`, as
    systemd's are) and hands each accepted socket to `on_connection`."""

    def __init__(self, on_connection: Callable[[socket.socket], None]) -> None:
        self._on_connection = on_connection
        self.sockets: list[socket.socket] = []
        self._tasks: list[asyncio.Task[None]] = []
        # While exhausted: (since, last failure, failed accepts), all time.monotonic().
        self._episode: tuple[float, float, int] | None = None

    async def start(self, host: str, port: int, backlog: int = BACKLOG) -> None:
        """Listen on host:port as well (see `bind`)."""
        self.serve(await bind(host, port, backlog))

    def serve(self, sockets: list[socket.socket]) -> None:
        """Accept on these listening sockets as well; they are the listener's to close."""
        loop = asyncio.get_running_loop()
        for sock in sockets:
            sock.setblocking(False)
            self.sockets.append(sock)
            self._tasks.append(loop.create_task(self._accept(sock), name="accept"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sock in self.sockets:
            sock.close()
        self._tasks, self.sockets = [], []

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in EXHAUSTED:
                    self._exhausted(exc)
                    await asyncio.sleep(ACCEPT_RETRY)
                elif exc.errno not in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    log.warning("accept failed: %s", exc)
                    await asyncio.sleep(ACCEPT_RETRY)
                continue
            if self._episode is not None and time.monotonic() - self._episode[1] >= EPISODE_QUIET:
                self._recovered()
            conn.setblocking(False)
            _no_delay(conn)
            self._on_connection(conn)

    def _exhausted(self, exc: OSError) -> None:
        now = time.monotonic()
        if self._episode is not None:
            self._episode = (self._episode[0], now, self._episode[2] + 1)
            return
        self._episode = (now, now, 1)
        log.warning("cannot accept connections: %s (open files limit %s); they wait, retried every %gs, "
                    "logged again when accepting works", exc.strerror or exc, open_files_limit(), ACCEPT_RETRY)

    def _recovered(self) -> None:
        assert self._episode is not None
        since, last, failures = self._episode
        self._episode = None
        log.info("accepting connections again: %d accepts failed over %.1fs, none in the last %gs",
                 failures, last - since, EPISODE_QUIET)


def _no_delay(conn: socket.socket) -> None:
    """TCP_NODELAY on an accepted TCP connection, whatever socket it came from (ours,
    systemd's). asyncio sets it only on sockets whose proto says TCP, and an accepted
    socket inherits the listener's (0 for ours and systemd's): without it a response's
    last segment waits on the client's delayed ACK (Nagle), about 40 ms a request; it
    did, at every poll, between the exporter and the simulator (the benchmark's poll
    round took 1.24x its ideal, not 1.06x)."""
    if conn.family in (socket.AF_INET, socket.AF_INET6):
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # the peer is already gone: the connection's handler will see it

"""Connection slots: at most `limit` connections served at once, and who gives way.

A cap that refuses new connections lets anyone who keeps sockets open lock the scraper
out: with 256 slots, 300 idle sockets (or slowloris senders, a byte every few seconds)
held every slot until the 10 s header timeout and every scrape was answered 503. So a
slot held by a connection that is only *waiting* (no complete request yet: nothing
sent, part of a request, or idle between keep-alive requests) is given to a new
connection: the one that has waited longest is closed. A connection *working* (its
request being handled or its answer written, a client that does not read included,
bounded by the write timeout) keeps its slot; only when every slot is working is a new
connection refused. Go's net/http has no cap at all and closes idle connections by
timeout; this keeps the cap (it bounds the bodies held for clients that do not read).

Giving way is counted (`evicted`, `refused`) and logged once per episode: a warning at
the first, an info line once a connection has found a free slot EPISODE_QUIET seconds
after the last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

EPISODE_QUIET = 60.0  # seconds without giving way that end an episode


class Slots:
    """Which connections hold a slot, and which of them wait for a request (oldest first)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._holders: dict[Hashable, Callable[[], None]] = {}  # connection → how to close it
        self._waiting: dict[Hashable, None] = {}  # in the order they started waiting
        self.evicted = 0  # connections closed to make room
        self.refused = 0  # connections refused: every slot was working
        self._episode: tuple[float, int, int] | None = None  # (last time, evicted, refused) at its start

    def __len__(self) -> int:
        return len(self._holders)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def take(self, connection: Hashable, close: Callable[[], None]) -> bool:
        """A slot for a new connection, waiting for its request; when none is free the
        connection that has waited longest is closed (`close`) and gives it up. False
        when every slot is working: refuse this one."""
        if len(self._holders) < self.limit:
            self._calm()
        elif self._waiting:
            oldest = next(iter(self._waiting))
            self._gave_way()
            self._holders.pop(oldest)()
            del self._waiting[oldest]
            self.evicted += 1
        else:
            self._gave_way()
            self.refused += 1
            return False
        self._holders[connection] = close
        self._waiting[connection] = None
        return True

    def working(self, connection: Hashable) -> bool:
        """The connection has sent a complete request: it keeps its slot until `wait`.
        False if it was closed to make room meanwhile (it must not answer)."""
        if connection not in self._holders:
            return False
        self._waiting.pop(connection, None)
        return True

    def wait(self, connection: Hashable) -> None:
        """Answered; waiting for its next request (keep-alive): the newest to wait."""
        if connection in self._holders:
            self._waiting.pop(connection, None)
            self._waiting[connection] = None

    def release(self, connection: Hashable) -> None:
        """The connection is closed; its slot is free."""
        self._holders.pop(connection, None)
        self._waiting.pop(connection, None)

    def _gave_way(self) -> None:
        """Before a connection is closed to make room or refused: one warning an episode."""
        now = time.monotonic()
        if self._episode is None:
            log.warning("all %d connection slots taken: closing the connections that have waited longest "
                        "for a request to serve new ones (refusing new ones while every slot is working); "
                        "logged again when it stops", self.limit)
            self._episode = (now, self.evicted, self.refused)
        else:
            self._episode = (now, *self._episode[1:])

    def _calm(self) -> None:
        if self._episode is not None and time.monotonic() - self._episode[0] >= EPISODE_QUIET:
            _, evicted, refused = self._episode
            self._episode = None
            log.info("connection slots free again: %d connections closed to make room, %d refused",
                     self.evicted - evicted, self.refused - refused)

"""One daemon thread that decodes and parses answers, one at a time, off the event loop.

One thread, because parallel parses of large answers raised peak memory by half at 50k
agents (allocator fragmentation) and gain nothing under one GIL. A daemon thread of its
own rather than a `ThreadPoolExecutor`, because the interpreter joins every executor
thread at exit: a SIGTERM that arrived during a long parse waited for it to end (11 s
for an answer of 2.8 million agents). What each parse may cost is bounded by
`api.limits`; this only makes sure exiting never waits for one.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class ParseWorker:
    """Runs `fn(*args)` jobs in order on one daemon thread, started on first use."""

    def __init__(self, name: str = "convoso-parse") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the worker thread; its result or exception. Cancelling the
        caller stops waiting at once; a job not yet started is then skipped."""
        if self._closed:
            raise RuntimeError("the parse worker is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_thread()
        self._jobs.put((loop, future, fn, args))
        return await future

    def close(self) -> None:
        """Stop after the jobs already queued; never waits."""
        self._closed = True
        self._jobs.put(None)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
                self._thread.start()

    def _main(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            _do(*job)
            del job  # do not keep the last answer alive until the next one


def _do(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], fn: Callable[..., Any],
        args: tuple[Any, ...]) -> None:
    if future.cancelled():
        return
    try:
        outcome: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:  # handed to the caller, whatever it is
        outcome = (False, exc)
    try:
        loop.call_soon_threadsafe(_settle, future, outcome)
    except RuntimeError:
        pass  # the loop is closed: nobody is waiting any more


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)

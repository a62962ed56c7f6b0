"""GET /metrics while a crowd of idle connections is open: more sockets than the server
has connection slots (256), none of which ever sends a byte, topped up every second as
the server closes them. Against the same exporter with no crowd, in the same run.

Before web/slots.py the crowd held every slot until the 10 s header timeout and every
scrape was answered 503 (the load generator gives up after 20 failed requests: the row
then says `crowd: failed` with the 503); now the sockets that waited longest give way.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

from bench.figures import SETTLE_SECONDS, ms, p50_p99, p99, thousands
from bench.loadgen import HOST, Load
from bench.report import Row
from bench.services import Bench, series_count
from bench.sizes import campaigns_for, queues_for

CROWD = 300  # idle sockets kept open (the server has 256 slots)
TOP_UP_EVERY = 1.0  # seconds between re-opening the sockets the server closed


class Crowd:
    """CROWD idle sockets to 127.0.0.1:port, re-opened every TOP_UP_EVERY seconds once
    the server has closed them; `reopened` counts those."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reopened = 0
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crowd", daemon=True)

    def __enter__(self) -> Crowd:
        self._sockets = [self._open() for _ in range(CROWD)]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._sockets:
            sock.close()

    def _open(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=10)
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        while not self._stop.wait(TOP_UP_EVERY):
            for i, sock in enumerate(self._sockets):
                if _closed(sock):
                    sock.close()
                    self._sockets[i] = self._open()
                    self.reopened += 1


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def crowd_latency(bench: Bench) -> Iterator[Row]:
    """One scraper on an idle exporter, without and then with the crowd."""
    s = bench.sizes
    agents = s.naive_agents
    sim = bench.simulator("sim-crowd", agents=agents, campaigns=campaigns_for(agents), queues=queues_for(agents),
                          latency=s.api_latency)
    exporter = bench.exporter("exporter-crowd", sim, poll_interval=3600, discovery_interval=3600)
    time.sleep(SETTLE_SECONDS)
    series = series_count(exporter.metrics().body)
    alone = bench.load(Load(exporter.port, concurrency=1, duration=s.scrape_seconds))
    with Crowd(exporter.port) as crowd:
        crowded = bench.load(Load(exporter.port, concurrency=1, duration=s.scrape_seconds))
    ratio = p99(crowded) / p99(alone)
    yield Row(
        f"GET /metrics {thousands(series)} series, {CROWD} idle connections open ({crowd.reopened} re-opened)",
        f"{p50_p99(crowded)}, max {ms(max(crowded.latencies))} (n={len(crowded.latencies)}, all 200)",
        "no crowd " + p50_p99(alone),
        ratio,
        "p99 ≤ 2×",
        ratio <= 2,
    )

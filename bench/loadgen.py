"""The HTTP load generator every server in the benchmarks is measured with.

Raw sockets, HTTP/1.1 keep-alive, one connection per concurrent scraper (a thread
each), bodies read with `recv_into` into a reused buffer: the client does as little
per byte as Python allows, so what it measures is the server. A sample is the time
from sending the request to the last byte of the body. Servers that close after every
answer (HTTP/1.0, like prometheus_client's) are reconnected, and the connect time
counts, as it would for Prometheus.

Run as its own process so its work does not share a GIL with the harness:
    python -m bench.loadgen --port P [--path /metrics] [--gzip] --concurrency 4 --duration 5
prints one JSON object: {"latencies": [seconds...], "errors": [...], "body_bytes": n}.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_HEAD_END = b"\r\n\r\n"
_RECV_CHUNK = 1 << 20
# A run gives up after this many failed requests: the server is broken, not slow.
MAX_ERRORS = 20


class HttpError(Exception):
    """The server's answer was not a complete HTTP/1.x 200 response."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = bytearray(_RECV_CHUNK)
        self.pending = b""  # bytes of the next answer read with the previous one (never expected)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""
        return sock

    def get(self, path: str, *, gzip: bool, keep_body: bool = False, accept: str | None = None) -> Answer:
        """One GET; the body is returned only with `keep_body` (otherwise b"", length checked)."""
        if self.sock is None:
            self.sock = self._connect()
        encoding = "gzip" if gzip else "identity"
        extra = f"Accept: {accept}\r\n" if accept else ""
        request = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAccept-Encoding: {encoding}\r\n{extra}"
                   "User-Agent: bench-loadgen\r\n\r\n")
        try:
            self.sock.sendall(request.encode("latin-1"))
            return self._read_answer(keep_body)
        except BaseException:
            self.close()
            raise

    def _read_answer(self, keep_body: bool) -> Answer:
        sock = self.sock
        assert sock is not None
        head = self.pending
        while _HEAD_END not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise HttpError("connection closed before the response head")
            head += chunk
        head, _, rest = head.partition(_HEAD_END)
        status, headers = _parse_head(head)
        length_text = headers.get("content-length")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raise HttpError("chunked responses are not supported by this load generator")
        if length_text is None:
            body = rest + _read_to_eof(sock)
            self.close()
        else:
            body = self._read_exactly(int(length_text), rest, keep_body)
        if _closes(headers):
            self.close()
        return Answer(status, headers, body)

    def _read_exactly(self, length: int, rest: bytes, keep_body: bool) -> bytes:
        if len(rest) > length:
            self.pending = rest[length:]
            rest = rest[:length]
        else:
            self.pending = b""
        if len(self.buffer) < length:
            self.buffer = bytearray(length)
        view = memoryview(self.buffer)
        view[: len(rest)] = rest
        got = len(rest)
        sock = self.sock
        assert sock is not None
        while got < length:
            n = sock.recv_into(view[got:length], min(length - got, _RECV_CHUNK))
            if n == 0:
                raise HttpError(f"connection closed after {got} of {length} body bytes")
            got += n
        return bytes(view[:length]) if keep_body else b""


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    # HTTP/1.0 answers close unless they say keep-alive.
    if parts[0] == "HTTP/1.0" and "keep-alive" not in headers.get("connection", "").lower():
        headers.setdefault("connection", "close")
    return int(parts[1]), headers


def _closes(headers: dict[str, str]) -> bool:
    return "close" in headers.get("connection", "").lower()


def _read_to_eof(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(_RECV_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(port: int, path: str, *, gzip: bool = False, timeout: float = 60.0) -> Answer:
    """One GET on a fresh connection, body kept (to copy a server's exact bytes)."""
    conn = Connection(port, timeout)
    try:
        return conn.get(path, gzip=gzip, keep_body=True)
    finally:
        conn.close()


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    body_bytes: int = 0


@dataclass(frozen=True)
class Load:
    port: int
    path: str = "/metrics"
    gzip: bool = False
    concurrency: int = 1
    duration: float | None = None  # seconds of measurement, or
    requests: int | None = None  # requests per scraper
    warmup: int = 2  # requests per scraper before measuring
    accept: str | None = None  # the Accept header (Prometheus's: PROMETHEUS_ACCEPT)
    pace: float | None = None  # seconds from one request's start to the next (None: back to back)


# What Prometheus 2.42 sends: OpenMetrics first.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def run_load(load: Load) -> LoadResult:
    """`load.concurrency` scrapers in threads, each on its own connection, back to back."""
    if (load.duration is None) == (load.requests is None):
        raise ValueError("give exactly one of duration and requests")
    result = LoadResult()
    lock = threading.Lock()
    # Scrapers start measuring together; a scraper that dies breaks the gate, not the run.
    start_gate = threading.Barrier(load.concurrency, timeout=120.0)
    threads = [threading.Thread(target=_scraper, args=(load, result, lock, start_gate)) for _ in range(load.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def _scraper(load: Load, result: LoadResult, lock: threading.Lock, start_gate: threading.Barrier) -> None:
    conn = Connection(load.port)
    samples: list[float] = []
    try:
        for _ in range(load.warmup):
            _one(conn, load, result, lock)
        start_gate.wait()
        deadline = time.perf_counter() + load.duration if load.duration is not None else math.inf
        count = 0
        while time.perf_counter() < deadline and (load.requests is None or count < load.requests):
            seconds = _one(conn, load, result, lock)
            count += 1
            if seconds is not None:
                samples.append(seconds)
                if load.pace is not None and seconds < load.pace:
                    time.sleep(load.pace - seconds)
            if len(result.errors) >= MAX_ERRORS:
                break
    finally:
        conn.close()
        with lock:
            result.latencies.extend(samples)


def _one(conn: Connection, load: Load, result: LoadResult, lock: threading.Lock) -> float | None:
    started = time.perf_counter()
    try:
        answer = conn.get(load.path, gzip=load.gzip, accept=load.accept)
    except (OSError, HttpError) as exc:
        with lock:
            result.errors.append(f"{type(exc).__name__}: {exc}")
        return None
    elapsed = time.perf_counter() - started
    if answer.status != 200:
        with lock:
            result.errors.append(f"HTTP {answer.status}")
        return None
    result.body_bytes = int(answer.headers.get("content-length", "0"))
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/metrics")
    parser.add_argument("--gzip", action="store_true", help="ask for gzip (Accept-Encoding: gzip)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, help="seconds to measure")
    parser.add_argument("--requests", type=int, help="requests per scraper")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--accept", help="the Accept header to send")
    parser.add_argument("--pace", type=float, help="seconds from one request's start to the next (default: back to back)")
    args = parser.parse_args(argv)
    if (args.duration is None) == (args.requests is None):
        parser.error("give exactly one of --duration and --requests")
    load = Load(args.port, args.path, args.gzip, args.concurrency, args.duration, args.requests, args.warmup,
                args.accept, args.pace)
    result = run_load(load)
    print(json.dumps({"latencies": result.latencies, "errors": result.errors[:MAX_ERRORS], "body_bytes": result.body_bytes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Slow scrapers cannot grow the exporter's memory: an exporter process serving a large
exposition (25,000 agents with per-agent series, about 8 MB) keeps its resident set
flat while 30 clients ask for /metrics and never read the answer, and still answers
a client that does read.

Before web/http.py wrote bodies in chunks, each such client made the transport copy
what the socket did not take: measured +123 MB for 30 clients over this 8 MB
exposition, and +314 MB over a 14.6 MB one (45,000 agents).
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.fault_stack import exporter, write_token
from tests.hostile import hostile_thread, response
from tests.support import status_mb

TOKEN = "slow-scrapers-T0ken"
AGENTS = 25_000
SCRAPERS = 30
BOUND_MB = 20

pytestmark = pytest.mark.timeout(60)


def test_thirty_scrapers_that_never_read_add_less_than_20_mb(tmp_path):
    statuses = ("READY", "INCALL", "PAUSED", "WRAP")
    agents = [{"user_id": str(100000 + i), "user_full_name": f"Agent {i}", "campaign_id": str(1 + i % 3),
               "queue_id": str(10 + i % 4), "status": statuses[i % 4], "status_time_sec": i % 900,
               "calls_today": i % 50, "total_calls": i % 20, "extension": str(1000 + i)} for i in range(AGENTS)]
    body = response(json.dumps({"agents": agents, "agent_total": AGENTS}).encode())
    with hostile_thread(lambda asked: body) as server:
        write_token(tmp_path, TOKEN)
        (tmp_path / "config.yaml").write_text(
            f"convoso:\n  base_url: {server.base_url}\n  auth_token_file: token\n  max_response_bytes: 64MiB\n"
            f"poll_interval: 10m\nmax_agents_per_target: {AGENTS}\n"
            "targets:\n  - name: first\n    campaign_id: \"1\"\n"
        )
        with exporter(tmp_path / "config.yaml", "--log.level", "info") as exp:
            size = len(exp.client.get(exp.url + "/metrics", timeout=10).content)
            assert size > 6_000_000, size
            time.sleep(0.5)
            before = status_mb(exp.proc.pid, "VmRSS")
            scrapers = []
            try:
                for _ in range(SCRAPERS):
                    sock = socket.socket()
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                    sock.connect(("127.0.0.1", int(exp.url.rsplit(":", 1)[1])))
                    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                    scrapers.append(sock)
                time.sleep(1.5)
                after = status_mb(exp.proc.pid, "VmRSS")
                reading = httpx.get(exp.url + "/metrics", timeout=10)
            finally:
                for sock in scrapers:
                    sock.close()
            print(f"exposition {size / 1e6:.1f} MB: RSS {before:.1f} MB, with {SCRAPERS} scrapers that do not read "
                  f"{after:.1f} MB (+{after - before:.1f} MB)")
            assert after - before < BOUND_MB
            assert reading.status_code == 200 and len(reading.content) == size

"""A crowd of idle connections cannot lock the scraper out: an exporter process (256
connection slots) with 300 sockets open that never send a byte answers every scrape, the
sockets that waited longest are closed to make room, and the log says so once.

Before web/slots.py every slot stayed taken until the 10 s header timeout and each
scrape was answered 503.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.fault_stack import exporter, write_token
from tests.hostile import agent, answer, hostile_thread

TOKEN = "crowded-T0ken"
SLOTS = 256  # web/http.py's max_connections
CROWD = 300
SCRAPES = 5

pytestmark = pytest.mark.timeout(60)


def test_three_hundred_idle_sockets_do_not_shut_out_a_scrape(tmp_path):
    with hostile_thread(lambda asked: answer([agent("1")], agent_total=1)) as server:
        write_token(tmp_path, TOKEN)
        (tmp_path / "config.yaml").write_text(
            f"convoso:\n  base_url: {server.base_url}\n  auth_token_file: token\n"
            "poll_interval: 10m\ndiscovery:\n  enabled: false\n"
        )
        with exporter(tmp_path / "config.yaml", "--log.level", "info") as exp:
            port = int(exp.url.rsplit(":", 1)[1])
            crowd = []
            try:
                for _ in range(CROWD):
                    crowd.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                statuses = [exp.client.get(exp.url + "/metrics", timeout=5).status_code for _ in range(SCRAPES)]
                assert statuses == [200] * SCRAPES
                # The first scrape made room: the oldest sockets were closed without a word...
                evicted = CROWD + 1 - SLOTS
                gone = [sock.recv(1) for sock in crowd[:evicted]]
                # ...and the newest still wait for their request.
                crowd[-1].setblocking(False)
                with pytest.raises(BlockingIOError):
                    crowd[-1].recv(1)
            finally:
                for sock in crowd:
                    sock.close()
            records = exp.records()
    assert gone == [b""] * evicted
    warnings = [r for r in records if r["msg"].startswith(f"all {SLOTS} connection slots taken")]
    assert len(warnings) == 1, json.dumps(warnings)

"""The exporter where Linux's (and POSIX's) extras are missing: no fork, no memfd_create, no
`resource` module, no SIGHUP, an event loop that takes no signal handlers (as on Windows).
The demo still starts, serves every agent once, and stops on Ctrl-C without a traceback."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, process, wait_http

WITHOUT_LINUX = Path(__file__).resolve().parent.parent / "fixtures" / "portable"


def test_the_demo_runs_without_the_linux_only_calls():
    port = free_port()
    env = {"PYTHONPATH": str(WITHOUT_LINUX)}
    with process(["--web.listen-address", f"127.0.0.1:{port}"], env=env) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready", proc=proc, timeout=15)
        text = httpx.get(f"{url}/metrics").text
        probe = httpx.get(f"{url}/-/healthy")
        proc.send_signal(signal.SIGINT)  # Python's own handler: KeyboardInterrupt
        status = proc.wait(timeout=10)
        output = proc.output()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    agents = sum(s.value for s in families["convoso_agents"].samples)
    users = {s.labels["user_id"] for s in families["convoso_agent_info"].samples}
    assert agents == len(users) > 0  # every agent once
    assert probe.status_code == 200
    assert "Traceback" not in output and status == 130, output[-2000:]
    assert "os.fork" not in output

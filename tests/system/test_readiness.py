"""`/-/ready`, the probe a Kubernetes rollout waits on, against a real simulator process.

Ready means: every target has finished its first poll AND the account target (the
backbone) has answered since start; then ready for good (app.py, docs/deploy.md). So an
exporter with a wrong token never goes ready, however many polls it finishes, and says
why in the 503. And before a target's first poll has finished, /metrics does not call
it down: no `convoso_up` at all while it is pending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fault_stack import Simulator, simulator
from tests.support import free_port, process, wait_http

TOKEN = "ready-T0ken/+=x"
WRONG = "wrong-T0ken"

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with simulator(TOKEN, "--agents", "10", "--campaigns", "1", "--queues", "1", "--seed", "3") as sim:
        yield sim


def write(folder: Path, base_url: str, token: str) -> Path:
    (folder / "convoso-token").write_text(token + "\n")
    (folder / "convoso-token").chmod(0o600)
    config = folder / "config.yaml"
    config.write_text(
        "convoso:\n"
        f"  base_url: {base_url}\n"
        "  auth_token_file: convoso-token\n"
        "  timeout: 10s\n"
        "  max_backoff: 1s\n"
        "poll_interval: 1s\n"
        "discovery:\n"
        "  enabled: false\n"
    )
    return config


@contextmanager
def exporter(config: Path) -> Iterator[tuple[str, object]]:
    port = free_port()
    args = ["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    with process(args, env={"CONVOSO_AUTH_TOKEN": ""}) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/healthy", proc=proc)
        yield url, proc


def up_lines(url: str) -> list[str]:
    return [line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith("convoso_up{")]


def test_a_wrong_token_never_goes_ready_and_says_why_then_the_right_one_does(sim, tmp_path):
    config = write(tmp_path, sim.base_url, WRONG)
    with exporter(config) as (url, proc):
        # The first poll fails at once (401); give it several more polls to be sure.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ready = httpx.get(f"{url}/-/ready")
            assert ready.status_code == 503, ready.text
            time.sleep(0.2)
        assert ready.text.startswith("not ready: the account target has not answered since start"), ready.text
        assert "auth" in ready.text and WRONG not in ready.text
        assert up_lines(url) == ['convoso_up{target="account"} 0.0']

        # The right token, and a reload: ready within a poll or two.
        (tmp_path / "convoso-token").write_text(TOKEN + "\n")
        assert httpx.post(f"{url}/-/reload").status_code == 200
        wait_http(f"{url}/-/ready", proc=proc, timeout=15)

        # Ready for good: a token that breaks later shows in the metrics, not the probe.
        (tmp_path / "convoso-token").write_text(WRONG + "\n")
        assert httpx.post(f"{url}/-/reload").status_code == 200
        deadline = time.monotonic() + 15
        while up_lines(url) != ['convoso_up{target="account"} 0.0']:
            assert time.monotonic() < deadline, up_lines(url)
            time.sleep(0.2)
        assert httpx.get(f"{url}/-/ready").status_code == 200


def test_a_pending_first_poll_is_not_down_and_not_ready(sim, tmp_path):
    config = write(tmp_path, sim.base_url, TOKEN)
    sim.fault("slow", delay=6)
    try:
        with exporter(config) as (url, proc):
            # The account's first search (and the calls beside it) in flight for 6 s: pending, not down.
            assert up_lines(url) == []
            assert "convoso_target_info{" in httpx.get(f"{url}/metrics").text
            ready = httpx.get(f"{url}/-/ready")
            assert (ready.status_code, ready.text) == (
                503, "not ready: waiting for the first poll of 3 of 3 targets (account, user_activity:account, "
                     "performance:account)\n")
            assert "pending" in httpx.get(f"{url}/").text
            sim.clear()
            wait_http(f"{url}/-/ready", proc=proc, timeout=20)
            assert up_lines(url) == ['convoso_up{target="account"} 1.0']
    finally:
        sim.clear()

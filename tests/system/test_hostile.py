"""Hostile upstreams, over real sockets: an exporter process polls a hostile API
(tests/hostile.py, a raw server in a thread of this process) beside a well-behaved
target, and must bound what each answer costs, fail only the target that was sent it,
keep every other target polling, and keep /metrics valid and current.

Memory is the exporter's peak resident set (VmHWM in /proc/PID/status).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from convoso_exporter.api.errors import secret_forms
from tests.fault_stack import Exporter, Scrape, exporter, promtool_check, write_token
from tests.hostile import Asked, HostileServer, agent, answer, hostile_thread, response
from tests.support import require_binary, status_mb

TOKEN = "hostile-T0ken/+=q7"
PEAK_BOUND_MB = 150
ACCOUNT = "account"

pytestmark = pytest.mark.timeout(60)


def peak_mb(pid: int) -> float:
    """The exporter's peak resident set so far (VmHWM), in MB."""
    return status_mb(pid, "VmHWM")


def write_config(path: Path, base_url: str, campaigns: dict[str, str], *, max_response_bytes: str = "1MiB",
                 timeout: str = "1500ms", discovery: bool = False) -> None:
    """A config polling every second; `campaigns` maps target name → campaign_id. Discovery
    (off by default where the config lists targets) only if asked."""
    lines = ["convoso:", f"  base_url: {base_url}", "  auth_token_file: token", f"  timeout: {timeout}",
             "  max_backoff: 1s", f"  max_response_bytes: {max_response_bytes}", "poll_interval: 1s",
             "discovery:", f"  enabled: {'true' if discovery else 'false'}", "targets:"]
    for name, campaign in campaigns.items():
        lines += [f"  - name: {name}", f'    campaign_id: "{campaign}"']
    path.write_text("\n".join(lines) + "\n")


def ordinary(asked: Asked) -> bytes:
    """What a well-behaved API answers: two agents of the asked campaign."""
    campaign = asked.campaign or "1"
    return answer([agent(f"{campaign}-1", campaign_id=campaign),
                   agent(f"{campaign}-2", "INCALL", campaign_id=campaign)], agent_total=2)


@contextmanager
def stack(tmp_path: Path, hostile: dict[str, Callable[[Asked], bytes]], open_files: int | None = None,
          **config: str | bool) -> Iterator[tuple[HostileServer, Exporter]]:
    """The hostile server (campaign id → what it answers for it, ordinary otherwise; the
    key ACCOUNT for the account's unfiltered search) and an exporter polling the account,
    target `ok` (campaign 1) and one target per hostile campaign."""

    def handler(asked: Asked) -> bytes:
        return hostile.get(asked.campaign or ACCOUNT, ordinary)(asked)

    with hostile_thread(handler) as server:
        write_token(tmp_path, TOKEN)
        targets = {"ok": "1", **{f"hostile-{campaign}": campaign for campaign in hostile if campaign != ACCOUNT}}
        write_config(tmp_path / "config.yaml", server.base_url, targets, **config)
        with exporter(tmp_path / "config.yaml", open_files=open_files) as exp:
            yield server, exp


def failing(exp: Exporter, target: str, kind: str, polls: int = 2, timeout: float = 15) -> Scrape:
    """Wait until `target` has failed `polls` times with `kind`, while `ok` kept polling."""
    first = exp.wait_for(lambda s: s.up("ok") == 1, "ok up")
    return exp.wait_for(lambda s: s.poll_errors(target, kind) >= polls
                        and (s.last_success("ok") or 0) > (first.last_success("ok") or 0),
                        f"{polls} {kind} failures of {target} while ok polls", timeout=timeout)


def error_line(exp: Exporter, target: str) -> str:
    [warning] = [r for r in exp.records() if r.get("target") == target and r["level"] == "warn"]
    return warning["msg"]


# --- 2. decompression is bounded at every layer ------------------------------------------


def gzip_of_zeros(size_gib: int = 1) -> bytes:
    """A gzip member of `size_gib` GiB of zeros (about 1 MB), built from one compressed
    MiB repeated rather than by compressing a GiB."""
    mib = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024 * size_gib):
        crc = zlib.crc32(mib, crc)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * (1024 * size_gib) + end + struct.pack("<II", crc, (size_gib << 30) & 0xFFFFFFFF)


def test_a_stacked_gzip_bomb_is_refused_within_the_size_cap(tmp_path):
    """`Content-Encoding: gzip, gzip`: 2.5 KB that inflate to 1 GiB. Before the fix httpx
    inflated each network read in one call: peak memory over 2 GB, scrapes blocked."""
    bomb = zlib.compress(gzip_of_zeros(), 9, wbits=31)
    assert len(bomb) < 4096

    def serve_bomb(asked: Asked) -> bytes:
        return response(bomb, headers={"Content-Encoding": "gzip, gzip"})

    with stack(tmp_path, {"66": serve_bomb}) as (server, exp):
        scrape = failing(exp, "hostile-66", "too_large")
        assert scrape.up("hostile-66") == 0 and scrape.up("ok") == 1
        assert "decoded body (gzip layer) exceeds max_response_bytes 1048576" in error_line(exp, "hostile-66")
        peak = peak_mb(exp.proc.pid)
        print(f"gzip bomb: exporter peak RSS {peak:.1f} MB after {len(server.requests_for('66'))} bomb answers")
        assert peak < PEAK_BOUND_MB


# --- 3. memory per answer is bounded, not just bytes ----------------------------------------


def test_millions_of_empty_agents_are_refused_before_they_are_built(tmp_path):
    """8 MiB of `{},` is 2.8 million agents. Before the fix they were all built (dicts,
    then Agents: over 500 MB), the one parse thread was busy for seconds so the other
    targets' polls waited behind it, and SIGTERM waited for the parse to end."""
    body = b'{"agents": [' + b",".join([b"{}"] * (8 * 1024 * 1024 // 3)) + b"]}"

    with stack(tmp_path, {"77": lambda asked: response(body)}, max_response_bytes="16MiB") as (server, exp):
        scrape = failing(exp, "hostile-77", "too_large", polls=3)
        assert scrape.up("hostile-77") == 0 and scrape.up("ok") == 1
        line = error_line(exp, "hostile-77")
        assert "over the bound of 404096 (4 per agent, max_agents 100000); not parsed" in line, line
        peak = peak_mb(exp.proc.pid)
        print(f"8 MiB of empty agents: exporter peak RSS {peak:.1f} MB")
        assert peak < PEAK_BOUND_MB

        # SIGTERM just after an answer was written: the exporter is gone within 2 s.
        asked = len(server.requests_for("77"))
        deadline = time.monotonic() + 5
        while len(server.requests_for("77")) == asked and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)
        started = time.monotonic()
        exp.proc.send_signal(signal.SIGTERM)
        exp.proc.wait(timeout=10)
        took = time.monotonic() - started
        print(f"SIGTERM to exit: {took:.2f} s")
        assert exp.proc.returncode == 0 and took < 2.0


# --- 4. numbers cannot break a target or the whole exposition ---------------------------------

HUGE_NUMBERS = {
    # agent_total = 10**400: parsed as an int, it made every render fail (beyond float range)
    "81": lambda asked: response(b'{"agents": [], "agent_total": 1' + b"0" * 400 + b"}"),
    # 5,000 digits: Python's int-string limit raised ValueError, an unclassified error
    "82": lambda asked: response(b'{"agents": [], "agent_total": ' + b"7" * 5000 + b"}"),
    # the same number as a string, in an agent
    "83": lambda asked: response(b'{"agents": [{"user_id": "u", "status": "READY", "calls_today": "1'
                                 + b"0" * 400 + b'"}]}'),
}


def test_numbers_out_of_range_cost_their_value_only_counted_and_logged_once(tmp_path):
    """They failed their target's poll ("number out of range"), every series of it gone
    for one value; now the value is cleared, counted in the shape telemetry and logged
    once, and the rest of the answer is published (issue 23)."""
    with stack(tmp_path, HUGE_NUMBERS) as (server, exp):
        targets = [f"hostile-{campaign}" for campaign in HUGE_NUMBERS]
        scrape = exp.wait_for(lambda s: all(s.up(t) == 1 for t in ["ok", *targets])
                              and s.value("convoso_exporter_api_drift_total", endpoint="search",
                                          field="agents.calls_today", kind="out_of_bounds"),
                              "every target up, the values out of range counted", timeout=20)
        assert all(scrape.value("convoso_agent_count", target=t) is None for t in targets[:2])  # cleared
        assert scrape.value("convoso_agent_count", target=targets[2]) is None  # not sent
        assert scrape.value("convoso_target_agents", target=targets[2], status="READY") == 1  # its agent published
        assert scrape.value("convoso_exporter_api_drift_total", endpoint="search", field="agent_total",
                            kind="out_of_bounds") >= 2
        assert scrape.api_requests("protocol") == 0 and scrape.api_requests("internal") == 0
        assert scrape.select("convoso_exporter_poll_errors_total", kind="protocol") == [
            (labels, 0.0) for labels, _ in scrape.select("convoso_exporter_poll_errors_total", kind="protocol")]
        records = exp.records()
        drift = [r["msg"] for r in records if "did not expect" in r["msg"]]
        assert len([m for m in drift if "field agent_total: out_of_bounds" in m]) == 1, drift
        assert len([m for m in drift if "field agents.calls_today: out_of_bounds" in m]) == 1, drift
        assert not [r for r in records if "Traceback" in str(r) or r["level"] == "error"]


# --- 5. label values are normalised before they are compared --------------------------------

# Statuses that differ only in invalid Unicode (lone surrogates, as JSON escapes), or in
# how an accent is written (precomposed, or a combining mark), and one far too long.
UNICODE_STATUSES = [r"READY\ud800", r"READY\udc00", r"READY\udfff", "CAF\\u00c9", "CAFE\\u0301", "L" * 5000]


def test_statuses_are_normalised_before_they_are_counted(tmp_path):
    """Before: the three READY statuses were counted apart and all encoded to
    "READY\ufffd", the same series listed three times in one scrape."""
    agents = ",".join(f'{{"user_id": "u{i}", "status": "{status}", "status_time_sec": 5}}'
                      for i, status in enumerate(UNICODE_STATUSES))
    body = ('{"agents": [' + agents + "]}").encode()
    promtool = require_binary("promtool")
    with stack(tmp_path, {"91": lambda asked: response(body)}) as (server, exp):
        scrape = exp.wait_for(lambda s: s.up("hostile-91") == 1, "hostile-91 up")  # every scrape: no duplicates
        own = scrape.select("convoso_target_agents", target="hostile-91")
        counts = {labels["status"]: value for labels, value in own if value}
        assert counts == {"READY\ufffd": 3, "CAF\u00c9": 2, "L" * 256: 1}
        promtool_check(promtool, scrape.body)


# --- 6. distinct statuses are bounded ------------------------------------------------------

STATUSES = 10_000


def test_ten_thousand_statuses_are_folded_and_the_breakdown_stays_additive(tmp_path):
    """Before: 10,000 distinct statuses in one answer were 10,000+ values of status in
    every status-keyed family (160,000 series in all). The account answer and a custom
    target's answer both carry them."""
    agents = [{"user_id": f"u{i}", "status": f"S{i:05d}", "campaign_id": "1", "queue_id": str(2 + i % 2),
               "status_time_sec": 5} for i in range(STATUSES)]
    body = json.dumps({"agents": agents, "agent_total": STATUSES}).encode()
    many = lambda asked: response(body)  # noqa: E731
    with stack(tmp_path, {ACCOUNT: many, "95": many}) as (server, exp):
        scrape = exp.wait_for(lambda s: s.value("convoso_agent_count", target="hostile-95") == STATUSES
                              and s.value("convoso_exporter_folded_values", target="account", label="status"),
                              "both answers", timeout=20)
        own = scrape.select("convoso_target_agents", target="hostile-95")
        statuses = {labels["status"] for labels, _ in own}
        # 64 statuses kept, (other), and the 7 common statuses every target shows (at 0 here)
        assert len(statuses) == 64 + 1 + 7 and "(other)" in statuses
        assert sum(value for _, value in own) == STATUSES
        assert scrape.value("convoso_target_agents", target="hostile-95", status="(other)") == STATUSES - 64
        for target in ("hostile-95", "account"):
            assert scrape.value("convoso_exporter_folded_values", target=target, label="status") == STATUSES - 64
            assert scrape.value("convoso_exporter_folded_values", target=target, label="campaign_id") == 0
        breakdown = scrape.select("convoso_agents")
        assert sum(value for _, value in breakdown) == STATUSES  # additive: every agent once
        assert len({labels["status"] for labels, _ in breakdown}) == 64 + 1 + 7
        # per (campaign 1, queue 2 or 3): the 7 common statuses and (other), and each kept status once
        assert len(breakdown) == 2 * (7 + 1) + 64
        by_campaign = {labels["status"] for labels, _ in scrape.select("convoso_agents_status_time_max_seconds")}
        assert len(by_campaign) <= 64 + 1 + 7


# --- 7. nothing the API sends can republish the token -----------------------------------------


def echo_token(asked: Asked) -> bytes:
    """An answer that echoes the token it was sent in every name, raw and with its
    slash escaped as PHP's json_encode writes it, and lists a campaign named after it."""
    token = asked.token or ""
    escaped = json.dumps(token).strip('"').replace("/", "\\/")
    named = [{"user_id": "e1", "user_full_name": f"Echo {token} agent", "campaign_id": "5", "queue_id": "6",
              "campaign_name": f"camp {token}", "queue_name": token, "status": "READY", "extension": token}]
    body = json.dumps({"agents": named, "campaigns": [{"value": 5, "name": f"campaign {token}"}],
                       "queues": [{"value": 6, "name": "Q"}]})
    body = body.replace(json.dumps(f"Echo {token} agent"), f'"Echo {escaped} agent"')
    return response(body.encode())


def test_an_answer_that_echoes_the_token_never_republishes_it(tmp_path):
    """Before: the token reached convoso_agent_info (user_full_name, extension),
    convoso_campaign_info / convoso_queue_info, and through discovery the campaign
    target's convoso_target_info."""
    with stack(tmp_path, {ACCOUNT: echo_token, "5": echo_token}, discovery=True) as (server, exp):
        scrape = exp.wait_for(lambda s: s.up("campaign:5") == 1 and s.up("account") == 1,
                              "the account and the discovered campaign polled", timeout=20)
        [(info, _)] = scrape.select("convoso_agent_info", user_id="e1")
        assert info["user_full_name"] == "Echo <redacted> agent" and info["extension"] == "<redacted>"
        assert scrape.select("convoso_target_info", target="campaign:5")[0][0]["campaign_name"] == "campaign <redacted>"
        pages = {path: exp.client.get(exp.url + path) for path in ("/", "/wallboard", "/api/v1/snapshot")}
        assert all(page.status_code == 200 for page in pages.values())
        assert "Echo <redacted> agent" in pages["/api/v1/snapshot"].text
        seen = {"/metrics": scrape.body, "the logs": exp.output(), **{path: page.text for path, page in pages.items()}}
        for form in secret_forms(TOKEN):
            for where, text in seen.items():
                assert form not in text, f"the token ({form!r}) appears in {where}"


# --- 9. resource exhaustion is logged once per episode; a poll waits what its log says ---------


async def too_slow(asked: Asked) -> bytes:
    await asyncio.sleep(2)  # beyond the 500 ms timeout
    return ordinary(asked)


def test_after_a_timeout_the_next_poll_waits_what_the_log_line_says(tmp_path):
    """Before: the delay was counted from the start of the failed poll, so after a
    timeout longer than it the next poll came at once, though the log said "next in 1.0s"."""
    with stack(tmp_path, {"99": too_slow}, timeout="500ms") as (server, exp):
        exp.wait_for(lambda s: s.poll_errors("hostile-99", "timeout") >= 3, "3 timeouts", timeout=15)
        failed = [r for r in exp.records() if r.get("target") == "hostile-99" and "poll failed in" in r["msg"]]
        asked = [a.at for a in server.requests_for("99")]
        assert len(failed) >= 2 and len(asked) >= 3
        for record, (sent, following) in zip(failed, zip(asked, asked[1:])):
            announced = float(record["msg"].rsplit("next in ", 1)[1].rstrip("s"))
            assert following - sent >= 0.5 + announced - 0.15, (following - sent, record["msg"])


def test_running_out_of_descriptors_is_logged_once_per_episode(tmp_path):
    """Before: asyncio's accept loop logged "socket.accept() out of system resource" for
    every waiting connection, every wakeup: 3,621 lines in 5 s with 64 descriptors."""
    with stack(tmp_path, {}, open_files=64) as (server, exp):
        mark = len(exp.records())
        port = int(exp.url.rsplit(":", 1)[1])
        held = []
        try:
            for _ in range(128):  # against a limit of 64, held for 3 s
                held.append(socket.create_connection(("127.0.0.1", port)))
            time.sleep(3)
            during = exp.records()[mark:]
        finally:
            for sock in held:
                sock.close()
        accept_lines = [r for r in during if "accept" in r["msg"]]
        assert len(accept_lines) == 1, [r["msg"] for r in accept_lines][:5]
        assert accept_lines[0]["level"] == "warn"
        assert "cannot accept connections: Too many open files (open files limit 64)" in accept_lines[0]["msg"]
        # Nothing else floods: a target whose polls now fail to connect says so once.
        others = [r for r in during if r["level"] != "debug" and r not in accept_lines
                  and r["logger"].startswith("convoso_exporter")]  # at debug, httpx says each request
        assert all("poll failed: connection" in r["msg"] for r in others), [r["msg"] for r in others]
        assert len(others) <= 2, [r["msg"] for r in others]
        time.sleep(1)  # the connections left in the backlog are accepted and closed
        exp.wait_for(lambda s: s.up("ok") == 1, "serving again once descriptors are free", timeout=10)

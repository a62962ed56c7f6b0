"""Issue 7, secrets: the Convoso auth token never shows, whatever breaks.

One test runs every simulator fault (and a dead API) against two exporter processes
logging at debug, one in logfmt and one in JSON, and searches everything they said:
their output, every /metrics body, the landing page, /-/healthy, /-/ready and the
/-/reload answers (good and broken configs). The token has URL-special characters, so
its URL-encoded forms are searched too, and so is each of its parts (a cut message
must not leave a piece behind). The `--config.check` and `logout` commands are searched
the same way on their error paths. Also: a rotated token file takes effect on reload,
and a token file readable by other users is warned about.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from itertools import cycle
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.fault_stack import Exporter, exporter, simulator, write_config, write_token
from tests.support import ROOT, free_port

TOKEN = "Xq7vLeakProbe/9KzT+Wm3Rr=Jp8Hn"
WRONG_TOKEN = "Wr0ngProbe/Qv5+Lk8=Tt2"
SIM_ARGS = ("--agents", "24", "--campaigns", "3", "--queues", "3", "--seed", "11")
SIZE_CAP = 256 * 1024  # convoso.max_response_bytes in write_config

pytestmark = pytest.mark.timeout(120)


def leaked_forms(secret: str) -> set[str]:
    """How a secret could show: raw, URL-encoded (both ways), and each run of letters and
    digits in it (a message cut mid-token would leave one)."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), *re.split(r"[^A-Za-z0-9]+", secret)}


def assert_hidden(text: str, where: str, secret: str = TOKEN) -> None:
    for form in leaked_forms(secret):
        assert form not in text, f"{where} shows {form!r}: ...{_around(text, form)}..."


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 80) : at + len(needle) + 40]


# --- every fault, debug logs, both formats ---------------------------------------------

# Every fault the simulator has, with what makes it bite within the test's timeouts.
ALL_FAULTS: list[tuple[str, dict]] = [
    ("401", {}),
    ("403", {}),
    ("429", {"retry_after": 1}),
    ("500", {}),
    ("502_html", {}),
    ("slow", {"delay": 2}),
    ("truncated", {}),
    ("reset", {}),
    ("too_large", {"size": SIZE_CAP + 1}),
    ("not_json", {}),
    ("wrong_shape", {}),
    ("agents_null", {}),
    ("keyed_by_id", {}),
    ("strings", {}),
    ("unknown_status", {}),
    ("hostile_names", {}),
]
# Every error kind the faults above (and the dead API at the end) must have produced.
KINDS = ("auth", "rate_limited", "server", "timeout", "connection", "protocol", "too_large")

# Reloads of broken configs, each with the token somewhere in the file.
BROKEN_CONFIGS = [
    "convoso:\n  auth_token: \"{token}\"\n  auth_token_file: token\ntargets:\n  - name: a\n",
    "convoso:\n  auth_token: [\"{token}\"]\ntargets:\n  - name: a\n",
    "convoso:\n  auth_token: \"{token} trailing words\"\ntargets:\n  - name: a\n",
    "convoso:\n  auth_token: \"{token}\n  timeout: 1s\ntargets:\n  - name: a\n",
    "convoso:\n  auth_token: \"{token}\"\n  auth_token: \"{token}\"\ntargets:\n  - name: a\n",
    "convoso:\n  auth_token: \"{token}\"\nsurprise: 1\ntargets:\n  - name: a\n",
]


def polls_since(exp: Exporter, mark: int, target: str) -> list[str]:
    """Lines (either format) logging a finished poll of `target` after output offset `mark`."""
    lines = exp.output()[mark:].splitlines()
    return [line for line in lines if f"target {target}: poll ok in" in line or f"target {target}: poll failed in" in line]


class Collector:
    """Everything the exporters answer, kept for the final search."""

    def __init__(self, exporters: list[Exporter]) -> None:
        self.exporters = exporters
        self.pages: list[tuple[str, str]] = []

    def visit(self) -> None:
        for exp in self.exporters:
            for path in ("/metrics", "/", "/-/healthy", "/-/ready"):
                self.pages.append((f"GET {path}", exp.client.get(exp.url + path, timeout=5).text))
            gzipped = exp.client.get(exp.url + "/metrics", headers={"Accept-Encoding": "gzip"}, timeout=5)
            self.pages.append(("GET /metrics (gzip)", gzipped.text))

    def reload(self) -> None:
        for exp in self.exporters:
            self.pages.append(("POST /-/reload", exp.client.post(exp.url + "/-/reload", timeout=10).text))

    def wait_polls(self, targets: list[str], count: int, timeout: float = 20.0, failing_with: str = "") -> None:
        """Visit every endpoint until each target was polled `count` times by every exporter."""
        marks = [len(exp.output()) for exp in self.exporters]
        deadline = time.monotonic() + timeout
        while True:
            self.visit()
            done = all(
                len([line for line in polls_since(exp, mark, target) if failing_with in line]) >= count
                for exp, mark in zip(self.exporters, marks)
                for target in targets
            )
            if done:
                return
            assert time.monotonic() < deadline, f"{targets} were not polled {count} times"
            time.sleep(0.3)


def test_every_fault_at_debug_level_in_both_formats_never_shows_the_token(tmp_path):
    port = free_port()
    with simulator(TOKEN, *SIM_ARGS, port=port) as sim:
        # One target per campaign and one per queue: a fault scoped to either breaks one
        # target only, so six faults run at once.
        state = sim.state()
        scopes = [("campaign_id", c["campaign_id"]) for c in state["campaigns"]]
        scopes += [("queue_id", q["queue_id"]) for q in state["queues"]]
        targets = {f"{key[:-3]}-{value}": {key: value} for key, value in scopes} | {"everyone": {}}
        write_token(tmp_path, TOKEN)
        config = tmp_path / "config.yaml"
        write_config(config, sim.base_url, targets)
        good_config = config.read_text()
        with exporter(config, "--log.format", "logfmt") as logfmt, exporter(config, "--log.format", "json") as json_logs:
            seen = Collector([logfmt, json_logs])
            seen.visit()

            # Every fault, one per scope at a time, each for two polls of its target.
            for first in range(0, len(ALL_FAULTS), len(scopes)):
                batch = ALL_FAULTS[first : first + len(scopes)]
                for (key, value), (fault, params) in zip(scopes, batch):
                    sim.fault(fault, **{key: value}, **params)
                seen.wait_polls(list(targets)[: len(batch)], count=2)
                seen.reload()
                sim.clear()

            # Reloads of broken configs (the token inline), then the good one again.
            for text in BROKEN_CONFIGS:
                config.write_text(text.format(token=TOKEN))
                seen.reload()
                assert seen.pages[-1][1].startswith("reload failed: ")
            config.write_text(good_config)
            seen.reload()
            assert seen.pages[-1][1].startswith("config reloaded")

            # The API dies (connection refused), then comes back on the same port.
            sim.proc.kill()
            sim.proc.wait(timeout=10)
            seen.wait_polls(list(targets), count=2, failing_with="connection")
            with simulator(TOKEN, *SIM_ARGS, port=port):
                seen.wait_polls(list(targets), count=1)
            outputs = [("logfmt output", logfmt.output()), ("json output", json_logs.output())]

    everything = outputs + seen.pages
    for where, text in everything:
        assert_hidden(text, where)
    # The search looked at the right things: every kind of failure was logged, and the
    # token was there to leak (httpx logs each request URL, with the token redacted).
    for where, text in outputs:
        for kind in KINDS:
            assert f"poll failed: {kind}: " in text, f"{where}: no {kind} failure was logged"
        assert "auth_token=<redacted>" in text
        assert "Traceback" not in text
    assert any("HTTP 502" in text for where, text in seen.pages if where == "GET /")


# --- the commands: --config.check and logout ---------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CONVOSO_AUTH_TOKEN": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "convoso_exporter", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, secret: str = TOKEN) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in output
    assert_hidden(output, " ".join(result.args[3:]), secret)


CHECKED_CONFIGS = {
    "unknown key beside the token": "convoso:\n  auth_token: \"{token}\"\n  surprise: 1\ntargets:\n  - name: a\n",
    "token with words after it": "convoso:\n  auth_token: \"{token} and more\"\ntargets:\n  - name: a\n",
    "token in a list": "convoso:\n  auth_token: [\"{token}\"]\ntargets:\n  - name: a\n",
    "token in a mapping": "convoso:\n  auth_token: {{token: \"{token}\"}}\ntargets:\n  - name: a\n",
    "unterminated quote": "convoso:\n  auth_token: \"{token}\n  timeout: 1s\ntargets:\n  - name: a\n",
    "token twice": "convoso:\n  auth_token: \"{token}\"\n  auth_token: \"{token}\"\ntargets:\n  - name: a\n",
    "inline and file": "convoso:\n  auth_token: \"{token}\"\n  auth_token_file: token\ntargets:\n  - name: a\n",
    "targets not a list": "convoso:\n  auth_token: \"{token}\"\ntargets: \"{token}\"\n",
    "tab in the YAML": "convoso:\n\tauth_token: \"{token}\"\ntargets:\n  - name: a\n",
}


@pytest.mark.parametrize("text", CHECKED_CONFIGS.values(), ids=CHECKED_CONFIGS.keys())
def test_config_check_of_a_broken_config_never_prints_the_token(tmp_path, text):
    config = tmp_path / "config.yaml"
    config.write_text(text.format(token=TOKEN))
    assert_one_line_error(run_cli("--config.file", str(config), "--config.check"), 2)


def test_config_check_with_a_broken_token_file_or_variable_never_prints_the_token(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("convoso:\n  auth_token_file: token\ntargets:\n  - name: a\n")
    (tmp_path / "token").write_text(f"{TOKEN}\n{TOKEN}\n")
    assert_one_line_error(run_cli("--config.file", str(config), "--config.check"), 2)
    write_token(tmp_path, TOKEN)
    result = run_cli("--config.file", str(config), "--config.check", env={"CONVOSO_AUTH_TOKEN": f"{TOKEN} x"})
    assert_one_line_error(result, 2)
    good = run_cli("--config.file", str(config), "--config.check")
    assert good.returncode == 0 and "OK" in good.stdout
    assert_hidden(good.stdout + good.stderr, "--config.check of a good config")


def test_config_check_never_echoes_a_token_pasted_into_base_url(tmp_path):
    """BUG (convoso_exporter/config/schema.py, `_base_url`): the live API takes the token in the query
    string, so pasting a request URL as base_url is an easy mistake; the error then
    echoes the whole value, token included, to the terminal or CI log."""
    config = tmp_path / "config.yaml"
    for base_url in (f"https://api.convoso.com/v1?auth_token={TOKEN}", f"api.convoso.com/v1?auth_token={TOKEN}"):
        config.write_text(f"convoso:\n  base_url: \"{base_url}\"\n  auth_token: \"{TOKEN}\"\ntargets:\n  - name: a\n")
        result = run_cli("--config.file", str(config), "--config.check")
        assert "convoso.base_url" in result.stderr
        assert_one_line_error(result, 2)


@pytest.fixture(scope="module")
def sim():
    with simulator(TOKEN, "--agents", "6", "--seed", "4") as running:
        yield running


def logout_config(folder: Path, base_url: str, token: str = TOKEN) -> Path:
    write_token(folder, token)
    config = folder / "config.yaml"
    config.write_text(
        f"convoso:\n  base_url: {base_url}\n  auth_token_file: token\n  timeout: 500ms\n"
        "  max_response_bytes: 1KiB\ntargets:\n  - name: a\n"
    )
    return config


LOGOUT_FAULTS = [
    ("401", {}), ("403", {}), ("429", {"retry_after": 7}), ("500", {}), ("502_html", {}),
    ("slow", {"delay": 2}), ("truncated", {}), ("reset", {}), ("too_large", {"size": 4096}),
    ("not_json", {}), ("wrong_shape", {}),
]


def test_logout_errors_never_print_the_token(sim, tmp_path):
    config = logout_config(tmp_path, sim.base_url)
    agents = sim.state()["agents"]
    logout = ("logout", "--yes", "--config.file", str(config), "--user-id")
    try:
        for (fault, params), user in zip(LOGOUT_FAULTS, cycle(agents)):
            sim.fault(fault, **params)
            result = run_cli(*logout, user)
            assert_one_line_error(result, 1)
            assert "logout failed" in result.stderr or "authentication failed" in result.stderr, result.stderr
    finally:
        sim.clear()
    assert_one_line_error(run_cli(*logout, "no-such-agent"), 1)
    # The token from the environment, on the same error paths.
    env = {"CONVOSO_AUTH_TOKEN": TOKEN, "CONVOSO_BASE_URL": sim.base_url}
    assert_one_line_error(run_cli("logout", "--yes", "--user-id", "no-such-agent", env=env), 1)
    # A dead API, and a wrong token (which must not show either).
    dead = tmp_path / "dead"
    dead.mkdir()
    closed = logout_config(dead, f"http://127.0.0.1:{free_port()}/v1")
    assert_one_line_error(run_cli("logout", "--yes", "--config.file", str(closed), "--user-id", agents[0]), 1)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    result = run_cli("logout", "--yes", "--config.file", str(logout_config(wrong, sim.base_url, WRONG_TOKEN)),
                     "--user-id", agents[0])
    assert "authentication failed" in result.stderr
    assert_one_line_error(result, 1, WRONG_TOKEN)


# --- the token file: rotation on reload, and its permissions -------------------------------


def reload_ok(exp: Exporter) -> None:
    response = exp.client.post(exp.url + "/-/reload", timeout=10)
    assert response.status_code == 200, response.text


def test_a_rotated_token_file_takes_effect_on_reload(sim, tmp_path):
    token_file = write_token(tmp_path, TOKEN)
    config = tmp_path / "config.yaml"
    write_config(config, sim.base_url, {"everyone": {}})
    with exporter(config) as exp:
        before = exp.wait_for(lambda s: s.up("everyone") == 1, "up with the right token")
        token_file.write_text(WRONG_TOKEN + "\n")
        reload_ok(exp)
        down = exp.wait_for(lambda s: s.up("everyone") == 0, "down with the wrong token")
        assert down.poll_errors("everyone", "auth") > before.poll_errors("everyone", "auth")
        token_file.write_text(TOKEN + "\n")
        reload_ok(exp)
        exp.wait_for(lambda s: s.up("everyone") == 1, "up again with the right token")
        output = exp.output()
    assert_hidden(output, "exporter output")
    assert_hidden(output, "exporter output", WRONG_TOKEN)


def permission_warnings(exp: Exporter) -> list[dict]:
    return [r for r in exp.records() if r["level"] == "warn" and "readable by other users" in r["msg"]]


def test_a_token_file_readable_by_other_users_gets_a_warning(sim, tmp_path):
    token_file = write_token(tmp_path, TOKEN, mode=0o644)
    config = tmp_path / "config.yaml"
    write_config(config, sim.base_url, {"everyone": {}})
    with exporter(config, "--log.level", "info") as exp:
        [warning] = permission_warnings(exp)  # at start-up
        assert str(token_file) in warning["msg"] and "0644" in warning["msg"]
        for quiet_mode in (0o600, 0o640):
            token_file.chmod(quiet_mode)
            reload_ok(exp)
            assert len(permission_warnings(exp)) == 1, oct(quiet_mode)
        token_file.chmod(0o644)
        reload_ok(exp)
        assert len(permission_warnings(exp)) == 2
        assert_hidden(exp.output(), "exporter output")
    # A private file is never warned about, from the start.
    token_file.chmod(0o600)
    with exporter(config, "--log.level", "info") as exp:
        reload_ok(exp)
        assert permission_warnings(exp) == []

"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from convoso_exporter import __version__
from tests.support import ROOT, free_port, simulator_process

TOKEN = "cli-T0KEN-s3cret"


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 30):
    import os

    return subprocess.run(
        [sys.executable, "-m", "convoso_exporter", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_version():
    from convoso_exporter.buildinfo import revision

    result = run_cli("--version")
    assert result.returncode == 0
    first, python = result.stdout.splitlines()
    assert first == f"convoso-exporter, version {__version__} (revision: {revision()})"
    assert python.startswith("  python version: 3.")


def test_config_check_accepts_the_example():
    result = run_cli("--config.file", "config.example.yaml", "--config.check", env={"CONVOSO_AUTH_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


# (config text with {token}, how the one line starts after "error: <path>:")
BROKEN_CONFIGS = {
    "a wrong value": (
        "convoso:\n  auth_token: {token}\n  timeout: soon\ntargets:\n  - name: a\n",
        "3: convoso.timeout: expected a duration",
    ),
    "a duplicate key": (
        "convoso:\n  auth_token: {token}\n  timeout: 5s\n  timeout: 10s\ntargets:\n  - name: a\n",
        "4: convoso.timeout: duplicate key (first at line 3)",
    ),
    "a syntax error": (
        "convoso:\n  auth_token: {token}\n  timeout:10s\n  concurrency: 2\ntargets:\n  - name: a\n",
        "3: convoso: invalid YAML: a ':' must be followed by a space",
    ),
}


@pytest.mark.parametrize(("text", "expected"), BROKEN_CONFIGS.values(), ids=BROKEN_CONFIGS.keys())
def test_config_check_rejects_a_broken_config_in_one_line_naming_line_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text.format(token=TOKEN))
    result = run_cli("--config.file", str(path), "--config.check")
    assert_one_line_error(result, f"error: {path}:{expected}")
    assert TOKEN not in result.stderr


def test_missing_config_file_is_one_line():
    result = run_cli("--config.file", "/nonexistent/config.yaml", "--config.check")
    assert_one_line_error(result, "/nonexistent/config.yaml")


def test_bad_listen_address_is_one_line():
    result = run_cli("--web.listen-address", "nowhere", "--demo")
    assert_one_line_error(result, "listen address")


def test_broken_web_config_stops_startup_in_one_line(tmp_path):
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
    result = run_cli("--demo", "--web.config.file", str(web), "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert_one_line_error(result, "cert_file")


def test_web_config_with_a_duplicate_key_stops_startup_naming_it_and_its_line(tmp_path):
    # Before the strict loader, the second http_server_config silently replaced the first.
    web = tmp_path / "web.yml"
    web.write_text(
        "http_server_config:\n  headers: {X-Frame-Options: deny}\nbasic_auth_users: {}\n"
        "http_server_config:\n  http2: true\n"
    )
    result = run_cli("--demo", "--web.config.file", str(web), "--web.listen-address", f"127.0.0.1:{free_port()}")
    assert_one_line_error(result, f"error: web config {web}:4: http_server_config: duplicate key (first at line 1)")


def test_port_in_use_is_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--demo", "--web.listen-address", f"127.0.0.1:{port}")
    assert_one_line_error(result, "--web.listen-address")


def test_bad_shard_is_one_line():
    result = run_cli("--demo", "--shard", "3/2")
    assert_one_line_error(result, "--shard")


@pytest.fixture(scope="module")
def simulator():
    with simulator_process("--agents", "20", "--seed", "3", token=TOKEN) as (proc, base_url):
        yield base_url


def sim_state(base_url: str) -> dict:
    root = base_url.removesuffix("/v1")
    return httpx.get(f"{root}/_sim/state", params={"auth_token": TOKEN}).json()


def logged_in_agent(base_url: str) -> str:
    search = httpx.post(f"{base_url}/agent-monitor/search", params={"auth_token": TOKEN}).json()
    return next(a["user_id"] for a in search["agents"] if a["status"] != "LOGGED_OUT")


def logout_env(base_url: str, token: str = TOKEN) -> dict[str, str]:
    return {"CONVOSO_AUTH_TOKEN": token, "CONVOSO_BASE_URL": base_url}


def test_logout_then_6012_when_already_logged_out(simulator):
    user = logged_in_agent(simulator)
    first = run_cli("logout", "--user-id", user, "--yes", env=logout_env(simulator))
    assert first.returncode == 0, first.stderr
    assert f"agent {user} logged out" in first.stdout
    second = run_cli("logout", "--user-id", user, "--yes", env=logout_env(simulator))
    assert second.returncode == 1
    assert "not logged in" in second.stderr and "6012" in second.stderr
    assert "Traceback" not in second.stderr


def test_logout_unknown_agent_is_6006(simulator):
    result = run_cli("logout", "--user-id", "no-such-agent", "--yes", env=logout_env(simulator))
    assert result.returncode == 1
    assert "6006" in result.stderr and "no such agent" in result.stderr


def test_logout_with_a_bad_token_says_authentication_and_hides_it(simulator):
    wrong = "wr0ng-T0KEN-xyz"
    result = run_cli("logout", "--user-id", "1", "--yes", env=logout_env(simulator, wrong))
    assert result.returncode == 1
    assert "authentication failed" in result.stderr
    assert wrong not in result.stderr + result.stdout


def test_logout_asks_first_and_does_nothing_without_yes(simulator):
    user = logged_in_agent(simulator)
    refused = run_cli("logout", "--user-id", user, env=logout_env(simulator), stdin="n\n")
    assert refused.returncode == 1
    assert "aborted" in refused.stderr
    assert "? [y/N]" in refused.stderr
    # Nothing changed: the agent can still be logged out, after a "y".
    accepted = run_cli("logout", "--user-id", user, env=logout_env(simulator), stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr


def test_logout_reads_base_url_and_token_from_the_config_file(simulator, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"convoso:\n  base_url: {simulator}\n  auth_token: {TOKEN}\ntargets:\n  - name: all\n"
    )
    user = logged_in_agent(simulator)
    result = run_cli("logout", "--user-id", user, "--yes", "--config.file", str(config), env={"CONVOSO_AUTH_TOKEN": ""})
    assert result.returncode == 0, result.stderr


def test_logout_without_any_token_is_a_usage_error():
    result = run_cli("logout", "--user-id", "1", "--yes", env={"CONVOSO_AUTH_TOKEN": ""})
    assert_one_line_error(result, "token")


# ---- simulate ---------------------------------------------------------------------------


def test_simulate_start_time_pins_the_simulated_time_of_day():
    # Just after the simulated midnight the day's counters are near zero; mid-afternoon
    # they are large. Tests pin the time so they never cross midnight.
    def calls_today(start: str) -> int:
        with simulator_process("--agents", "30", "--seed", "2", "--start-time", start) as (proc, base_url):
            answer = httpx.post(f"{base_url}/agent-monitor/search", params={"auth_token": "demo"}).json()
            return answer["queue_calls_today"]

    assert calls_today("2026-11-24T00:00:05Z") < 30 < calls_today("2026-11-24T15:00:00")


def test_simulate_start_time_rejects_garbage_in_one_line():
    result = run_cli("simulate", "--start-time", "teatime")
    assert result.returncode == 2
    assert "--start-time" in result.stderr and "teatime" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_as_a_module_and_lists_the_settings_in_help():
    result = subprocess.run(
        [sys.executable, "-m", "convoso_exporter.mixin", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--check" in result.stdout and "drop_rate_critical=0.03" in result.stdout


def test_timezone_sets_where_the_simulated_day_starts():
    # 05:00:05 UTC is five hours into the UTC day, five seconds into New York's.
    from tests.support import simulator_process

    def day_so_far(*zone: str) -> tuple[int, str]:
        args = ("--agents", "30", "--seed", "2", "--start-time", "2026-01-15T05:00:05Z", *zone)
        with simulator_process(*args) as (proc, base_url):
            answer = httpx.post(f"{base_url}/agent-monitor/search", params={"auth_token": "demo"}).json()
            state = httpx.get(f"{base_url.removesuffix('/v1')}/_sim/state", params={"auth_token": "demo"}).json()
            return answer["queue_calls_today"], state["timezone"]

    new_york, utc = day_so_far("--timezone", "America/New_York"), day_so_far()
    assert new_york[0] < 30 < utc[0] and (new_york[1], utc[1]) == ("America/New_York", "UTC")

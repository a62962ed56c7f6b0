"""Where the exporter process listens, as exporter-toolkit's exporters do: every
`--web.listen-address` given, `:PORT` on IPv6 and IPv4, an address that cannot be
listened on named in one line (exit 2), and `--web.systemd-socket` serving on a socket
handed over as descriptor 3 with LISTEN_FDS / LISTEN_PID, as systemd hands it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convoso_exporter.web.listen import ipv6_available
from tests.support import ROOT, free_port, process, wait_http
from tests.system.test_cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.timeout(60)

needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback on this machine")


def free_port6() -> int:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return sock.getsockname()[1]


@needs_ipv6
def test_every_listen_address_serves():
    v4, v6 = free_port(), free_port6()
    args = ["--demo", "--web.listen-address", f"127.0.0.1:{v4}", "--web.listen-address", f"[::1]:{v6}"]
    with process(args) as proc:
        wait_http(f"http://127.0.0.1:{v4}/-/healthy", proc=proc)
        wait_http(f"http://[::1]:{v6}/-/healthy", proc=proc)
        assert f"listening on 127.0.0.1:{v4}, [::1]:{v6} (metrics at /metrics)" in proc.output()


@needs_ipv6
def test_no_host_serves_ipv6_and_ipv4():
    port = free_port()
    with process(["--demo", "--web.listen-address", f":{port}"]) as proc:
        wait_http(f"http://[::1]:{port}/-/healthy", proc=proc)
        wait_http(f"http://127.0.0.1:{port}/-/healthy", proc=proc)
        assert f"listening on [::]:{port} " in proc.output()


def test_an_address_in_use_among_several_is_named_and_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--demo", "--web.listen-address", f"127.0.0.1:{free_port()}",
                         "--web.listen-address", f"127.0.0.1:{port}")
    assert_one_line_error(result)
    assert result.stderr == (f"convoso-exporter: error: --web.listen-address 127.0.0.1:{port}: "
                             f"cannot listen on 127.0.0.1:{port}: Address already in use\n")


def test_a_bad_listen_address_among_good_ones_is_named():
    result = run_cli("--demo", "--web.listen-address", ":10717", "--web.listen-address", "::1:10717")
    assert_one_line_error(result)
    assert result.stderr == ("convoso-exporter: error: --web.listen-address: invalid listen address '::1:10717': "
                             "expected [host]:port\n")


# --- systemd socket activation --------------------------------------------------------

# What systemd does between fork and exec: the socket as descriptor 3, LISTEN_PID this
# process (exec keeps the pid), LISTEN_FDS the count.
ACTIVATE = (
    "import os, sys\n"
    "os.dup2(int(sys.argv[1]), 3)\n"
    "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1', LISTEN_FDNAMES='convoso-exporter.socket')\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'convoso_exporter', *sys.argv[2:]])\n"
)


def test_systemd_socket_activation_serves_on_the_passed_socket(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        log = tmp_path / "exporter.log"
        unused = free_port()  # ignored: the sockets come from systemd
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", ACTIVATE, str(sock.fileno()), "--demo", "--web.systemd-socket",
                 "--web.listen-address", f"127.0.0.1:{unused}"],
                pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            assert wait_http(f"http://127.0.0.1:{port}/-/healthy", proc=proc).text == "OK\n"
            wait_http(f"http://127.0.0.1:{port}/metrics", proc=proc)
            deadline = time.monotonic() + 10
            while f"listening on 127.0.0.1:{port} " not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            text = log.read_text()
            assert f"listening on 127.0.0.1:{port} (metrics at /metrics)" in text
            assert "--web.listen-address is ignored: --web.systemd-socket listens on the sockets systemd passes" in text
            with socket.socket() as probe:  # the listen address really was ignored
                assert probe.connect_ex(("127.0.0.1", unused)) != 0
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_systemd_socket_without_systemd_is_one_line():
    result = run_cli("--demo", "--web.systemd-socket", env={"LISTEN_FDS": "", "LISTEN_PID": ""})
    assert_one_line_error(result, "--web.systemd-socket: no sockets from systemd (LISTEN_FDS and LISTEN_PID are "
                                  "not set)")

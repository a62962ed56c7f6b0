"""convoso_exporter.web.systemd: the sockets of socket activation taken over, in-process,
on descriptors laid out as systemd lays them out (consecutive, from `first`); and what
each wrong setup says. (A real child process given its socket as descriptor 3:
tests/system/test_cli.py.)"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Iterator

import pytest

from convoso_exporter.web.systemd import SystemdSocketError, listen_sockets

PID = 4242


def free_run(count: int) -> int:
    """The first of `count` consecutive descriptor numbers none of which is open."""
    first = 500
    while any(_open(fd) for fd in range(first, first + count)):
        first += count
    return first


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@contextmanager
def passed(*made: socket.socket) -> Iterator[int]:
    """Copies of `made` on consecutive descriptors, inheritable as systemd passes them."""
    first = free_run(len(made))
    for offset, sock in enumerate(made):
        os.dup2(sock.fileno(), first + offset)  # dup2: inheritable
    try:
        yield first
    finally:
        for offset in range(len(made)):
            if _open(first + offset):
                os.close(first + offset)
        for sock in made:
            sock.close()


def listener(family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, listen: bool = True) -> socket.socket:
    sock = socket.socket(family, kind)
    if family != socket.AF_UNIX:
        sock.bind(("127.0.0.1", 0))
    if listen:
        sock.listen()
    return sock


def env(fds: int | str = 1, pid: int = PID) -> dict[str, str]:
    return {"LISTEN_PID": str(pid), "LISTEN_FDS": str(fds), "LISTEN_FDNAMES": "web", "HOME": "/x"}


def test_every_passed_socket_is_taken_and_the_variables_removed():
    a, b = listener(), listener()
    ports = [a.getsockname()[1], b.getsockname()[1]]
    with passed(a, b) as first:
        environ = env(2)
        sockets = listen_sockets(environ, pid=PID, first=first)
        try:
            assert [s.fileno() for s in sockets] == [first, first + 1]
            assert [s.getsockname()[1] for s in sockets] == ports
            assert not any(s.get_inheritable() for s in sockets)  # a child never gets them
            assert environ == {"HOME": "/x"}
            with socket.create_connection(("127.0.0.1", ports[1]), timeout=2):
                conn, _ = sockets[1].accept()
                conn.close()
        finally:
            for sock in sockets:
                sock.detach()  # `passed` closes the descriptors


def test_a_unix_stream_socket_is_taken(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(tmp_path / "web.sock"))
    sock.listen()
    with passed(sock) as first:
        (taken,) = listen_sockets(env(), pid=PID, first=first)
        assert taken.family == socket.AF_UNIX
        taken.detach()


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "no sockets from systemd (LISTEN_FDS and LISTEN_PID are not set)"),
        (env(pid=PID + 1), f"the sockets from systemd are for process '{PID + 1}', not this one ({PID})"),
        (env(fds=0), "no socket activation file descriptors found (LISTEN_FDS='0')"),
        (env(fds="two"), "no socket activation file descriptors found (LISTEN_FDS='two')"),
    ],
    ids=["unset", "another process", "none", "not a number"],
)
def test_wrong_variables_say_what_is_wrong_and_are_removed(environ, says):
    with pytest.raises(SystemdSocketError) as caught:
        listen_sockets(environ, pid=PID, first=free_run(1))
    assert str(caught.value).startswith(says)
    assert not any(name.startswith("LISTEN_") for name in environ)


def test_the_process_id_defaults_to_this_process():
    sock = listener()
    with passed(sock) as first:
        (taken,) = listen_sockets(env(pid=os.getpid()), first=first)
        taken.detach()


@pytest.mark.parametrize(
    ("made", "says"),
    [
        (lambda: listener(listen=False), "is not a listening stream socket"),
        (lambda: listener(kind=socket.SOCK_DGRAM, listen=False), "is not a listening stream socket"),
    ],
    ids=["not listening", "datagram"],
)
def test_a_descriptor_that_is_no_listening_stream_socket_is_named(made, says):
    with passed(made()) as first:
        with pytest.raises(SystemdSocketError) as caught:
            listen_sockets(env(), pid=PID, first=first)
    assert str(caught.value).startswith(f"descriptor {first} from systemd {says}")


def test_a_descriptor_that_is_no_socket_is_named():
    read, write = os.pipe()
    first = free_run(1)
    os.dup2(read, first)
    try:
        with pytest.raises(SystemdSocketError) as caught:
            listen_sockets(env(), pid=PID, first=first)
        assert str(caught.value).startswith(f"descriptor {first} from systemd is not a socket (")
    finally:
        for fd in (read, write, first):
            if _open(fd):
                os.close(fd)


# --- Notifier: sd_notify(3) -----------------------------------------------------------------


def test_the_notifier_sends_states_to_notify_socket_and_feeds_the_watchdog_at_half_its_period(tmp_path):
    from convoso_exporter.web.systemd import Notifier

    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, pid=42)
        assert notifier.notify("READY=1") and notifier.notify("WATCHDOG=1")
        assert [listener.recv(64), listener.recv(64)] == [b"READY=1", b"WATCHDOG=1"]
    assert notifier.interval == 10.0


def test_without_systemd_the_notifier_does_nothing_and_runs_no_watchdog():
    from convoso_exporter.web.systemd import Notifier

    assert not Notifier({}).notify("READY=1") and Notifier({}).interval is None
    # Another process's watchdog, or a value that is not a period: not ours to feed.
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "7"}, pid=8).interval is None
    assert Notifier({"WATCHDOG_USEC": "soon"}).interval is None
    # A socket that went away: False, never an exception.
    assert not Notifier({"NOTIFY_SOCKET": "/nonexistent/notify"}).notify("WATCHDOG=1")

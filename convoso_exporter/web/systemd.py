"""`--web.systemd-socket`: listen on the sockets systemd passes (socket activation).

systemd (or `systemd-socket-activate`) opens the sockets of a `.socket` unit, starts the
service with them as descriptors 3, 4, ... and says so in its environment: `LISTEN_FDS`
(how many), `LISTEN_PID` (the process they are meant for: a child that inherited the
environment must not take them too) and `LISTEN_FDNAMES` (names, unused here). As
go-systemd's `activation.Listeners()` does for exporter-toolkit: the variables are read
and removed from the environment, every descriptor is made close-on-exec, and the
sockets replace `--web.listen-address`. Unlike it, anything wrong is an error that says
what: no variables, another process's sockets, a descriptor that is not a listening
stream socket (a `.socket` unit with `ListenDatagram=` or `Accept=yes`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping

SD_LISTEN_FDS_START = 3
VARIABLES = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


class SystemdSocketError(Exception):
    """No usable socket from systemd; one line saying why."""


def listen_sockets(
    environ: MutableMapping[str, str] = os.environ, pid: int | None = None, first: int = SD_LISTEN_FDS_START
) -> list[socket.socket]:
    """The listening sockets systemd passed to this process (at least one), taken over:
    the variables are removed from `environ` whatever the outcome."""
    listen_pid, listen_fds = environ.get("LISTEN_PID") or None, environ.get("LISTEN_FDS") or None
    for name in VARIABLES:
        environ.pop(name, None)
    pid = os.getpid() if pid is None else pid
    if listen_fds is None or listen_pid is None:
        raise SystemdSocketError("no sockets from systemd (LISTEN_FDS and LISTEN_PID are not set): start the exporter "
                                 "from a .socket unit, or leave the flag out")
    if listen_pid.strip() != str(pid):
        raise SystemdSocketError(f"the sockets from systemd are for process {listen_pid.strip()!r}, not this one "
                                 f"({pid}): was the exporter started by a wrapper that forked?")
    if not (listen_fds.isascii() and listen_fds.strip().isdigit()) or int(listen_fds) < 1:
        raise SystemdSocketError(f"no socket activation file descriptors found (LISTEN_FDS={listen_fds!r})")
    sockets: list[socket.socket] = []
    try:
        for fd in range(first, first + int(listen_fds)):
            sockets.append(_listening(fd))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listening(fd: int) -> socket.socket:
    try:
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)  # family and type read from the descriptor
    except OSError as exc:
        raise SystemdSocketError(f"descriptor {fd} from systemd is not a socket ({exc.strerror})") from None
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()  # not ours to close: say what it is and leave it
        raise SystemdSocketError(f"descriptor {fd} from systemd is not a listening stream socket (the .socket unit "
                                 "needs ListenStream= and Accept=no)")
    return sock


class Notifier:
    """sd_notify(3) without libsystemd: `READY=1` once the exporter serves, `WATCHDOG=1`
    while it makes progress (poll/watchdog.py), to the datagram socket systemd names in
    `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Without the variable
    (not under systemd, or no `Type=notify`), or where Unix sockets are missing, it does
    nothing. `interval` is how often to feed the watchdog: half of `WATCHDOG_USEC`, as
    sd_watchdog_enabled(3) advises; None when systemd runs no watchdog for us."""

    def __init__(self, environ: MutableMapping[str, str] = os.environ, pid: int | None = None) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec, watchdog_pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
        ours = not watchdog_pid or watchdog_pid.strip() == str(os.getpid() if pid is None else pid)
        self.interval = int(usec) / 2e6 if usec.isascii() and usec.isdigit() and int(usec) > 0 and ours else None

    def notify(self, state: str) -> bool:
        """Send `state` (e.g. "READY=1"); False when there is nobody to tell or it failed."""
        if not self._address or not hasattr(socket, "AF_UNIX"):
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(state.encode(), self._address)
        except OSError:
            return False
        return True

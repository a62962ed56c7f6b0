"""What failed on the way to the API, in words: a transport failure (an httpx exception,
or the request's total deadline) becomes a `ConnectionFailed` or an `ApiTimeout` whose
message names the host and port and says what to check.

    search: cannot resolve host api.convoso.example (DNS: Name or service not known); check convoso.base_url
    search: connection refused by 127.0.0.1:18080; is the API up and is base_url right?
    search: TLS certificate of api.convoso.example:443 not accepted (self-signed certificate); ...

httpx's own exceptions are never quoted nor chained: their text and attributes hold the
request's URL, token included. What failed is read from what they wrap instead: the
chain httpx, httpcore and anyio build (`__cause__` / `__context__`, and the exception
group of a connect that tried several addresses) down to the operating system's error:
`socket.gaierror` (DNS), `ConnectionRefusedError`, an unreachable network, a reset,
`ssl.SSLCertVerificationError` and other TLS errors, h11's protocol errors. Only texts
made by the OS, OpenSSL or h11 are quoted (strerror, the verification message, h11's
reason), never a URL; the client redacts and cuts the line as it does every message.

Where in the exchange it failed comes from httpcore's `trace` extension (`Steps`): a
deadline that struck while connecting reads differently from one that struck while
waiting for the answer. Without trace events (a mocked transport), the httpx exception's
class implies the step.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from typing import Any, NamedTuple

import h11
import httpx

from convoso_exporter.api.errors import ApiTimeout, ConnectionFailed

# The steps of one exchange, from httpcore's trace events.
CONNECT, TLS, SEND, WAIT, READ = "connect", "tls", "send", "wait", "read"
_TRACED = {
    "connect_tcp": CONNECT,
    "connect_unix_socket": CONNECT,
    "start_tls": TLS,
    "send_request_headers": SEND,
    "send_request_body": SEND,
    "receive_response_headers": WAIT,
    "receive_response_body": READ,
}
# The step an httpx exception implies when no trace event said.
_IMPLIED: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectTimeout, CONNECT),
    (httpx.ConnectError, CONNECT),
    (httpx.WriteTimeout, SEND),
    (httpx.WriteError, SEND),
    (httpx.ReadTimeout, READ),
    (httpx.ReadError, READ),
)
_DOING = {
    CONNECT: "connecting",
    TLS: "in the TLS handshake",
    SEND: "sending the request",
    WAIT: "waiting for the answer",
    READ: "reading the answer",
}
_CLOSED = {SEND: "while the request was sent", WAIT: "before answering", READ: "in the middle of the answer"}
_RESET = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
_UNREACHABLE = frozenset((errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN))
# DNS answers that mean "no such name" (the URL's fault), not "DNS not working" (the machine's).
_NO_SUCH_NAME = frozenset(code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code)
# Longest text quoted from h11 (it may quote the server's bytes).
_MAX_QUOTED = 120


class Steps:
    """httpcore's `trace` callback for one request: `step` is the last one it began."""

    __slots__ = ("step",)

    def __init__(self) -> None:
        self.step: str | None = None

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        # "connection.connect_tcp.started", "http11.receive_response_body.started", ...
        name, _, stage = event.partition(".")[2].rpartition(".")
        if stage == "started" and name in _TRACED:
            self.step = _TRACED[name]


class Endpoint(NamedTuple):
    """Where the API is, as messages name it: the host, and host:port."""

    host: str
    address: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        """From the base URL: an IPv6 host in brackets, the port defaulted by the scheme."""
        parsed = httpx.URL(url)
        host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return cls(host, f"{host}:{port}")


class Failure(NamedTuple):
    """The error to raise: its class, its reason and its message after "<endpoint>: "."""

    error: type[ConnectionFailed] | type[ApiTimeout]
    reason: str
    detail: str


def describe(exc: BaseException, where: Endpoint, step: str | None, timeout: float) -> Failure:
    """What `exc` (an httpx.HTTPError or the deadline's TimeoutError) means, in words."""
    if step is None:
        step = next((implied for kind, implied in _IMPLIED if isinstance(exc, kind)), None)
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return _timeout(where.address, step, timeout)
    causes = list(_chain(exc))
    if dns := _first(causes, socket.gaierror):
        return _dns(dns, where.host)
    if bad_cert := _first(causes, ssl.SSLCertVerificationError):
        return Failure(ConnectionFailed, "tls",
                       f"TLS certificate of {where.address} not accepted ({bad_cert.verify_message}); check "
                       "convoso.base_url, or point SSL_CERT_FILE at the CA bundle that signs the API's certificate")
    if tls := _first(causes, ssl.SSLError):
        return _tls(tls, where.address, step)
    if _first(causes, ConnectionRefusedError):
        return Failure(ConnectionFailed, "refused", f"connection refused by {where.address}; "
                                                   "is the API up and is base_url right?")
    if unreachable := next((c for c in causes if isinstance(c, OSError) and c.errno in _UNREACHABLE), None):
        return Failure(ConnectionFailed, "unreachable",
                       f"{where.address} is unreachable ({unreachable.strerror}); check this machine's "
                       "network, routes and firewall, and convoso.base_url")
    if reset := _first(causes, _RESET):
        return Failure(ConnectionFailed, "reset",
                       f"connection to {where.address} reset{_while(step)} ({reset.strerror or 'reset'}); try "
                       "again; if it lasts, check the network path (proxy, firewall)")
    if http := _first(causes, h11.ProtocolError):
        return Failure(ConnectionFailed, "http",
                       f"{where.address} broke the HTTP exchange{_while(step)} ({_quoted(http)}); check that "
                       "convoso.base_url points at the Convoso API")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Failure(ConnectionFailed, "closed",
                       f"{where.address} closed the connection {_CLOSED.get(step, 'early')}; try again; if it "
                       "lasts, check convoso.base_url (plain HTTP to an HTTPS port?)")
    os_error = next((c for c in reversed(causes) if isinstance(c, OSError) and c.strerror), None)
    what = os_error.strerror if os_error is not None else type(exc).__name__
    return Failure(ConnectionFailed, "other",
                   f"connection to {where.address} failed{_while(step)} ({what}); check convoso.base_url and "
                   "that this machine can reach it")


def _timeout(address: str, step: str | None, timeout: float) -> Failure:
    within = f"within {timeout:g}s"
    if step == CONNECT:
        detail = (f"no connection to {address} {within} (resolving and connecting); check the network path "
                  "(firewall, egress rules) and convoso.base_url")
    elif step == TLS:
        detail = (f"TLS handshake with {address} not done {within}; is it an HTTPS port? check convoso.base_url "
                  "and the network path")
    elif step == SEND:
        detail = f"could not send the request to {address} {within}; check the network path"
    else:
        state = {WAIT: " (connected, waiting for the answer)", READ: " (the answer came too slowly)"}.get(step, "")
        detail = f"no complete answer {within} from {address}{state}; the API is slow: try later, or raise " \
                 "convoso.timeout"
    return Failure(ApiTimeout, step or "unknown", detail)


def _dns(err: socket.gaierror, host: str) -> Failure:
    hint = "check convoso.base_url" if err.errno in _NO_SUCH_NAME else "check this machine's DNS, and convoso.base_url"
    return Failure(ConnectionFailed, "dns", f"cannot resolve host {host} (DNS: {err.strerror or 'no address'}); {hint}")


def _tls(err: ssl.SSLError, address: str, step: str | None) -> Failure:
    what = (err.reason or "").replace("_", " ").lower() or err.strerror or type(err).__name__
    if step in (None, CONNECT, TLS):
        return Failure(ConnectionFailed, "tls", f"TLS handshake with {address} failed ({what}); is it an HTTPS "
                                                "port? check convoso.base_url")
    return Failure(ConnectionFailed, "reset", f"TLS connection to {address} broke{_while(step)} ({what}); try "
                                              "again; if it lasts, check the network path (proxy, firewall)")


def _while(step: str | None) -> str:
    return f" while {_DOING[step]}" if step in _DOING else ""


def _quoted(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 3] + "..."


def _first(causes: list[BaseException], kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    return next((cause for cause in causes if isinstance(cause, kind)), None)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what it was raised from or during, and the members of exception groups."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen or len(seen) > 32:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)

"""One error taxonomy for everything that can go wrong talking to Convoso.

Each class has a stable `kind`, used as the `kind`/`outcome` label in the
exporter's self-metrics and in log lines. Messages are built by the client from
already-redacted text: no error ever carries the auth token (see `redact`).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote, quote_plus

REDACTED = "<redacted>"


def secret_forms(secret: str) -> tuple[str, ...]:
    """Every form `secret` takes in a URL or form body: raw, and URL-encoded with `/`
    kept or escaped and with spaces as `%20` or `+`. Longest first, so that a form
    which contains another (`%25` in `%2525`) is replaced whole."""
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def escaped(text: str) -> str:
    """`text` with every character that is not printable (line breaks, tabs, controls,
    lone surrogates) written as Python escapes it (`\\n`, `\\x1b`): a value quoted
    exactly, on one line (a config key, say)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def one_line(text: str) -> str:
    """A message on one line: every run of whitespace (line breaks included) one space,
    anything else not printable escaped (`escaped`), so a message never breaks a log line
    nor mangles a terminal. The one way every module words a message on one line (config
    errors, API errors, the server's answers); a value that must be shown exactly is
    `escaped` first.

    No truncation here: messages are cut only after the token is redacted, so a cut can
    never leave part of the token behind.
    """
    return escaped(" ".join(text.split()))


def redact(text: str, secret: str | None) -> str:
    """Replace every form of `secret` (see `secret_forms`) in `text`."""
    if not secret:
        return text
    for form in secret_forms(secret):
        text = text.replace(form, REDACTED)
    return text


class ConvosoError(Exception):
    """Base class. `str(err)` is a one-line, token-free description."""

    kind: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class AuthError(ConvosoError):
    """HTTP 401/403, or `success:false` saying the token is invalid."""

    kind = "auth"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AccessDenied(AuthError):
    """The token works but lacks the permission for an optional endpoint (agent-performance,
    user-activity search): HTTP 403, or `success: false` saying so. Only that endpoint is
    turned off (poll/endpoints.py); `permission` names what to tick in Convoso."""

    kind = "denied"

    def __init__(self, message: str, permission: str) -> None:
        super().__init__(message, status=403)
        self.permission = permission


class ApiError(ConvosoError):
    """`success:false` with a Convoso error code (6006, 6012, 6026, 6041, ...)."""

    kind = "api"

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RateLimited(ConvosoError):
    """HTTP 429. `retry_after` is in seconds when the server said so."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ConvosoError):
    """HTTP 5xx."""

    kind = "server"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProtocolError(ConvosoError):
    """The answer is not what the API speaks: HTML, non-JSON, truncated, wrong shape."""

    kind = "protocol"


class ResponseTooLarge(ProtocolError):
    """The body exceeded the configured cap; it was not read whole."""

    kind = "too_large"


class ApiTimeout(ConvosoError):
    """No complete answer within the configured timeout. `reason`: the step the request
    was in when the deadline struck (see `api/failures.py`), when known."""

    kind = "timeout"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class ConnectionFailed(ConvosoError):
    """Could not connect, or the connection broke mid-answer. `reason`: what failed
    (`dns`, `refused`, `unreachable`, `tls`, `reset`, `closed`, ...; see
    `api/failures.py`), when known; the message then says what to check."""

    kind = "connection"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


# The outcome of a request, and the kind of a failed poll, that ended in anything but a
# ConvosoError: a bug in the exporter, never the API's doing.
INTERNAL = "internal"

# Every kind, for pre-initialising error counters and documenting them. (`denied`,
# AccessDenied's, is left out: agent-monitor search never answers it, and the optional
# endpoints' requests show it when it happens.)
ERROR_KINDS: tuple[str, ...] = (
    AuthError.kind,
    ApiError.kind,
    RateLimited.kind,
    ServerError.kind,
    ProtocolError.kind,
    ResponseTooLarge.kind,
    ApiTimeout.kind,
    ConnectionFailed.kind,
)

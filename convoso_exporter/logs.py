"""Log formatting (logfmt or JSON, one record per line) with secret redaction.

    ts=2026-11-24T10:00:00.000Z level=info logger=convoso_exporter.poll.poller msg="target sales: recovered" target=sales

Every record, from our loggers and from libraries (httpx logs full request URLs, and the
Convoso token travels in the query string), goes through one handler on the root logger
whose formatter removes every registered secret from the finished line. Secrets are
registered with `add_secret` (the app adds each token it loads, so a rotated-out token
stays redacted too).

One record is always one line: newlines in messages and values are escaped, and an
exception is rendered as `err="Type: message"`; only at debug level is its traceback
added, escaped into the same line.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
import traceback
from typing import Any, TextIO

from convoso_exporter.api.errors import REDACTED, secret_forms

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
FORMATS = ("logfmt", "json")
LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}
# Libraries that log request URLs (with the token in the query string) at info/debug.
CHATTY_LIBRARIES = ("httpx", "httpcore")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_RESERVED_KEYS = ("ts", "level", "logger", "msg", "err", "traceback")
# Line separators that json.dumps leaves alone but some readers split on.
_EXTRA_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}

# Every form of every registered secret as it could appear in a line, longest first.
_secret_forms: tuple[str, ...] = ()


def add_secret(secret: str) -> None:
    """Redact `secret` from every log line from now on (raw, URL-encoded and escaped forms)."""
    global _secret_forms
    if not secret:
        return
    raw_forms = secret_forms(secret)
    # A value quoted in a line has its characters escaped one by one; redact those forms too.
    forms = {*raw_forms, *(_quoted(form)[1:-1] for form in raw_forms)}
    _secret_forms = tuple(sorted(set(_secret_forms) | forms, key=len, reverse=True))


def _redact(line: str) -> str:
    for form in _secret_forms:
        line = line.replace(form, REDACTED)
    return line


def setup_logging(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Send every record to `stream` (stderr by default) as one redacted line."""
    if level not in LEVELS:
        raise ValueError(f"invalid log level {level!r}: expected one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"invalid log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    numeric = LEVELS[level]
    handler = _RedactingHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LineFormatter(fmt, tracebacks=numeric == logging.DEBUG))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RedactingHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if numeric == logging.DEBUG else logging.WARNING)


class LineFormatter(logging.Formatter):
    """A record → one logfmt or JSON line, redacted."""

    def __init__(self, fmt: str = "logfmt", *, tracebacks: bool = False) -> None:
        super().__init__()
        self.json = fmt == "json"
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.json:
            line = json.dumps({key: _json_value(value) for key, value in fields}, ensure_ascii=False)
            line = _escape_line_breaks(line)
        else:
            line = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields)
        return _redact(line)

    def fields(self, record: logging.LogRecord) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [
            ("ts", _timestamp(record)),
            ("level", LEVEL_NAMES.get(record.levelno, record.levelname.lower())),
            ("logger", record.name),
            ("msg", _message(record)),
        ]
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                fields.append((_extra_key(key), value))
        if record.exc_info and record.exc_info[1] is not None:
            fields.append(("err", _exception_line(record.exc_info[1])))
            if self.tracebacks:
                fields.append(("traceback", "".join(traceback.format_exception(record.exc_info[1]))))
        if record.stack_info and self.tracebacks:
            fields.append(("stack", record.stack_info))
        return fields


class _RedactingHandler(logging.StreamHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        # The default prints a traceback and the record's raw arguments to stderr,
        # unredacted. Our formatter does not raise, so this is a failing stream: drop it.
        pass


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # a bad format string must not lose the record (nor print a traceback)
        return f"{record.msg} (log arguments {record.args!r} do not fit: {type(exc).__name__})"


def _extra_key(key: str) -> str:
    """A logfmt-safe key that does not shadow the standard ones."""
    safe = "".join(ch if ch.isprintable() and ch not in ' ="' else "_" for ch in key) or "_"
    return f"extra_{safe}" if safe in _RESERVED_KEYS else safe


def _exception_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _quoted(text: str) -> str:
    """A double-quoted string with `"`, `\\` and every control character escaped."""
    return _escape_line_breaks(json.dumps(text, ensure_ascii=False))


def _escape_line_breaks(text: str) -> str:
    for char, escaped in _EXTRA_LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def _logfmt_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and text.isprintable() and not any(ch in text for ch in ' ="\\'):
        return text
    return _quoted(text)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)

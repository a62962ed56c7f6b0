"""Log lines: logfmt and JSON shapes, one line per record, and secret redaction."""

from __future__ import annotations

import calendar
import io
import json
import logging
from urllib.parse import quote, quote_plus

import httpx
import pytest

from convoso_exporter import logs
from convoso_exporter.logs import LineFormatter, add_secret, setup_logging

# A realistic token, and one with characters that every escaping step changes.
TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
ODD_TOKEN = 'odd"tok\\en/+= 1'


def forms(secret: str) -> set[str]:
    """Every way a secret could leak into a line."""
    raw = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return raw | {json.dumps(form)[1:-1] for form in raw}


@pytest.fixture(autouse=True)
def only_this_modules_secrets(monkeypatch):
    """This module's two tokens, and not what earlier tests registered (every App adds
    its token): a short one ("t") cut letters out of every line here."""
    monkeypatch.setattr(logs, "_secret_forms", ())
    add_secret(TOKEN)
    add_secret(ODD_TOKEN)


@pytest.fixture
def capture():
    """setup_logging into a buffer, as the only root handler (pytest's own capture
    handler would format records itself); root and library levels restored after."""
    root = logging.getLogger()
    saved = (root.level, {n: logging.getLogger(n).level for n in logs.CHATTY_LIBRARIES})

    def start(level: str = "info", fmt: str = "logfmt") -> io.StringIO:
        buffer = io.StringIO()
        root.handlers[:] = []
        setup_logging(level, fmt, stream=buffer)
        return buffer

    yield start
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, logs._RedactingHandler)]
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def record(msg: str, *args, **extra) -> logging.LogRecord:
    """An info record from convoso_exporter.poll.poller at 2026-11-24T10:00:00.042Z."""
    created = calendar.timegm((2026, 11, 24, 10, 0, 0)) + 0.042
    rec = logging.LogRecord("convoso_exporter.poll.poller", logging.INFO, __file__, 1, msg, args, None)
    rec.created, rec.msecs = created, 42.0
    rec.__dict__.update(extra)
    return rec


def test_logfmt_shape():
    line = LineFormatter("logfmt").format(record("target %s: recovered", "sales", target="sales", polls=3))
    assert line == (
        'ts=2026-11-24T10:00:00.042Z level=info logger=convoso_exporter.poll.poller msg="target sales: recovered" '
        "target=sales polls=3"
    )


def test_logfmt_quotes_only_what_needs_it():
    line = LineFormatter("logfmt").format(
        record("plain", a='say "hi"', b="k=v", c="back\\slash", d="", e=None, f=True, g="ünïcode✓")
    )
    assert line.endswith(
        'msg=plain a="say \\"hi\\"" b="k=v" c="back\\\\slash" d="" e=null f=true g=ünïcode✓'
    )


def test_json_shape_has_the_same_keys():
    line = LineFormatter("json").format(record("target %s: recovered", "sales", target="sales", polls=3))
    assert json.loads(line) == {
        "ts": "2026-11-24T10:00:00.042Z",
        "level": "info",
        "logger": "convoso_exporter.poll.poller",
        "msg": "target sales: recovered",
        "target": "sales",
        "polls": 3,
    }


def test_extra_fields_never_shadow_standard_keys():
    line = LineFormatter("json").format(record("hello", level="sneaky", ts="also"))
    data = json.loads(line)
    assert data["level"] == "info" and data["extra_level"] == "sneaky" and data["extra_ts"] == "also"


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_one_record_is_one_line(capture, fmt):
    out = capture("info", fmt)
    message = "first\nsecond\r\nthird\u2028fourth\x85fifth"
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        logging.getLogger("convoso_exporter.test").error(message, exc_info=True, extra={"detail": "a\nb"})
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert len(text.splitlines()) == 1
    assert "Traceback" not in text
    if fmt == "json":
        data = json.loads(text)
        assert data["msg"] == message  # escaped, not lost
        assert data["err"] == "ValueError: broken\nacross lines"
        assert data["detail"] == "a\nb"
    else:
        assert 'err="ValueError: broken\\nacross lines"' in text


def test_debug_level_adds_the_traceback_on_the_same_line(capture):
    out = capture("debug", "logfmt")
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("convoso_exporter.test").exception("lookup failed")
    text = out.getvalue()
    assert len(text.splitlines()) == 1
    assert "err=\"KeyError: 'missing'\"" in text
    assert 'traceback="Traceback (most recent call last):\\n' in text


def test_levels_filter_and_warn_is_the_name(capture):
    out = capture("warn", "logfmt")
    log = logging.getLogger("convoso_exporter.test")
    log.info("hidden")
    log.warning("shown")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "level=warn" in lines[0] and "msg=shown" in lines[0]


def test_invalid_level_and_format_are_one_line_errors():
    with pytest.raises(ValueError, match=r"^invalid log level 'verbose': expected one of debug, info, warn, error$"):
        setup_logging("verbose")
    with pytest.raises(ValueError, match=r"^invalid log format 'xml': expected one of logfmt, json$"):
        setup_logging("info", "xml")


def test_bad_log_arguments_do_not_lose_the_record(capture, capsys):
    out = capture("info", "logfmt")
    logging.getLogger("convoso_exporter.test").info("%d agents", "many")
    text = out.getvalue()
    assert len(text.splitlines()) == 1 and "%d agents" in text and "TypeError" in text
    assert capsys.readouterr().err == ""  # no "--- Logging error ---" traceback


def test_setting_up_twice_keeps_one_handler(capture):
    first = capture("info", "logfmt")
    setup_logging("info", "json", stream=(out := io.StringIO()))
    logging.getLogger("convoso_exporter.test").info("once")
    assert len(out.getvalue().splitlines()) == 1 and first.getvalue() == ""
    assert sum(isinstance(h, logs._RedactingHandler) for h in logging.getLogger().handlers) == 1


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
@pytest.mark.parametrize("secret", [TOKEN, ODD_TOKEN])
def test_secret_redacted_everywhere(capture, fmt, secret):
    out = capture("debug", fmt)
    log = logging.getLogger("convoso_exporter.api.client")
    log.info(f"token in the message {secret}")
    log.info("token in an argument %s and %r", secret, quote_plus(secret))
    log.info("token in an extra field", extra={"url": f"https://x/?auth_token={quote(secret, safe='')}"})
    try:
        raise RuntimeError(f"failed with auth_token={secret}")
    except RuntimeError:
        log.exception("token in the exception")
    text = out.getvalue()
    assert len(text.splitlines()) == 4
    assert text.count("<redacted>") >= 6
    for form in forms(secret):
        assert form not in text, form


def test_httpx_request_urls_are_redacted_at_debug_and_silent_at_info(capture):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True})

    url = f"http://127.0.0.1:1/v1/agent-monitor/search?auth_token={quote_plus(TOKEN)}"
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        quiet = capture("info", "logfmt")
        client.post(url)
        assert quiet.getvalue() == ""  # httpx logs every request URL at info: kept at warn
        loud = capture("debug", "json")
        client.post(url)
    lines = loud.getvalue().splitlines()
    requests = [json.loads(line) for line in lines if json.loads(line)["logger"] == "httpx"]
    assert requests and "auth_token=<redacted>" in requests[0]["msg"]
    assert TOKEN not in loud.getvalue()

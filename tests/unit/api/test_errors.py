"""convoso_exporter.api.errors: the error taxonomy (a stable kind per class), the
redaction of the auth token in every form it takes in a URL or a form body, and the one
way a message is put on one line."""

from __future__ import annotations

import pytest

from convoso_exporter.api.errors import (
    ERROR_KINDS,
    REDACTED,
    ApiError,
    ApiTimeout,
    AuthError,
    ConnectionFailed,
    ConvosoError,
    ProtocolError,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    escaped,
    one_line,
    redact,
    secret_forms,
)

# A token with every character URL encoding treats specially: space, /, +, %, &, =.
ODD = "a b/c+d%e&f=g"
ODD_FORMS = {
    ODD,
    "a%20b/c%2Bd%25e%26f%3Dg",  # quote(): path style, `/` kept
    "a%20b%2Fc%2Bd%25e%26f%3Dg",  # quote(safe=""): query style
    "a+b%2Fc%2Bd%25e%26f%3Dg",  # quote_plus(): form style
}

# --- the taxonomy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kind"),
    [
        (ConvosoError, "error"),
        (AuthError, "auth"),
        (ApiError, "api"),
        (RateLimited, "rate_limited"),
        (ServerError, "server"),
        (ProtocolError, "protocol"),
        (ResponseTooLarge, "too_large"),
        (ApiTimeout, "timeout"),
        (ConnectionFailed, "connection"),
    ],
)
def test_each_class_has_its_stable_kind(cls, kind):
    assert cls.kind == kind
    assert cls("x").kind == kind
    assert issubclass(cls, ConvosoError)


def test_error_kinds_lists_every_concrete_kind_once():
    assert ERROR_KINDS == ("auth", "api", "rate_limited", "server", "protocol", "too_large", "timeout", "connection")
    assert "error" not in ERROR_KINDS  # the base class is never raised itself


def test_a_too_large_answer_is_also_a_protocol_error():
    # Callers catching ProtocolError see it; metrics still tell the two apart.
    assert issubclass(ResponseTooLarge, ProtocolError)
    assert ResponseTooLarge.kind != ProtocolError.kind


@pytest.mark.parametrize(
    ("error", "attribute", "value"),
    [
        (AuthError("search: HTTP 401: no", status=401), "status", 401),
        (AuthError("search: invalid token"), "status", None),
        (ApiError("logout: not logged in", code=6012), "code", 6012),
        (ApiError("search: refused"), "code", None),
        (RateLimited("search: HTTP 429", retry_after=2.5), "retry_after", 2.5),
        (RateLimited("search: HTTP 429"), "retry_after", None),
        (ServerError("search: HTTP 502", status=502), "status", 502),
    ],
)
def test_errors_carry_their_detail(error, attribute, value):
    assert getattr(error, attribute) == value


def test_str_is_the_message_and_repr_names_the_class():
    error = ApiError("logout: HTTP 200: agent not logged in", code=6012)
    assert str(error) == "logout: HTTP 200: agent not logged in"
    assert error.message == str(error) and error.args == (str(error),)
    assert repr(error) == "ApiError('logout: HTTP 200: agent not logged in')"
    assert repr(ApiTimeout("search: slow")) == "ApiTimeout('search: slow')"


# --- redaction ---------------------------------------------------------------------------


def test_secret_forms_are_raw_and_every_url_encoding():
    assert set(secret_forms(ODD)) == ODD_FORMS


def test_secret_forms_come_longest_first_without_repeats():
    forms = secret_forms(ODD)
    assert len(forms) == len(set(forms)) == 4
    assert [len(form) for form in forms] == sorted((len(form) for form in forms), reverse=True)
    # A token with nothing to encode has one form only.
    assert secret_forms("s3cr3tT0KEN") == ("s3cr3tT0KEN",)


@pytest.mark.parametrize("form", sorted(ODD_FORMS))
def test_redact_replaces_each_form(form):
    assert redact(f"POST /v1/search?auth_token={form}&x=1 failed", ODD) == (
        f"POST /v1/search?auth_token={REDACTED}&x=1 failed"
    )


def test_redact_replaces_every_occurrence_and_keeps_the_rest():
    text = "token s3cret in the body, s3cret again, and S3CRET is another word"
    assert redact(text, "s3cret") == f"token {REDACTED} in the body, {REDACTED} again, and S3CRET is another word"


def test_redact_leaves_no_piece_of_a_form_that_contains_another():
    # "%25" raw is inside its own encoding "%2525": the longer form must go whole.
    secret = "%25"
    for form in secret_forms(secret):
        assert redact(f"[{form}]", secret) == f"[{REDACTED}]"


@pytest.mark.parametrize("secret", ["", None])
def test_without_a_secret_the_text_is_unchanged(secret):
    assert redact("nothing to hide", secret) == "nothing to hide"


@pytest.mark.parametrize(("text", "line"), [
    ("a\n b\t\tc ", "a b c"),
    ("  one\r\ntwo\u2028three  ", "one two three"),
    ("plain", "plain"),
    ("", ""),
    (" \n ", ""),
    ("café ☎", "café ☎"),
    ("red\x1b[31m", "red\\x1b[31m"),
    ("bell\x07 nul\x00", "bell\\x07 nul\\x00"),
    ("lone \ud800", "lone \\ud800"),
    ("bidi \u202e", "bidi \\u202e"),
])
def test_one_line_collapses_whitespace_and_escapes_the_rest_that_is_not_printable(text, line):
    """There were two one_line functions: api's collapsed whitespace but kept an escape
    sequence from a server's error text as it was (it reached logs and terminals); the
    config's escaped everything. One now serves both."""
    assert one_line(text) == line
    assert one_line(text).isprintable()


@pytest.mark.parametrize(("text", "shown"), [
    ("bad\nkey", "bad\\nkey"), ("a\tb", "a\\tb"), ("plain key", "plain key"), ("\x1b", "\\x1b"),
])
def test_escaped_shows_a_value_exactly_on_one_line(text, shown):
    assert escaped(text) == shown and one_line(escaped(text)) == shown

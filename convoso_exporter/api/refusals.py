"""What an answer that says `success: false` stands for: an `AuthError` or an `ApiError`
with the documented code, in one line; and, for the optional endpoints, when an
`AuthError` is a token without their permission (`denial`).

The live service words its errors with any of `code`, `text`, `error` and `message`, at
any level of a wrapped answer; the reference lists error texts without their codes.
"""

from __future__ import annotations

from typing import Any

from convoso_exporter.api.errors import AccessDenied, ApiError, AuthError, ConvosoError, one_line
from convoso_exporter.api.fields import to_count

# The reference lists error texts without their codes; these map them to the
# documented codes so callers can tell "user not found" from "not logged in".
_KNOWN_ERROR_TEXTS: tuple[tuple[str, int], ...] = (
    ("user not found", 6006),
    ("invalid user", 6006),
    ("not logged in", 6012),
    ("campaign not found", 6026),
    ("invalid campaign", 6026),
    ("queue not found", 6041),
    ("invalid queue", 6041),
)

# The optional endpoints (by the name the client gives them) and the permission a token
# needs for each, as Convoso's help centre names the APIs.
PERMISSIONS = {"performance": "Agent Performance", "user_activity": "User Activity"}
# How a refusal that is about the permission, not the token, is worded (lower case).
_DENIAL_WORDS = ("permission", "access denied", "not allowed", "forbidden", "not authorized", "unauthorized")


def flag(value: Any) -> bool | None:
    """`success` as sent: true/false, 1/0, "true"/"false"/"1"/"0"; else None."""
    if value is True or value is False:
        return value
    if type(value) is int:
        return value != 0
    if type(value) is str:
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    return None


def failure(level: dict) -> ConvosoError:
    """The error a `success: false` object stands for."""
    raw_code = level.get("code")
    code = to_count(raw_code)  # None: a code that is not a number (or out of range) is text
    texts: list[str] = []
    candidates = [level.get("text"), level.get("error"), level.get("message")]
    if code is None:
        candidates.insert(0, raw_code)  # a non-numeric code is a message too
    for value in candidates:
        text = one_line(value) if type(value) is str else ""
        if text and text not in texts:
            texts.append(text)
    detail = "; ".join(texts) if texts else "no error message"
    lowered = detail.lower()
    if code in (401, 403) or "auth" in lowered or "token" in lowered:
        status = code if code in (401, 403) else None
        suffix = f" (code {code})" if code is not None else ""
        return AuthError(f"authentication failed{suffix}: {detail}", status=status)
    if code is None:
        code = next((known for text, known in _KNOWN_ERROR_TEXTS if text in lowered), None)
    label = f"Convoso error {code}" if code is not None else "Convoso error"
    return ApiError(f"{label}: {detail}", code=code)


def document_error(doc: Any) -> ConvosoError | None:
    """The error a decoded answer signals by `success: false` at its root, if any.

    For answers that are not HTTP 2xx, where only the error matters.
    """
    if type(doc) is dict and flag(doc.get("success")) is False:
        return failure(doc)
    return None


def check(level: dict) -> dict:
    """`level`, unless it says `success: false`: then the error it stands for is raised."""
    if flag(level.get("success")) is False:
        raise failure(level)
    return level


def denial(error: ConvosoError, endpoint: str) -> ConvosoError:
    """`error` as an optional endpoint's refusal: an `AccessDenied` when the token was
    refused for this endpoint alone (HTTP 403, code 403, or words about a permission),
    else `error` itself. An invalid token (401, "Invalid authentication token") stays an
    `AuthError`: it fails every endpoint, agent-monitor search first."""
    permission = PERMISSIONS.get(endpoint)
    if permission is None or not isinstance(error, AuthError) or isinstance(error, AccessDenied):
        return error
    if error.status != 403 and not any(words in error.message.lower() for words in _DENIAL_WORDS):
        return error
    return AccessDenied(f"{error.message} (the token lacks the {permission} permission)", permission)

"""What the Convoso API sends besides its answers, as both of its stand-ins send it:
the simulator (simulator/server.py) and the replay of a recording (record/replay.py).

Its own module, not the simulator's: the exporter imports the replay to write a
recording's expected.prom (record/expect.py), and the simulator only in demo mode.
"""

from __future__ import annotations

import json
import secrets

from convoso_exporter.web.http import Response

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=UTF-8"

# The live service's page for a path it does not know.
NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n"
)
# A wrong or missing token: HTTP 200 with this body (documented).
INVALID_TOKEN = {"success": False, "error": "Invalid authentication token"}
METHOD_NOT_ALLOWED = {"success": False, "error": "Method Not Allowed"}

# An id the API does not know: (code, error), answered HTTP 200 with `success: false`.
CAMPAIGN_NOT_FOUND = (6026, "Campaign not found")
QUEUE_NOT_FOUND = (6041, "Queue not found")
USER_NOT_FOUND = (6006, "User not found")


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def json_response(status: int, value, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, dumps(value), JSON, headers or [])


def not_found_page() -> Response:
    return Response(404, NOT_FOUND_PAGE, HTML)


def method_not_allowed() -> Response:
    """An API path asked with another method than POST."""
    return json_response(405, METHOD_NOT_ALLOWED, headers=[("Allow", "POST")])


def token_ok(given: str | None, token: str) -> bool:
    """`given` is `token`, compared in constant time."""
    return given is not None and secrets.compare_digest(given.encode(), token.encode())

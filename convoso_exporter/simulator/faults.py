"""The faults the simulator serves on demand, and what a broken server sends.

Each fault is optionally scoped to the requests that filter by one campaign_id and/or
queue_id, and optionally heals after `times` requests. A request meets at most one
fault: the most specific match wins. A fault scoped to a campaign or queue that is
removed goes with it.

Denial is not a fault but a permission the token lacks: user-activity and
agent-performance search can each be denied (`DENIABLE`), answered by `denial`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace

from convoso_exporter.simulator.render import CONTENT_FAULTS
from convoso_exporter.web.http import Response
from convoso_exporter.web.vendor_http import HTML, JSON, json_response

HTTP_FAULTS = ("401", "403", "429", "500", "502_html", "slow", "truncated", "reset", "too_large", "not_json", "wrong_shape")
FAULTS = HTTP_FAULTS + CONTENT_FAULTS
# Served whole once the token is checked: the body is the real answer, bent or cut.
ANSWERING_FAULTS = ("truncated", "reset") + CONTENT_FAULTS
DEFAULT_SLOW_DELAY = 60.0
DEFAULT_RETRY_AFTER = 5.0
DEFAULT_TOO_LARGE = 40 * 1024 * 1024
DENIABLE = ("performance", "user_activity")
DENIAL_STATUSES = (403, 200)

BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
NOT_JSON_BODY = b"Warning: mysqli_connect(): (HY000/1040): Too many connections in /var/www/api/db.php on line 12\n"
WRONG_SHAPE_BODY = b'[{"agents": []}]'
# One agent, repeated to build `too_large` bodies.
_SAMPLE_AGENT = json.dumps(
    {"user_id": "12345", "user_full_name": "Jane Smith", "campaign_id": "111", "status": "READY", "status_time_sec": 300}
).encode()


@dataclass(frozen=True)
class Fault:
    name: str
    campaign_id: str | None = None
    queue_id: str | None = None
    retry_after: float | None = None
    delay: float | None = None
    times: int | None = None  # requests left before it heals; None: until cleared
    size: int | None = None

    @property
    def scope(self) -> tuple[str | None, str | None]:
        return self.campaign_id, self.queue_id

    def matches(self, params: dict[str, str]) -> bool:
        return all(want is None or params.get(name) == want for name, want in zip(("campaign_id", "queue_id"), self.scope))


class FaultBook:
    """The faults in force, one per scope."""

    def __init__(self) -> None:
        self._faults: dict[tuple[str | None, str | None], Fault] = {}
        self._oversized: tuple[int, bytes] | None = None

    def __len__(self) -> int:
        return len(self._faults)

    def set(
        self,
        fault: str | None,
        *,
        campaign_id: str | None = None,
        queue_id: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        times: int | None = None,
        size: int | None = None,
    ) -> None:
        """Break (or with None, heal) one scope; `fault=None` with no scope heals all."""
        campaign_id, queue_id = scope_id("campaign_id", campaign_id), scope_id("queue_id", queue_id)
        if fault is None:
            if campaign_id is None and queue_id is None:
                self._faults.clear()
            else:
                self._faults.pop((campaign_id, queue_id), None)
            return
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive integer, got {times!r}")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"size must be a positive integer (bytes), got {size!r}")
        entry = Fault(
            name=fault,
            campaign_id=campaign_id,
            queue_id=queue_id,
            retry_after=None if retry_after is None else non_negative("retry_after", retry_after),
            delay=None if delay is None else non_negative("delay", delay),
            times=times,
            size=size,
        )
        self._faults[entry.scope] = entry

    def listed(self) -> list[dict]:
        return [asdict(fault) for fault in self._faults.values()]

    def forget(self, campaign_ids: Collection[str], queue_ids: Collection[str]) -> None:
        """Drop the faults scoped to campaigns or queues that were removed."""
        for scope in [s for s in self._faults if s[0] in campaign_ids or s[1] in queue_ids]:
            del self._faults[scope]

    def take(self, params: dict[str, str], *, content: Collection[str] = ()) -> Fault | None:
        """The most specific fault matching this request; counts down its `times`.
        Content faults meet only requests whose answers can carry them (`content`: a
        search's are all CONTENT_FAULTS)."""
        matching = [
            fault
            for fault in self._faults.values()
            if fault.matches(params) and (fault.name not in CONTENT_FAULTS or fault.name in content)
        ]
        if not matching:
            return None
        fault = max(matching, key=lambda item: sum(part is not None for part in item.scope))
        if fault.times is not None:
            if fault.times <= 1:
                del self._faults[fault.scope]
            else:
                self._faults[fault.scope] = replace(fault, times=fault.times - 1)
        return fault

    def response(self, fault: Fault) -> Response:
        """What the server sends instead of an answer (not for ANSWERING_FAULTS or slow)."""
        name = fault.name
        if name == "401":
            return json_response(401, {"success": False, "message": "Unauthenticated."})
        if name == "403":
            return json_response(403, {"success": False, "code": 403, "text": "Token is not valid for this office"})
        if name == "429":
            seconds = DEFAULT_RETRY_AFTER if fault.retry_after is None else fault.retry_after
            retry = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
            headers = [("Retry-After", retry)]
            return json_response(429, {"success": False, "message": "Too Many Attempts."}, headers=headers)
        if name == "500":
            return json_response(500, {"success": False, "error": "Internal Server Error"})
        if name == "502_html":
            return Response(502, BAD_GATEWAY_PAGE, HTML)
        if name == "too_large":
            return Response(200, self._oversized_body(fault.size or DEFAULT_TOO_LARGE), JSON)
        if name == "not_json":
            return Response(200, NOT_JSON_BODY, "text/plain; charset=utf-8")
        return Response(200, WRONG_SHAPE_BODY, JSON)  # wrong_shape

    def _oversized_body(self, size: int) -> bytes:
        """Valid JSON over `size` bytes, built once per size from a repeated chunk."""
        if self._oversized is None or self._oversized[0] != size:
            chunk = _SAMPLE_AGENT + b", "
            body = b'{"agents": [' + chunk * (size // len(chunk) + 1) + _SAMPLE_AGENT + b"]}"
            self._oversized = (size, body)
        return self._oversized[1]


def check_denied(endpoints, status: int) -> tuple[str, ...]:
    """The endpoints to deny, checked (ValueError, one line)."""
    if isinstance(endpoints, str) or not isinstance(endpoints, (list, tuple)):
        raise ValueError(f"endpoints must be a list of {', '.join(DENIABLE)}, got {endpoints!r:.60}")
    unknown = [name for name in endpoints if name not in DENIABLE]
    if unknown:
        raise ValueError(f"cannot deny {unknown[0]!r:.60}: the deniable endpoints are {', '.join(DENIABLE)}")
    if isinstance(status, bool) or not isinstance(status, int) or status not in DENIAL_STATUSES:
        raise ValueError(f"status must be 403 or 200, got {status!r:.20}")
    return tuple(endpoints)


def denial(endpoint: str, status: int) -> Response:
    """A good token without the permission for `endpoint`: HTTP 403, or HTTP 200 with the
    same `success: false` body (the live service's habit of answering errors with 200)."""
    permission = "Agent Performance" if endpoint == "performance" else "User Activity"
    return json_response(status, {"success": False, "code": 403, "text": f"Access denied: no {permission} permission"})


def scope_id(name: str, value) -> str | None:
    """A campaign or queue id from a control request (a string or a number), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return str(value)


def non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)

"""User-activity search (`POST /user-activity/search`): how many agents Convoso counts
logged in and available in a scope, with the same filters as agent-monitor search.

The vendor's example: `{"success": true, "data": {"available_agents": 12,
"logged_in_agents": 31}}`. Counts may be integers or strings; each difference from the
example is noted in the answer's `Tally` (api/drift.py) under the endpoint
`user_activity`: the counts at the root instead of under `data` (`data` missing), PHP's
`[]` for an empty `data` (`other_type`), unknown fields. A count that cannot be read is
cleared (absent, never 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convoso_exporter.api.drift import MISSING_FIELD, OTHER_TYPE, Tally
from convoso_exporter.api.errors import ProtocolError
from convoso_exporter.api.fields import json_kind
from convoso_exporter.api.parse import answer_root, read_count
from convoso_exporter.api.refusals import check
from convoso_exporter.api.shapes import STATUS_FIELDS

COUNTS = ("logged_in_agents", "available_agents")
ROOT_FIELDS = frozenset((*STATUS_FIELDS, "data", *COUNTS))  # the counts too: without `data`, they are at the root


@dataclass(frozen=True, slots=True)
class UserActivity:
    """Agents as Convoso counts them in the scope (None: not sent or not readable)."""

    logged_in: int | None
    available: int | None


def parse_user_activity(doc: Any, tally: Tally) -> UserActivity:
    """A decoded answer → `UserActivity`; AuthError/ApiError for `success: false`,
    ProtocolError for an answer (or a `data`) of a type that holds no counts."""
    doc = answer_root(doc, tally, ROOT_FIELDS)
    data = doc.get("data")
    if data is None or data == []:
        tally.note("data", MISSING_FIELD if data is None else OTHER_TYPE, data)
        level = doc
    elif type(data) is dict:
        level = check(data)
        for name in sorted(data.keys() - set(COUNTS), key=str):
            tally.unknown("", name, data[name])
    else:
        raise ProtocolError(f"data: expected an object, got {json_kind(data)}")
    # Noted by name, a path in the unwrapped answer, as search's.
    return UserActivity(*(read_count(name, level.get(name), tally) for name in COUNTS))

"""convoso_exporter.api.shapes: one table of what each answer holds, for both parsers and
the shape telemetry."""

from __future__ import annotations

from convoso_exporter.api.model import Agent
from convoso_exporter.api.shapes import (
    AGENT_FIELD_KINDS,
    AGENT_KINDS,
    AGENT_NAMES,
    LOGOUT_LEVEL_FIELDS,
    ROOT_COUNTS,
    SEARCH_LEVEL_FIELDS,
    level_fields,
)


def test_every_agent_field_of_the_model_is_read_one_way():
    assert AGENT_NAMES == Agent.__struct_fields__
    assert set(AGENT_KINDS) == set(AGENT_NAMES)
    assert set(AGENT_FIELD_KINDS) == {"count", "text", "ident", "skills"}
    assert [name for name in AGENT_NAMES if AGENT_KINDS[name] == "count"] == [
        "calls_today", "total_calls", "status_time_sec"]


def test_each_level_reads_the_next_one_only():
    assert "data" in level_fields(SEARCH_LEVEL_FIELDS, 0) and "entries" not in level_fields(SEARCH_LEVEL_FIELDS, 0)
    assert "entries" in level_fields(SEARCH_LEVEL_FIELDS, 1) and "data" not in level_fields(SEARCH_LEVEL_FIELDS, 1)
    assert level_fields(SEARCH_LEVEL_FIELDS, 2) == SEARCH_LEVEL_FIELDS
    assert set(ROOT_COUNTS) | {"agents", "call_data", "campaigns", "queues", "success", "code"} <= SEARCH_LEVEL_FIELDS
    assert LOGOUT_LEVEL_FIELDS == {"success", "code", "text", "error", "message"}

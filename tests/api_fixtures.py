"""The documented answer's expected parse, shared by the parser and client tests
(`tests/fixtures/api/search_documented.json` is the vendor's example, verbatim)."""

from __future__ import annotations

import json
from pathlib import Path

from convoso_exporter.api.model import Agent, CallData, SearchResult

FIXTURES = Path(__file__).parent / "fixtures" / "api"

DOCUMENTED_RESULT = SearchResult(
    agents=(
        Agent(
            user_id="12345", user_full_name="Jane Smith", campaign_id="111",
            campaign_name="Sales Campaign", queue_id="222", queue_name="Main Queue",
            queue_assignment="2023-03-01 09:00:00", list_id="333", extension="1001",
            channel_type="phone", call_type="outbound", lead_id="54321", call_log_id="789",
            calls_today=42, total_calls=150, status="READY", status_label="Ready for calls",
            status_time_sec=300, status_time_mmss="05:00", connection_type="softphone",
            skill_options=("english", "sales"),
        ),
    ),
    call_data=CallData(total_calls=500, answered=450, dropped=20),
    queue_dialable_leads=1200, queue_calls_today=500, queue_dropped=20, queue_answered=450,
    agent_total=25, agent_incall=15, agent_ready=8, agent_paused=2,
)


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())

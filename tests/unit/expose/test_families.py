"""convoso_exporter.expose.families: what each target and the exporter publish, from the state."""

from __future__ import annotations

import dataclasses
import platform

import pytest

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.model import COMMON_STATUSES, CallData, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.state import TargetState
from tests.unit.expose.support import (
    DATA_FAMILIES,
    INFO,
    NOW,
    PER_AGENT,
    STALE_AFTER,
    agent,
    api_stats,
    families,
    hostile_states,
    names,
    reference,
    renderer,
    samples,
    state,
    value,
)

# (a) ------------------------------------------------------------------------------


def test_values_reach_the_exposition():
    body = renderer().render(hostile_states(), api_stats(), NOW, INFO).body
    east = 'east "main" \\ 😀'
    assert value(body, "convoso_up", target=east) == 1
    assert value(body, "convoso_up", target="failing") == 0
    assert value(body, "convoso_last_success_timestamp_seconds", target=east) == NOW - 5
    assert value(body, "convoso_poll_duration_seconds", target=east) == 0.25
    assert value(body, "convoso_target_info", target=east, campaign_id="111", queue_id="", user_id="", skills="english,sales") == 1
    assert value(body, "convoso_queue_answered_today", target=east) == 450
    assert value(body, "convoso_calls_dropped_today", target=east) == 20
    assert value(body, "convoso_agents_status_time_max_seconds", target=east, status="LUNCH") == 4000
    # Status times READY=5 and PAUSED (no user id) are separate; INCALL=700 is in le=900.
    assert value(body, "convoso_agents_status_time_seconds_bucket", target=east, status="INCALL", le="600.0") == 0
    assert value(body, "convoso_agents_status_time_seconds_bucket", target=east, status="INCALL", le="900.0") == 1
    assert value(body, "convoso_agents_status_time_seconds_gcount", target=east, status="PAUSED") == 1
    assert value(body, "convoso_agents_status_time_seconds_gsum", target="west\nline", status="READY") == sum(i * 37 for i in range(0, 40, 3))
    # calls_today of 1001, 1003, 1004, no-id (4, 200, 7, 4) and 1002 (0).
    assert value(body, "convoso_agents_calls_today_bucket", target=east, le="0.0") == 1
    assert value(body, "convoso_agents_calls_today_bucket", target=east, le="5.0") == 3
    assert value(body, "convoso_agents_calls_today_bucket", target=east, le="160.0") == 4
    assert value(body, "convoso_agents_calls_today_gcount", target=east) == 5
    assert value(body, "convoso_agents_calls_today_gsum", target=east) == 215
    info = dict(target=east, user_id="1001", user_full_name="שלום \"עולם\"", extension="", campaign_id="",
                campaign_name="Sales\nWest", queue_id="", queue_name="", channel_type="", call_type="", connection_type="")
    assert value(body, "convoso_agent_info", **info) == 1
    assert value(body, "convoso_exporter_build_info", version="1.2.3", python_version=platform.python_version()) == 1
    assert value(body, "convoso_exporter_targets") == 3
    assert value(body, "convoso_exporter_config_last_reload_successful") == 1
    assert value(body, "convoso_exporter_config_last_reload_success_timestamp_seconds") == NOW - 600


def test_exposition_series_counts_every_sample_line():
    exposition = renderer(process_metrics=True).render(hostile_states(), api_stats(), NOW, INFO)
    lines = [line for line in exposition.body.splitlines() if line and not line.startswith(b"#")]
    assert exposition.series == len(lines)
    assert any(line.startswith(b"process_") for line in lines)


# (b) ------------------------------------------------------------------------------


def test_stale_data_is_removed_but_health_stays():
    agents = (agent("1"), agent("2", "INCALL"))
    fresh = state("t", agents, age=STALE_AFTER, up=False)
    stale = state("t", agents, age=STALE_AFTER + 0.5, up=False, errors_by_kind={"server": 4})
    r = renderer()
    kept = r.render([fresh], ApiStats(), NOW, INFO).body
    assert DATA_FAMILIES | PER_AGENT <= names(kept), "data is served up to stale_after"
    assert value(kept, "convoso_up", target="t") == 0

    gone = r.render([stale], ApiStats(), NOW, INFO).body
    assert not (DATA_FAMILIES | PER_AGENT | {"convoso_agents_calls_today_gcount"}) & names(gone)
    assert value(gone, "convoso_up", target="t") == 0
    assert value(gone, "convoso_last_success_timestamp_seconds", target="t") == NOW - STALE_AFTER - 0.5
    assert value(gone, "convoso_poll_duration_seconds", target="t") == 0.25
    assert value(gone, "convoso_exporter_poll_errors_total", target="t", kind="server") == 4
    assert ("convoso_target_info" in names(gone))
    assert b"# HELP convoso_agents " not in gone, "a family with no samples left is not written"


def test_data_goes_stale_with_time_alone_at_the_same_generation():
    r = renderer()
    s = state("t", (agent("1"),), age=10)
    assert "convoso_agents" in names(r.render([s], ApiStats(), NOW, INFO).body)
    later = NOW + STALE_AFTER
    assert "convoso_agents" not in names(r.render([s], ApiStats(), later, INFO).body)


def test_target_never_polled_successfully_has_health_only():
    s = TargetState(target=Target("new"), attempted=False)
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_up", target="new") == 0
    assert value(body, "convoso_last_success_timestamp_seconds", target="new") is None
    assert value(body, "convoso_poll_duration_seconds", target="new") is None
    assert {"convoso_up", "convoso_target_info", "convoso_exporter_poll_errors_total"} <= names(body)
    assert not names(body) & (DATA_FAMILIES | PER_AGENT)


# (c) ------------------------------------------------------------------------------


def test_absent_fields_produce_no_sample():
    bare = agent("1", "READY", status_time_sec=None, calls_today=None, total_calls=None, user_full_name=None)
    s = state("t", snapshot=SearchResult(agents=(bare,), agent_total=1))
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_agent_count", target="t") == 1
    for name in ("convoso_agent_ready", "convoso_agent_incall", "convoso_agent_paused", "convoso_queue_dialable_leads",
                 "convoso_queue_calls_today", "convoso_queue_answered_today", "convoso_queue_dropped_today",
                 "convoso_calls_today", "convoso_calls_answered_today", "convoso_calls_dropped_today",
                 "convoso_agents_status_time_max_seconds", "convoso_agents_status_time_seconds_bucket",
                 "convoso_agents_calls_today_bucket", "convoso_agent_status_time_seconds",
                 "convoso_agent_calls_today", "convoso_agent_session_calls"):
        assert name not in names(body), name
    assert value(body, "convoso_agents", target="t", status="READY") == 1
    assert value(body, "convoso_agent_info", target="t", user_id="1", user_full_name="", extension="", campaign_id="",
                 campaign_name="", queue_id="", queue_name="", channel_type="", call_type="", connection_type="") == 1


def test_zero_is_not_absent():
    s = state("t", snapshot=SearchResult(call_data=CallData(total_calls=0, answered=None, dropped=0), queue_dropped=0))
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_calls_today", target="t") == 0
    assert value(body, "convoso_calls_dropped_today", target="t") == 0
    assert value(body, "convoso_queue_dropped_today", target="t") == 0
    assert "convoso_calls_answered_today" not in names(body)


# (d) ------------------------------------------------------------------------------


def test_common_statuses_start_at_zero_and_unknown_statuses_are_carried():
    agents = (agent("1", "INCALL"), agent("2", "INCALL"), agent("3", "LUNCH"), agent("4", "ready"), agent("5", None), agent("6", ""))
    body = renderer().render([state("t", agents)], ApiStats(), NOW, INFO).body
    counts = {dict(labels)["status"]: v for (name, labels), v in samples(body).items() if name == "convoso_agents"}
    assert counts == {**dict.fromkeys(COMMON_STATUSES, 0), "INCALL": 2, "LUNCH": 1, "ready": 1}
    # Agents 5 and 6 have no status: in no status-keyed series, under no invented status.
    statuses = {dict(labels).get("status") for (name, labels) in samples(body) if "status" in dict(labels)}
    assert "" not in statuses and None not in statuses
    assert value(body, "convoso_agent_status_time_seconds", target="t", user_id="5", status="") is None
    assert value(body, "convoso_agent_calls_today", target="t", user_id="5") == 4
    assert value(body, "convoso_agents_calls_today_gcount", target="t") == 6


def test_status_time_distribution_exists_only_for_statuses_with_known_times():
    agents = (agent("1", "READY", status_time_sec=None), agent("2", "INCALL", status_time_sec=0))
    body = renderer().render([state("t", agents)], ApiStats(), NOW, INFO).body
    buckets = {dict(labels)["status"] for (name, labels) in samples(body) if name == "convoso_agents_status_time_seconds_bucket"}
    assert buckets == {"INCALL"}
    assert value(body, "convoso_agents_status_time_seconds_bucket", target="t", status="INCALL", le="10.0") == 1
    assert value(body, "convoso_agents_status_time_max_seconds", target="t", status="INCALL") == 0
    assert value(body, "convoso_agents_status_time_max_seconds", target="t", status="READY") is None


# (e) ------------------------------------------------------------------------------


def test_per_agent_series_are_truncated_to_the_lowest_user_ids():
    agents = tuple(agent(uid, status_time_sec=int(uid)) for uid in ("50", "10", "40", "20", "30")) + (agent(None),)
    body = renderer(max_agents_per_target=3).render([state("t", agents)], ApiStats(), NOW, INFO).body
    users = {dict(labels)["user_id"] for (name, labels) in samples(body) if name == "convoso_agent_status_time_seconds"}
    assert users == {"10", "20", "30"}
    assert value(body, "convoso_exporter_agents_truncated", target="t") == 2
    # Aggregates still count every agent, the one without a user id included.
    assert value(body, "convoso_agents", target="t", status="READY") == 6


def test_duplicate_user_ids_keep_the_first_and_never_duplicate_series():
    agents = (
        agent("7", "READY", status_time_sec=12, calls_today=3),
        agent("5", "PAUSED"),
        agent("7", "INCALL", status_time_sec=99, calls_today=50),
        agent("7", "READY", status_time_sec=13),
    )
    body = renderer().render([state("t", agents)], ApiStats(), NOW, INFO).body  # samples() fails on duplicates
    assert value(body, "convoso_agent_status_time_seconds", target="t", user_id="7", status="READY") == 12
    assert value(body, "convoso_agent_status_time_seconds", target="t", user_id="7", status="INCALL") is None
    assert value(body, "convoso_agent_calls_today", target="t", user_id="7") == 3
    assert value(body, "convoso_agents", target="t", status="READY") == 1
    assert value(body, "convoso_agents", target="t", status="INCALL") == 0
    assert value(body, "convoso_exporter_agents_truncated", target="t") == 0


def test_agents_without_user_id_get_no_per_agent_series():
    body = renderer().render([state("t", (agent(None), agent("")))], ApiStats(), NOW, INFO).body
    assert not names(body) & (PER_AGENT - {"convoso_exporter_agents_truncated"})
    assert value(body, "convoso_agents", target="t", status="READY") == 2


# (f) ------------------------------------------------------------------------------


def test_agent_metrics_off_keeps_aggregates_only():
    states = hostile_states()
    r = renderer(agent_metrics=False)
    body = r.render(states, api_stats(), NOW, INFO).body
    assert not names(body) & PER_AGENT
    assert b"convoso_agent_info" not in body
    assert DATA_FAMILIES <= names(body)
    assert body == reference(families(r, states, api_stats(), NOW, INFO))


# exporter self-metrics ---------------------------------------------------------------


def test_self_metrics_are_pre_initialised():
    body = renderer().render([state("t")], ApiStats(), NOW, dataclasses.replace(INFO, reload_ok=False, reload_timestamp=None)).body
    for outcome in ("success",) + ERROR_KINDS:
        assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome=outcome) == 0
        if outcome != "success":
            assert value(body, "convoso_exporter_poll_errors_total", target="t", kind=outcome) == 0
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="search") == 0
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="+Inf") == 0
    assert value(body, "convoso_exporter_config_last_reload_successful") == 0
    assert "convoso_exporter_config_last_reload_success_timestamp_seconds" not in names(body)


def test_api_stats_are_rendered():
    body = renderer().render(hostile_states(), api_stats(), NOW, INFO).body
    assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome="success") == 5
    assert value(body, "convoso_exporter_api_requests_total", endpoint="search", outcome="timeout") == 1
    assert value(body, "convoso_exporter_api_requests_total", endpoint="logout", outcome="api") == 1
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="0.25") == 3
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="30.0") == 5
    assert value(body, "convoso_exporter_api_request_duration_seconds_bucket", endpoint="search", le="+Inf") == 6
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="search") == 6
    assert value(body, "convoso_exporter_api_request_duration_seconds_sum", endpoint="search") == pytest.approx(58.41)
    assert value(body, "convoso_exporter_api_request_duration_seconds_count", endpoint="logout") == 1
    east = 'east "main" \\ 😀'
    assert value(body, "convoso_exporter_poll_errors_total", target=east, kind="timeout") == 3
    assert value(body, "convoso_exporter_poll_errors_total", target=east, kind="weird_kind") == 1
    assert value(body, "convoso_exporter_poll_errors_total", target="failing", kind="timeout") == 9



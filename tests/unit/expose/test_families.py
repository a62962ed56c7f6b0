"""convoso_exporter.expose.families: what each target and the exporter publish, from the state."""

from __future__ import annotations

from convoso_exporter.api.model import COMMON_STATUSES, CallData, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.poll.state import TargetState
from tests.unit.expose.support import (
    ACCOUNT_FAMILIES,
    DATA_FAMILIES,
    INFO,
    NOW,
    PER_AGENT,
    STALE_AFTER,
    agent,
    api_stats,
    hostile_states,
    names,
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
    assert value(body, "convoso_target_info", target=east, kind="custom", campaign_id="111", campaign_name="",
                 queue_id="", queue_name="", user_id="", skills="english,sales") == 1
    assert value(body, "convoso_queue_answered_today", target=east) == 450
    assert value(body, "convoso_calls_dropped_today", target=east) == 20
    assert value(body, "convoso_target_agents_status_time_max_seconds", target=east, status="LUNCH") == 4000
    # Status times READY=5 and PAUSED (no user id) are separate; INCALL=700 is in le=900.
    assert value(body, "convoso_target_agents_status_time_seconds_bucket", target=east, status="INCALL", le="600.0") == 0
    assert value(body, "convoso_target_agents_status_time_seconds_bucket", target=east, status="INCALL", le="900.0") == 1
    assert value(body, "convoso_target_agents_status_time_seconds_gcount", target=east, status="PAUSED") == 1
    assert value(body, "convoso_target_agents_status_time_seconds_gsum", target="west\nline", status="READY") == sum(i * 37 for i in range(0, 40, 3))
    # calls_today of 1001, 1003, 1004, no-id (4, 200, 7, 4) and 1002 (0).
    assert value(body, "convoso_target_agents_calls_today_bucket", target=east, le="0.0") == 1
    assert value(body, "convoso_target_agents_calls_today_bucket", target=east, le="5.0") == 3
    assert value(body, "convoso_target_agents_calls_today_bucket", target=east, le="160.0") == 4
    assert value(body, "convoso_target_agents_calls_today_gcount", target=east) == 5
    assert value(body, "convoso_target_agents_calls_today_gsum", target=east) == 215
    # Per-agent series are the account's alone: no custom target repeats them.
    assert not any("target" in dict(labels) for name, labels in samples(body) if name in PER_AGENT)


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
    assert DATA_FAMILIES <= names(kept), "data is served up to stale_after"
    assert value(kept, "convoso_up", target="t") == 0

    gone = r.render([stale], ApiStats(), NOW, INFO).body
    assert not (DATA_FAMILIES | {"convoso_target_agents_calls_today_gcount"}) & names(gone)
    assert value(gone, "convoso_up", target="t") == 0
    assert value(gone, "convoso_last_success_timestamp_seconds", target="t") == NOW - STALE_AFTER - 0.5
    assert value(gone, "convoso_poll_duration_seconds", target="t") == 0.25
    assert value(gone, "convoso_exporter_poll_errors_total", target="t", kind="server") == 4
    assert ("convoso_target_info" in names(gone))
    assert b"# HELP convoso_target_agents " not in gone, "a family with no samples left is not written"


def test_data_goes_stale_with_time_alone_at_the_same_generation():
    r = renderer()
    s = state("t", (agent("1"),), age=10)
    assert "convoso_target_agents" in names(r.render([s], ApiStats(), NOW, INFO).body)
    later = NOW + STALE_AFTER
    assert "convoso_target_agents" not in names(r.render([s], ApiStats(), later, INFO).body)


def test_pending_target_has_health_only_and_is_not_called_down():
    # Before its first poll has finished a target is pending, not down: no convoso_up at
    # all (the landing page says "pending"), so ConvosoTargetDown cannot count it.
    s = TargetState(target=Target("new"), attempted=False)
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_up", target="new") is None
    assert value(body, "convoso_last_success_timestamp_seconds", target="new") is None
    assert value(body, "convoso_poll_duration_seconds", target="new") is None
    assert {"convoso_target_info", "convoso_exporter_poll_errors_total"} <= names(body)
    assert "convoso_up" not in names(body)
    assert not names(body) & (DATA_FAMILIES | PER_AGENT | ACCOUNT_FAMILIES)


def test_target_whose_first_poll_failed_is_down():
    s = TargetState(target=Target("new")).failed("auth", "invalid token", wall=NOW, duration=0.1)
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_up", target="new") == 0
    assert value(body, "convoso_last_success_timestamp_seconds", target="new") is None
    assert not names(body) & (DATA_FAMILIES | PER_AGENT | ACCOUNT_FAMILIES)


# (c) ------------------------------------------------------------------------------


def test_absent_fields_produce_no_sample():
    bare = agent("1", "READY", status_time_sec=None, calls_today=None, total_calls=None, user_full_name=None)
    s = state("t", snapshot=SearchResult(agents=(bare,), agent_total=1))
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_agent_count", target="t") == 1
    for name in ("convoso_agent_ready", "convoso_agent_incall", "convoso_agent_paused", "convoso_queue_dialable_leads",
                 "convoso_queue_calls_today", "convoso_queue_answered_today", "convoso_queue_dropped_today",
                 "convoso_calls_today", "convoso_calls_answered_today", "convoso_calls_dropped_today",
                 "convoso_target_agents_status_time_max_seconds", "convoso_target_agents_status_time_seconds_bucket",
                 "convoso_target_agents_calls_today_bucket"):
        assert name not in names(body), name
    assert value(body, "convoso_target_agents", target="t", status="READY") == 1


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
    counts = {dict(labels)["status"]: v for (name, labels), v in samples(body).items() if name == "convoso_target_agents"}
    assert counts == {**dict.fromkeys(COMMON_STATUSES, 0), "INCALL": 2, "LUNCH": 1, "ready": 1}
    # Agents 5 and 6 have no status: in no status-keyed series, under no invented status.
    statuses = {dict(labels).get("status") for (name, labels) in samples(body) if "status" in dict(labels)}
    assert "" not in statuses and None not in statuses
    assert value(body, "convoso_target_agents_calls_today_gcount", target="t") == 6


def test_status_time_distribution_exists_only_for_statuses_with_known_times():
    agents = (agent("1", "READY", status_time_sec=None), agent("2", "INCALL", status_time_sec=0))
    body = renderer().render([state("t", agents)], ApiStats(), NOW, INFO).body
    buckets = {dict(labels)["status"] for (name, labels) in samples(body) if name == "convoso_target_agents_status_time_seconds_bucket"}
    assert buckets == {"INCALL"}
    assert value(body, "convoso_target_agents_status_time_seconds_bucket", target="t", status="INCALL", le="10.0") == 1
    assert value(body, "convoso_target_agents_status_time_max_seconds", target="t", status="INCALL") == 0
    assert value(body, "convoso_target_agents_status_time_max_seconds", target="t", status="READY") is None


def test_a_discovery_only_target_publishes_nothing():
    hidden = state("account", (agent("1"),), target=Target("account", kind="account", publish=False))
    body = renderer().render([hidden], ApiStats(), NOW, INFO).body
    assert not [name for name, labels in samples(body) if name.startswith("convoso_") and
                not name.startswith("convoso_exporter_")]
    assert value(body, "convoso_exporter_poll_errors_total", target="account", kind="timeout") is None


def test_target_info_names_the_kind_and_scope():
    campaign = Target("campaign:1001", campaign_id="1001", kind="campaign", interval=60, campaign_name="Solar")
    body = renderer().render([state("campaign:1001", target=campaign)], ApiStats(), NOW, INFO).body
    assert value(body, "convoso_target_info", target="campaign:1001", kind="campaign", campaign_id="1001",
                 campaign_name="Solar", queue_id="", queue_name="", user_id="", skills="") == 1


# (e) the API's counts against ours ----------------------------------------------------------


def disagreement(body: bytes, target: str) -> dict[str, float]:
    return {dict(labels)["figure"]: v for (name, labels), v in samples(body).items()
            if name == "convoso_exporter_count_disagreement" and dict(labels)["target"] == target}


def test_count_disagreement_is_the_apis_figure_minus_ours_per_figure_and_target():
    agents = (agent("1", "READY"), agent("2", "RINGING"), agent("3", "INCALL"), agent("1", "PAUSED"))
    agreeing = SearchResult(agents=agents, agent_total=3, agent_ready=1, agent_incall=1, agent_paused=0)
    ringing_as_ready = SearchResult(agents=agents, agent_total=3, agent_ready=2, agent_incall=1, agent_paused=0)
    body = renderer().render([state("a", snapshot=agreeing), state("b", snapshot=ringing_as_ready)],
                             ApiStats(), NOW, INFO).body
    # User 1 is listed twice: counted once, as READY (the first entry).
    assert disagreement(body, "a") == {"total": 0, "ready": 0, "incall": 0, "paused": 0}
    assert disagreement(body, "b") == {"total": 0, "ready": 1, "incall": 0, "paused": 0}


def test_count_disagreement_has_no_series_for_a_figure_not_sent_and_goes_when_stale():
    s = state("t", snapshot=SearchResult(agents=(agent("1", "LOGGED_OUT"),), agent_total=0))
    body = renderer().render([s], ApiStats(), NOW, INFO).body
    assert disagreement(body, "t") == {"total": -1}  # absent is not 0: no ready/incall/paused series
    stale = renderer().render([state("t", age=STALE_AFTER + 1)], ApiStats(), NOW, INFO).body
    assert disagreement(stale, "t") == {}


def test_a_discovered_scope_is_compared_through_the_statuses_counted_as_it_was_read():
    campaign = Target("campaign:1001", campaign_id="1001", kind="campaign")
    only = SearchResult(agent_total=4, agent_ready=3, agent_incall=1, agent_paused=0,
                        statuses=(("INCALL", 1), ("READY", 2), ("RINGING", 1)))
    body = renderer().render([state("campaign:1001", target=campaign, snapshot=only)], ApiStats(), NOW, INFO).body
    assert disagreement(body, "campaign:1001") == {"total": 0, "ready": 1, "incall": 0, "paused": 0}

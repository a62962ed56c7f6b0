"""convoso_exporter.expose.metrics: TargetStates + ApiStats → cached exposition (plain and gzip)."""

from __future__ import annotations

import dataclasses
import gzip
import platform
import zlib

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.api.model import COMMON_STATUSES, Agent, CallData, SearchResult
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import Target
from convoso_exporter.expose.exposition import to_prometheus_client
from convoso_exporter.expose.metrics import ExporterInfo, MetricsRenderer
from convoso_exporter.poll.poller import TargetState

NOW = 1_700_000_000.0
STALE_AFTER = 45.0
INFO = ExporterInfo(version="1.2.3", targets=3, reload_ok=True, reload_timestamp=NOW - 600)

DATA_FAMILIES = {
    "convoso_agent_count",
    "convoso_agents",
    "convoso_agents_status_time_seconds_bucket",
    "convoso_agents_calls_today_bucket",
    "convoso_queue_calls_today",
    "convoso_calls_today",
}
PER_AGENT = {
    "convoso_agent_status_time_seconds",
    "convoso_agent_calls_today",
    "convoso_agent_session_calls",
    "convoso_agent_info",
    "convoso_exporter_agents_truncated",
}


def agent(user_id: str | None, status: str | None = "READY", **fields) -> Agent:
    defaults = dict(status_time_sec=30, calls_today=4, total_calls=2, user_full_name=f"Agent {user_id}")
    return Agent(user_id=user_id, status=status, **{**defaults, **fields})


def full_snapshot(agents: tuple[Agent, ...]) -> SearchResult:
    return SearchResult(
        agents=agents,
        call_data=CallData(total_calls=500, answered=450, dropped=20),
        queue_dialable_leads=1200,
        queue_calls_today=500,
        queue_dropped=20,
        queue_answered=450,
        agent_total=len(agents),
        agent_incall=1,
        agent_ready=2,
        agent_paused=0,
    )


def state(name: str, agents: tuple[Agent, ...] = (), *, age: float = 5.0, up: bool = True, generation: int = 1,
          snapshot: SearchResult | None = None, **fields) -> TargetState:
    return TargetState(
        target=Target(name=name, campaign_id="111", skills=("english", "sales")),
        snapshot=snapshot if snapshot is not None else full_snapshot(agents),
        last_success=NOW - age,
        up=up,
        attempted=True,
        last_duration=0.25,
        generation=generation,
        **fields,
    )


def renderer(**overrides) -> MetricsRenderer:
    options = dict(agent_metrics=True, max_agents_per_target=1000, stale_after=STALE_AFTER, process_metrics=False)
    return MetricsRenderer(**{**options, **overrides})


def samples(body: bytes) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, parsed by prometheus_client: (name, labels) -> value.
    Fails on a duplicate series."""
    result: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in result, f"duplicate series {key}"
            result[key] = sample.value
    return result


def value(body: bytes, name: str, **labels: str) -> float | None:
    return samples(body).get((name, frozenset(labels.items())))


def names(body: bytes) -> set[str]:
    return {name for name, _ in samples(body)}


def hostile_states() -> list[TargetState]:
    rtl = "שלום \"עולם\""
    east = state(
        'east "main" \\ 😀',
        (
            agent("1001", "READY", status_time_sec=5, user_full_name=rtl, campaign_name="Sales\nWest"),
            agent("1002", "INCALL", status_time_sec=700, calls_today=0, extension="1\\2"),
            agent("1003", "LUNCH", status_time_sec=4000, calls_today=200, queue_name="Q \"1\""),
            agent("1004", None, calls_today=7),
            agent(None, "PAUSED", status_time_sec=60),
        ),
        errors_by_kind={"timeout": 3, "weird_kind": 1},
    )
    west = state("west\nline", tuple(agent(str(2000 + i), ["READY", "WRAP", "RINGING"][i % 3], status_time_sec=i * 37) for i in range(40)))
    failing = TargetState(target=Target("failing"), attempted=True, last_duration=10.0, last_error="timed out",
                          last_error_kind="timeout", consecutive_failures=9, errors_by_kind={"timeout": 9}, generation=9)
    return [east, west, failing]


def api_stats() -> ApiStats:
    stats = ApiStats()
    for seconds in (0.01, 0.2, 0.2, 3.0, 45.0):
        stats.record("search", "success", seconds)
    stats.record("search", "timeout", 10.0)
    stats.record("logout", "api", 0.3)
    return stats


def reference(families) -> bytes:
    metrics = to_prometheus_client(families)

    class Fixed:
        def collect(self):
            return metrics

    return generate_latest(Fixed())


# (a) ------------------------------------------------------------------------------


def test_body_is_byte_identical_to_generate_latest_for_the_same_families():
    r = renderer()
    states, stats = hostile_states(), api_stats()
    body = r.render(states, stats, NOW, INFO).body
    assert body == reference(r.families(states, stats, NOW, INFO))
    # Rendered again from the cache, and with one target re-rendered: still identical.
    assert r.render(states, stats, NOW, INFO).body == body
    states[1] = dataclasses.replace(states[1], generation=2, snapshot=full_snapshot((agent("9", "READY"),)))
    assert r.render(states, stats, NOW, INFO).body == reference(r.families(states, stats, NOW, INFO))


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
    assert body == reference(r.families(states, api_stats(), NOW, INFO))


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


# (g) ------------------------------------------------------------------------------


class Counting:
    """Wraps MetricsRenderer.target_families to count calls per target."""

    def __init__(self, r: MetricsRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = r.target_families

        def counted(state, now):
            self.calls.append(state.target.name)
            return original(state, now)

        monkeypatch.setattr(r, "target_families", counted)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def test_cache_rerenders_only_changed_targets(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    states = [state("a", (agent("1"),)), state("b", (agent("2"),)), state("c", (agent("3"),))]
    first = r.render(states, ApiStats(), NOW, INFO)
    assert counter.take() == ["a", "b", "c"]

    assert r.render(states, ApiStats(), NOW, INFO).body == first.body
    assert counter.take() == []

    states[1] = dataclasses.replace(states[1], generation=2, snapshot=full_snapshot((agent("2", "INCALL"),)))
    changed = r.render(states, ApiStats(), NOW, INFO).body
    assert counter.take() == ["b"]
    assert value(changed, "convoso_agents", target="b", status="INCALL") == 1
    assert value(changed, "convoso_agents", target="a", status="READY") == 1

    # The same name with another config is another target, even at the same generation.
    states[2] = dataclasses.replace(states[2], target=Target("c", queue_id="9"))
    r.render(states, ApiStats(), NOW, INFO)
    assert counter.take() == ["c"]


def test_removed_targets_disappear_and_are_evicted(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    a, b = state("a", (agent("1"),)), state("b", (agent("2"),))
    r.render([a, b], ApiStats(), NOW, INFO)
    counter.take()
    body = r.render([a], ApiStats(), NOW, INFO).body
    assert counter.take() == []
    assert not any(dict(labels).get("target") == "b" for _, labels in samples(body))
    assert body == reference(r.families([a], ApiStats(), NOW, INFO))
    counter.take()  # families() builds afresh, uncached
    # Evicted: bringing it back renders it again.
    r.render([a, b], ApiStats(), NOW, INFO)
    assert counter.take() == ["b"]


def test_staleness_flip_rerenders_the_target(monkeypatch):
    r = renderer()
    counter = Counting(r, monkeypatch)
    s = state("a", (agent("1"),), age=40)
    r.render([s], ApiStats(), NOW, INFO)
    r.render([s], ApiStats(), NOW + 1, INFO)
    assert counter.take() == ["a"]
    r.render([s], ApiStats(), NOW + 10, INFO)
    assert counter.take() == ["a"]


# (h) ------------------------------------------------------------------------------


def test_gzip_body_decompresses_to_body():
    r = renderer(process_metrics=True)
    states = hostile_states()
    for step in range(3):
        exposition = r.render(states, api_stats(), NOW, INFO)
        assert gzip.decompress(exposition.gzip_body) == exposition.body
        # One gzip member, checked with zlib's own gzip reader too (CRC and length).
        decompressor = zlib.decompressobj(wbits=31)
        assert decompressor.decompress(exposition.gzip_body) == exposition.body
        assert decompressor.eof and decompressor.unused_data == b""
        assert len(exposition.gzip_body) < len(exposition.body)
        states[step % 3] = dataclasses.replace(states[step % 3], generation=10 + step)


def test_gzip_of_an_empty_target_list_is_valid():
    exposition = renderer().render([], ApiStats(), NOW, INFO)
    assert gzip.decompress(exposition.gzip_body) == exposition.body
    assert value(exposition.body, "convoso_exporter_targets") == 3

"""Target states and API stats → the exposition served at /metrics.

`MetricsRenderer.render()` builds the families listed in docs/metrics.md from the
poller's `TargetState`s and the client's `ApiStats`, and returns the text body with
a gzip copy. It is called after polls finish, possibly with 100k+ series, so each
target's share is rendered once per change and cached: keyed by (target, generation,
fresh?), holding per family the rendered sample lines and their deflate-compressed
copy. A render rebuilds only targets that changed, then joins the cached pieces
family by family (one HELP/TYPE per family, all its samples together) in a fixed
order. The gzip body is assembled from the cached compressed pieces too, so neither
the text nor its compression is redone for unchanged targets.

Choices where the API is vague:
- Agents repeated with the same user_id in one answer count once (the first wins),
  in the aggregates and in per-agent series.
- An agent without a status is left out of everything keyed by status (counts by
  status, time-in-status distribution and max, its per-agent status time) and is
  never counted under an invented status; its calls still count.
- Per-agent series are kept for the lowest `max_agents_per_target` user_ids (string
  order), so the same agents stay in from one poll to the next.
"""

from __future__ import annotations

import operator
import platform
import struct
import threading
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from prometheus_client import ProcessCollector, generate_latest

from convoso_exporter.api.errors import ERROR_KINDS
from convoso_exporter.expose.exposition import Family, encode, headers, sections
from convoso_exporter.api.model import COMMON_STATUSES, Agent, SearchResult
from convoso_exporter.poll.poller import TargetState
from convoso_exporter.api.stats import ApiStats

INF = float("inf")
# Contact-centre statuses last seconds (RINGING) to hours (PAUSED, READY on a slow day).
STATUS_TIME_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, INF)
CALLS_TODAY_BUCKETS: tuple[float, ...] = (0, 1, 5, 10, 20, 40, 80, 160, INF)

# Where a family's samples come from, which decides when it is emitted.
HEALTH = "health"  # per target, always
DATA = "data"  # per target, while its data is fresh
AGENT = "agent"  # per target, while fresh, only with agent_metrics
EXPORTER = "exporter"  # the exporter itself, once

_TODAY = " Resets at the account's day boundary."
_SEARCH = " in the /agent-monitor/search answer"


class Exposition(NamedTuple):
    body: bytes
    gzip_body: bytes
    series: int


@dataclass(frozen=True)
class ExporterInfo:
    version: str
    targets: int
    reload_ok: bool
    reload_timestamp: float | None


@dataclass(frozen=True)
class _Spec:
    name: str
    type: str
    scope: str
    labelnames: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()

    def family(self) -> Family:
        return Family(self.name, self.type, self.help, self.labelnames, self.buckets)


_AGENT_INFO_FIELDS: tuple[str, ...] = (
    "user_full_name",
    "extension",
    "campaign_id",
    "campaign_name",
    "queue_id",
    "queue_name",
    "channel_type",
    "call_type",
    "connection_type",
)

# One C-level call for all nine info labels: this runs once per agent per poll.
_agent_info_values = operator.attrgetter(*_AGENT_INFO_FIELDS)

# Every family, in output order (the order of docs/metrics.md).
SPECS: tuple[_Spec, ...] = (
    _Spec("convoso_up", "gauge", HEALTH, ("target",),
          "1 if the last poll of this target succeeded, else 0. The exporter polls the Convoso API "
          "in the background every poll_interval and serves the last result; samples carry no timestamps."),
    _Spec("convoso_last_success_timestamp_seconds", "gauge", HEALTH, ("target",),
          "Unix time (exporter clock) of the last successful poll of this target."),
    _Spec("convoso_poll_duration_seconds", "gauge", HEALTH, ("target",),
          "Seconds the last poll of this target took (exporter clock), successful or not."),
    _Spec("convoso_target_info", "gauge", HEALTH, ("target", "campaign_id", "queue_id", "user_id", "skills"),
          "The filters each target sends to /agent-monitor/search, from the config file "
          "(empty label = no filter). Always 1."),
    # Untyped, not gauge: the name is a contract and promtool reserves `_count` for
    # histograms on typed families. Prometheus stores untyped samples like gauges.
    _Spec("convoso_agent_count", "untyped", DATA, ("target",),
          "Agents the API counts in scope (agent_total" + _SEARCH + "); a gauge value."),
    _Spec("convoso_agent_ready", "gauge", DATA, ("target",),
          "Agents ready for calls (agent_ready" + _SEARCH + ")."),
    _Spec("convoso_agent_incall", "gauge", DATA, ("target",),
          "Agents on a call (agent_incall" + _SEARCH + ")."),
    _Spec("convoso_agent_paused", "gauge", DATA, ("target",),
          "Agents paused (agent_paused" + _SEARCH + ")."),
    _Spec("convoso_agents", "gauge", DATA, ("target", "status"),
          "Agents in each status, counted from the agents list" + _SEARCH + " (status as sent; "
          "common statuses are always present, 0 when no agent has them)."),
    _Spec("convoso_agents_status_time_seconds", "gaugehistogram", DATA, ("target", "status"),
          "Distribution across agents of the seconds spent in their current status (agents[].status_time_sec"
          + _SEARCH + "), per status.", STATUS_TIME_BUCKETS),
    _Spec("convoso_agents_status_time_max_seconds", "gauge", DATA, ("target", "status"),
          "Longest time any agent has been in this status (max of agents[].status_time_sec" + _SEARCH + ")."),
    _Spec("convoso_agents_calls_today", "gaugehistogram", DATA, ("target",),
          "Distribution across agents of the calls each handled today (agents[].calls_today" + _SEARCH + ")."
          + _TODAY, CALLS_TODAY_BUCKETS),
    _Spec("convoso_queue_dialable_leads", "gauge", DATA, ("target",),
          "Leads left to dial (queue_dialable_leads" + _SEARCH + ")."),
    _Spec("convoso_queue_calls_today", "gauge", DATA, ("target",),
          "Queue calls today (queue_calls_today" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_queue_answered_today", "gauge", DATA, ("target",),
          "Queue calls answered today (queue_answered" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_queue_dropped_today", "gauge", DATA, ("target",),
          "Queue calls dropped (abandoned) today (queue_dropped" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_calls_today", "gauge", DATA, ("target",),
          "Calls today in scope (call_data.total_calls" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_calls_answered_today", "gauge", DATA, ("target",),
          "Answered calls today in scope (call_data.answered" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_calls_dropped_today", "gauge", DATA, ("target",),
          "Dropped calls today in scope (call_data.dropped" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_agent_status_time_seconds", "gauge", AGENT, ("target", "user_id", "status"),
          "Seconds this agent has been in its current status (status_time_sec" + _SEARCH + ")."),
    _Spec("convoso_agent_calls_today", "gauge", AGENT, ("target", "user_id"),
          "Calls this agent handled today (calls_today" + _SEARCH + ")." + _TODAY),
    _Spec("convoso_agent_session_calls", "gauge", AGENT, ("target", "user_id"),
          "Calls in this agent's current session (total_calls" + _SEARCH + ")."),
    _Spec("convoso_agent_info", "gauge", AGENT, ("target", "user_id") + _AGENT_INFO_FIELDS,
          "Who the agent is and where they work, from the agents list" + _SEARCH
          + " (empty label = not sent). Always 1."),
    _Spec("convoso_exporter_build_info", "gauge", EXPORTER, ("version", "python_version"),
          "Version of convoso-exporter and of the Python running it. Always 1."),
    _Spec("convoso_exporter_api_requests_total", "counter", EXPORTER, ("endpoint", "outcome"),
          "Requests made to the Convoso API, by endpoint and outcome (success or an error kind)."),
    _Spec("convoso_exporter_api_request_duration_seconds", "histogram", EXPORTER, ("endpoint",),
          "Latency of requests to the Convoso API, by endpoint (exporter clock).", ApiStats.BUCKETS + (INF,)),
    _Spec("convoso_exporter_poll_errors_total", "counter", HEALTH, ("target", "kind"),
          "Failed polls of this target, by error kind."),
    _Spec("convoso_exporter_agents_truncated", "gauge", AGENT, ("target",),
          "Agents left out of the per-agent series by max_agents_per_target (the lowest user_ids are kept)."),
    _Spec("convoso_exporter_targets", "gauge", EXPORTER, (), "Targets in the loaded configuration."),
    _Spec("convoso_exporter_config_last_reload_successful", "gauge", EXPORTER, (),
          "1 if the last load or reload of the configuration file succeeded, else 0."),
    _Spec("convoso_exporter_config_last_reload_success_timestamp_seconds", "gauge", EXPORTER, (),
          "Unix time of the last successful load or reload of the configuration file."),
)

# Position in SPECS by Family.name (a counter's without "_total"), and spec by its name.
_INDEX: dict[str, int] = {spec.family().name: i for i, spec in enumerate(SPECS)}
_BY_NAME: dict[str, _Spec] = {spec.name: spec for spec in SPECS}

# A rendered family share: per block (see exposition.sections), (text, deflated text).
_Block = tuple[tuple[bytes, bytes], ...]


class _Piece(NamedTuple):
    """One target's rendered share of every family (None: no samples)."""

    key: tuple
    blocks: tuple[_Block | None, ...]
    series: int


class MetricsRenderer:
    def __init__(
        self,
        *,
        agent_metrics: bool,
        max_agents_per_target: int,
        stale_after: float,
        process_metrics: bool = True,
    ) -> None:
        self.agent_metrics = agent_metrics
        self.max_agents_per_target = max_agents_per_target
        self.stale_after = stale_after
        self._process = ProcessCollector(registry=None) if process_metrics else None
        self._cache: dict[str, _Piece] = {}
        # The app renders in a worker thread; never let two renders share the cache.
        self._lock = threading.Lock()
        self._headers = tuple(_packed_headers(spec) for spec in SPECS)

    def render(self, states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo) -> Exposition:
        """The whole exposition: cached per-target pieces, exporter and process metrics."""
        with self._lock:
            pieces = self._pieces(states, now)
        exporter = {_INDEX[f.name]: f for f in self._exporter_families(stats, info)}
        raw: list[bytes] = []
        packed: list[bytes] = []
        series = sum(p.series for p in pieces)
        for index, spec in enumerate(SPECS):
            if spec.scope == EXPORTER:
                family = exporter.get(index)
                blocks = [_render_block(family)] if family is not None and family.metrics else []
                series += family.series() if blocks else 0
            else:
                blocks = [p.blocks[index] for p in pieces if p.blocks[index] is not None]
            if blocks:
                _join_family(self._headers[index], blocks, raw, packed)
        if self._process is not None:
            text = generate_latest(self._process)
            raw.append(text)
            packed.append(_deflate(text))
            series += sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
        body = b"".join(raw)
        return Exposition(body, _gzip(body, packed), series)

    def families(self, states: Iterable[TargetState], stats: ApiStats, now: float, info: ExporterInfo) -> list[Family]:
        """The families `render` writes (without process metrics), merged over targets,
        uncached: the reference for tests and benchmarks."""
        merged = [spec.family() for spec in SPECS]
        for state in states:
            for family in self.target_families(state, now):
                merged[_INDEX[family.name]].metrics.extend(family.metrics)
        for family in self._exporter_families(stats, info):
            merged[_INDEX[family.name]].metrics.extend(family.metrics)
        return [family for family in merged if family.metrics]

    def target_families(self, state: TargetState, now: float) -> list[Family]:
        """One target's families: health always; data while fresh; per-agent if enabled."""
        families = _health_families(state)
        snapshot = state.snapshot
        if snapshot is not None and self.fresh(state, now):
            name = state.target.name
            agents = _unique(snapshot.agents)
            families += _data_families(name, snapshot, agents)
            if self.agent_metrics:
                families += _agent_families(name, agents, self.max_agents_per_target)
        return [family for family in families if family.metrics]

    def fresh(self, state: TargetState, now: float) -> bool:
        """Whether this target's data is still served (at most `stale_after` old)."""
        return (
            state.snapshot is not None
            and state.last_success is not None
            and now - state.last_success <= self.stale_after
        )

    def _pieces(self, states: Iterable[TargetState], now: float) -> list[_Piece]:
        """Every target's piece, from the cache where its key is unchanged. The new cache
        holds only the targets passed in, so removed targets are evicted."""
        cache: dict[str, _Piece] = {}
        pieces = []
        for state in states:
            key = (state.target, state.generation, self.fresh(state, now))
            piece = self._cache.get(state.target.name)
            if piece is None or piece.key != key:
                piece = self._render_target(state, now, key)
            cache[state.target.name] = piece
            pieces.append(piece)
        self._cache = cache
        return pieces

    def _render_target(self, state: TargetState, now: float, key: tuple) -> _Piece:
        blocks: list[_Block | None] = [None] * len(SPECS)
        series = 0
        for family in self.target_families(state, now):
            blocks[_INDEX[family.name]] = _render_block(family)
            series += family.series()
        return _Piece(key, tuple(blocks), series)

    def _exporter_families(self, stats: ApiStats, info: ExporterInfo) -> list[Family]:
        build = _family("convoso_exporter_build_info")
        build.add((info.version, platform.python_version()), 1)
        targets = _family("convoso_exporter_targets")
        targets.add((), info.targets)
        reload_ok = _family("convoso_exporter_config_last_reload_successful")
        reload_ok.add((), 1 if info.reload_ok else 0)
        reload_time = _family("convoso_exporter_config_last_reload_success_timestamp_seconds")
        if info.reload_timestamp is not None:
            reload_time.add((), info.reload_timestamp)
        return [build, _requests_family(stats), _latency_family(stats), targets, reload_ok, reload_time]


def _family(name: str) -> Family:
    return _BY_NAME[name].family()


def _gauge(name: str, target: str, value: float | None) -> Family:
    family = _family(name)
    if value is not None:
        family.add((target,), value)
    return family


def _health_families(state: TargetState) -> list[Family]:
    target = state.target
    name = target.name
    info = _family("convoso_target_info")
    info.add((name, target.campaign_id or "", target.queue_id or "", target.user_id or "", ",".join(target.skills)), 1)
    errors = _family("convoso_exporter_poll_errors_total")
    # Every known kind from 0, so rate() sees the first error; unknown kinds carried too.
    kinds = list(ERROR_KINDS) + sorted(set(state.errors_by_kind) - set(ERROR_KINDS))
    for kind in kinds:
        errors.add((name, kind), state.errors_by_kind.get(kind, 0))
    return [
        _gauge("convoso_up", name, 1 if state.up else 0),
        _gauge("convoso_last_success_timestamp_seconds", name, state.last_success),
        _gauge("convoso_poll_duration_seconds", name, state.last_duration),
        info,
        errors,
    ]


def _data_families(name: str, snapshot: SearchResult, agents: Sequence[Agent]) -> list[Family]:
    call_data = snapshot.call_data
    return [
        _gauge("convoso_agent_count", name, snapshot.agent_total),
        _gauge("convoso_agent_ready", name, snapshot.agent_ready),
        _gauge("convoso_agent_incall", name, snapshot.agent_incall),
        _gauge("convoso_agent_paused", name, snapshot.agent_paused),
        *_agent_aggregates(name, agents),
        _gauge("convoso_queue_dialable_leads", name, snapshot.queue_dialable_leads),
        _gauge("convoso_queue_calls_today", name, snapshot.queue_calls_today),
        _gauge("convoso_queue_answered_today", name, snapshot.queue_answered),
        _gauge("convoso_queue_dropped_today", name, snapshot.queue_dropped),
        _gauge("convoso_calls_today", name, call_data.total_calls if call_data else None),
        _gauge("convoso_calls_answered_today", name, call_data.answered if call_data else None),
        _gauge("convoso_calls_dropped_today", name, call_data.dropped if call_data else None),
    ]


def _unique(agents: Sequence[Agent]) -> list[Agent]:
    """The agents, without repeats of a user_id (the first wins). Agents without a
    user_id cannot be told apart, so they all stay."""
    seen: set[str] = set()
    result = []
    for agent in agents:
        if agent.user_id:
            if agent.user_id in seen:
                continue
            seen.add(agent.user_id)
        result.append(agent)
    return result


def _agent_aggregates(name: str, agents: Sequence[Agent]) -> list[Family]:
    """Counts by status, time-in-status distribution and max, calls-today distribution:
    bounded by the number of statuses, however many agents."""
    counts: dict[str, int] = dict.fromkeys(COMMON_STATUSES, 0)
    times: dict[str, list[int]] = {}
    calls: list[int] = []
    for agent in agents:
        if agent.calls_today is not None:
            calls.append(agent.calls_today)
        if not agent.status:
            continue
        counts[agent.status] = counts.get(agent.status, 0) + 1
        if agent.status_time_sec is not None:
            times.setdefault(agent.status, []).append(agent.status_time_sec)
    statuses = list(COMMON_STATUSES) + sorted(set(counts) - set(COMMON_STATUSES))
    by_status = _family("convoso_agents")
    distribution = _family("convoso_agents_status_time_seconds")
    longest = _family("convoso_agents_status_time_max_seconds")
    for status in statuses:
        by_status.add((name, status), counts[status])
        if status in times:
            distribution.add_histogram((name, status), *_histogram(times[status], STATUS_TIME_BUCKETS))
            longest.add((name, status), max(times[status]))
    calls_today = _family("convoso_agents_calls_today")
    if calls:
        calls_today.add_histogram((name,), *_histogram(calls, CALLS_TODAY_BUCKETS))
    return [by_status, distribution, longest, calls_today]


def _histogram(values: Sequence[int], bounds: Sequence[float]) -> tuple[list[int], int]:
    """Cumulative counts per `le` bound (a value equal to a bound is in it), and the sum."""
    counts = [0] * len(bounds)
    for value in values:
        counts[bisect_left(bounds, value)] += 1
    return list(accumulate(counts)), sum(values)


def _agent_families(name: str, agents: Sequence[Agent], limit: int) -> list[Family]:
    """Per-agent series for the first `limit` user_ids, and how many were left out."""
    identified = sorted((a for a in agents if a.user_id), key=lambda a: a.user_id or "")
    kept = identified[:limit]
    status_time = _family("convoso_agent_status_time_seconds")
    calls_today = _family("convoso_agent_calls_today")
    session_calls = _family("convoso_agent_session_calls")
    info = _family("convoso_agent_info")
    for agent in kept:
        user = agent.user_id or ""
        if agent.status and agent.status_time_sec is not None:
            status_time.metrics.append(((name, user, agent.status), agent.status_time_sec))
        if agent.calls_today is not None:
            calls_today.metrics.append(((name, user), agent.calls_today))
        if agent.total_calls is not None:
            session_calls.metrics.append(((name, user), agent.total_calls))
        labels = (name, user) + tuple(value or "" for value in _agent_info_values(agent))
        info.metrics.append((labels, 1))
    truncated = _gauge("convoso_exporter_agents_truncated", name, len(identified) - len(kept))
    return [status_time, calls_today, session_calls, info, truncated]


def _requests_family(stats: ApiStats) -> Family:
    # Every search outcome from 0, so rate() and alerts see the first failure.
    counts = dict.fromkeys((("search", outcome) for outcome in ("success",) + ERROR_KINDS), 0)
    counts.update(stats.requests)
    family = _family("convoso_exporter_api_requests_total")
    for key in sorted(counts):
        family.add(key, counts[key])
    return family


def _latency_family(stats: ApiStats) -> Family:
    family = _family("convoso_exporter_api_request_duration_seconds")
    if "search" not in stats.latency:
        family.add_histogram(("search",), [0] * len(family.buckets), 0.0)
    for endpoint in sorted(stats.latency):
        histogram = stats.latency[endpoint]
        family.add_histogram((endpoint,), list(histogram.counts) + [histogram.count], histogram.sum)
    return family


def _render_block(family: Family) -> _Block:
    result = []
    for text in sections(family):
        data = encode(text)
        result.append((data, _deflate(data) if data else b""))
    return tuple(result)


def _packed_headers(spec: _Spec) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((data, _deflate(data)) for data in map(encode, headers(spec.family())))


def _join_family(
    family_headers: tuple[tuple[bytes, bytes], ...],
    blocks: list[_Block],
    raw: list[bytes],
    packed: list[bytes],
) -> None:
    """Append one family: each block's header, then that block of every target."""
    for section, (header, header_packed) in enumerate(family_headers):
        parts = [block[section] for block in blocks if block[section][0]]
        # Only a gauge histogram's _gcount/_gsum blocks can be empty: when it has no
        # samples at all, and then generate_latest writes no header for them either.
        if section and not parts:
            continue
        raw.append(header)
        packed.append(header_packed)
        for data, data_packed in parts:
            raw.append(data)
            packed.append(data_packed)


# gzip member header: magic, deflate, no flags, mtime 0, "fastest" flag, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff"
# An empty final deflate block, ending the stream.
_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush()


def _deflate(data: bytes) -> bytes:
    """Raw deflate blocks for `data`, byte-aligned and not final, with no references
    outside `data`: such pieces concatenate into one valid deflate stream, so cached
    pieces need no recompression. Level 1: speed over size."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _gzip(body: bytes, packed: list[bytes]) -> bytes:
    """A gzip stream of `body`, from the deflated pieces that make it up, in order."""
    trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
    return b"".join([_GZIP_HEADER, *packed, _FINAL_BLOCK, trailer])

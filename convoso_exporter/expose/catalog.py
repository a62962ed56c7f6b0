"""The metric catalogue: every family the exporter serves, in output order.

Name, type, source (`Source`: where its samples come from, which decides when it is
emitted), label names, help text and buckets, once. `docs/metrics.md` documents the same list and a test holds the two
together; the families module fills these families from the state.
"""

from __future__ import annotations

from dataclasses import dataclass

from convoso_exporter.api.stats import ApiStats
from convoso_exporter.expose.exposition import Family

INF = float("inf")
# Contact-centre statuses last seconds (RINGING) to hours (PAUSED, READY on a slow day).
STATUS_TIME_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, INF)
CALLS_TODAY_BUCKETS: tuple[float, ...] = (0, 1, 5, 10, 20, 40, 80, 160, INF)

class Source:
    """Where a family's samples come from, which decides when it is emitted. (Not a
    target's kind, config/schema.py's ACCOUNT or CUSTOM: a family of the account-wide
    answer is `Source.ACCOUNT_ANSWER`.)"""

    HEALTH = "health"  # per published target, always
    DATA = "data"  # per published target, while its data is fresh
    CUSTOM_TARGET = "custom"  # per custom (explicit) target, while fresh: the account and scopes have the breakdown
    ACCOUNT_ANSWER = "account"  # from the account-wide answer, once, while fresh
    ENDPOINT = "endpoint"  # per optional endpoint's target, labelled with its scope (poll/endpoints.py), while fresh
    AGENT = "agent"  # from the account-wide answer, per agent, only with agent_metrics
    EXPORTER = "exporter"  # the exporter itself, once

_TODAY = " Resets at the account's day boundary."
_GLITCH_KINDS = "decrease (an episode began; not counted) or rebased (a dip that lasted was taken as the new level)."
_SEARCH = " in the /agent-monitor/search answer"
_ACCOUNT = " in the account-wide /agent-monitor/search answer"
_PERFORMANCE = (" in the campaign's /agent-performance/search answer for the account's day (summed over its "
                "agents)")
_AGENT_PERFORMANCE = " in the account-wide /agent-performance/search answer for the account's day (all campaigns)"
_COUNTER = (", across the account's day boundary (a decrease there is a new day; elsewhere it is a glitch, "
            "not counted). Starts at 0 when the exporter starts.")


@dataclass(frozen=True)
class Spec:
    name: str
    type: str
    source: str  # a Source
    labelnames: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()

    def family(self) -> Family:
        return Family(self.name, self.type, self.help, self.labelnames, self.buckets)


# The agent fields on convoso_agent_info; user_full_name only with agent_names (see
# agent_info_fields). Campaign and queue names are joined from their _info series.
AGENT_INFO_FIELDS: tuple[str, ...] = ("user_full_name", "extension", "campaign_id", "queue_id", "connection_type")
TARGET_INFO_LABELS: tuple[str, ...] = (
    "target", "kind", "campaign_id", "campaign_name", "queue_id", "queue_name", "user_id", "skills",
)

# Every family, in output order (the order of docs/metrics.md).
SPECS: tuple[Spec, ...] = (
    Spec("convoso_up", "gauge", Source.HEALTH, ("target",),
         "1 if the last poll of this target succeeded, else 0; absent until its first poll has finished. "
         "The exporter polls the Convoso API "
         "in the background and serves the last result; samples carry no timestamps."),
    Spec("convoso_last_success_timestamp_seconds", "gauge", Source.HEALTH, ("target",),
         "Unix time (exporter clock) of the last successful poll of this target."),
    Spec("convoso_poll_duration_seconds", "gauge", Source.HEALTH, ("target",),
         "Seconds the last poll of this target took (exporter clock), successful or not."),
    Spec("convoso_target_info", "gauge", Source.HEALTH, TARGET_INFO_LABELS,
         "What each target is (kind: account, campaign, queue or custom) and the filters it sends to "
         "/agent-monitor/search, with the scope's names (empty label = no filter or no name). Always 1."),
    # Untyped, not gauge: the name is a contract and promtool reserves `_count` for
    # histograms on typed families. Prometheus stores untyped samples like gauges.
    Spec("convoso_agent_count", "untyped", Source.DATA, ("target",),
         "Agents the API counts in scope (agent_total" + _SEARCH + "); a gauge value."),
    Spec("convoso_agent_ready", "gauge", Source.DATA, ("target",),
         "Agents ready for calls (agent_ready" + _SEARCH + ")."),
    Spec("convoso_agent_incall", "gauge", Source.DATA, ("target",),
         "Agents on a call (agent_incall" + _SEARCH + ")."),
    Spec("convoso_agent_paused", "gauge", Source.DATA, ("target",),
         "Agents paused (agent_paused" + _SEARCH + ")."),
    Spec("convoso_queue_dialable_leads", "gauge", Source.DATA, ("target",),
         "Leads left to dial (queue_dialable_leads" + _SEARCH + ")."),
    Spec("convoso_queue_calls_today", "gauge", Source.DATA, ("target",),
         "Queue calls today (queue_calls_today" + _SEARCH + ")." + _TODAY),
    Spec("convoso_queue_answered_today", "gauge", Source.DATA, ("target",),
         "Queue calls answered today (queue_answered" + _SEARCH + ")." + _TODAY),
    Spec("convoso_queue_dropped_today", "gauge", Source.DATA, ("target",),
         "Queue calls dropped (abandoned) today (queue_dropped" + _SEARCH + ")." + _TODAY),
    Spec("convoso_calls_today", "gauge", Source.DATA, ("target",),
         "Calls today in scope (call_data.total_calls" + _SEARCH + ")." + _TODAY),
    Spec("convoso_calls_answered_today", "gauge", Source.DATA, ("target",),
         "Answered calls today in scope (call_data.answered" + _SEARCH + ")." + _TODAY),
    Spec("convoso_calls_dropped_today", "gauge", Source.DATA, ("target",),
         "Dropped calls today in scope (call_data.dropped" + _SEARCH + ")." + _TODAY),
    Spec("convoso_queue_calls_total", "counter", Source.DATA, ("target",),
         "Queue calls, counted by the exporter from queue_calls_today" + _SEARCH + _COUNTER),
    Spec("convoso_queue_answered_total", "counter", Source.DATA, ("target",),
         "Queue calls answered, counted by the exporter from queue_answered" + _SEARCH + _COUNTER),
    Spec("convoso_queue_dropped_total", "counter", Source.DATA, ("target",),
         "Queue calls dropped (abandoned), counted by the exporter from queue_dropped" + _SEARCH + _COUNTER),
    Spec("convoso_calls_total", "counter", Source.DATA, ("target",),
         "Calls in scope, counted by the exporter from call_data.total_calls" + _SEARCH + _COUNTER),
    Spec("convoso_calls_answered_total", "counter", Source.DATA, ("target",),
         "Answered calls in scope, counted by the exporter from call_data.answered" + _SEARCH + _COUNTER),
    Spec("convoso_calls_dropped_total", "counter", Source.DATA, ("target",),
         "Dropped calls in scope, counted by the exporter from call_data.dropped" + _SEARCH + _COUNTER),
    Spec("convoso_campaign_live_answered_today", "gauge", Source.ENDPOINT, ("target",),
         "Calls delivered to the campaign's agents that a live person answered today (human_answered"
         + _PERFORMANCE + ")." + _TODAY),
    Spec("convoso_campaign_machine_answered_today", "gauge", Source.ENDPOINT, ("target",),
         "Calls delivered to the campaign's agents that an answering machine answered today (am"
         + _PERFORMANCE + ")." + _TODAY),
    Spec("convoso_campaign_agent_calls_today", "gauge", Source.ENDPOINT, ("target",),
         "Calls delivered to the campaign's agents today (calls" + _PERFORMANCE + ")." + _TODAY),
    Spec("convoso_campaign_agent_seconds_today", "gauge", Source.ENDPOINT, ("target", "activity"),
         "Seconds the campaign's agents spent today in each activity: talk, wait, pause, wrap (talk_sec, wait_sec, "
         "pause_sec, wrap_sec" + _PERFORMANCE + ")." + _TODAY),
    Spec("convoso_campaign_live_answered_total", "counter", Source.ENDPOINT, ("target",),
         "Live-human answered calls the campaign's agents handled, counted by the exporter from human_answered"
         + _PERFORMANCE + _COUNTER),
    Spec("convoso_campaign_machine_answered_total", "counter", Source.ENDPOINT, ("target",),
         "Machine-answered calls delivered to the campaign's agents, counted by the exporter from am"
         + _PERFORMANCE + _COUNTER),
    Spec("convoso_campaign_agent_calls_total", "counter", Source.ENDPOINT, ("target",),
         "Calls delivered to the campaign's agents, counted by the exporter from calls" + _PERFORMANCE + _COUNTER),
    Spec("convoso_campaign_agent_seconds_total", "counter", Source.ENDPOINT, ("target", "activity"),
         "Seconds the campaign's agents spent in each activity (talk, wait, pause, wrap), counted by the exporter "
         "from talk_sec, wait_sec, pause_sec, wrap_sec" + _PERFORMANCE + _COUNTER),
    Spec("convoso_user_activity_agents", "gauge", Source.ENDPOINT, ("target", "state"),
         "Agents Convoso counts in the scope (the account, or a campaign) by state: logged_in (logged_in_agents) "
         "and available (available_agents) in the /user-activity/search answer. Compare with convoso_agents, "
         "counted by the exporter from the agents list."),
    Spec("convoso_target_agents", "gauge", Source.CUSTOM_TARGET, ("target", "status"),
         "Agents in each status, counted from this custom target's own agents list" + _SEARCH + " (status as "
         "sent; common statuses are always present). Targets overlap: never sum this over targets, "
         "use convoso_agents."),
    Spec("convoso_target_agents_status_time_seconds", "gaugehistogram", Source.CUSTOM_TARGET, ("target", "status"),
         "Distribution across this target's agents of the seconds spent in their current status "
         "(agents[].status_time_sec" + _SEARCH + "), per status.", STATUS_TIME_BUCKETS),
    Spec("convoso_target_agents_status_time_max_seconds", "gauge", Source.CUSTOM_TARGET, ("target", "status"),
         "Longest time any of this target's agents has been in this status (max of agents[].status_time_sec"
         + _SEARCH + ")."),
    Spec("convoso_target_agents_calls_today", "gaugehistogram", Source.CUSTOM_TARGET, ("target",),
         "Distribution across this target's agents of the calls each handled today (agents[].calls_today"
         + _SEARCH + ")." + _TODAY, CALLS_TODAY_BUCKETS),
    Spec("convoso_agents", "gauge", Source.ACCOUNT_ANSWER, ("campaign_id", "queue_id", "status"),
         "Logged-in agents (and LOGGED_OUT ones the API still lists) by campaign, queue and status, each agent "
         "once, from the agents list" + _ACCOUNT + ". Additive: sum over any label is the right total."),
    Spec("convoso_agents_status_time_seconds", "gaugehistogram", Source.ACCOUNT_ANSWER, ("campaign_id", "status"),
         "Distribution across each campaign's agents of the seconds spent in their current status "
         "(agents[].status_time_sec" + _ACCOUNT + "), per status.", STATUS_TIME_BUCKETS),
    Spec("convoso_agents_status_time_max_seconds", "gauge", Source.ACCOUNT_ANSWER, ("campaign_id", "status"),
         "Longest time any of the campaign's agents has been in this status (max of agents[].status_time_sec"
         + _ACCOUNT + ")."),
    Spec("convoso_agents_calls_today", "gaugehistogram", Source.ACCOUNT_ANSWER, ("campaign_id",),
         "Distribution across each campaign's agents of the calls each handled today (agents[].calls_today"
         + _ACCOUNT + ")." + _TODAY, CALLS_TODAY_BUCKETS),
    Spec("convoso_agents_status_seconds_total", "counter", Source.ACCOUNT_ANSWER, ("campaign_id", "queue_id", "status"),
         "Agent-seconds spent in each status, by campaign and queue, reconstructed by the exporter from each "
         "agent's status and status_time_sec between polls" + _ACCOUNT + " (docs/metrics.md: accuracy)."),
    Spec("convoso_agents_status_entries_total", "counter", Source.ACCOUNT_ANSWER, ("campaign_id", "queue_id", "status"),
         "Times agents entered each status, by campaign and queue, as seen between polls" + _ACCOUNT
         + " (a status begun and ended between two polls is not seen)."),
    Spec("convoso_campaign_info", "gauge", Source.ACCOUNT_ANSWER, ("campaign_id", "campaign_name"),
         "Each campaign" + _ACCOUNT + ", with its name; join it where a panel wants names. Always 1."),
    Spec("convoso_queue_info", "gauge", Source.ACCOUNT_ANSWER, ("queue_id", "queue_name"),
         "Each queue" + _ACCOUNT + ", with its name; join it where a panel wants names. Always 1."),
    Spec("convoso_agent_status_time_seconds", "gauge", Source.AGENT, ("user_id", "status"),
         "Seconds this agent has been in its current status (status_time_sec" + _ACCOUNT + ")."),
    Spec("convoso_agent_calls_today", "gauge", Source.AGENT, ("user_id",),
         "Calls this agent handled today (calls_today" + _ACCOUNT + ")." + _TODAY),
    Spec("convoso_agent_session_calls", "gauge", Source.AGENT, ("user_id",),
         "Calls in this agent's current session (total_calls" + _ACCOUNT + ")."),
    Spec("convoso_agent_info", "gauge", Source.AGENT, ("user_id",) + AGENT_INFO_FIELDS,
         "Who the agent is and where they work, from the agents list" + _ACCOUNT
         + " (empty label = not sent; user_full_name is empty with agent_names: false). Always 1."),
    Spec("convoso_agent_live_answered_today", "gauge", Source.ENDPOINT, ("user_id",),
         "Calls this agent took today that a live person answered (human_answered" + _AGENT_PERFORMANCE + ")."
         + _TODAY),
    Spec("convoso_agent_machine_answered_today", "gauge", Source.ENDPOINT, ("user_id",),
         "Calls this agent took today that an answering machine answered (am" + _AGENT_PERFORMANCE + ")." + _TODAY),
    Spec("convoso_agent_activity_seconds_today", "gauge", Source.ENDPOINT, ("user_id", "activity"),
         "Seconds this agent spent today in each activity: talk, wait, pause, wrap (talk_sec, wait_sec, pause_sec, "
         "wrap_sec" + _AGENT_PERFORMANCE + ")." + _TODAY),
    Spec("convoso_exporter_build_info", "gauge", Source.EXPORTER, ("version", "revision", "python_version"),
         "Version of convoso-exporter, the git commit it was built from (revision; unknown when not recorded) "
         "and the Python running it. Always 1."),
    Spec("convoso_exporter_api_requests_total", "counter", Source.EXPORTER, ("endpoint", "outcome"),
         "Requests made to the Convoso API, by endpoint and outcome (success or an error kind)."),
    Spec("convoso_exporter_api_request_duration_seconds", "histogram", Source.EXPORTER, ("endpoint",),
         "Latency of requests to the Convoso API, by endpoint (exporter clock).", ApiStats.BUCKETS + (INF,)),
    Spec("convoso_exporter_api_drift_total", "counter", Source.EXPORTER, ("endpoint", "field", "kind"),
         "Answers from the Convoso API that held something the exporter's model did not expect, by endpoint, "
         "field and kind (unknown_field, missing_field, wrapped, keyed_by_id, number_as_text, empty_as_text, "
         "other_type, wrong_type, invalid_text, out_of_bounds, invalid_unicode); a series appears with the first "
         "such answer. Listed with an example on the landing page and in /api/v1/snapshot."),
    Spec("convoso_exporter_parse_fallbacks_total", "counter", Source.EXPORTER, ("endpoint",),
         "Answers the fast typed decoder did not take as they were and the reference parser read instead "
         "(slower, same result), by endpoint."),
    Spec("convoso_exporter_api_budget_calls_per_minute", "gauge", Source.EXPORTER, (),
         "API calls per minute the current targets and intervals imply for this exporter "
         "(sum over polled targets of 60 / interval, as configured; retries and backoff not included). Over "
         "convoso_exporter_api_ceiling_calls_per_minute the intervals are stretched to fit it."),
    Spec("convoso_exporter_api_ceiling_calls_per_minute", "gauge", Source.EXPORTER, (),
         "The most API calls this exporter makes in any 60 seconds (convoso.max_requests_per_minute)."),
    Spec("convoso_exporter_poll_interval_stretch_ratio", "gauge", Source.EXPORTER, ("kind",),
         "Factor the intervals of this kind of target are stretched by to keep the API calls within the "
         "ceiling (1: as configured). Discovered campaigns and queues are stretched first, custom targets "
         "next, the account last."),
    Spec("convoso_exporter_api_ceiling_wait_seconds_total", "counter", Source.EXPORTER, (),
         "Seconds API requests waited for their turn under the ceiling (bursts: the first round, a reload, "
         "a discovery round that adds targets)."),
    Spec("convoso_exporter_poll_errors_total", "counter", Source.HEALTH, ("target", "kind"),
         "Failed polls of this target, by error kind."),
    Spec("convoso_exporter_day_figure_glitches_total", "counter", Source.HEALTH, ("target", "kind"),
         "Day figures of this target that went down outside the account's day boundary, by kind: " + _GLITCH_KINDS),
    Spec("convoso_exporter_performance_glitches_total", "counter", Source.ENDPOINT, ("target", "kind"),
         "Agent-performance day figures of this campaign that went down outside the account's day boundary, by "
         "kind: " + _GLITCH_KINDS),
    Spec("convoso_exporter_folded_values", "gauge", Source.DATA, ("target", "label"),
         "Distinct values of a label (status, campaign_id, queue_id) in this target's last answer beyond the "
         "per-answer caps (64 statuses, 1000 campaign ids, 1000 queue ids, the most used kept); their agents are "
         "counted under the value (other)."),
    Spec("convoso_exporter_count_disagreement", "gauge", Source.DATA, ("target", "figure"),
         "The API's own agent count minus the exporter's count of the same agents from the agents list"
         + _SEARCH + ", each user_id once; 0 when they agree. figure: total (agent_total against every agent "
         "listed, LOGGED_OUT included), ready (agent_ready against READY), incall (agent_incall against INCALL), "
         "paused (agent_paused against PAUSED). Absent for a figure the answer does not send."),
    Spec("convoso_exporter_agents_truncated", "gauge", Source.AGENT, (),
         "Agents left out of the per-agent series by max_agents_per_target (the lowest user_ids are kept)."),
    Spec("convoso_exporter_endpoint_enabled", "gauge", Source.EXPORTER, ("endpoint",),
         "1 while the exporter polls this Convoso endpoint (search, performance, user_activity), 0 when it is "
         "turned off: in the config, or because the token lacks the permission (tried again hourly and on reload)."),
    Spec("convoso_exporter_targets", "gauge", Source.EXPORTER, ("kind",),
         "Targets this exporter polls, by kind (account, campaign, queue, custom; performance and user_activity: "
         "the optional endpoints' calls)."),
    Spec("convoso_exporter_discovered_scopes", "gauge", Source.EXPORTER, ("kind", "outcome"),
         "Campaigns and queues found in the account answer, by outcome: polled, filtered (include / exclude) "
         "or over_limit (cut by discovery.max_targets)."),
    Spec("convoso_exporter_config_last_reload_successful", "gauge", Source.EXPORTER, (),
         "1 if the last load or reload of the configuration file succeeded, else 0."),
    Spec("convoso_exporter_config_last_reload_success_timestamp_seconds", "gauge", Source.EXPORTER, (),
         "Unix time of the last successful load or reload of the configuration file."),
)

# Position in SPECS by Family.name (a counter's without "_total"), and spec by its name.
INDEX: dict[str, int] = {spec.family().name: i for i, spec in enumerate(SPECS)}
BY_NAME: dict[str, Spec] = {spec.name: spec for spec in SPECS}


def new_family(name: str) -> Family:
    """An empty family for the catalogue entry `name`."""
    return BY_NAME[name].family()

"""Convoso / Exporter health: is the exporter polling, how fast, with which errors, how fresh,
which endpoints it polls, and how far its own agent time is from Convoso's.

The data-age lines are the `ConvosoDataStale` threshold from `Settings`.
"""

from __future__ import annotations

from convoso_exporter.mixin.agent_time import gap_panel
from convoso_exporter.mixin.layout import Line, dashboard, target_variables
from convoso_exporter.mixin.panels import (
    queries,
    stat,
    state_timeline,
    thresholds,
    timeseries,
    value_mappings,
)
from convoso_exporter.mixin.promql import sel, targeted
from convoso_exporter.mixin.settings import Settings, duration_seconds


def polls_row(settings: Settings) -> Line:
    """Whether each target's polls succeed and how old its data is, against the stale-data alert."""
    stale = duration_seconds(settings.stale_after)
    return [
        (
            state_timeline(
                "Poll outcome per target",
                "OK when the exporter's last poll of the target succeeded, FAILED when it did not (convoso_up).",
                "none",
                queries((targeted("convoso_up"), "{{target}}")),
                mappings=value_mappings({"0": ("FAILED", "red"), "1": ("OK", "green")}),
                color={"mode": "thresholds"},
            ),
            12,
            7,
        ),
        (
            timeseries(
                "Poll success ratio",
                "Share of the time each target's last poll had succeeded, over the rate interval.",
                "percentunit",
                queries((f"avg_over_time({targeted('convoso_up')}[$__rate_interval])", "{{target}}")),
                defaults={"min": 0, "max": 1},
            ),
            12,
            7,
        ),
        (
            timeseries(
                "Data age",
                "Seconds since the last successful poll of each target. "
                f"ConvosoDataStale fires past {settings.stale_after} (the red line).",
                "s",
                queries((f"time() - {targeted('convoso_last_success_timestamp_seconds')}", "{{target}}")),
                threshold_lines=True,
                thresholds=thresholds("green", (stale / 2, "orange"), (stale, "red")),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Poll duration",
                "How long the last poll of each target took.",
                "s",
                queries((targeted("convoso_poll_duration_seconds"), "{{target}}")),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Poll errors by target and kind",
                "Failed polls per rate interval by error kind (auth, api, rate_limited, server, "
                'protocol, too_large, timeout, connection). A flat "none" line means no poll failed.',
                "short",
                queries(
                    (
                        "sum by (target, kind) "
                        f"(increase({targeted('convoso_exporter_poll_errors_total')}[$__rate_interval]))\n"
                        "or on (target)\n"
                        f'label_replace(sum by (target) ({targeted("convoso_up")}) * 0, "kind", "none", "", "")',
                        "{{target}} {{kind}}",
                    )
                ),
            ),
            8,
            8,
        ),
    ]


def counts_row() -> Line:
    """Whether Convoso counts its agents by our rule: its own agent_* figures minus our count of its agents list."""
    gaps = targeted("convoso_exporter_count_disagreement")
    return [
        (
            timeseries(
                "Convoso's agent counts minus ours",
                "Per target and figure, the answer's own agent count minus the exporter's count of its agents "
                "list (convoso_exporter_count_disagreement): total (agent_total against every agent listed), "
                "ready (READY), incall (INCALL), paused (PAUSED). Positive: Convoso counts more, e.g. RINGING "
                "as ready; negative: fewer, e.g. LOGGED_OUT left out of its total. A flat 0 means they agree; "
                "a steady gap, that it counts by another rule (docs/metrics.md, \"The API's counts against ours\"; "
                "the landing page names the figures).",
                "short",
                queries((gaps, "{{target}} {{figure}}")),
            ),
            24,
            7,
        ),
    ]


def api_row() -> Line:
    """The Convoso API as the exporter sees it: traffic, errors, latency."""
    requests = sel("convoso_exporter_api_requests_total")
    errors = sel("convoso_exporter_api_requests_total", 'outcome!="success"')
    latency = sel("convoso_exporter_api_request_duration_seconds_bucket")
    return [
        (
            timeseries(
                "API requests by outcome",
                "Requests to the Convoso API per second, by endpoint and outcome (success or the error kind).",
                "reqps",
                queries(
                    (
                        f"sum by (endpoint, outcome) (rate({requests}[$__rate_interval]))",
                        "{{endpoint}} {{outcome}}",
                    )
                ),
                stack=True,
            ),
            8,
            8,
        ),
        (
            timeseries(
                "API error ratio",
                "Share of Convoso API requests that failed, per endpoint.",
                "percentunit",
                queries(
                    (
                        f"sum by (endpoint) (rate({errors}[$__rate_interval]))\n"
                        f"  / sum by (endpoint) (rate({requests}[$__rate_interval]))\n"
                        "or\n"
                        f"sum by (endpoint) (rate({requests}[$__rate_interval])) * 0",
                        "{{endpoint}}",
                    )
                ),
                defaults={"min": 0},
            ),
            8,
            8,
        ),
        (
            timeseries(
                "API latency",
                "Convoso API request latency quantiles per endpoint, from the exporter's histogram.",
                "s",
                queries(
                    *(
                        (
                            f"histogram_quantile({q}, sum by (endpoint, le) (rate({latency}[$__rate_interval])))",
                            f"p{round(q * 100)} {{{{endpoint}}}}",
                        )
                        for q in (0.5, 0.9, 0.99)
                    )
                ),
            ),
            8,
            8,
        ),
    ]


def targets_row() -> Line:
    """What the exporter polls (the account, discovered campaigns and queues, custom slices) and what it costs."""
    search = sel("convoso_exporter_api_requests_total", 'endpoint="search"')
    return [
        (
            stat(
                "Targets by kind",
                "Targets each exporter polls: the account, the campaigns and queues discovery "
                "found, and the config's custom slices (convoso_exporter_targets).",
                "short",
                queries((sel("convoso_exporter_targets"), "{{kind}} ({{instance}})"), instant=True),
            ),
            8,
            6,
        ),
        (
            stat(
                "Discovered scopes by outcome",
                "Campaigns and queues found in the account answer: polled, filtered out by "
                "discovery.include/exclude, or over discovery.max_targets (orange: raise the "
                "limit or filter, or those scopes have no figures).",
                "short",
                queries((sel("convoso_exporter_discovered_scopes"), "{{kind}} {{outcome}}"), instant=True),
                overrides=[
                    {
                        "matcher": {"id": "byRegexp", "options": ".*over_limit.*"},
                        "properties": [
                            {"id": "color", "value": {"mode": "thresholds"}},
                            {"id": "thresholds", "value": thresholds("green", (1, "orange"))},
                        ],
                    }
                ],
            ),
            8,
            6,
        ),
        (
            timeseries(
                "API calls per minute: budget and actual",
                "The search calls per minute the current targets imply (one per target per "
                "interval: convoso_exporter_api_budget_calls_per_minute) against the calls "
                "actually made. Failing targets back off, so actual can be lower.",
                "short",
                queries(
                    (sel("convoso_exporter_api_budget_calls_per_minute"), "budget {{instance}}"),
                    (
                        f"sum by (job, instance) (rate({search}[$__rate_interval])) * 60",
                        "actual {{instance}}",
                    ),
                ),
                defaults={"min": 0},
            ),
            8,
            6,
        ),
    ]


def endpoints_row(settings: Settings) -> Line:
    """Which Convoso endpoints the exporter polls, and how its agent time compares with Convoso's."""
    return [
        (
            stat(
                "Endpoints polled",
                "Whether each exporter polls each Convoso endpoint (convoso_exporter_endpoint_enabled): "
                "search (agent-monitor), performance (agent-performance: live-human answered calls, "
                "agent time) and user_activity (logged-in and available agents). OFF: turned off in "
                "the config, or the token lacks that permission (the exporter's log and `check` say "
                "which). With performance OFF the 30-day drop-rate alerts judge on the answered "
                "basis (drop_rate_30d_basis=auto) or not at all (live).",
                "none",
                queries((sel("convoso_exporter_endpoint_enabled"), "{{endpoint}} ({{instance}})"), instant=True),
                colour_mode="background",
                mappings=value_mappings({"0": ("OFF", "orange"), "1": ("ON", "green")}),
            ),
            8,
            8,
        ),
        (gap_panel(settings), 16, 8),
    ]


def process_row() -> Line:
    """The exporter process itself: version, config, scrape cost, CPU, memory."""
    return [
        (
            stat(
                "Exporter version",
                "Version and Python of each exporter instance (convoso_exporter_build_info).",
                "none",
                queries(
                    (
                        sel("convoso_exporter_build_info"),
                        "{{instance}}: {{version}} (Python {{python_version}})",
                    ),
                    instant=True,
                ),
                text_mode="name",
            ),
            8,
            4,
        ),
        (
            stat(
                "Last config reload",
                "Whether the exporter's last configuration (re)load succeeded.",
                "none",
                queries(
                    (sel("convoso_exporter_config_last_reload_successful"), "{{instance}}"),
                    instant=True,
                ),
                colour_mode="background",
                mappings=value_mappings({"0": ("FAILED", "red"), "1": ("OK", "green")}),
            ),
            8,
            4,
        ),
        (
            stat(
                "Agents left out of per-agent series",
                "Agents of the account answer not exported one by one because of "
                "max_agents_per_target; the breakdown and the distributions still count them.",
                "short",
                queries((sel("convoso_exporter_agents_truncated"), "{{instance}}"), instant=True),
                thresholds=thresholds("green", (1, "orange")),
            ),
            8,
            4,
        ),
        (
            timeseries(
                "Scrape duration and size",
                "How long Prometheus takes to scrape the exporter (left) and how many samples it gets (right).",
                "s",
                queries(
                    (sel("scrape_duration_seconds"), "{{instance}} duration"),
                    (sel("scrape_samples_scraped"), "{{instance}} samples"),
                ),
                overrides=[
                    {
                        "matcher": {"id": "byFrameRefID", "options": "B"},
                        "properties": [
                            {"id": "unit", "value": "short"},
                            {"id": "custom.axisPlacement", "value": "right"},
                        ],
                    }
                ],
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Exporter CPU",
                "CPU used by the exporter process, in cores.",
                "percentunit",
                queries(
                    (
                        f"rate({sel('process_cpu_seconds_total')}[$__rate_interval])",
                        "{{instance}}",
                    )
                ),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Exporter memory",
                "Resident memory of the exporter process.",
                "bytes",
                queries((sel("process_resident_memory_bytes"), "{{instance}}")),
            ),
            8,
            8,
        ),
    ]


def build(settings: Settings) -> dict:
    """The dashboard for `settings`: its data-age lines are the stale-data alert's."""
    return dashboard(
        __name__,
        "convoso-exporter",
        "Convoso / Exporter health",
        "Is convoso-exporter polling Convoso, how fast, with which errors, and how fresh is the data.",
        [
            ("Polls per target", polls_row(settings)),
            ("Targets and API budget", targets_row()),
            ("Convoso's counts against ours", counts_row()),
            ("Convoso API", api_row()),
            ("Endpoints, and Convoso's figures against the exporter's", endpoints_row(settings)),
            ("Exporter process", process_row()),
        ],
        target_variables(),
    )

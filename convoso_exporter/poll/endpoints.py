"""The optional endpoints beside agent-monitor search: which scopes they are polled for,
and whether each is on.

- **user-activity search**: one call beside each poll of the account and of each
  discovered campaign (at the scope's interval): how many agents Convoso counts logged in
  and available there, beside the exporter's own counts.
- **agent-performance search**: today's figures (the account's day) of each discovered
  campaign every `performance.interval`, for the live-human basis of the 30-day drop
  rate and Convoso's own agent time; with `agent_metrics`, also of the whole account, so
  that each agent's day figures are published once, summed over campaigns by the API.

Each call is a target of its own (kind `performance` / `user_activity`, named
`<kind>:<scope>`, its figures labelled `target="<scope>"`), made for the scopes this
replica publishes: sharded with its scope (`--shard` never publishes a series twice),
gone when discovery drops the scope (expiry.py), counted in the API budget and stretched
under the ceiling by its kind like any other (poll/plan.py, poll/budget.py).

An endpoint is off when the config turns it off, or when the token lacks its permission
(`AccessDenied`, kind `denied`): then its targets leave the plan (its series go and
`convoso_exporter_endpoint_enabled` says 0), one warning names the permission to tick,
and the agent-monitor targets are left alone. It is tried again on reload (a new
`Endpoints`) and every RETRY_SECONDS, by one target first (`polling`: a probe); the
probe's answer brings every target back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from convoso_exporter.api.refusals import PERMISSIONS
from convoso_exporter.config.schema import (
    ACCOUNT,
    CAMPAIGN,
    ENDPOINT_KINDS,
    PERFORMANCE,
    USER_ACTIVITY,
    Config,
    Target,
)
from convoso_exporter.poll.discovery import target_name

log = logging.getLogger(__name__)

SEARCH = "search"
ENDPOINTS = (SEARCH, *ENDPOINT_KINDS)  # the `endpoint` label of convoso_exporter_endpoint_enabled
RETRY_SECONDS = 3600.0
NAMES = {PERFORMANCE: "agent-performance search", USER_ACTIVITY: "user-activity search"}  # in words
# endpoint -> True: every target polled; False: one target, a probe after a denial.
Polling = Mapping[str, bool]


def tick_permission(permission: str, endpoint: str) -> str:
    """What to do about a token refused for `endpoint`: the log's words and `check`'s."""
    return f"tick the {permission} permission for this token in Convoso (or set {endpoint}.enabled: false)"


def endpoint_targets(config: Config, scopes: Sequence[Target], polling: Polling) -> list[Target]:
    """The optional endpoints' targets beside `scopes` (the planned search targets): the
    account's and each discovered campaign's this replica publishes; user-activity first,
    then agent-performance (the account's only with per-agent series: agent_metrics and
    max_agents_per_target). An endpoint polled as a
    probe gets its first target alone."""
    made: dict[str, list[Target]] = {USER_ACTIVITY: [], PERFORMANCE: []}
    for scope in scopes:
        if not scope.publish or scope.kind not in (ACCOUNT, CAMPAIGN):
            continue
        for kind, interval in ((USER_ACTIVITY, scope.interval), (PERFORMANCE, config.performance.interval)):
            if kind == PERFORMANCE and scope.kind == ACCOUNT and not (config.agent_metrics and
                                                                    config.max_agents_per_target):
                continue  # the account's is for per-agent series alone
            made[kind].append(Target(target_name(kind, scope.name), campaign_id=scope.campaign_id, kind=kind,
                                     interval=interval, scope=scope.name, campaign_name=scope.campaign_name))
    return [target for kind, targets in made.items() if kind in polling
            for target in (targets if polling[kind] else targets[:1])]


def configured(config: Config) -> dict[str, bool]:
    """The endpoints the config turns on, every target polled."""
    on = {PERFORMANCE: config.performance.enabled, USER_ACTIVITY: config.user_activity.enabled}
    return {endpoint: True for endpoint, enabled in on.items() if enabled}


@dataclass(frozen=True)
class EndpointStatus:
    """One endpoint as the landing page, the snapshot and `check` tell it."""

    endpoint: str
    enabled: bool  # polled now (convoso_exporter_endpoint_enabled)
    reason: str  # "polled", or why not, one line
    permission: str | None = None  # what to tick in Convoso when the token lacks it
    since: float | None = None  # when the token was first refused (wall clock)


@dataclass(frozen=True)
class _Denial:
    message: str  # the refusal, one line, redacted
    since: float  # the first refusal of this episode
    last: float  # the last refusal: the next try is RETRY_SECONDS after it


class Endpoints:
    """Whether each optional endpoint is on: the config's word, and the token's refusals
    since this config was loaded (a reload starts afresh: tried again)."""

    def __init__(self, config: Config, wall: Callable[[], float] = time.time) -> None:
        self._configured = configured(config)
        self._wall = wall
        self._denied: dict[str, _Denial] = {}

    def polling(self) -> dict[str, bool]:
        """The endpoints whose targets are in the plan now: every target, or one (a probe)
        for one refused RETRY_SECONDS ago or more."""
        now = self._wall()
        polled = {}
        for endpoint in self._configured:
            denial = self._denied.get(endpoint)
            if denial is None or now >= denial.last + RETRY_SECONDS:
                polled[endpoint] = denial is None
        return polled

    def deny(self, endpoint: str, message: str) -> None:
        """The token was refused for `endpoint`: off until a retry's answer or a reload."""
        now = self._wall()
        old = self._denied.get(endpoint)
        self._denied[endpoint] = _Denial(message, old.since if old is not None else now, now)
        if old is None:
            log.warning("%s turned off: %s; %s; tried again every hour and on reload. The agent-monitor figures are "
                        "unaffected", NAMES[endpoint], message, tick_permission(PERMISSIONS[endpoint], endpoint))
        else:
            log.info("%s still refused: %s; tried again in an hour", NAMES[endpoint], message)

    def allow(self, endpoint: str) -> bool:
        """An answer came from `endpoint`: True when that turns it back on (a probe's)."""
        if self._denied.pop(endpoint, None) is None:
            return False
        log.info("%s answers again: polling it for every scope", NAMES[endpoint])
        return True

    def enabled(self) -> dict[str, bool]:
        """endpoint -> polled now (convoso_exporter_endpoint_enabled); search always."""
        return {status.endpoint: status.enabled for status in self.statuses()}

    def statuses(self) -> tuple[EndpointStatus, ...]:
        found = [EndpointStatus(SEARCH, True, "polled")]
        for endpoint in ENDPOINT_KINDS:
            denial = self._denied.get(endpoint)
            if endpoint not in self._configured:
                found.append(EndpointStatus(endpoint, False, f"turned off in the config ({endpoint}.enabled: false)"))
            elif denial is not None:
                reason = f"the token lacks the {PERMISSIONS[endpoint]} permission: {denial.message}"
                found.append(EndpointStatus(endpoint, False, reason, PERMISSIONS[endpoint], denial.since))
            else:
                found.append(EndpointStatus(endpoint, True, "polled"))
        return tuple(found)

"""`convoso-exporter check`: does this config work against the real API, right now?

`--config.check` only proves the file is well formed; a wrong token, a typo in the
host or an unknown campaign id show only against the API. This command validates the
config, then makes one real search per target (the account first, then one discovery
round, then every discovered and explicit target) and the optional endpoints' calls
beside them (user-activity, agent-performance search of today: a token without their
permission is told which one to tick), and prints a table: the target, OK or the error
in plain words with what to do, the agents it saw and how long it took; and the
API calls per minute the config implies, against `convoso.max_requests_per_minute`, with
the intervals the exporter would stretch to stay within it. Its own searches wait their
turn under that ceiling too. Exit 0 only when every target works.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.endpoints.activity import UserActivity
from convoso_exporter.api.errors import AccessDenied, ApiError, ConvosoError
from convoso_exporter.config.schema import Config, Target
from convoso_exporter.poll.discovery import Discovery
from convoso_exporter.poll.endpoints import tick_permission
from convoso_exporter.poll.budget import ADVICE as STRETCH_ADVICE, RateLimiter, Stretch, stretch
from convoso_exporter.poll.calls import Calls
from convoso_exporter.poll.plan import calls_per_minute, plan
from convoso_exporter.poll.state import TargetState

# What to do about each kind of failure, in words an operator acts on (a connection
# failure or a timeout whose cause is known says what to check in its own message).
ADVICE = {
    "auth": "the API refused the token: check auth_token / auth_token_file / CONVOSO_AUTH_TOKEN",
    "connection": "could not reach the API: check base_url and that this machine can reach it",
    "timeout": "no answer in time: check the network, or raise convoso.timeout",
    "rate_limited": "the API is rate limiting this token: poll less often (poll_interval, discovery.interval)",
    "server": "the API failed on its side: try again later",
    "protocol": "the answer is not the Agent Monitor API's: check base_url (it should end in /v1)",
    "too_large": "the answer is bigger than convoso.max_response_bytes: raise it",
}
API_CODES = {
    6006: "no such agent: check user_id",
    6026: "no such campaign: check campaign_id",
    6041: "no such queue: check queue_id",
}


@dataclass(frozen=True)
class Outcome:
    target: Target
    seconds: float
    result: Any = None  # a SearchResult, or an optional endpoint's answer
    error: ConvosoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def verdict(self) -> str:
        if self.error is None:
            return "OK"
        if isinstance(self.error, AccessDenied):
            kind = self.target.kind
            return (f"FAILED: {self.error} -> {tick_permission(self.error.permission, kind)}; "
                    f"the exporter turns only {kind} off and polls the rest")
        if getattr(self.error, "reason", None) is not None:
            # A transport failure told in words (api/failures.py): its message names the
            # host and port and already says what to check.
            return f"FAILED: {self.error}"
        if isinstance(self.error, ApiError) and self.error.code in API_CODES:
            advice = API_CODES[self.error.code]
        else:
            advice = ADVICE.get(self.error.kind, "see the error")
        return f"FAILED: {self.error} -> {advice}"


async def check(config: Config, *, transport: httpx.AsyncBaseTransport | None = None,
                wall: Callable[[], float] = time.time) -> tuple[list[Outcome], Stretch]:
    """Every target's outcome (account first) and the API calls per minute against the
    ceiling; over `transport` when given (a recording's, record/session.py), at the time
    `wall` says (the account's day agent-performance is asked for)."""
    ceiling = config.convoso.max_requests_per_minute
    limiter = RateLimiter(ceiling, clock=time.monotonic, sleep=asyncio.sleep)
    calls = Calls(config.timezone)
    async with ConvosoClient.from_settings(config.convoso, transport=transport) as client:
        targets = plan(config, (), None)
        account = await _call(calls, client, limiter, targets[0], wall())
        found = ()
        if account.ok and config.discovery.enabled and account.result is not None:
            found = Discovery(config.discovery).update(account.result, wall()).targets
        targets = plan(config, found, None)
        rest = await asyncio.gather(*(_call(calls, client, limiter, target, wall()) for target in targets[1:]))
    return [account, *rest], stretch(calls_per_minute(targets, config.poll_interval), ceiling)


async def _call(calls: Calls, client: ConvosoClient, limiter: RateLimiter, target: Target, at: float) -> Outcome:
    """The target's call(s), as a poll makes them (poll/calls.py), each in turn under the ceiling."""
    await limiter.acquire()
    started = time.perf_counter()
    try:
        result = await calls(client, TargetState(target), at, limiter.acquire)
    except ConvosoError as err:
        return Outcome(target, time.perf_counter() - started, error=err)
    return Outcome(target, time.perf_counter() - started, result=result)


def report(outcomes: Sequence[Outcome], budget: Stretch, out: TextIO) -> int:
    """The table, the budget and the exit code: 0 when every target works, 1 otherwise."""
    rows = [("target", "kind", "agents", "latency", "result")]
    for outcome in outcomes:
        agents = seen(outcome.result)
        rows.append((outcome.target.name, outcome.target.kind, agents, f"{outcome.seconds * 1000:.0f} ms",
                     outcome.verdict()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4], file=out)
    failed = sum(not outcome.ok for outcome in outcomes)
    advice = f"; {STRETCH_ADVICE}" if budget.stretched else ""
    print(f"\nAPI calls per minute this config implies: {budget.planned_total:.1f}, {budget.verdict()}{advice}",
          file=out)
    if failed:
        print(f"{failed} of {len(outcomes)} targets failed.", file=out)
        return 1
    print(f"All {len(outcomes)} targets work.", file=out)
    return 0


def seen(result: Any) -> str:
    """The agents an answer counted: listed (search, agent-performance), or logged in
    as Convoso counts them (user-activity)."""
    if isinstance(result, UserActivity):
        return "-" if result.logged_in is None else str(result.logged_in)
    agents = getattr(result, "agents", None)
    return "-" if agents is None else str(len(agents))

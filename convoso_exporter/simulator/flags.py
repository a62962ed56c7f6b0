"""The `convoso-exporter simulate` command's flags: the contact center, the answers'
style, the faults and denials, each checked as it is parsed (argparse's one-line error
names the flag). `server.run` serves what they describe."""

from __future__ import annotations

import argparse
import datetime

from convoso_exporter.config.units import parse_duration
from convoso_exporter.simulator.center import parse_skills
from convoso_exporter.simulator.clock import time_zone
from convoso_exporter.simulator.faults import DENIABLE, FAULTS
from convoso_exporter.simulator.model import MACHINE_SHARE
from convoso_exporter.simulator.render import COUNT_STYLES, STYLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `simulate` command's flags (and a word on the control endpoint after them)."""
    parser.epilog = (
        "Control endpoint, token in the query (?auth_token=...), JSON bodies: POST /_sim/fault, /_sim/surge, "
        "/_sim/style, /_sim/campaign and /_sim/queue (add or remove at run time); GET /_sim/state and "
        "/_sim/truth (ground truth: agent-seconds per campaign/queue/status, calls per local day, calls by "
        "outcome and agent seconds by activity per local day), /_sim/machines, /_sim/deny. "
        f"Faults: {', '.join(FAULTS)}."
    )
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:18080",
                        help="address to listen on (default 127.0.0.1:18080)")
    parser.add_argument("--auth-token", dest="auth_token", default="demo", help="the token clients must send (default demo)")
    parser.add_argument("--agents", type=_int_at_least(0), default=50, help="number of agents (default 50)")
    parser.add_argument("--campaigns", type=_int_at_least(1), default=3, help="number of campaigns (default 3)")
    parser.add_argument("--queues", type=_int_at_least(1), default=4, help="number of queues, at least --campaigns (default 4)")
    parser.add_argument("--skills", type=parse_skills, default=("english", "spanish", "sales", "support"),
                        help="comma-separated skills (default english,spanish,sales,support)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same contact center (default 1)")
    parser.add_argument("--style", choices=STYLES, default="documented",
                        help="documented (flat, as the reference) or live (wrapped, numbers as strings, '-' empties)")
    parser.add_argument("--count-style", dest="count_style", choices=list(COUNT_STYLES), default="documented",
                        help="how the answers' own agent_total/_ready/_incall/_paused are counted: documented "
                             "(as the reference), or another rule: ringing-as-ready, wrap-as-paused, logged-in-total")
    parser.add_argument("--latency", type=_duration, default=0.0, help="added delay per API request, e.g. 250ms (default 0)")
    parser.add_argument("--drop-ratio", dest="drop_ratio", type=_ratio, default=0.02,
                        help="share of answered calls dropped (default 0.02)")
    parser.add_argument("--machine-share", dest="machine_share", type=_ratio, default=MACHINE_SHARE,
                        help=f"share of answered calls answered by a machine (default {MACHINE_SHARE}); "
                             "answered counts machine answers, live answers agents handled and drops")
    parser.add_argument("--deny-endpoint", dest="deny", action="append", default=[], choices=DENIABLE,
                        help="the token lacks the permission for this endpoint: its requests answer HTTP 403 "
                             "(repeatable)")
    parser.add_argument("--leads-per-queue", dest="leads_per_queue", type=_int_at_least(1), default=5000,
                        help="dialable leads a fresh list gives a queue (default 5000)")
    parser.add_argument("--start-time", dest="start_time", type=_start_time, default=None,
                        help="simulated wall-clock time at start, e.g. 2026-11-24T14:00:00Z, no zone: UTC "
                             "(default: now); pins the time of day, e.g. so tests never cross midnight")
    parser.add_argument("--timezone", type=_timezone, default="UTC",
                        help="the account's IANA time zone, e.g. America/New_York (default UTC): today's "
                             "counters reset at its local midnight, DST included, and the answers' "
                             "timestamps are its local time")


def _int_at_least(least: int):
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return convert


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None


def _start_time(text: str) -> float:
    """ISO 8601 (a missing zone means UTC, whatever --timezone says) or Unix seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ISO 8601 like 2026-11-24T14:00:00Z or Unix seconds, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _timezone(text: str) -> str:
    try:
        time_zone(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None
    return text


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a ratio like 0.02, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value

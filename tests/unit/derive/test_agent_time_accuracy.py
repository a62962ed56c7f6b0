"""How exact agent time is, against the simulator's ground truth, by poll interval.

The simulator (30 agents, 3 campaigns, 6 queues, on a fake clock) is polled for four
simulated hours through the exporter's own path (`search()` ▶ `parse_search` ▶
`Deriver.advance` of the account target), and the agent-seconds and entries the
exporter derived are held to `truth()` over the same span (the first poll only sets the
baseline). Three seeds each.

What "within 2%" means, and why. A status that begins and ends between two polls is
invisible: its time goes to the status before it. In the simulator (as on a dialer floor)
that is RINGING, a few seconds between READY and INCALL, so at 15 s polls READY reads
about 8% high and RINGING about 55% low, whatever the derivation does. What the recording
rules compute does not depend on that split: occupancy, pause share and handle time read
INCALL, WRAP and PAUSED time, INCALL entries, and the logged-in total, in which RINGING
time counted as READY is still logged-in time. So, at the default 15 s:
- every status: |measured - truth| <= 2% of all agent time (no share moves more than 2 points);
- INCALL, WRAP, PAUSED and the logged-in total: within 2% of their own truth;
- occupancy, pause share and average handle time, account-wide and per campaign: within 2%.
The other intervals' figures are docs/metrics.md's table, held here so it stays true.
The floor has live calls only (`machine_share=0`), as the table says: an answering
machine's call (15-45 s in the simulator) can fall between polls of 30 s and more.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import pytest

from convoso_exporter.api.parse import parse_search
from convoso_exporter.config.schema import ACCOUNT, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.simulator.center import ContactCenter, FakeClock

HOURS = 4
SEEDS = (5, 6, 7)
START = 1_790_000_000.0
TIMEZONE = "America/New_York"
RULE_STATUSES = ("INCALL", "WRAP", "PAUSED")
LOGGED_IN = "logged in"


@dataclass(frozen=True)
class Errors:
    """The worst errors over the seeds, as fractions."""

    of_total: float  # any status, |measured - truth| / all agent time
    own: dict[str, float]  # INCALL, WRAP, PAUSED, logged in: |measured - truth| / truth
    figures: dict[str, float]  # occupancy, pause share, handle time: worst relative error, any scope
    ready: float  # READY's and RINGING's own relative errors, signed, the largest (not bounded:
    ringing: float  # see the module notes)


def by_status(seconds: dict, scope=lambda key: "account") -> dict[tuple[str, str], float]:
    """Cells (campaign, queue, status) summed to (scope, status)."""
    summed: dict[tuple[str, str], float] = defaultdict(float)
    for key, value in seconds.items():
        summed[(scope(key), key[2])] += value
    return summed


def figures(seconds: dict, entries: dict, scope: str) -> dict[str, float]:
    """What the recording rules compute for one scope, from (scope, status) sums."""
    logged_in = sum(value for (where, status), value in seconds.items() if where == scope and status != "LOGGED_OUT")
    handling = seconds[(scope, "INCALL")] + seconds[(scope, "WRAP")]
    return {
        "occupancy": handling / logged_in,
        "pause share": seconds[(scope, "PAUSED")] / logged_in,
        "handle time": handling / entries[(scope, "INCALL")],
    }


def run(interval: float, seed: int) -> tuple[dict, dict, dict, dict]:
    """(measured seconds, measured entries, true seconds, true entries) per cell, over the span."""
    clock = FakeClock(0.0)
    center = ContactCenter(
        agents=30, campaigns=3, queues=6, seed=seed, clock=clock, start_wall=START, timezone=TIMEZONE, machine_share=0.0
    )
    deriver, target, derived, first = Deriver(TIMEZONE), Target("account", kind=ACCOUNT), None, None
    for poll in range(int(HOURS * 3600 / interval) + 1):
        clock.now = poll * interval
        derived = deriver.advance(target, derived, parse_search(center.search()), START + poll * interval)
        first = first or center.truth()
    last = center.truth()
    assert derived is not None and derived.agent_time is not None
    true_seconds = {key: value - first["agent_seconds"].get(key, 0) for key, value in last["agent_seconds"].items()}
    true_entries = {key: value - first["entries"].get(key, 0) for key, value in last["entries"].items()}
    return dict(derived.agent_time.seconds), dict(derived.agent_time.entries), true_seconds, true_entries


@cache
def errors(interval: float) -> Errors:
    of_total, ready, ringing = 0.0, 0.0, 0.0
    own: dict[str, float] = defaultdict(float)
    worst: dict[str, float] = defaultdict(float)
    for seed in SEEDS:
        seconds, entries, true_seconds, true_entries = run(interval, seed)
        measured, truth = by_status(seconds), by_status(true_seconds)
        total = sum(truth.values())
        for key in truth.keys() | measured.keys():
            of_total = max(of_total, abs(measured.get(key, 0) - truth.get(key, 0)) / total)
        for status in RULE_STATUSES:
            key = ("account", status)
            own[status] = max(own[status], abs(measured[key] - truth[key]) / truth[key])
        logged = [sum(v for (_, status), v in s.items() if status != "LOGGED_OUT") for s in (measured, truth)]
        own[LOGGED_IN] = max(own[LOGGED_IN], abs(logged[0] - logged[1]) / logged[1])
        ready = max(ready, measured[("account", "READY")] / truth[("account", "READY")] - 1, key=abs)
        ringing = max(ringing, measured[("account", "RINGING")] / truth[("account", "RINGING")] - 1, key=abs)
        for scope_of in (lambda key: "account", lambda key: key[0]):
            m_seconds, m_entries = by_status(seconds, scope_of), by_status(entries, scope_of)
            t_seconds, t_entries = by_status(true_seconds, scope_of), by_status(true_entries, scope_of)
            for scope in {where for where, _ in t_seconds}:
                got, want = figures(m_seconds, m_entries, scope), figures(t_seconds, t_entries, scope)
                for name in want:
                    worst[name] = max(worst[name], abs(got[name] / want[name] - 1))
    return Errors(of_total, dict(own), dict(worst), ready, ringing)


def test_at_the_default_15s_agent_time_is_within_2_percent():
    found = errors(15)
    assert found.of_total <= 0.02, found
    for status, error in found.own.items():
        assert error <= 0.02, (status, found)
    for name, error in found.figures.items():
        assert error <= 0.02, (name, found)
    # The split the rules do not use: RINGING between polls is counted as READY.
    assert 0.03 < found.ready < 0.15 and -0.8 < found.ringing < -0.3, found


# docs/metrics.md's table ("Where agents' time goes") gives the worst over the three seeds;
# these bounds, a little above, hold it: (any status, of all agent time), (INCALL, WRAP,
# PAUSED, logged in: each of its own), (occupancy, pause share, handle time: relative).
DOCUMENTED = {15: (0.015, 0.015, 0.01), 30: (0.02, 0.02, 0.025), 60: (0.05, 0.08, 0.08), 300: (0.1, 0.5, 0.5)}


@pytest.mark.parametrize("interval", sorted(DOCUMENTED))
def test_the_bounds_docs_metrics_md_states_per_poll_interval(interval):
    found = errors(interval)
    print(
        f"\n{interval}s: any status {found.of_total:.2%} of all time; own "
        + ", ".join(f"{status} {error:.2%}" for status, error in found.own.items())
        + "; "
        + ", ".join(f"{name} {error:.2%}" for name, error in found.figures.items())
        + f"; READY {found.ready:+.1%}, RINGING {found.ringing:+.1%}"
    )
    of_total, own, figures_bound = DOCUMENTED[interval]
    assert found.of_total <= of_total
    assert max(found.own.values()) <= own
    assert max(found.figures.values()) <= figures_bound

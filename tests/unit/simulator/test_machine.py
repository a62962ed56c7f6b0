"""The state machine's own random draws keep the seeded stream of `random.Random`; calls'
outcomes: machine answers at their share, short and outbound only, the legal rate."""

from __future__ import annotations

import random

import pytest

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.machine import Machine
from convoso_exporter.simulator.model import MACHINE_CALL_TIME, MAX_MACHINE_DEBT, START_BOUNDS


def test_draw_gives_what_randint_gives_from_the_same_stream():
    bounds = [b for b in START_BOUNDS.values() if b is not None] + [(0, 3), (1, 1), (0, 1), (5, 1_000_000)]
    mine, reference = random.Random(42), random.Random(42)
    machine = Machine(mine, drop_ratio=0.02, leads_per_queue=10)
    reference.randrange(1_000_000)  # what the machine draws for its first call log id
    for turn in range(20_000):
        low, high = bounds[turn % len(bounds)]
        assert machine.draw(low, high) == reference.randint(low, high)
    assert mine.random() == reference.random()  # and the streams stay in step


# --- outcomes: answering machines and live people ---------------------------------------------


NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC


def answered_between(share: float, hours: int = 24) -> tuple[dict, dict]:
    """The account's performance figures after the first hour and `hours` later."""
    clock = FakeClock()
    center = ContactCenter(agents=30, campaigns=3, queues=3, seed=6, clock=clock, start_wall=NOON, machine_share=share)
    seen = []
    for hour in range(hours + 1):
        clock.advance(3600)
        truth = center.truth()
        seen.append(sum_days(truth["performance"]))
    return seen[0], seen[-1]


def sum_days(performance: dict) -> dict:
    total: dict[str, int] = {}
    for day in performance.values():
        for name, value in day["account"].items():
            total[name] = total.get(name, 0) + value
    return total


@pytest.mark.parametrize("share", [0.2, 0.4])
def test_machines_answer_their_share_of_answered_calls_and_the_legal_rate_is_r_over_1_minus_s(share):
    first, last = answered_between(share)
    grew = {name: last[name] - first[name] for name in last}
    assert grew["answered"] == grew["machine"] + grew["live_handled"] + grew["dropped"] > 2000
    assert grew["machine"] / grew["answered"] == pytest.approx(share, abs=0.02)
    assert grew["dropped"] / grew["answered"] == pytest.approx(0.02, rel=0.15)
    legal = grew["dropped"] / (grew["live_handled"] + grew["dropped"])
    assert legal == pytest.approx(0.02 / (1 - share), rel=0.15) and legal > grew["dropped"] / grew["answered"]


def test_a_machines_call_is_short_never_transferred_and_never_inbound():
    clock = FakeClock()
    center = ContactCenter(agents=20, seed=3, clock=clock, start_wall=NOON, machine_share=0.35)
    agents = center.select().agents
    began: dict[str, int] = {}
    machine_calls = 0
    for second in range(1, 2400):
        clock.advance(1)
        center.now()
        for agent in agents:
            if agent.status == "INCALL" and agent.machine:
                if agent.user_id not in began:
                    began[agent.user_id] = second
                    machine_calls += 1
                assert agent.call_type == "outbound" and not agent.inbound_only
                assert second - began[agent.user_id] < MACHINE_CALL_TIME[1]
            else:
                began.pop(agent.user_id, None)
            assert not (agent.machine and agent.status == "TRANSFER")
    assert machine_calls > 20


def test_an_inbound_queue_owes_machines_up_to_a_bound_and_outbound_calls_pay_them():
    machine = Machine(random.Random(1), drop_ratio=0.02, leads_per_queue=10, machine_share=0.6,
                      outcomes=random.Random(2))
    queue = Layout(random.Random(0), campaigns=1, queues=1, leads_per_queue=10).queues[0]
    assert not any(machine._machine_answers(queue, inbound=True) for _ in range(50))
    assert queue.machine_debt == MAX_MACHINE_DEBT
    assert all(machine._machine_answers(queue, inbound=False) for _ in range(3))


def test_at_share_zero_the_outcomes_stream_is_never_drawn():
    outcomes = random.Random(5)
    before = outcomes.getstate()
    clock = FakeClock()
    center = ContactCenter(agents=10, seed=2, clock=clock, start_wall=NOON, machine_share=0.0)
    center._machine.outcomes = outcomes
    clock.advance(3600)
    truth = center.truth()
    assert outcomes.getstate() == before and truth["performance"][truth["today"]]["account"]["machine"] == 0

"""convoso_exporter.web.slots: which connection gives way when every slot is taken (the one
that has waited longest for a request), that a working one never does, the counts, and
one warning per episode. (Over real sockets: test_http.py.)"""

from __future__ import annotations

import logging

import pytest

from convoso_exporter.web import slots as slots_module
from convoso_exporter.web.slots import EPISODE_QUIET, Slots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(slots_module.time, "monotonic", fake)
    return fake


def filled(limit: int, closed: list[str]) -> Slots:
    """`limit` connections c0, c1, ... each waiting for its request."""
    slots = Slots(limit)
    for i in range(limit):
        assert slots.take(f"c{i}", lambda name=f"c{i}": closed.append(name))
    return slots


def test_below_the_limit_every_connection_gets_a_slot_and_waits():
    closed: list[str] = []
    slots = filled(3, closed)
    assert len(slots) == 3 and slots.waiting == 3 and closed == []
    assert (slots.evicted, slots.refused) == (0, 0)


def test_when_full_the_connection_that_waited_longest_gives_way():
    closed: list[str] = []
    slots = filled(3, closed)
    assert slots.working("c0")  # c0 has a request: it keeps its slot
    slots.wait("c0")  # answered, waiting again: now the newest to wait
    assert slots.take("d", lambda: closed.append("d"))
    assert slots.take("e", lambda: closed.append("e"))
    assert slots.take("f", lambda: closed.append("f"))
    assert closed == ["c1", "c2", "c0"] and slots.evicted == 3 and len(slots) == 3


def test_working_connections_never_give_way_and_when_all_work_a_new_one_is_refused():
    closed: list[str] = []
    slots = filled(2, closed)
    assert slots.working("c0") and slots.working("c1")
    assert not slots.take("d", lambda: closed.append("d"))
    assert closed == [] and slots.refused == 1 and slots.evicted == 0
    slots.release("c0")  # a slot freed is a slot
    assert slots.take("e", lambda: closed.append("e")) and slots.waiting == 1


def test_a_connection_closed_to_make_room_is_told_when_its_request_completes():
    closed: list[str] = []
    slots = filled(1, closed)
    slots.take("d", lambda: None)
    assert closed == ["c0"]
    assert not slots.working("c0")  # it must not answer
    slots.wait("c0")
    slots.release("c0")  # its own clean-up afterwards changes nothing
    assert len(slots) == 1 and slots.working("d")


def test_giving_way_is_logged_once_per_episode(clock, caplog):
    caplog.set_level(logging.INFO, logger="convoso_exporter.web.slots")
    closed: list[str] = []
    slots = filled(2, closed)
    for name in ("d", "e", "f"):  # three give way: one warning
        slots.take(name, lambda: None)
    slots.working("e")
    slots.working("f")
    assert not slots.take("g", lambda: None)  # and one refused: still the same episode
    slots.release("e")
    clock.now += EPISODE_QUIET - 1
    slots.take("h", lambda: None)  # a free slot, but too soon after: the episode goes on
    slots.release("h")
    clock.now += 1
    slots.take("i", lambda: None)  # a free slot a quiet minute after the last: it ends
    slots.take("j", lambda: None)  # full again: a new episode
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert messages == [
        ("WARNING", "all 2 connection slots taken: closing the connections that have waited longest for a request "
                    "to serve new ones (refusing new ones while every slot is working); logged again when it stops"),
        ("INFO", "connection slots free again: 3 connections closed to make room, 1 refused"),
        ("WARNING", "all 2 connection slots taken: closing the connections that have waited longest for a request "
                    "to serve new ones (refusing new ones while every slot is working); logged again when it stops"),
    ]

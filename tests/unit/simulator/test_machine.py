"""The state machine's own random draws keep the seeded stream of `random.Random`."""

from __future__ import annotations

import random

from convoso_exporter.simulator.machine import Machine
from convoso_exporter.simulator.model import START_BOUNDS


def test_draw_gives_what_randint_gives_from_the_same_stream():
    bounds = [b for b in START_BOUNDS.values() if b is not None] + [(0, 3), (1, 1), (0, 1), (5, 1_000_000)]
    mine, reference = random.Random(42), random.Random(42)
    machine = Machine(mine, drop_ratio=0.02, leads_per_queue=10)
    reference.randrange(1_000_000)  # what the machine draws for its first call log id
    for turn in range(20_000):
        low, high = bounds[turn % len(bounds)]
        assert machine.draw(low, high) == reference.randint(low, high)
    assert mine.random() == reference.random()  # and the streams stay in step

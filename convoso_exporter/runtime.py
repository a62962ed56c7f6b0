"""Interpreter settings that keep scrapes fast while polls parse and render.

One GIL is shared by the event loop (serving scrapes) and the worker threads
(parsing answers, rendering the exposition). Measured with `python -m bench`
(docs/benchmarks.md, which also records the alternatives tried).
"""

from __future__ import annotations

import gc
import sys


def tune_runtime() -> None:
    """Hand the GIL back to the event loop within 0.5 ms instead of 5 ms. Collect
    less often than CPython's default: a large answer allocates hundreds of thousands
    of objects, and with the default thresholds the GC ran pass after pass (full ones
    of 40-60 ms about once a second at 25k agents), each stopping every thread. But
    not so seldom that one pass grows long: every pass holds the GIL, and a scrape
    that arrives meanwhile waits for it. At 50,000 agents (`python -m bench --figure
    busy`, 150 s each, one after the other) 50,000/20/100 let youngest-generation
    passes reach 85-127 ms and middle ones 176-241 ms (worst scrape 597 ms, p99 243
    ms); 10,000/10/100 gave worst 361 ms, p99 192 ms, with less CPU per round (2.45
    against 2.57 s). Freeze what start-up allocated (modules, config) out of every
    future pass."""
    sys.setswitchinterval(0.0005)
    gc.set_threshold(10_000, 10, 100)
    gc.collect()
    gc.freeze()

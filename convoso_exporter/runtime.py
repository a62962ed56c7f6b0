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
    less often: a large answer allocates hundreds of thousands of objects, and with
    the default thresholds the GC ran pass after pass (full ones of 40-60 ms about
    once a second at 25k agents), each stopping every thread. Freeze what start-up
    allocated (modules, config) out of every future pass."""
    sys.setswitchinterval(0.0005)
    gc.set_threshold(50_000, 20, 100)
    gc.collect()
    gc.freeze()

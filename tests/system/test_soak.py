"""Issue 7, soak: 30 s of one exporter process against one simulator process, with agents
logging out and targets failing and healing on a schedule (the engine is bench/soak.py;
`python -m bench.soak` runs it for 10 minutes). Nothing duplicated, departed agents'
old series gone, stale data withdrawn, failures logged once, memory and file
descriptors flat. `pytest -s` prints the figures.
"""

from __future__ import annotations

import pytest

from bench.soak import run_soak

DURATION = 30.0
# The second half may use a little more memory than the first (allocator noise, a
# render cache warming up); a leak over a long run shows as a trend, which bench.soak
# measures over 10 minutes.
RSS_GROWTH = 1.10
FD_GROWTH = 4


@pytest.mark.timeout(120)
def test_soak_30_seconds(tmp_path):
    figures = run_soak(DURATION, tmp_path)
    print()
    print("\n".join(figures.lines()))
    assert figures.problems == []
    assert figures.duplicates == 0
    # The run did what it says: scrapes, logouts seen through, failures injected and logged once.
    assert figures.scrapes >= DURATION * 2
    assert figures.logouts >= 5 and figures.departures_seen > 0
    assert figures.error_episodes >= 5
    assert 0 < figures.failure_warnings <= figures.error_episodes
    assert 0 < figures.recoveries <= figures.error_episodes
    assert figures.rss_growth() < RSS_GROWTH
    assert figures.fd_growth() <= FD_GROWTH

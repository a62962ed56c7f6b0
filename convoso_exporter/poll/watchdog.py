"""Liveness: is the work behind /metrics getting anywhere? (issue #23)

A process that answers HTTP while its polling is stuck would serve its last numbers as
if they were live: `convoso_up` 1, the figures unchanged, for as long as it stays stuck.
So the exporter watches its own progress. It is stuck when
- a poll is running and none has finished for longer than the bound, counted from the
  later of the last finished poll and the start of the oldest running one (a queue of
  polls behind the concurrency limit, each timing out, still finishes one every
  `timeout`; polls sleeping out a long backoff are not running, so they never count);
- a change has waited longer than the bound to be rendered (a render that never ends);
- a polling task or the render loop has ended on an error (a bug: that work has stopped).

The bound is 3 × poll_interval + timeout: three rounds missed in a row, plus the
longest a request may take.

While stuck, /metrics and /-/healthy answer 503 saying why (a failed scrape, never
frozen data served as live; Kubernetes' liveness probe restarts the pod), systemd's
watchdog is no longer fed, and once stuck for a second bound the process exits with
status 1 so that whatever supervises it starts it again (app.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from convoso_exporter.poll.poller import Progress
from convoso_exporter.poll.state import few_names

# Rounds missed in a row before polling counts as stuck.
MISSED_ROUNDS = 3


def bound(poll_interval: float, timeout: float) -> float:
    """Seconds without progress after which the exporter counts as stuck."""
    return MISSED_ROUNDS * poll_interval + timeout


@dataclass(frozen=True, slots=True)
class Watchdog:
    bound: float

    def verdict(self, progress: Progress, render_pending_since: float | None, now: float,
                stopped: str | None = None) -> str | None:
        """None while the work progresses; else why not, in one line. `stopped` names
        work that has ended (the render loop, the poller), which never comes back."""
        if stopped is not None:
            return f"{stopped} has stopped"
        if progress.broken:
            shown = few_names(progress.broken)
            return f"polling of {len(progress.broken)} target(s) stopped on an error ({shown}); see the log"
        if progress.oldest_in_flight is not None:
            since = max(progress.oldest_in_flight, progress.last_finished or progress.oldest_in_flight)
            if now - since > self.bound:
                return f"no poll has finished for {now - since:.0f}s ({self._limit()})"
        if render_pending_since is not None and now - render_pending_since > self.bound:
            return f"no render has finished for {now - render_pending_since:.0f}s ({self._limit()})"
        return None

    def _limit(self) -> str:
        return f"the limit is {self.bound:g}s: {MISSED_ROUNDS} × poll_interval + timeout"

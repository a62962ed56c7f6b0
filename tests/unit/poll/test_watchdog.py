"""convoso_exporter/poll/watchdog.py: when the exporter counts as stuck, and what it says."""

from __future__ import annotations

from convoso_exporter.poll.poller import Progress
from convoso_exporter.poll.watchdog import Watchdog, bound

DOG = Watchdog(bound(poll_interval=15.0, timeout=10.0))  # 55 s


def progress(in_flight=None, finished=None, broken=()) -> Progress:
    return Progress(in_flight, finished, tuple(broken))


def test_the_bound_is_three_rounds_plus_the_timeout():
    assert DOG.bound == 55.0


def test_nothing_running_is_never_stuck_however_long_the_backoff():
    # Every target sleeping out a 10-minute backoff: nothing is due, nothing is stuck.
    assert DOG.verdict(progress(None, finished=0.0), None, now=600.0) is None


def test_a_poll_running_past_the_bound_with_nothing_finished_is_stuck():
    assert DOG.verdict(progress(in_flight=100.0, finished=90.0), None, now=155.0) is None
    reason = DOG.verdict(progress(in_flight=100.0, finished=90.0), None, now=156.0)
    assert reason == "no poll has finished for 56s (the limit is 55s: 3 × poll_interval + timeout)"


def test_a_queue_of_slow_polls_that_keeps_finishing_is_not_stuck():
    # The oldest waiting poll started long ago (behind the concurrency limit), but polls
    # keep finishing: counted from the last one finished.
    assert DOG.verdict(progress(in_flight=0.0, finished=290.0), None, now=300.0) is None


def test_a_render_waiting_past_the_bound_is_stuck():
    assert DOG.verdict(progress(), render_pending_since=100.0, now=150.0) is None
    assert DOG.verdict(progress(), render_pending_since=100.0, now=160.0).startswith("no render has finished for 60s")


def test_broken_polling_and_stopped_work_are_stuck_at_once():
    assert DOG.verdict(progress(broken=["account"]), None, now=0.0) == (
        "polling of 1 target(s) stopped on an error (account); see the log"
    )
    assert DOG.verdict(progress(), None, now=0.0, stopped="the render loop") == "the render loop has stopped"

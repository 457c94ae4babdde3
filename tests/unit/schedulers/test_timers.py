"""APScheduler as Wharf runs it: a run missed while the process could not run (here the
scheduler paused, as a frozen process would be) runs once on waking, not never (the
library's default) and not once per missed period."""

from __future__ import annotations

import math
import threading
import time

from wharf.schedulers.timers import Timer, run_timers


def test_a_stall_is_followed_by_one_run_of_each_missed_job() -> None:
    calls: list[float] = []
    ran = threading.Condition()

    def job() -> None:
        with ran:
            calls.append(time.monotonic())
            ran.notify_all()

    scheduler = run_timers([Timer("tick", 3.0, job)])
    try:
        with ran:
            assert ran.wait_for(lambda: len(calls) == 1, timeout=5)
        scheduler.pause()
        # The stall itself: a run falls due 3 s after the first and is 1.3 s late on
        # waking (APScheduler's default would skip a run over a second late); the next
        # falls due 1.7 s after waking.
        time.sleep(4.3)
        woke = time.monotonic()
        scheduler.resume()
        with ran:
            assert ran.wait_for(lambda: len(calls) == 2, timeout=0.9), \
                "the missed run was skipped"
        # Runs keep to the grid of the first: the next is due at the first whole period
        # after waking. Until then, only the one run of the missed ones.
        next_due = calls[0] + 3 * math.ceil((woke - calls[0]) / 3)
        with ran:
            assert ran.wait_for(lambda: len(calls) == 3, timeout=4)
        assert calls[1] - woke < 0.9 and calls[2] >= next_due - 0.05
    finally:
        scheduler.shutdown(wait=True)


def test_a_run_due_while_the_last_still_runs_runs_right_after_it() -> None:
    """Frozen in the middle of a run: the run that fell due meanwhile is not skipped
    (APScheduler's own one-at-a-time skipped it, with a warning, until the next period)."""
    calls: list[float] = []
    ran = threading.Condition()
    first_run_may_end = threading.Event()

    def job() -> None:
        if not calls:
            first_run_may_end.wait(10)  # the first run hangs past the next due time
        with ran:
            calls.append(time.monotonic())
            ran.notify_all()

    scheduler = run_timers([Timer("slow", 2.0, job)])
    try:
        time.sleep(5.0)  # the first run starts at 2 s and hangs; the next falls due at 4 s
        first_run_may_end.set()
        with ran:  # right after it, not at the next period (6 s)
            assert ran.wait_for(lambda: len(calls) >= 2, timeout=0.6)
    finally:
        scheduler.shutdown(wait=True)

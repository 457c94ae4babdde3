"""Timer jobs, triggered by APScheduler. The jobs themselves are plain functions of a
clock (tests call them directly with a clock they drive).

A run missed while the process could not run (frozen, swapped out, a long pause of the
machine) runs once as soon as it can: APScheduler's default is to skip a run more than a
second late, and its memory job store forgets it. Jobs whose periods must not be skipped
close every missed period themselves, from their clock, not from the trigger.

Which jobs run, and on what, is the composition root's choice (infra/bootstrap.py:
`Wiring.timers`): a list of `Timer`s handed to `run_timers`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 60
LOG_RETENTION_EVERY_SECONDS = 300
NETWORK_PRUNE_EVERY_SECONDS = 600
BILLING_EVERY_SECONDS = 300  # each tick closes every hour that has ended (a late one, all)


@dataclass(frozen=True)
class Timer:
    id: str
    every: float  # seconds
    job: Callable[..., object]
    args: tuple[Any, ...] = ()


def run_timers(timers: list[Timer]) -> BackgroundScheduler:
    """Runs each timer's job every `every` seconds, one run of a job at a time; a run
    missed during a stall runs once on waking (however many were missed), and a run due
    while the last one still runs (frozen in the middle of it, say) runs right after it."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "misfire_grace_time": None, "max_instances": 2})
    for timer in timers:
        scheduler.add_job(_OnceMore(timer.job), "interval", seconds=timer.every,
                          args=timer.args, id=timer.id, name=timer.id)
    scheduler.start()
    log.info("timers started: %s", ", ".join(f"{t.id} every {t.every:g}s" for t in timers))
    return scheduler


class _OnceMore:
    """One run of a job at a time; a run asked for meanwhile runs once, right after.
    (APScheduler's own limit skips it, with a warning, until the next period.)"""

    def __init__(self, job: Callable[..., object]) -> None:
        self.job = job
        self.__name__ = getattr(job, "__name__", "job")
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def __call__(self, *args: Any) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        try:
            while True:
                self.job(*args)
                with self._lock:
                    if not self._again:
                        self._running = False  # (decided under the lock: no ask is lost)
                        return
                    self._again = False
        except BaseException:
            with self._lock:
                self._running = False
            raise

"""How a runtime waits for the read side to hold what it wrote (both runtimes do)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from wharf.commands.application import Wharf

log = logging.getLogger(__name__)

READ_SIDE_WAIT = 30.0  # seconds a pass waits for the read side to hold its own writes

Wait = Callable[[int, float], None]  # (position, timeout): TimeoutError if not reached


def wait_for(wait: Wait, stop: threading.Event, position: int) -> None:
    """Waits for the read side to reach `position` (TimeoutError after READ_SIDE_WAIT
    seconds), a second at a time, so that a stop is heard within one: `wharf up` stops
    its consumers before its runtime, and a wait for them would last."""
    deadline = time.monotonic() + READ_SIDE_WAIT
    while True:
        left = deadline - time.monotonic()
        try:
            wait(position, max(0.0, min(1.0, left)))
            return
        except TimeoutError:
            if stop.is_set() or left <= 1.0:
                raise


def wait_for_head(app: Wharf, wait: Wait, stop: threading.Event) -> None:
    """Waits for a read side that holds every decision made before this runtime began (a
    predecessor's among them): the first pass must not act on less."""
    while not stop.is_set():
        try:
            wait_for(wait, stop, app.recorder.max_notification_id() or 0)
            return
        except TimeoutError:
            log.warning("waiting for the read side to catch up with the log")


class FollowsReadSide:
    """A runtime's waits on the read side (it sets `app`, `_wait_for` and `_stop`)."""

    app: Wharf
    _wait_for: Wait
    _stop: threading.Event

    def wait_for(self, position: int) -> None:
        wait_for(self._wait_for, self._stop, position)

    def _wait_for_head(self) -> None:
        wait_for_head(self.app, self._wait_for, self._stop)

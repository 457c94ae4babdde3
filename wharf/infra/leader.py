"""One leader at a time for each role (the scheduler; the Kafka relay): a PostgreSQL
advisory lock, or a file lock on SQLite.

The lock is held for as long as the leader's process (or connection) lives, so a killed
leader frees it at once and a waiting one takes over. The roles' locks are independent:
a relay and a scheduler lead side by side.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import psycopg

from wharf.infra.settings import Settings
from wharf.infra.store import kind_of

log = logging.getLogger(__name__)

Role = Literal["scheduler", "relay"]
# The advisory lock keys: "WHAR" and "WHAS".
LOCK_KEYS: dict[Role, int] = {"scheduler": 0x57484152, "relay": 0x57484153}


@contextmanager
def leadership(settings: Settings, role: Role = "scheduler",
               stop: threading.Event | None = None) -> Iterator[bool]:
    """Blocks until this process leads `role`; leads until the block ends. With `stop`,
    waits by trying every half second, and gives up (yields False, leading nothing) once
    `stop` is set: a standby told to stop (SIGTERM) exits instead of waiting on."""
    if kind_of(settings.database_url) == "postgres":
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            key = LOCK_KEYS[role]

            def take() -> bool:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                return bool(row and row[0])

            if not take():
                log.info("another %s leads; waiting for its lock", role)
                if stop is None:
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                elif not _wait(take, stop):
                    yield False
                    return
            log.info("this %s leads", role)
            yield True
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / f"{role}.lock", "w") as handle:
        def take_file() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not take_file():
            log.info("another %s leads; waiting for its lock", role)
            if stop is None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            elif not _wait(take_file, stop):
                yield False
                return
        log.info("this %s leads", role)
        yield True


def _wait(take: Callable[[], bool], stop: threading.Event) -> bool:
    while not stop.wait(0.5):
        if take():
            return True
    return False

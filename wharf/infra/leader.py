"""One scheduler leader at a time: a PostgreSQL advisory lock, or a file lock on SQLite.

The lock is held for as long as the leader's process (or connection) lives, so a killed
leader frees it at once and a waiting scheduler takes over.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from wharf.infra.settings import Settings
from wharf.infra.store import kind_of

log = logging.getLogger(__name__)

LOCK_KEY = 0x57484152  # "WHAR": the advisory lock key of the scheduler leader


@contextmanager
def leadership(settings: Settings) -> Iterator[None]:
    """Blocks until this process leads; leads until the block ends."""
    if kind_of(settings.database_url) == "postgres":
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if not (row and row[0]):
                log.info("another scheduler leads; waiting for its lock")
                conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            log.info("this scheduler leads")
            yield
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "scheduler.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another scheduler leads; waiting for its lock")
            fcntl.flock(handle, fcntl.LOCK_EX)
        log.info("this scheduler leads")
        yield

"""One leader at a time for each role (the scheduler; the Kafka relay): a PostgreSQL
advisory lock, or a file lock on SQLite.

The lock is held for as long as the leader's process (or connection) lives, so a killed
leader frees it at once and a waiting one takes over. The roles' locks are independent:
a relay and a scheduler lead side by side.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
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
def leadership(settings: Settings, role: Role = "scheduler") -> Iterator[None]:
    """Blocks until this process leads `role`; leads until the block ends."""
    if kind_of(settings.database_url) == "postgres":
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            key = LOCK_KEYS[role]
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not (row and row[0]):
                log.info("another %s leads; waiting for its lock", role)
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            log.info("this %s leads", role)
            yield
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / f"{role}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another %s leads; waiting for its lock", role)
            fcntl.flock(handle, fcntl.LOCK_EX)
        log.info("this %s leads", role)
        yield

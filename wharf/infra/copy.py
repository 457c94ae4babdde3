"""Copying the whole log to another store (SQLite to PostgreSQL, or to a backup file)."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.persistence import StoredEvent

from wharf.commands.application import Wharf
from wharf.infra.bootstrap import open_app
from wharf.infra.keystore import DatabaseDataKeys
from wharf.infra.replay import ensure_target

BATCH = 5000


def copy_store(
    source: Wharf,
    target_url: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Copies every event, in log order, and the tenants' data keys.

    Returns (events copied, gaps in the source's positions). The target numbers its log
    afresh: where the source skipped positions (PostgreSQL does, after a rolled-back
    save) positions differ between the two, while the order of events does not. The
    target's log must be empty; its read models rebuild from the copy.
    """
    ensure_target(target_url)
    source_keys = source.keys
    assert isinstance(source_keys, DatabaseDataKeys)
    target_keys = DatabaseDataKeys(target_url, source_keys.kek)
    target = open_app(target_url, keys=target_keys)
    try:
        if target.recorder.max_notification_id():
            raise ValueError(f"{target_url} already holds events; copy into an empty store")
        head = source.recorder.max_notification_id() or 0
        copied = 0
        gaps = 0
        start = 0
        while True:
            notifications = source.recorder.select_notifications(
                start, BATCH, stop=head, inclusive_of_start=False
            )
            if not notifications:
                break
            target.recorder.insert_events([
                StoredEvent(originator_id=n.originator_id, originator_version=n.originator_version,
                            topic=n.topic, state=n.state)
                for n in notifications
            ])
            copied += len(notifications)
            gaps += notifications[-1].id - start - len(notifications)
            start = notifications[-1].id
            if progress is not None:
                progress(copied, head)
        target_keys.import_(source_keys.export())
        return copied, gaps
    finally:
        target.close()

"""Group commit: the saves of concurrent commands share one transaction.

On PostgreSQL eventsourcing takes a table lock for every save and holds it through the
commit's fsync, so concurrent saves queue one behind the other. Here the first caller to
find no save in progress becomes the leader and saves its own events together with
those of every caller waiting meanwhile (as long as they touch different aggregates),
in one transaction; the others wait and take their own answer. With no concurrency the
leader saves alone at once, so a lone caller pays nothing.

A group whose save fails, for whatever reason (some aggregate moved on, or one
command's events cannot be stored), is saved again command by command, so each command
gets its own answer: success, or its own error. One command's failure is never handed
to the others saved with it.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Recording

MAX_GROUP = 64


class _Save:
    def __init__(self, aggregates: tuple[Any, ...]) -> None:
        self.aggregates = aggregates
        self.ids: set[UUID] = {a.id for a in aggregates}
        # Collected now: a failed group save must still be able to save them alone.
        self.events = [e for a in aggregates for e in a.collect_events()]
        self.recordings: list[Recording[UUID]] | None = None
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.recordings is not None or self.error is not None

    def answer(self) -> list[Recording[UUID]]:
        if self.error is not None:
            raise self.error
        assert self.recordings is not None
        return self.recordings


class GroupCommit:
    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self._changed = threading.Condition()
        self._waiting: list[_Save] = []
        self._saving = False
        self.saves = 0  # commands saved
        self.transactions = 0  # transactions that saved them

    def save(self, *aggregates: Any) -> list[Recording[UUID]]:
        mine = _Save(aggregates)
        with self._changed:
            self._waiting.append(mine)
            while self._saving and not mine.done:
                self._changed.wait()
            if mine.done:
                return mine.answer()
            self._saving = True
            group = self._take_group(mine)
        try:
            self._save_group(group)
        finally:
            with self._changed:
                self._saving = False
                self._changed.notify_all()
        return mine.answer()

    def _take_group(self, leader: _Save) -> list[_Save]:
        group, ids = [leader], set(leader.ids)
        rest = []
        for save in self._waiting:
            if save is leader:
                continue
            if len(group) < MAX_GROUP and ids.isdisjoint(save.ids):
                group.append(save)
                ids |= save.ids
            else:
                rest.append(save)
        self._waiting = rest
        return group

    def _save_group(self, group: list[_Save]) -> None:
        try:
            recordings = self._record(group)
        except Exception as error:
            if len(group) == 1:
                group[0].error = error
                return
            for save in group:  # find out whose it was
                try:
                    save.recordings = self._record([save])
                except Exception as own_error:
                    save.error = own_error
            return
        except BaseException as error:  # (KeyboardInterrupt and the like: all stop)
            for save in group:
                save.error = error
            raise
        by_event = {id(r.domain_event): r for r in recordings}
        for save in group:
            save.recordings = [by_event[id(e)] for e in save.events]

    def _record(self, group: list[_Save]) -> list[Recording[UUID]]:
        """What Application.save does, for the events of several commands at once."""
        self.transactions += 1
        self.saves += len(group)
        processing = ProcessingEvent[UUID]()
        for save in group:
            processing.events.extend(save.events)
            processing.aggregates.update({a.id: a for a in save.aggregates})
        recordings = self.app._record(processing)
        self.app._take_snapshots(processing)
        self.app._notify(recordings)
        return recordings

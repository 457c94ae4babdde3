"""The scheduler's standing in the log: its actor, its holder name and its term. Every
write a controller makes goes through `record`, as a command carrying the term, so that
a stale leader's writes are refused (fencing), and the newest position written is kept."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, TypeVar

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import TermTaken
from wharf.commands.application import Wharf
from wharf.commands.context import Outcome
from wharf.domain.leadership import Leadership

log = logging.getLogger(__name__)
C = TypeVar("C", bound=m.SchedulerCommand)


def holder() -> str:
    """Who leads: this host and process, as the log and the relay's table name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leading:
    def __init__(self, app: Wharf) -> None:
        self.app = app
        self.actor = Actor.system("scheduler")
        self.holder = holder()
        self.term: int | None = None

    def take(self) -> int:
        """Takes the next term of leadership: from now on, an older leader's writes are
        refused by the log."""
        outcome = self.app.handle(m.TakeLeadership(actor=self.actor, holder=self.holder))
        self.term = outcome.answer_as(TermTaken).term
        log.info("scheduler %s leads in term %s", self.holder, self.term)
        return self.term

    def command(self, kind: type[C], **fields: Any) -> C:
        """A command of this scheduler: its actor, and its term."""
        assert self.term is not None, "a pass takes the leadership before it acts"
        return kind(actor=self.actor, term=self.term, **fields)

    def still_leads(self) -> bool:
        """Whether no one has taken a newer term since this one (a second scheduler, or
        `wharf runtime switch`)."""
        if self.term is None:
            return False
        current: Any = self.app.repository.get(Leadership.ID)
        return int(current.term) == self.term

    def record(self, kind: type[C], **fields: Any) -> Outcome:
        return self.app.handle(self.command(kind, **fields))

"""What a command answers besides the id it made or touched: one small frozen dataclass
per kind of answer, so a caller reads `outcome.answer_as(Placed).host_id` and mypy (and,
at run time, the type check) hold it to the field that exists."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Placed:
    """Where the container is placed (now, or by an earlier decision that stands)."""

    host_id: str


@dataclass(frozen=True)
class TermTaken:
    term: int


@dataclass(frozen=True)
class RestartDecided:
    attempt: int
    due: bool  # a start is due (also when an earlier pass recorded it and died)


@dataclass(frozen=True)
class BackupAsked:
    backup_id: str


@dataclass(frozen=True)
class PlanAdded:
    name: str
    version: int


@dataclass(frozen=True)
class TenantCreated:
    token_id: str  # the owner's first token (its secret is in the outcome, once)


@dataclass(frozen=True)
class ImageTags:
    """The image a tag names: its digest and every tag naming it (what a delete deletes)."""

    digest: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class BuildAsked:
    """A build asked for; `duplicate` when its trigger (a webhook delivery) asked before."""

    duplicate: bool


Answer = (ImageTags | BuildAsked | Placed | TermTaken | RestartDecided | BackupAsked | PlanAdded
          | TenantCreated)

# The answer each command gives, by command name: how a stored answer (a retried
# request's) is read back.
ANSWER_OF: dict[str, type[Answer]] = {
    "PlaceContainer": Placed, "TakeLeadership": TermTaken,
    "RestartContainer": RestartDecided, "BackupVolume": BackupAsked, "AddPlan": PlanAdded,
    "CreateTenant": TenantCreated, "DeleteImage": ImageTags,
    "RequestBuild": BuildAsked,
}


def as_data(answer: Answer | None) -> dict[str, Any]:
    return {} if answer is None else dataclasses.asdict(answer)


def from_data(command: str, data: dict[str, Any]) -> Answer | None:
    kind = ANSWER_OF.get(command)
    return kind(**data) if kind is not None and data else None

"""The error types every mutation result can carry (DESIGN.md, API conventions)."""

from __future__ import annotations

import re

import strawberry
from strawberry.utils.str_converters import to_camel_case

from wharf.domain import errors as domain

_SEGMENT = re.compile(r"^([a-z][a-z0-9_]*)(.*)$")
MAPS = frozenset({"env"})  # fields whose keys are the client's data, not field names
COMPOSE_PATHS = ("services.", "volumes.", "networks.", "secrets.")  # as the file says


@strawberry.type(description="The object does not exist, or belongs to another tenant.")
class NotFound:
    message: str
    kind: str
    id: str


@strawberry.type(description="The caller's role or scope does not allow this.")
class Forbidden:
    message: str


@strawberry.type(description="A field of the input is wrong; `field` names it.")
class InvalidInput:
    message: str
    field: str


@strawberry.type(description="The tenant's plan does not allow this much.")
class QuotaExceeded:
    message: str
    resource: str
    limit: int
    used: int
    requested: int


@strawberry.type(description="The object is not in a state that allows this.")
class Conflict:
    message: str


Error = NotFound | Forbidden | InvalidInput | QuotaExceeded | Conflict


def to_graphql(error: domain.DomainError) -> Error:
    if isinstance(error, domain.NotFound):
        return NotFound(message=str(error), kind=error.kind, id=error.ident)
    if isinstance(error, domain.InvalidInput):
        return InvalidInput(message=error.message, field=api_field(error.field))
    if isinstance(error, domain.QuotaExceeded):
        return QuotaExceeded(message=str(error), resource=error.resource, limit=error.limit,
                             used=error.used, requested=error.requested)
    if isinstance(error, domain.Conflict):
        return Conflict(message=str(error))
    return Forbidden(message=str(error))


class ClientError(Exception):
    """A request the client got wrong outside the typed results (a forged cursor, a bad
    date in an argument): shown to the client as it is worded, logged in one line."""


def api_field(field: str) -> str:
    """A domain field path as the client wrote it: `ports[0].host_port` is
    `ports[0].hostPort`; the keys of a map (`env.MY_VAR`) stay as they are, and so does a
    path in a Compose file (`services.my_web.deploy.update_config`)."""
    if field.startswith(COMPOSE_PATHS):
        return field
    segments = []
    parent = ""
    for segment in field.split("."):
        match = _SEGMENT.match(segment)
        if match is not None and parent not in MAPS:
            segment = to_camel_case(match.group(1)) + match.group(2)
        parent = match.group(1) if match is not None else segment
        segments.append(segment)
    return ".".join(segments)

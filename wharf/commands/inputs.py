"""What every command's text must be, whatever the command: checked once, before any
handler decides, for every entry point (API, WebSocket, CLI).

- No NUL: PostgreSQL cannot store it in text, and a read model that cannot store an
  event's text would stop the read side for every tenant.
- No unpaired surrogate (JSON's "\\ud800"): it cannot be encoded to be stored at all.
- Bounded: a string of at most MAX_TEXT characters (and less where a field says), so
  that one request cannot write megabytes into the log for ever.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wharf.domain.errors import InvalidInput

MAX_TEXT = 64 * 1024
SHORT = {"request_id": 128}  # fields every command has
SHORT_BY_COMMAND = {("IssueToken", "name"): 100,
                    ("DeployApplication", "compose"): 256 * 1024}


# Commands no caller writes: Wharf's billing tick computes every field from the read side
# (no entry point takes them), and their handlers parse each field as a number, an hour
# or a known item. Walking a month of bills' text cost a third of closing it.
COMPUTED = frozenset({"CloseHours", "MeterTraffic"})


def check_inputs(command: Any) -> None:
    """InvalidInput naming the first field whose text breaks a rule above."""
    kind = type(command).__name__
    if kind in COMPUTED:
        return
    for field in dataclasses.fields(command):
        if field.name == "actor":
            continue
        limit = SHORT_BY_COMMAND.get((kind, field.name), SHORT.get(field.name, MAX_TEXT))
        value = getattr(command, field.name)
        if field.name == "spec" and isinstance(value, dict):  # its fields are the input's
            for key, item in value.items():
                _check(str(key), item, limit)
        else:  # (the request id is the client's clientRequestId)
            _check("client_request_id" if field.name == "request_id" else field.name,
                   value, limit)


def _check(path: str, value: Any, limit: int) -> None:
    if isinstance(value, str):
        _check_text(path, value, limit)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(f"{path}.{key[:40]}", key, limit)
            _check(f"{path}.{key}" if isinstance(key, str) else path, item, limit)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(f"{path}[{index}]", item, limit)


def _check_text(path: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise InvalidInput(path, f"at most {limit} characters")
    if "\x00" in text:
        raise InvalidInput(path, "must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(path, "must not contain unpaired surrogate characters") from None

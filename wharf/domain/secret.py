"""Secret: a named value of a tenant, recorded only as ciphertext.

The key that opens it is the tenant's data key, kept outside the log; destroying that
key makes every secret of the tenant unreadable for ever (crypto-shredding).
"""

from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput

SECRET_NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$")
MAX_SECRET_BYTES = 65536


def check_secret(name: str, value: str) -> None:
    if not SECRET_NAME.fullmatch(name):
        raise InvalidInput("name", "1-63 lower-case letters, digits, '.', '_' or '-'")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise InvalidInput("value", "at most 64 KiB")


class Secret(WharfAggregate):
    @staticmethod
    def id_for(tenant_id: UUID, name: str) -> UUID:
        return derive_id("secret", tenant_id, name)

    class Created(WharfAggregate.Created):
        tenant_id: UUID
        name: str
        ciphertext: str

    @event(Created)
    def __init__(
        self,
        id: UUID, tenant_id: UUID, name: str, ciphertext: str, actor: str, cause: str
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.ciphertext = ciphertext
        self.deleted = False

    def set(self, ciphertext: str) -> None:
        self._set(ciphertext=ciphertext)

    class Set(WharfAggregate.Event):
        ciphertext: str

    @event(Set)
    def _set(self, ciphertext: str) -> None:
        self.ciphertext = ciphertext
        self.deleted = False

    def delete(self) -> None:
        if self.deleted:
            raise Conflict(f"secret {self.name} is already deleted")
        self._deleted()

    class Deleted(WharfAggregate.Event):
        pass

    @event(Deleted)
    def _deleted(self) -> None:
        self.deleted = True
        self.ciphertext = ""

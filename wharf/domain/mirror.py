"""Mirror: a pull-through mirror of an upstream registry (Docker Hub or any registry URL),
an operator's (every tenant pulls through it) or a tenant's own (only its workloads do).

distribution's proxy mode serves one upstream per process and refuses pushes, so each
mirror is a registry process of its own, on an address Wharf chose when it first started
it (`Served`). A proxy-mode registry stops at start when its upstream cannot be reached:
what Wharf's supervisor saw is the mirror's `state`.

`MirrorDirectory` maps each mirror's address to its owner, in one aggregate that every
create and update loads, so that an image named under a mirror is checked like an image
of Wharf's own registry (another tenant's mirror is NotFound).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput

MAX_URL = 300
STATES = ("starting", "running", "unreachable")
PLATFORM_SECRETS = derive_id("platform-secrets")  # the data key of operators' mirrors


def check_upstream(url: str) -> str:
    """An https:// URL, or http:// on loopback (a registry the platform runs itself)."""
    if len(url) > MAX_URL or not url.isascii() or any(c.isspace() for c in url):
        raise InvalidInput("upstream", f"at most {MAX_URL} characters, no spaces")
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if not sep or not host or "@" in host or scheme not in ("https", "http") or (
            scheme == "http" and bare not in ("127.0.0.1", "localhost", "[::1]")):
        raise InvalidInput("upstream", "an https:// registry URL (http:// on loopback only); "
                                       "credentials go in username and password")
    return url.rstrip("/")


class Mirror(WharfAggregate):
    @staticmethod
    def id_for(tenant_id: UUID | None, name: str) -> UUID:
        return derive_id("mirror", tenant_id or "platform", name)

    class Created(WharfAggregate.Created):
        tenant_id: UUID | None  # None: the platform's, for every tenant
        name: str
        upstream: str
        username: str
        ciphertext: str  # the upstream's password, sealed ("" without one)

    @event(Created)
    def __init__(self, id: UUID, tenant_id: UUID | None, name: str, upstream: str,
                 username: str, ciphertext: str, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.upstream = upstream
        self.username = username
        self.ciphertext = ciphertext
        self.address = ""
        self.state = "starting"
        self.detail = ""
        self.deleted = False

    def serve_at(self, address: str) -> None:
        if self.address:
            raise Conflict(f"mirror {self.name} serves at {self.address} already")
        self._served(address=address)

    class Served(WharfAggregate.Event):
        address: str

    @event(Served)
    def _served(self, address: str) -> None:
        self.address = address

    def observe(self, state: str, detail: str) -> bool:
        if (state, detail) == (self.state, self.detail) or self.deleted:
            return False
        self._observed(state=state, detail=detail[:500])
        return True

    class Observed(WharfAggregate.Event):
        state: str
        detail: str

    @event(Observed)
    def _observed(self, state: str, detail: str) -> None:
        self.state = state
        self.detail = detail

    def delete(self) -> None:
        if self.deleted:
            raise Conflict(f"mirror {self.name} is deleted")
        self._deleted()

    class Deleted(WharfAggregate.Event):
        pass

    @event(Deleted)
    def _deleted(self) -> None:
        self.deleted = True
        self.ciphertext = ""


class MirrorDirectory(WharfAggregate):
    ID = derive_id("mirror-directory")

    class Created(WharfAggregate.Created):
        pass

    @event(Created)
    def __init__(self, id: UUID, actor: str, cause: str) -> None:
        self.addresses: dict[str, dict[str, Any]] = {}  # address -> mirror id, tenant id

    def owner_of(self, address: str) -> tuple[str, str] | None:
        """(mirror id, tenant id or "" for the platform's) of the mirror at `address`."""
        found = self.addresses.get(address)
        return None if found is None else (found["mirror"], found["tenant"])

    def enter(self, address: str, mirror_id: UUID, tenant_id: UUID | None) -> None:
        if address in self.addresses:
            raise Conflict(f"{address} is another mirror's")
        self._entered(address=address, mirror_id=mirror_id,
                      tenant=str(tenant_id) if tenant_id else "")

    class Entered(WharfAggregate.Event):
        address: str
        mirror_id: UUID
        tenant: str

    @event(Entered)
    def _entered(self, address: str, mirror_id: UUID, tenant: str) -> None:
        self.addresses = {**self.addresses, address: {"mirror": str(mirror_id),
                                                      "tenant": tenant}}

    def remove(self, address: str) -> None:
        if address in self.addresses:
            self._left(address=address)

    class Left(WharfAggregate.Event):
        address: str

    @event(Left)
    def _left(self, address: str) -> None:
        self.addresses = {a: m for a, m in self.addresses.items() if a != address}

"""Who may pull and push which repository of Wharf's registry, and what an image
reference names (pure: no I/O).

Repositories are named `<namespace>/<path>`. The namespace `library` holds the
platform's public repositories: anyone may pull them, even without signing in; only
operators push. Every other namespace is a tenant's name and holds its private
repositories: its members pull (any role), its owners and developers push and delete.
Nobody else learns they exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from wharf.domain.errors import InvalidInput
from wharf.domain.tenant import Tenant

PUBLIC = "library"
# distribution's grammar for a repository's path components, lower case only.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT}){{1,3}}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
MAX_REPOSITORY = 200
PUSHERS = ("owner", "developer")
ACTIONS = ("pull", "push", "delete")


def check_repository(name: str, field: str = "name") -> str:
    if len(name) > MAX_REPOSITORY or not REPOSITORY.fullmatch(name):
        raise InvalidInput(field, "a repository is <tenant or library>/<name>: lower-case "
                                  "letters, digits and '.', '_', '-' between them, "
                                  f"at most {MAX_REPOSITORY} characters")
    return name


def check_tag(tag: str, field: str = "tag") -> str:
    if not TAG.fullmatch(tag):
        raise InvalidInput(field, "1-128 letters, digits, '_', '.' or '-', not starting "
                                  "with '.' or '-'")
    return tag


def namespace(name: str) -> str:
    return name.split("/", 1)[0]


@dataclass(frozen=True)
class Caller:
    """Who asks the registry: an operator, a tenant's member (its tenant's name and its
    role), or nobody signed in (all fields empty)."""

    operator: bool = False
    tenant: str = ""
    role: str = ""

    @property
    def anonymous(self) -> bool:
        return not self.operator and not self.tenant


def granted(caller: Caller, name: str, wanted: set[str]) -> set[str]:
    """The actions of `wanted` the caller may take on repository `name` (none for a name
    that is not a repository's)."""
    if len(name) > MAX_REPOSITORY or not REPOSITORY.fullmatch(name):
        return set()
    space = namespace(name)
    if space == PUBLIC:
        allowed = {"pull"} | ({"push", "delete"} if caller.operator else set())
    elif caller.operator:
        allowed = {"pull"}  # (operators look; only the tenant writes its repositories)
    elif caller.tenant == space:
        allowed = {"pull"} | ({"push", "delete"} if caller.role in PUSHERS else set())
    else:
        allowed = set()
    return wanted & allowed


@dataclass(frozen=True)
class Scope:
    """One `type:name:actions` of a token request (distribution's token scope)."""

    type: str
    name: str
    actions: frozenset[str]


def parse_scopes(values: list[str], limit: int = 16) -> list[Scope]:
    """The scopes of a token request; malformed ones are dropped (the registry then
    refuses what they would have allowed), and at most `limit` are read."""
    found = []
    for value in values[:limit]:
        for part in value.split(" ")[:limit]:
            kind, sep, rest = part.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not (sep and sep2) or kind not in ("repository", "registry"):
                continue
            wanted = frozenset(a for a in actions.split(",") if a in (*ACTIONS, "*"))
            if "*" in wanted:
                wanted = frozenset(ACTIONS)
            found.append(Scope(kind, name, wanted))
    return found[:limit]


@dataclass(frozen=True)
class ImageRef:
    """An image reference taken apart: `registry` is "" for a name with no registry
    (an image only on the hosts), `repository` the path, `tag` or `digest`."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def by_id(self) -> bool:
        """A bare image id (`sha256:...` or its hex prefix), not a name."""
        return not self.registry and not self.repository


# Docker finds an image by any prefix of its id, with or without "sha256:": a name made
# of hex digits alone is taken for one.
_ID = re.compile(r"^(?:sha256:)?[a-f0-9]+$")


def parse_image(reference: str) -> ImageRef:
    """Takes `[registry/]path[:tag][@digest]` apart the way Docker does: the first
    component is a registry when it holds '.' or ':' or is `localhost`."""
    if _ID.fullmatch(reference):
        return ImageRef("", "", digest=reference)
    rest, _, digest = reference.partition("@")
    first, slash, after = rest.partition("/")
    registry = ""
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, after
    path, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag:
        path, tag = rest, ""
    return ImageRef(registry, path, tag, digest)


LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def is_ours(registry: str, address: str) -> bool:
    """Whether an image's registry part names Wharf's registry at `address` (HOST:PORT),
    by any of loopback's names."""
    if not registry or not address:
        return False
    host, _, port = registry.rpartition(":")
    own_host, _, own_port = address.rpartition(":")
    return port == own_port and (host == own_host or (host in LOOPBACK
                                                      and own_host in LOOPBACK))


MIRRORED = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT}){{0,3}}$")  # an upstream's paths


def loopback_address(registry: str) -> str:
    """A registry's HOST:PORT with loopback's names made one (127.0.0.1)."""
    host, colon, port = registry.rpartition(":")
    return f"127.0.0.1:{port}" if colon and host in LOOPBACK else registry


def mirror_allows(mirror_tenant: str, tenant_id: UUID) -> bool:
    """Whether a tenant's workloads may pull through a mirror: the platform's (no
    tenant), or its own."""
    return mirror_tenant in ("", str(tenant_id))


def pull_grant(image: str, tenant_id: UUID, address: str) -> str | None:
    """The repository a host pulls `image` from for a workload of `tenant_id` (None: the
    image is not in Wharf's registry at `address`, or not one this tenant may run)."""
    ref = parse_image(image)
    if ref.by_id or not is_ours(ref.registry, address):
        return None
    space = namespace(ref.repository)
    if not REPOSITORY.fullmatch(ref.repository) or not (
            space == PUBLIC or Tenant.id_for(space) == tenant_id):
        return None
    return ref.repository


def usable(image: str, tenant_id: UUID, tenant: str, address: str,
           mirror_owner: Callable[[str], str | None]) -> bool:
    """Whether a tenant's workload or build may name `image`: public images and the
    tenant's own in Wharf's registry at `address`, images through the platform's mirrors
    and its own (`mirror_owner(address)`: the mirror's tenant id, "" for the platform's,
    None for no mirror), and names of no registry (the hosts' own images); never an image
    id, which could be anyone's image on a host."""
    ref = parse_image(image)
    if ref.by_id:
        return False
    if is_ours(ref.registry, address):
        return bool(granted(Caller(tenant=tenant, role="owner"), ref.repository, {"pull"}))
    if ref.registry:
        owner = mirror_owner(loopback_address(ref.registry))
        return owner is None or mirror_allows(owner, tenant_id)
    return True

"""Repository: one repository of Wharf's image registry, the platform's public one
(`library/...`) or a tenant's private one (`<tenant>/...`), with its description, its
usage guide (Markdown) and its tags.

The registry holds the images; the log holds what Wharf learnt of them: each push it
was told of (the registry's notifications) or found (the catalog reconcile), and each
tag removed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import InvalidInput

MAX_DESCRIPTION = 300  # characters
MAX_GUIDE = 64 * 1024  # characters of Markdown


def check_texts(description: str, guide: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("description", f"at most {MAX_DESCRIPTION} characters")
    if len(guide) > MAX_GUIDE:
        raise InvalidInput("guide", f"at most {MAX_GUIDE} characters")


class Repository(WharfAggregate):
    @staticmethod
    def id_for(name: str) -> UUID:
        return derive_id("repository", name)

    class Created(WharfAggregate.Created):
        name: str
        tenant_id: UUID | None  # None: the platform's public repository
        description: str
        guide: str

    @event(Created)
    def __init__(self, id: UUID, name: str, tenant_id: UUID | None, description: str,
                 guide: str, actor: str, cause: str) -> None:
        self.name = name
        self.tenant_id = tenant_id
        self.description = description
        self.guide = guide
        self.tags: dict[str, dict[str, Any]] = {}  # tag -> digest, size, pushed_at

    def describe(self, description: str, guide: str) -> bool:
        if (description, guide) == (self.description, self.guide):
            return False
        self._described(description=description, guide=guide)
        return True

    class Described(WharfAggregate.Event):
        description: str
        guide: str

    @event(Described)
    def _described(self, description: str, guide: str) -> None:
        self.description = description
        self.guide = guide

    def record_push(self, tag: str, digest: str, size: int, pushed_at: str) -> bool:
        """A tag now names `digest`; nothing when it already did (a notification and the
        reconcile both tell of one push)."""
        held = self.tags.get(tag)
        if held is not None and held["digest"] == digest:
            return False
        self._pushed(tag=tag, manifest=digest, size=size, pushed_at=pushed_at)
        return True

    # (An image's digest is `manifest` in events: a field named `digest` is a request's
    # keyed digest, which the audit trail and the relay leave out.)
    class Pushed(WharfAggregate.Event):
        tag: str
        manifest: str  # the image's digest
        size: int  # bytes: the config's and every layer's, compressed, as the registry holds
        pushed_at: str

    @event(Pushed)
    def _pushed(self, tag: str, manifest: str, size: int, pushed_at: str) -> None:
        self.tags = {**self.tags, tag: {"digest": manifest, "size": size,
                                        "pushed_at": pushed_at}}

    def sharing(self, tag: str) -> list[str]:
        """Every tag that names the same image as `tag` (itself included), sorted: what
        deleting it also deletes, since the registry deletes an image by its digest."""
        digest = self.tags[tag]["digest"]
        return sorted(t for t, held in self.tags.items() if held["digest"] == digest)

    def remove_digest(self, digest: str) -> list[str]:
        """Forgets every tag naming `digest` (its image was deleted); the tags removed."""
        gone = sorted(t for t, held in self.tags.items() if held["digest"] == digest)
        if gone:
            self._removed(manifest=digest, tags=gone)
        return gone

    def remove_tags(self, tags: list[str]) -> list[str]:
        """Forgets tags the registry no longer lists (the reconcile)."""
        gone = sorted(t for t in tags if t in self.tags)
        if gone:
            self._removed(manifest="", tags=gone)
        return gone

    class Removed(WharfAggregate.Event):
        manifest: str  # the image deleted; "" when the reconcile found the tags gone
        tags: list[str]

    @event(Removed)
    def _removed(self, manifest: str, tags: list[str]) -> None:
        self.tags = {t: held for t, held in self.tags.items() if t not in tags}

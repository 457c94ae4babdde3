"""Image repositories as the API shows them."""

from __future__ import annotations

from typing import Any

import strawberry

from wharf.projections.reads.repositories import MirrorRow, RepositoryRow, TagRow


@strawberry.type
class ImageTag:
    tag: str
    digest: str = strawberry.field(description="The image's manifest digest (sha256:...).")
    size: int = strawberry.field(description="Bytes of its config and layers, compressed.")
    pushed_at: str

    @classmethod
    def from_row(cls, row: TagRow) -> ImageTag:
        return cls(tag=row.tag, digest=row.digest, size=row.size, pushed_at=row.pushed_at)


@strawberry.type
class Repository:
    id: strawberry.ID
    name: str = strawberry.field(description="<tenant>/... (private) or library/... (public).")
    public: bool
    reference: str = strawberry.field(
        description="What to pull and push: the registry's address and the name.")
    description: str
    guide: str = strawberry.field(description="How to use its images, in Markdown.")
    created_at: str
    updated_at: str

    @strawberry.field(description="Newest push first.")
    async def tags(self, info: strawberry.Info[Any, Any]) -> list[ImageTag]:
        rows = await info.context.image_tags.load(str(self.id))
        return [ImageTag.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: RepositoryRow, registry: str) -> Repository:
        return cls(id=strawberry.ID(row.id), name=row.name, public=row.tenant_id is None,
                   reference=f"{registry}/{row.name}" if registry else row.name,
                   description=row.description, guide=row.guide, created_at=row.created_at,
                   updated_at=row.updated_at)


@strawberry.type(description="A pull-through mirror of an upstream registry: name images "
                             "`<address>/<path>:<tag>` to pull them through it.")
class Mirror:
    id: strawberry.ID
    name: str
    upstream: str
    username: str
    public: bool = strawberry.field(description="The platform's: every tenant pulls "
                                                "through it.")
    address: str = strawberry.field(description="Where it serves (\"\" until first "
                                                "started).")
    state: str = strawberry.field(description="starting, running or unreachable.")
    detail: str = strawberry.field(description="Why it is unreachable, as the upstream "
                                               "answered.")
    created_at: str

    @classmethod
    def from_row(cls, row: MirrorRow) -> Mirror:
        return cls(id=strawberry.ID(row.id), name=row.name, upstream=row.upstream,
                   username=row.username, public=row.tenant_id is None, address=row.address,
                   state=row.state, detail=row.detail, created_at=row.created_at)

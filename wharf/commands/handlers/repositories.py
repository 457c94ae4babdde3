"""Image repositories: members' and operators' commands, and what the registry reports.

Who may push and pull is the registry's business (domain/registry.py decides, the token
server says); who may describe a repository or delete its images is decided here, by the
same rule: a tenant's repositories are its owners' and developers', `library/...` the
operators'.
"""

from __future__ import annotations

from uuid import UUID

from wharf.commands.answers import ImageTags
from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.messages import (
    CreateRepository,
    DeleteImage,
    DescribeRepository,
    RecordImagesGone,
    RecordPush,
)
from wharf.domain.errors import Conflict, InvalidInput, NotFound
from wharf.domain.mirror import MirrorDirectory
from wharf.domain.registry import (
    DIGEST,
    PUBLIC,
    check_repository,
    check_tag,
    is_ours,
    namespace,
    parse_image,
    usable,
)
from wharf.domain.repository import Repository, check_texts
from wharf.domain.tenant import MANAGE_WORKLOADS, Tenant

MAX_SIZE = 1 << 50  # bytes an image may be said to hold (a bound on what is recorded)


def _owner_of(ctx: Context, name: str) -> UUID | None:
    """The tenant whose namespace `name` is in, after checking the actor may write it
    (None: the platform's, which operators write)."""
    space = namespace(name)
    if space == PUBLIC:
        ctx.require_operator()
        return None
    tenant_id = Tenant.id_for(space)
    if ctx.actor.tenant_id is not None and ctx.actor.tenant_id != tenant_id:
        raise NotFound("repository", name)  # another tenant's namespace: not even named
    ctx.tenant(tenant_id, MANAGE_WORKLOADS).require_active()
    return tenant_id


def create_repository(ctx: Context, cmd: CreateRepository) -> Decision:
    name = check_repository(cmd.name)
    check_texts(cmd.description, cmd.guide)
    tenant_id = _owner_of(ctx, name)
    ident = Repository.id_for(name)
    if ctx.exists(ident):
        raise Conflict(f"repository {name} already exists")
    repository = ctx.new(Repository, id=ident, name=name, tenant_id=tenant_id,
                         description=cmd.description, guide=cmd.guide)
    return Decision([repository], Outcome(id=ident))


def _writable(ctx: Context, repository_id: UUID) -> Repository:
    repository = ctx.load(Repository, repository_id, "repository")
    if repository.tenant_id is None:
        if not ctx.actor.is_operator:
            raise NotFound("repository", repository_id)  # (public: reads go by the read side)
    else:
        repository = ctx.owned(Repository, repository_id, "repository")
        ctx.tenant(repository.tenant_id, MANAGE_WORKLOADS)  # type: ignore[arg-type]
    return repository


def describe_repository(ctx: Context, cmd: DescribeRepository) -> Decision:
    check_texts(cmd.description, cmd.guide)
    repository = _writable(ctx, cmd.repository_id)
    changed = repository.describe(cmd.description, cmd.guide)
    return Decision([repository] if changed else [], Outcome(id=repository.id))


def delete_image(ctx: Context, cmd: DeleteImage) -> Decision:
    check_tag(cmd.tag)
    repository = _writable(ctx, cmd.repository_id)
    if cmd.digest:
        if not DIGEST.fullmatch(cmd.digest):
            raise InvalidInput("digest", "sha256:<64 hex digits>")
        gone = repository.remove_digest(cmd.digest)
        return Decision([repository] if gone else [], Outcome(
            id=repository.id, answer=ImageTags(digest=cmd.digest, tags=tuple(gone))))
    if cmd.tag not in repository.tags:
        raise NotFound("tag", f"{repository.name}:{cmd.tag}")
    digest = repository.tags[cmd.tag]["digest"]
    return Decision([], Outcome(id=repository.id, answer=ImageTags(
        digest=digest, tags=tuple(repository.sharing(cmd.tag)))))


def record_push(ctx: Context, cmd: RecordPush) -> Decision:
    ctx.require_system()
    name, tag = check_repository(cmd.name), check_tag(cmd.tag)
    if not DIGEST.fullmatch(cmd.digest):
        raise InvalidInput("digest", "sha256:<64 hex digits>")
    if not 0 <= cmd.size <= MAX_SIZE:
        raise InvalidInput("size", "out of range")
    ident = Repository.id_for(name)
    if ctx.exists(ident):
        repository = ctx.load(Repository, ident, "repository")
    else:  # pushed before anyone described it: the push makes it, as on Docker Hub
        space = namespace(name)
        tenant_id = None if space == PUBLIC else Tenant.id_for(space)
        if tenant_id is not None and not ctx.exists(tenant_id):
            raise NotFound("tenant", space)  # (the token server let no such push in)
        repository = ctx.new(Repository, id=ident, name=name, tenant_id=tenant_id,
                             description="", guide="")
    repository.record_push(tag, cmd.digest, cmd.size, cmd.pushed_at)
    return Decision([repository], Outcome(id=ident))


def record_images_gone(ctx: Context, cmd: RecordImagesGone) -> Decision:
    ctx.require_system()
    ident = Repository.id_for(check_repository(cmd.name))
    if not ctx.exists(ident):
        return Decision([], Outcome(id=ident))
    repository = ctx.load(Repository, ident, "repository")
    if cmd.digest:
        repository.remove_digest(cmd.digest)
    else:
        repository.remove_tags(list(cmd.tags))
    return Decision([repository], Outcome(id=ident))


def check_image(ctx: Context, tenant: Tenant, image: str, field: str = "image") -> None:
    """A workload may run the platform's public images, its tenant's own, and images that
    name no registry (what the hosts hold already): never another tenant's, which would
    otherwise run from a host's cache without the registry being asked. Another
    tenant's image is NotFound, by name, digest or image id alike."""
    def mirror_owner(address: str) -> str | None:
        if not ctx.exists(MirrorDirectory.ID):
            return None
        owner = ctx.load(MirrorDirectory, MirrorDirectory.ID, "mirror directory").owner_of(
            address)
        return None if owner is None else owner[1]

    if not usable(image, tenant.id, tenant.name, ctx.app.registry, mirror_owner):
        raise NotFound("image", image)
    ref = parse_image(image)
    if not is_ours(ref.registry, ctx.app.registry):
        return
    if ref.tag:
        check_tag(ref.tag, field)
    if ref.digest and not DIGEST.fullmatch(ref.digest):
        raise InvalidInput(field, "a digest is sha256:<64 hex digits>")

"""Image repositories: creating and describing them, and deleting images."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.answers import ImageTags
from wharf.commands.context import Outcome
from wharf.domain.errors import Conflict, DomainError
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, to_graphql
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.registry_types import Mirror, Repository
from wharf.projections.reads import Reader
from wharf.projections.reads import repositories as repository_reads


@strawberry.input
class CreateRepositoryInput:
    name: str = strawberry.field(description="<your tenant's name>/... (operators: also "
                                             "library/..., the platform's public images).")
    description: str = ""
    guide: str = strawberry.field(default="", description="Markdown.")
    client_request_id: str | None = None


@strawberry.input
class DescribeRepositoryInput:
    id: strawberry.ID
    description: str
    guide: str
    client_request_id: str | None = None


@strawberry.input
class DeleteImageInput:
    repository: strawberry.ID
    tag: str
    confirm: bool = strawberry.field(
        default=False, description="false: only answer which tags name the same image (the "
                                   "registry deletes an image, so all of them go); true: "
                                   "delete it.")
    client_request_id: str | None = None


@strawberry.type
class RepositoryPayload:
    repository: Repository | None
    position: int


@strawberry.type(description="The image a tag names and every tag naming it: what a "
                             "confirmed delete removes. `deleted` says whether it did.")
class ImageDeletion:
    digest: str
    tags: list[str]
    deleted: bool
    position: int


RepositoryResult = Annotated[RepositoryPayload | Error, strawberry.union("RepositoryResult")]
DeleteImageResult = Annotated[ImageDeletion | Error, strawberry.union("DeleteImageResult")]


def _payload(registry: str) -> Any:
    def done(read: Reader, outcome: Outcome) -> RepositoryPayload:
        row = repository_reads.repository(read, str(outcome.id), None)
        return RepositoryPayload(repository=Repository.from_row(row, registry) if row else None,
                                 position=outcome.position)

    return done


@strawberry.input
class CreateMirrorInput:
    name: str
    upstream: str = strawberry.field(description="https://... (http:// on loopback only).")
    username: str = ""
    password: str = strawberry.field(default="", description="Kept sealed, like secrets.")
    public: bool = strawberry.field(
        default=False, description="Operators: a mirror for every tenant (else a tenant's "
                                   "own, named by `tenant`).")
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class DeleteMirrorInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.type
class MirrorPayload:
    mirror: Mirror | None
    position: int


MirrorResult = Annotated[MirrorPayload | Error, strawberry.union("MirrorResult")]


def _mirror_payload(read: Reader, outcome: Outcome) -> MirrorPayload:
    row = repository_reads.mirror(read, str(outcome.id), None)
    return MirrorPayload(mirror=Mirror.from_row(row) if row else None,
                         position=outcome.position)


@strawberry.type(description="What a garbage collection of the registry freed.")
class GarbageCollected:
    freed_bytes: int


CollectGarbageResult = Annotated[GarbageCollected | Error,
                                 strawberry.union("CollectGarbageResult")]


@strawberry.type
class RegistryMutations:
    @strawberry.mutation(description="Links an upstream registry as a pull-through mirror: "
                                     "Wharf runs it and shows whether the upstream answers.")
    async def create_mirror(self, info: Info[Context, Any],
                            input: CreateMirrorInput) -> MirrorResult:
        return await run(info, lambda actor: m.CreateMirror(
            actor=actor, request_id=input.client_request_id,
            tenant_id=None if input.public else own_tenant(actor, input.tenant),
            name=input.name, upstream=input.upstream, username=input.username,
            password=input.password), _mirror_payload)

    @strawberry.mutation
    async def delete_mirror(self, info: Info[Context, Any],
                            input: DeleteMirrorInput) -> MirrorResult:
        return await run(info, lambda actor: m.DeleteMirror(
            actor=actor, request_id=input.client_request_id, mirror_id=parse_id(input.id)),
            _mirror_payload)

    @strawberry.mutation(description="Operators only: frees the space of images no tag names "
                                     "any more. The registry is read-only meanwhile (pulls "
                                     "go on, pushes are refused).")
    async def collect_image_garbage(self, info: Info[Context, Any]) -> CollectGarbageResult:
        try:
            info.context.require_operator()
            freed = await anyio.to_thread.run_sync(info.context.backend.collect_garbage)
        except DomainError as error:
            return to_graphql(error)
        except OSError as error:
            return to_graphql(Conflict(str(error)))
        return GarbageCollected(freed_bytes=freed)

    @strawberry.mutation(description="A repository before its first push (a push makes one "
                                     "too), with its description and usage guide.")
    async def create_repository(
        self, info: Info[Context, Any], input: CreateRepositoryInput
    ) -> RepositoryResult:
        return await run(info, lambda actor: m.CreateRepository(
            actor=actor, request_id=input.client_request_id, name=input.name,
            description=input.description, guide=input.guide),
            _payload(info.context.backend.registry))

    @strawberry.mutation
    async def describe_repository(
        self, info: Info[Context, Any], input: DescribeRepositoryInput
    ) -> RepositoryResult:
        return await run(info, lambda actor: m.DescribeRepository(
            actor=actor, request_id=input.client_request_id,
            repository_id=parse_id(input.id), description=input.description,
            guide=input.guide), _payload(info.context.backend.registry))

    @strawberry.mutation(description="Deletes the image a tag names, from the registry and "
                                     "so with every tag naming it: ask first without "
                                     "`confirm` to see which. Its space is freed by the next "
                                     "garbage collection (`wharf registry gc`).")
    async def delete_image(
        self, info: Info[Context, Any], input: DeleteImageInput
    ) -> DeleteImageResult:
        backend = info.context.backend

        def answer(read: Reader, outcome: Outcome) -> ImageDeletion:
            found = outcome.answer_as(ImageTags)
            return ImageDeletion(digest=found.digest, tags=list(found.tags), deleted=False,
                                 position=outcome.position)

        def ask(digest: str) -> Any:
            return lambda actor: m.DeleteImage(
                actor=actor, request_id=input.client_request_id if digest else None,
                repository_id=parse_id(input.repository), tag=input.tag, digest=digest)

        shown = await run(info, ask(""), answer)
        if not input.confirm or not isinstance(shown, ImageDeletion):
            return shown
        row = await info.context.read(repository_reads.repository,
                                      str(parse_id(input.repository)), None)
        assert row is not None  # (the command found it)
        try:  # the registry first: a delete it refused leaves the log as it was
            await anyio.to_thread.run_sync(backend.delete_image, row.name, shown.digest)
        except OSError as error:
            return to_graphql(Conflict(f"the registry did not delete the image: {error}"))
        # (its notification may have made the log forget the tags already)
        done = await run(info, ask(shown.digest), answer)
        if not isinstance(done, ImageDeletion):
            return done
        return ImageDeletion(digest=shown.digest, tags=shown.tags, deleted=True,
                             position=done.position)

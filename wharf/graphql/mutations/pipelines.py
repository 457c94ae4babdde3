"""Build pipelines: linking a Git repository, and builds by hand."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from wharf.commands import messages as m
from wharf.commands.context import Outcome
from wharf.domain.pipeline import MAX_WAITING
from wharf.graphql.context import Context, parse_id
from wharf.graphql.errors import Error, QuotaExceeded
from wharf.graphql.mutations.base import own_tenant, run
from wharf.graphql.pipeline_types import Build, Pipeline
from wharf.projections.reads import Reader
from wharf.projections.reads import pipelines as pipeline_reads


@strawberry.input
class CreatePipelineInput:
    name: str
    git_url: str = strawberry.field(description="https://, http:// or git:// URL.")
    repository: str = strawberry.field(description="Your image repository: <tenant>/<name>.")
    branch: str = "main"
    dockerfile: str = "Dockerfile"
    tag_pattern: str = "{short}"
    service: strawberry.ID | None = strawberry.field(
        default=None, description="A service to roll to each new image.")
    timeout_s: int = 900
    tenant: strawberry.ID | None = None
    client_request_id: str | None = None


@strawberry.input
class PipelineIdInput:
    id: strawberry.ID
    client_request_id: str | None = None


@strawberry.input
class RunPipelineInput:
    id: strawberry.ID
    commit: str | None = strawberry.field(default=None,
                                          description="Default: the branch's head.")
    client_request_id: str | None = None


@strawberry.type(description="`webhookSecret` is shown once, here, and never again: "
                             "GitHub's webhook secret, and the generic webhook's token.")
class PipelineCreated:
    pipeline: Pipeline | None
    webhook_secret: str
    position: int


@strawberry.type
class PipelinePayload:
    id: strawberry.ID
    position: int


@strawberry.type
class BuildPayload:
    build: Build | None
    position: int


CreatePipelineResult = Annotated[PipelineCreated | Error,
                                 strawberry.union("CreatePipelineResult")]
DeletePipelineResult = Annotated[PipelinePayload | Error,
                                 strawberry.union("DeletePipelineResult")]
RunPipelineResult = Annotated[BuildPayload | Error, strawberry.union("RunPipelineResult")]


@strawberry.type
class PipelineMutations:
    @strawberry.mutation(description="Links a Git repository: each push to its branch (by "
                                      "webhook) or each run by hand builds its Dockerfile, "
                                      "pushes the image and rolls the service, if one is "
                                      "named, to it.")
    async def create_pipeline(
        self, info: Info[Context, Any], input: CreatePipelineInput
    ) -> CreatePipelineResult:
        def done(read: Reader, outcome: Outcome) -> PipelineCreated:
            assert outcome.token is not None
            row = pipeline_reads.pipeline(read, str(outcome.id), None)
            return PipelineCreated(pipeline=Pipeline.from_row(row) if row else None,
                                   webhook_secret=outcome.token, position=outcome.position)

        return await run(info, lambda actor: m.CreatePipeline(
            actor=actor, request_id=input.client_request_id,
            tenant_id=own_tenant(actor, input.tenant), name=input.name,
            git_url=input.git_url, repository=input.repository, branch=input.branch,
            dockerfile=input.dockerfile, tag_pattern=input.tag_pattern,
            service_id=parse_id(input.service) if input.service is not None else None,
            timeout_s=input.timeout_s), done)

    @strawberry.mutation
    async def delete_pipeline(
        self, info: Info[Context, Any], input: PipelineIdInput
    ) -> DeletePipelineResult:
        def done(read: Reader, outcome: Outcome) -> PipelinePayload:
            return PipelinePayload(id=input.id, position=outcome.position)

        return await run(info, lambda actor: m.DeletePipeline(
            actor=actor, request_id=input.client_request_id, pipeline_id=parse_id(input.id)),
            done)

    @strawberry.mutation(description="A build by hand, of the branch's head or a commit.")
    async def run_pipeline(
        self, info: Info[Context, Any], input: RunPipelineInput
    ) -> RunPipelineResult:
        def done(read: Reader, outcome: Outcome) -> BuildPayload:
            row = pipeline_reads.build(read, str(outcome.id), None)
            return BuildPayload(build=Build.from_row(row) if row else None,
                                position=outcome.position)

        actor = info.context.require_actor()
        ident = str(parse_id(input.id))
        mine = await info.context.read(pipeline_reads.pipeline, ident,
                                       None if actor.is_operator else str(actor.tenant_id))
        waiting = await info.context.read(pipeline_reads.waiting, ident) if mine else 0
        if waiting >= MAX_WAITING:
            return QuotaExceeded(message=f"{waiting} builds of this pipeline wait already",
                                 resource="waiting_builds", limit=MAX_WAITING, used=waiting,
                                 requested=1)
        return await run(info, lambda actor: m.RequestBuild(
            actor=actor, request_id=input.client_request_id, pipeline_id=parse_id(input.id),
            trigger="manual", commit=input.commit or ""), done)

"""Build pipelines and builds as the API shows them."""

from __future__ import annotations

from typing import Any

import strawberry

from wharf.graphql.pagination import Connection, connection
from wharf.projections.reads import pipelines as pipeline_reads
from wharf.projections.reads.pipelines import BuildRow, PipelineRow


@strawberry.type
class Build:
    id: strawberry.ID
    number: int
    trigger: str = strawberry.field(description="push (GitHub), generic or manual.")
    branch: str
    commit: str = strawberry.field(description="\"\" until the build resolves the branch.")
    image: str = strawberry.field(description="What it pushes, once started.")
    state: str = strawberry.field(description="requested, running, succeeded or failed.")
    digest: str | None
    reason: str | None = strawberry.field(description="Why it failed.")
    log_tail: str | None = strawberry.field(description="The end of a failed build's log.")
    deploy: str | None = strawberry.field(
        description="What became of its pipeline's service: rolled, or why not.")
    requested_at: str
    started_at: str | None
    finished_at: str | None
    pipeline_id: strawberry.ID

    @classmethod
    def from_row(cls, row: BuildRow) -> Build:
        return cls(id=strawberry.ID(row.id), number=row.number, trigger=row.trigger,
                   branch=row.branch, commit=row.commit_id, image=row.image, state=row.state,
                   digest=row.digest, reason=row.reason, log_tail=row.log_tail,
                   deploy=row.deploy, requested_at=row.requested_at,
                   started_at=row.started_at, finished_at=row.finished_at,
                   pipeline_id=strawberry.ID(row.pipeline_id))


@strawberry.type
class Pipeline:
    id: strawberry.ID
    name: str
    git_url: str
    branch: str
    dockerfile: str
    repository: str = strawberry.field(description="The image repository it pushes to.")
    tag_pattern: str = strawberry.field(
        description="Each build's tag: {short}, {commit}, {branch} and {build} filled in.")
    service_id: strawberry.ID | None = strawberry.field(
        description="The service each successful build rolls to its image.")
    timeout_s: int
    github_webhook: str = strawberry.field(
        description="Path of its GitHub push webhook (content type application/json, "
                    "signed with its secret).")
    generic_webhook: str = strawberry.field(
        description="Path of its generic webhook: POST with Authorization: Bearer <secret>, "
                    "optionally {\"commit\": \"<40 hex>\"}.")
    created_at: str

    @strawberry.field(description="Newest first.")
    async def builds(self, info: strawberry.Info[Any, Any], first: int = 20,
                     after: str | None = None) -> Connection[Build]:
        ident = str(self.id)
        return await connection(
            info.context, lambda reader, cursor: pipeline_reads.builds_of(reader, ident, first,
                                                                          cursor),
            1, after, Build.from_row)

    @classmethod
    def from_row(cls, row: PipelineRow) -> Pipeline:
        return cls(id=strawberry.ID(row.id), name=row.name, git_url=row.git_url,
                   branch=row.branch, dockerfile=row.dockerfile, repository=row.repository,
                   tag_pattern=row.tag_pattern,
                   service_id=strawberry.ID(row.service_id) if row.service_id else None,
                   timeout_s=row.timeout_s, github_webhook=f"/hooks/github/{row.id}",
                   generic_webhook=f"/hooks/generic/{row.id}", created_at=row.created_at)

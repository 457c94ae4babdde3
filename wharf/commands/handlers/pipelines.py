"""Build pipelines: members link a Git repository; webhooks and members ask for builds;
Wharf's builder records each build's start and end, and a build that pushed its image
rolls the pipeline's service to it in the same decision."""

from __future__ import annotations

import dataclasses
import secrets
from uuid import uuid4

from wharf.commands.answers import BuildAsked
from wharf.commands.context import Context, Decision, Outcome
from wharf.commands.handlers.services import check_rollout_room
from wharf.commands.messages import (
    CreatePipeline,
    DeletePipeline,
    FailBuild,
    FinishBuild,
    RequestBuild,
    StartBuild,
)
from wharf.commands.sealing import seal
from wharf.domain.base import WharfAggregate
from wharf.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from wharf.domain.pipeline import (
    BUILD_TIMEOUT_S,
    COMMIT,
    Build,
    Pipeline,
    check_branch,
    check_dockerfile,
    check_git_url,
    check_tag_pattern,
    check_target,
    image_tag,
)
from wharf.domain.registry import DIGEST, check_tag
from wharf.domain.service import Service
from wharf.domain.tenant import MANAGE_WORKLOADS, Tenant, check_object_name

TRIGGERS = ("manual", "push", "generic")
MAX_DELIVERY = 128


def create_pipeline(ctx: Context, cmd: CreatePipeline) -> Decision:
    name = check_object_name(cmd.name)
    git_url, branch = check_git_url(cmd.git_url), check_branch(cmd.branch)
    dockerfile, pattern = check_dockerfile(cmd.dockerfile), check_tag_pattern(cmd.tag_pattern)
    low, high = BUILD_TIMEOUT_S
    if isinstance(cmd.timeout_s, bool) or not low <= cmd.timeout_s <= high:
        raise InvalidInput("timeout_s", f"between {low} and {high} seconds")
    tenant = ctx.tenant(cmd.tenant_id, MANAGE_WORKLOADS)
    tenant.require_active()
    repository = check_target(cmd.repository, tenant.name)
    if cmd.service_id is not None:
        service = ctx.owned(Service, cmd.service_id, "service")
        if service.desired == "deleted":
            raise NotFound("service", cmd.service_id)
        if service.application_id is not None:
            raise Conflict(f"service {service.name} is part of an application: deploy its "
                           "file again to change it")
    ident = Pipeline.id_for(tenant.id, name)
    if ctx.exists(ident):
        raise Conflict(f"a pipeline named {name} exists (deleted ones keep their name)")
    key = ctx.keys.get(tenant.id)
    if key is None:
        raise Conflict(f"tenant {tenant.name} has no data key")
    secret = secrets.token_urlsafe(32)
    pipeline = ctx.new(Pipeline, id=ident, tenant_id=tenant.id, name=name, git_url=git_url,
                       branch=branch, dockerfile=dockerfile, repository=repository,
                       tag_pattern=pattern, service_id=cmd.service_id,
                       ciphertext=seal(key, secret, ident.bytes), timeout_s=cmd.timeout_s)
    return Decision([pipeline], Outcome(id=ident, token=secret))


def delete_pipeline(ctx: Context, cmd: DeletePipeline) -> Decision:
    pipeline = ctx.owned(Pipeline, cmd.pipeline_id, "pipeline")
    ctx.tenant(pipeline.tenant_id, MANAGE_WORKLOADS)
    if pipeline.deleted:
        raise NotFound("pipeline", cmd.pipeline_id)
    pipeline.delete()
    return Decision([pipeline], Outcome(id=pipeline.id))


def request_build(ctx: Context, cmd: RequestBuild) -> Decision:
    if cmd.trigger not in TRIGGERS:
        raise InvalidInput("trigger", " or ".join(TRIGGERS))
    if cmd.commit and not COMMIT.fullmatch(cmd.commit):
        raise InvalidInput("commit", "a full commit id: 40 lower-case hex digits")
    if cmd.trigger == "manual":
        pipeline = ctx.owned(Pipeline, cmd.pipeline_id, "pipeline")
        tenant = ctx.tenant(pipeline.tenant_id, MANAGE_WORKLOADS)
        trigger = f"manual:{uuid4()}"  # (a retried request is the request id's business)
    else:
        ctx.require_system()  # a webhook whose signature Wharf checked
        if not 1 <= len(cmd.delivery) <= MAX_DELIVERY:
            raise InvalidInput("delivery", f"1-{MAX_DELIVERY} characters")
        pipeline = ctx.load(Pipeline, cmd.pipeline_id, "pipeline")
        tenant = ctx.tenant_of_system(pipeline.tenant_id)
        # A push builds its commit once, whatever delivery id a replay of it carries (the
        # id is not signed); the generic webhook's deliveries are its caller's to name.
        trigger = f"push:{cmd.commit}" if cmd.trigger == "push" and cmd.commit else \
            f"{cmd.trigger}:{cmd.delivery}"
    if pipeline.deleted:
        raise NotFound("pipeline", cmd.pipeline_id)
    tenant.require_active()
    build_id = Build.id_for(pipeline.id, trigger)
    if ctx.exists(build_id):  # the same delivery again: built once
        return Decision([], Outcome(id=build_id, answer=BuildAsked(duplicate=True)))
    number = pipeline.request_build(build_id)
    build = ctx.new(Build, id=build_id, tenant_id=tenant.id, pipeline_id=pipeline.id,
                    number=number, trigger=cmd.trigger, branch=pipeline.branch,
                    commit=cmd.commit, image="")
    return Decision([pipeline, build], Outcome(id=build_id, answer=BuildAsked(duplicate=False)))


def _build(ctx: Context, build_id: object) -> tuple[Build, Pipeline]:
    ctx.require_system()
    build = ctx.load(Build, build_id, "build")  # type: ignore[arg-type]
    return build, ctx.load(Pipeline, build.pipeline_id, "pipeline")


def start_build(ctx: Context, cmd: StartBuild) -> Decision:
    build, pipeline = _build(ctx, cmd.build_id)
    if not COMMIT.fullmatch(cmd.commit):
        raise InvalidInput("commit", "a full commit id: 40 lower-case hex digits")
    if not ctx.app.registry:
        raise Conflict("this Wharf runs no image registry (WHARF_REGISTRY=off)")
    ctx.tenant_of_system(build.tenant_id).require_active()  # (suspended: no build runs)
    tag = check_tag(image_tag(pipeline.tag_pattern, cmd.commit, build.branch, build.number))
    build.start(cmd.commit, f"{ctx.app.registry}/{pipeline.repository}:{tag}", cmd.host[:200])
    return Decision([build], Outcome(id=build.id))


def finish_build(ctx: Context, cmd: FinishBuild) -> Decision:
    build, pipeline = _build(ctx, cmd.build_id)
    if not DIGEST.fullmatch(cmd.digest):
        raise InvalidInput("digest", "sha256:<64 hex digits>")
    saved: list[WharfAggregate] = [build]
    deploy = ""
    if pipeline.service_id is not None:
        try:
            saved += _roll(ctx, pipeline, f"{ctx.app.registry}/{pipeline.repository}"
                                          f"@{cmd.digest}")
            deploy = "rolled"
        except DomainError as error:  # the image is built and pushed all the same
            deploy = f"not deployed: {error}"
    build.succeed(cmd.digest, deploy)
    return Decision(saved, Outcome(id=build.id))


def _roll(ctx: Context, pipeline: Pipeline, image: str) -> list[WharfAggregate]:
    """The pipeline's service with its image replaced: a new version, rolled out as any
    update is."""
    assert pipeline.service_id is not None
    service = ctx.load(Service, pipeline.service_id, "service")
    if service.desired == "deleted":
        raise NotFound("service", pipeline.service_id)
    tenant = ctx.load(Tenant, pipeline.tenant_id, "tenant")
    tenant.require_active()
    spec = dataclasses.replace(service.spec, image=image)
    check_rollout_room(ctx, tenant, service, spec)
    changed = service.reconfigure(spec, service.balanced, service.cpu_millis,
                                  service.memory_mib, service.depends_on)
    return [service] if changed else []


def fail_build(ctx: Context, cmd: FailBuild) -> Decision:
    build, _ = _build(ctx, cmd.build_id)
    changed = build.fail(cmd.reason, cmd.log_tail)
    return Decision([build] if changed else [], Outcome(id=build.id))

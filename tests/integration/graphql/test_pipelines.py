"""Pipelines without a builder running: what webhooks and members may ask for, and the
order builds wait in (each tenant's queue apart)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from tests.integration.graphql.conftest import Api, new_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.pipeline import MAX_WAITING
from wharf.projections.reads import pipelines as pipeline_reads

CREATE = """mutation($url: String!, $repository: String!, $pattern: String!) {
  createPipeline(input: {name: "web", gitUrl: $url, repository: $repository,
  tagPattern: $pattern}) {
  __typename ... on PipelineCreated { webhookSecret pipeline { id genericWebhook } }
  ... on InvalidInput { field message } } }"""
RUN = """mutation($id: ID!) { runPipeline(input: {id: $id}) { __typename
  ... on BuildPayload { build { number state } } ... on QuotaExceeded { resource limit used }
  ... on NotFound { message } } }"""


def pipeline(api: Api, token: str, tenant: str) -> dict[str, Any]:
    made = api.gql(CREATE, {"url": "https://git.example.com/app.git",
                            "repository": f"{tenant}/web", "pattern": "{short}"},
                   token=token)["createPipeline"]
    assert made["__typename"] == "PipelineCreated", made
    return made


def generic(api: Api, path: str, secret: str) -> int:
    request = urllib.request.Request(f"{api.url}{path}", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_pipelines_waiting_builds_are_bounded_and_each_tenant_waits_in_its_own_queue(
    api: Api
) -> None:
    _, busy = new_tenant(api, "busy")
    _, calm = new_tenant(api, "calm")
    hog = pipeline(api, busy, "busy")
    ids = [api.gql(RUN, {"id": hog["pipeline"]["id"]}, token=busy)["runPipeline"]
           for _ in range(MAX_WAITING)]
    assert all(b["__typename"] == "BuildPayload" for b in ids)
    refused = api.gql(RUN, {"id": hog["pipeline"]["id"]}, token=busy)["runPipeline"]
    assert refused == {"__typename": "QuotaExceeded", "resource": "waiting_builds",
                       "limit": MAX_WAITING, "used": MAX_WAITING}
    assert generic(api, hog["pipeline"]["genericWebhook"], hog["webhookSecret"]) == 429
    # Another tenant's build waits in its own queue: the builder sees it, first of its
    # tenant, though ten of busy's are older.
    other = pipeline(api, calm, "calm")
    assert generic(api, other["pipeline"]["genericWebhook"], other["webhookSecret"]) == 202
    api.wiring.projector.wait(api.wiring.app.recorder.max_notification_id() or 0)
    queued = pipeline_reads.queued(api.wiring.view, per_tenant=2)
    assert sorted(row.pipeline_id == other["pipeline"]["id"] for row in queued) == [
        False, False, True]
    # Another tenant's pipeline is not found, whatever its queue holds.
    assert api.gql(RUN, {"id": hog["pipeline"]["id"]}, token=calm)["runPipeline"][
        "__typename"] == "NotFound"


def test_a_suspended_tenants_builds_do_not_start(api: Api) -> None:
    tenant_id, token = new_tenant(api, "acme")
    made = pipeline(api, token, "acme")
    build = api.gql(RUN, {"id": made["pipeline"]["id"]}, token=token)["runPipeline"]
    assert build["__typename"] == "BuildPayload"
    api.gql("""mutation($id: ID!) { suspendTenant(input: {id: $id}) { __typename } }""",
            {"id": tenant_id}, token=api.operator_token)
    [row] = pipeline_reads.queued(api.wiring.view)
    from wharf.domain.errors import Conflict

    try:
        api.wiring.app.handle(m.StartBuild(actor=Actor.system("builder"),
                                           build_id=__import__("uuid").UUID(row.id),
                                           commit="a" * 40, host="unix://x"))
        raise AssertionError("a suspended tenant's build started")
    except Conflict as error:
        assert "suspended" in str(error)


def test_pipeline_inputs_are_checked(api: Api) -> None:
    _, token = new_tenant(api, "acme")
    for url, repository, pattern, field in (
            ("file:///etc", "acme/web", "{short}", "gitUrl"),
            ("ext::sh -c id", "acme/web", "{short}", "gitUrl"),
            ("https://user:pw@example.com/x.git", "acme/web", "{short}", "gitUrl"),
            ("https://example.com/x.git", "rival/web", "{short}", "repository"),
            ("https://example.com/x.git", "acme/web", "{bui{short}ld}", "tagPattern")):
        made = api.gql(CREATE, {"url": url, "repository": repository, "pattern": pattern},
                       token=token)["createPipeline"]
        assert made["__typename"] == "InvalidInput" and made["field"] == field, made


def test_a_build_left_running_by_a_builder_that_stopped_is_failed_by_the_next(
    api: Api
) -> None:
    from uuid import UUID

    _, token = new_tenant(api, "acme")
    made = pipeline(api, token, "acme")
    api.gql(RUN, {"id": made["pipeline"]["id"]}, token=token)
    [row] = pipeline_reads.queued(api.wiring.view)
    api.wiring.app.handle(m.StartBuild(actor=Actor.system("builder"), build_id=UUID(row.id),
                                       commit="a" * 40, host="unix://gone"))
    api.wiring.projector.wait(api.wiring.app.recorder.max_notification_id() or 0)
    builder = api.wiring.builder()
    assert builder.recover() == [row.id]
    api.wiring.projector.wait(api.wiring.app.recorder.max_notification_id() or 0)
    assert pipeline_reads.running(api.wiring.view) == []
    done = pipeline_reads.build(api.wiring.view, row.id, None)
    assert done is not None and done.state == "failed"
    assert done.reason == "the builder stopped during the build"
    assert builder.recover() == []  # (nothing left running)

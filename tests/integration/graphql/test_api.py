"""The GraphQL API over real HTTP: documents in, `__typename` and data out."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.graphql.conftest import Api, new_tenant
from wharf.graphql.schema import build_schema

CREATE_CONTAINER = """
mutation($input: CreateContainerInput!) {
  createContainer(input: $input) {
    __typename
    ... on ContainerPayload { position container { id name image desired observed } }
    ... on QuotaExceeded { resource limit used requested }
    ... on InvalidInput { field message }
    ... on NotFound { kind id }
    ... on Forbidden { message }
    ... on Conflict { message }
  }
}"""

CONTAINERS = """
query($first: Int!, $after: String) {
  containers(first: $first, after: $after) {
    edges { cursor node { id name desired } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def test_schema_file_is_the_schema_the_code_serves() -> None:
    exported = (Path(__file__).parents[3] / "schema.graphql").read_text()
    assert exported.strip() == build_schema(dev=True).as_str().strip(), (
        "schema.graphql is stale: run `wharf schema > schema.graphql`")


def test_create_then_read_your_write(api: Api) -> None:
    _, owner = new_tenant(api)
    created = api.gql(CREATE_CONTAINER, {"input": {"name": "web", "image": "busybox",
                                                   "env": [{"name": "A", "value": "1"}]}},
                      token=owner)["createContainer"]
    assert created["__typename"] == "ContainerPayload"
    assert created["container"]["name"] == "web" and created["position"] > 0
    page = api.gql(CONTAINERS, {"first": 10}, token=owner)["containers"]
    assert [e["node"]["name"] for e in page["edges"]] == ["web"]


def test_errors_are_typed_results(api: Api) -> None:
    _, owner = new_tenant(api)
    bad = api.gql(CREATE_CONTAINER, {"input": {"name": "x", "image": "busybox",
                                               "cpuMillis": 0}}, token=owner)["createContainer"]
    assert bad == {"__typename": "InvalidInput", "field": "cpuMillis",
                   "message": "must be between 10 and 64000"}
    for name in ("a", "b"):
        api.gql(CREATE_CONTAINER, {"input": {"name": name, "image": "busybox"}}, token=owner)
    third = api.gql(CREATE_CONTAINER, {"input": {"name": "c", "image": "busybox"}},
                    token=owner)["createContainer"]
    assert third == {"__typename": "QuotaExceeded", "resource": "containers", "limit": 2,
                     "used": 2, "requested": 1}


def test_fifty_parallel_creates_over_http_give_exactly_two(api: Api) -> None:
    _, owner = new_tenant(api)

    def create(i: int) -> str:
        answer = api.gql(CREATE_CONTAINER, {"input": {"name": f"c{i}", "image": "busybox"}},
                         token=owner)
        typename: str = answer["createContainer"]["__typename"]
        return typename

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(create, range(50)))
    assert answers.count("ContainerPayload") == 2
    assert answers.count("QuotaExceeded") == 48


def test_another_tenants_container_is_not_found(api: Api) -> None:
    _, acme = new_tenant(api, "acme")
    _, other = new_tenant(api, "other")
    container = api.gql(CREATE_CONTAINER, {"input": {"name": "web", "image": "busybox"}},
                        token=acme)["createContainer"]["container"]["id"]
    stop = api.gql("""mutation($id: ID!) { stopContainer(input: {id: $id}) {
        __typename ... on NotFound { kind id } } }""", {"id": container}, token=other)
    assert stop["stopContainer"] == {"__typename": "NotFound", "kind": "container",
                                     "id": container}
    missing = api.gql("""mutation($id: ID!) { stopContainer(input: {id: $id})
        { __typename ... on NotFound { kind } } }""",
                      {"id": "00000000-0000-0000-0000-0000000000aa"}, token=other)
    assert missing["stopContainer"] == {"__typename": "NotFound", "kind": "container"}
    seen = api.gql("query($id: ID!) { container(id: $id) { name } }", {"id": container},
                   token=other)
    assert seen == {"container": None}


def test_bad_tokens_and_no_token_get_401_before_the_document_is_read(api: Api) -> None:
    status, answer = api.post("{ me { actor } }", token="wharf_00_nope")
    assert status == 401 and "invalid token" in answer["errors"][0]["message"]
    # No operation is open to anonymous callers: refused before validation, so an
    # invalid document says nothing about the schema either.
    for document in ("{ me { actor } }", "{ me { actr } }", "{ nosuch }"):
        status, answer = api.post(document)
        assert status == 401, answer
        assert answer == {"errors": [{"message": "authentication required: send "
                                                 "Authorization: Bearer <token>"}]}


def test_sixteen_aliases_are_rejected_before_resolving(api: Api) -> None:
    _, owner = new_tenant(api)
    fifteen = "{ " + " ".join(f"a{i}: me {{ actor }}" for i in range(15)) + " }"
    assert api.post(fifteen, token=owner)[1].get("errors") is None
    sixteen = "{ " + " ".join(f"a{i}: me {{ actor }}" for i in range(16)) + " }"
    _status, answer = api.post(sixteen, token=owner)
    assert answer.get("data") is None
    assert "aliases" in answer["errors"][0]["message"].lower()


def test_introspection_only_in_development(api: Api, dev_api: Api) -> None:
    query = "{ __schema { queryType { name } } }"
    _status, answer = api.post(query, token=api.operator_token)
    assert answer.get("errors") and answer.get("data") is None
    assert dev_api.gql(query, token=dev_api.operator_token) == {
        "__schema": {"queryType": {"name": "Query"}}}


def test_health_readiness_and_metrics(api: Api) -> None:
    assert api.get("/healthz") == (200, "ok")
    assert api.get("/readyz") == (200, '{"ready":true}')
    # Metrics are an operator's: the log's growth tells of every tenant's activity.
    status, body = api.get("/metrics")
    assert status == 401 and "wharf_log_position" not in body
    _, owner = new_tenant(api)
    assert api.get("/metrics", token=owner)[0] == 403
    status, body = api.get("/metrics", token=api.operator_token)
    assert status == 200 and "wharf_log_position" in body and "wharf_read_side_position" in body


def test_min_position_header_waits_for_the_read_side(api: Api) -> None:
    _, owner = new_tenant(api)
    head = api.wiring.app.recorder.max_notification_id() or 0
    status, answer = api.post("{ me { tenant { name } } }", token=owner,
                              headers={"Wharf-Min-Position": str(head)})
    assert status == 200 and answer["data"]["me"]["tenant"]["name"] == "acme"
    status, _ = api.post("{ me { actor } }", token=owner,
                         headers={"Wharf-Min-Position": "soon"})
    assert status == 400


def test_a_depth_seven_document_is_rejected_before_resolving(api: Api) -> None:
    """Depth as graphql-depth-limit counts it: `{ a { b } }` has depth 1."""
    _, owner = new_tenant(api)
    api.gql(CREATE_CONTAINER, {"input": {"name": "web", "image": "busybox"}}, token=owner)
    six = ("{ containers { edges { node { tenant { containers { edges { cursor } } } } } } }")
    data = api.gql(six, token=owner)
    node = data["containers"]["edges"][0]["node"]
    assert len(node["tenant"]["containers"]["edges"]) == 1
    seven = ("{ containers { edges { node { tenant { containers { edges { node { name } } } }"
             " } } } }")
    _, answer = api.post(seven, token=owner)
    assert answer.get("data") is None
    assert "exceeds maximum operation depth of 6" in answer["errors"][0]["message"]


def test_a_token_over_its_rate_gets_429_with_retry_after(limited_api: Api) -> None:
    token = limited_api.operator_token
    answers = [limited_api.post("{ me { actor } }", token=token) for _ in range(4)]
    assert [status for status, _ in answers] == [200, 200, 200, 429]
    assert int(answers[-1][1]["retry_after"]) >= 1
    assert limited_api.get("/healthz") == (200, "ok")  # only /graphql is limited


def test_repeated_bad_tokens_from_one_address_are_slowed_down(limited_api: Api) -> None:
    assert limited_api.post("{ me { actor } }", token=limited_api.operator_token)[0] == 200
    assert limited_api.post("{ me { actor } }", token="wharf_0_bad")[0] == 401
    assert limited_api.post("{ me { actor } }", token="wharf_0_bad")[0] == 401
    status, answer = limited_api.post("{ me { actor } }", token="wharf_0_bad")
    assert status == 429 and answer["retry_after"] == "1"
    # A token that proved good, from the same address, is not refused: only bad tokens
    # are slowed (and not even looked up), and tokens never seen before wait too.
    assert limited_api.post("{ me { actor } }", token=limited_api.operator_token)[0] == 200
    assert limited_api.post("{ me { actor } }", token="wharf_0_bad")[0] == 429
    _, owner = new_tenant(limited_api, "fresh")
    assert limited_api.post("{ me { actor } }", token=owner)[0] == 429


def test_unexpected_errors_are_masked_and_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """An error no client caused (here the read side failing) answers a generic message,
    never a stack trace, and the log keeps the details."""
    _, owner = new_tenant(api)
    original = api.wiring.view.query

    def broken(sql: str, params: Any = ()) -> Any:
        if "rm_plans" in sql:
            raise RuntimeError("disk on fire at /var/lib/secret-path")
        return original(sql, params)

    api.wiring.view.query = broken  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.ERROR):
            status, answer = api.post("{ plans { name } }", token=owner)
    finally:
        api.wiring.view.query = original  # type: ignore[method-assign]
    assert status == 200
    assert answer["errors"][0]["message"] == "Unexpected error."
    assert "disk on fire" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    assert "disk on fire" in caplog.text


def test_a_stopped_audit_consumer_delays_no_mutation_only_reads_of_the_audit(
    api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each consumer keeps its own position: a mutation waits for the read models it
    answers from, a read with Wharf-Min-Position for every one."""
    from wharf.graphql import context as graphql_context

    monkeypatch.setattr(graphql_context, "READ_SIDE_TIMEOUT", 1.0)
    _, owner = new_tenant(api, plan="s")
    records = api.wiring.projector.projectors["records"]
    records.stop()
    for thread in threading.enumerate():
        if thread.name == "projector-records":
            thread.join(10)
            assert not thread.is_alive()
    stalled_at = records.position

    made = api.gql('mutation { createContainer(input: {name: "quick", image: "busybox"}) '
                   "{ __typename ... on ContainerPayload { container { name } } } }",
                   token=owner)
    assert made["createContainer"] == {"__typename": "ContainerPayload",
                                       "container": {"name": "quick"}}
    head = api.wiring.app.recorder.max_notification_id() or 0
    assert records.position == stalled_at < head  # the audit trail is behind, really
    listed = api.gql("{ containers { edges { node { name observed } } } }", token=owner)
    assert listed["containers"]["edges"] == [{"node": {"name": "quick", "observed": "pending"}}]

    audit = "{ auditLog(first: 5) { edges { node { summary } } } }"
    status, answer = api.post(audit, token=owner, headers={"Wharf-Min-Position": str(head)})
    assert status == 200 and answer["data"] is None
    assert answer["errors"][0]["message"] == (
        f"the read side has reached position {stalled_at}, not yet {head} (waited 1 s); "
        "retry later")

    records.catch_up()
    status, answer = api.post(audit, token=owner, headers={"Wharf-Min-Position": str(head)})
    assert status == 200, answer
    summaries = [e["node"]["summary"] for e in answer["data"]["auditLog"]["edges"]]
    assert any("quick" in summary for summary in summaries), summaries

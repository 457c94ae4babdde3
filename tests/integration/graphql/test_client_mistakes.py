"""Mistakes a client makes get an answer that says what was wrong, as the client wrote
it, and are logged at INFO in one line (never at ERROR with a traceback)."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from tests.integration.graphql.conftest import Api, new_tenant

ISSUE = """mutation($r: String) { issueToken(input: {ttlHours: 1, clientRequestId: $r}) {
  __typename ... on TokenIssued { id token } ... on Conflict { message } } }"""
CREATE = """mutation($input: CreateContainerInput!) { createContainer(input: $input) {
  __typename ... on InvalidInput { field message } } }"""


def only_info(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == [], [r.getMessage() for r in errors]
    assert all(r.exc_info is None for r in caplog.records)
    assert all("\n" not in r.getMessage() for r in caplog.records)


def messages(answer: dict[str, Any]) -> str:
    return " ".join(e["message"] for e in answer.get("errors", []))


def test_a_retried_issue_token_is_a_conflict_that_says_why(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    _, owner = new_tenant(api)
    with caplog.at_level(logging.INFO):
        first = api.gql(ISSUE, {"r": "laptop-1"}, token=owner)["issueToken"]
        again = api.gql(ISSUE, {"r": "laptop-1"}, token=owner)["issueToken"]
    assert first["__typename"] == "TokenIssued"
    assert again == {"__typename": "Conflict", "message": (
        f"token {first['id']} was issued for this clientRequestId; its secret was shown "
        "once, in the first answer, and is not kept: issue a new token")}
    only_info(caplog)


def test_a_malformed_host_endpoint_is_invalid_input(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    query = """mutation($e: String!) { registerHost(input: {endpoint: $e, name: "h"}) {
      __typename ... on InvalidInput { field message } } }"""
    with caplog.at_level(logging.INFO):
        for endpoint in ("tcp://", "unix://", "tcp://host:notaport", "tcp://[::1",
                         "unix:///" + "x" * 5000, "ssh://host", "tcp://host:99999"):
            answer = api.gql(query, {"e": endpoint}, token=api.operator_token)
            assert answer["registerHost"]["__typename"] == "InvalidInput", (endpoint, answer)
            assert answer["registerHost"]["field"] == "endpoint"
    only_info(caplog)


def test_null_for_a_required_variable_says_so(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    _, owner = new_tenant(api)
    with caplog.at_level(logging.INFO):
        _, answer = api.post(CREATE, {"input": None}, token=owner)
    assert "Variable '$input' has invalid value: Expected value of non-null type "\
           "'CreateContainerInput!' not to be None" in (
        messages(answer))
    only_info(caplog)


@pytest.mark.parametrize("argument", ['from: "yesterday"', 'to: "2026-13-45"',
                                      'from: "2026-11-01T00:00:00", step: 0',
                                      "step: -5", "step: 100000000"])
def test_a_bad_metrics_argument_says_which(
    api: Api, caplog: pytest.LogCaptureFixture, argument: str
) -> None:
    _, owner = new_tenant(api)
    query = f'{{ metrics(target: "00000000-0000-0000-0000-000000000000", {argument}) ' \
            "{ at } }"
    with caplog.at_level(logging.INFO):
        _, answer = api.post(query, token=owner)
    said = messages(answer)
    name = argument.split(":")[0] if "step" not in argument else "step"
    assert said.startswith(f"{name}:") and "Unexpected error" not in said, said
    only_info(caplog)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    "garbage", "W10=", "eyJ4IjogMX0=", "bnVsbA==", "WzEsMiwzXQ==", "%%%",
    _b64("[" * 20_000), _b64('["\\ud800", "x"]'), _b64('[1e30, "x"]'),
    _b64(f'[{10 ** 30}, "x"]'), _b64('["\\u0000", "x"]'), _b64('[true, "x"]'),
])
def test_a_forged_cursor_is_refused_with_a_message(
    api: Api, caplog: pytest.LogCaptureFixture, cursor: str
) -> None:
    _, owner = new_tenant(api)
    with caplog.at_level(logging.INFO):
        for field in ("containers", "volumes", "auditLog"):
            _, answer = api.post(f'{{ {field}(after: "{cursor}") {{ edges {{ cursor }} }} }}',
                                 token=owner)
            assert messages(answer) == "after: not a cursor this API gave out", answer
        _, answer = api.post(f'{{ tenants(after: "{cursor}") {{ edges {{ cursor }} }} }}',
                             token=api.operator_token)
        assert messages(answer) == "after: not a cursor this API gave out", answer
    only_info(caplog)


def test_an_operator_list_query_without_a_tenant_says_to_name_one(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        for query in ("{ containers { edges { cursor } } }", "{ volumes { edges { cursor } } }",
                      "{ secrets { name } }", "{ members { email } }",
                      "{ auditLog { edges { cursor } } }"):
            _, answer = api.post(query, token=api.operator_token)
            assert messages(answer) == "operators name the tenant they read", answer
    only_info(caplog)


@pytest.mark.parametrize("argument, says", [
    ('since: "last tuesday"', "since: not an RFC 3339 time"),
    ("tail: -1", "tail: must be between 0 and 10000"),
    ("tail: 10001", "tail: must be between 0 and 10000"),
])
def test_a_bad_log_argument_says_which(api: Api, argument: str, says: str) -> None:
    _, owner = new_tenant(api)
    query = f'{{ containerLogs(id: "00000000-0000-0000-0000-000000000000", {argument}) ' \
            "{ text } }"
    _, answer = api.post(query, token=owner)
    assert messages(answer).startswith(says), answer


@pytest.mark.parametrize("spec, field", [
    ({"memoryMib": 1}, "memoryMib"),
    ({"cpuMillis": 0}, "cpuMillis"),
    ({"ports": [{"containerPort": 80, "hostPort": 80}]}, "ports[0].hostPort"),
    ({"ports": [{"containerPort": 80, "protocol": "sctp"}]}, "ports[0].protocol"),
    ({"volumes": [{"volume": "data", "path": "relative"}]}, "volumes[0].path"),
    ({"restartPolicy": "sometimes"}, "restartPolicy"),
    ({"env": [{"name": "MY_VAR", "value": "x"}, {"name": "1bad", "value": "x"}]},
     "env.1bad"),
])
def test_invalid_input_names_the_field_as_the_client_wrote_it(
    api: Api, spec: dict[str, Any], field: str
) -> None:
    _, owner = new_tenant(api, plan="s")
    answer = api.gql(CREATE, {"input": {"name": "web", "image": "busybox", **spec}},
                     token=owner)["createContainer"]
    assert answer["__typename"] == "InvalidInput" and answer["field"] == field, answer


def test_a_subscription_over_plain_http_is_told_where_to_go(api: Api) -> None:
    _, owner = new_tenant(api)
    status, answer = api.post("subscription { events { position } }", token=owner)
    assert status == 200 and answer.get("data") is None
    assert messages(answer) == ("subscriptions are served over WebSocket "
                                "(graphql-transport-ws) only")


CREATE_ONCE = """mutation($name: String!, $r: String!) { createContainer(input: {name: $name,
  image: "busybox", clientRequestId: $r}) { __typename
  ... on ContainerPayload { container { id name } } ... on Conflict { message } } }"""


def test_a_retried_create_over_http_makes_one_container(api: Api) -> None:
    _, owner = new_tenant(api, plan="s")
    first = api.gql(CREATE_ONCE, {"name": "web", "r": "deploy-7"}, token=owner)
    again = api.gql(CREATE_ONCE, {"name": "web", "r": "deploy-7"}, token=owner)
    assert first == again and first["createContainer"]["__typename"] == "ContainerPayload"
    listed = api.gql("{ containers { edges { node { name } } } }", token=owner)
    assert [e["node"]["name"] for e in listed["containers"]["edges"]] == ["web"]


def test_the_same_request_id_with_another_request_is_a_conflict(api: Api) -> None:
    _, owner = new_tenant(api, plan="s")
    api.gql(CREATE_ONCE, {"name": "web", "r": "deploy-8"}, token=owner)
    other = api.gql(CREATE_ONCE, {"name": "db", "r": "deploy-8"}, token=owner)
    assert other["createContainer"] == {"__typename": "Conflict", "message": (
        "this clientRequestId was used for a different request; a retry must repeat the "
        "request exactly, a new request needs a new id")}
    listed = api.gql("{ containers { edges { node { name } } } }", token=owner)
    assert [e["node"]["name"] for e in listed["containers"]["edges"]] == ["web"]

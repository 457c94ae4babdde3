"""Text no store can hold (NUL on PostgreSQL), no encoder can write (an unpaired
surrogate) or that is too long to keep for ever is refused where it comes in, naming the
field; and one that got into the log before cannot stop the read side."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.graphql.conftest import Api, new_tenant
from tests.integration.graphql.test_callers import login, open_ws
from tests.integration.graphql.test_hostile_requests import raw_post

ISSUE = """mutation($n: String!, $r: String) { issueToken(input: {ttlHours: 1, name: $n,
  clientRequestId: $r}) { __typename ... on InvalidInput { field message } } }"""
CREATE = """mutation($input: CreateContainerInput!) { createContainer(input: $input) {
  __typename ... on InvalidInput { field message } } }"""


@pytest.mark.parametrize("variables, field, says", [
    ({"n": "a\x00b"}, "name", "must not contain NUL characters"),
    ({"n": "x" * 101}, "name", "at most 100 characters"),
    ({"n": "ok", "r": "r" * 129}, "clientRequestId", "at most 128 characters"),
    ({"n": "ok", "r": "r\x00"}, "clientRequestId", "must not contain NUL characters"),
])
def test_text_a_store_cannot_keep_is_invalid_input(
    api: Api, variables: dict[str, Any], field: str, says: str
) -> None:
    _, owner = new_tenant(api)
    answer = api.gql(ISSUE, variables, token=owner)["issueToken"]
    assert answer == {"__typename": "InvalidInput", "field": field, "message": says}


@pytest.mark.parametrize("spec, field", [
    ({"env": [{"name": "A", "value": "x\x00y"}]}, "env.A"),
    ({"command": ["sh", "-c", "echo \x00"]}, "command[2]"),
    ({"env": [{"name": "A", "value": "x" * 70_000}]}, "env.A"),
])
def test_a_containers_text_is_checked_field_by_field(
    api: Api, spec: dict[str, Any], field: str
) -> None:
    _, owner = new_tenant(api, plan="s")
    answer = api.gql(CREATE, {"input": {"name": "web", "image": "busybox", **spec}},
                     token=owner)["createContainer"]
    assert answer["__typename"] == "InvalidInput" and answer["field"] == field, answer


@pytest.mark.parametrize("body", [
    '{"query": "query A { me { actor } }", "operationName": "x\\ud800y"}',
    '{"query": "mutation($n: String!) { issueToken(input: {ttlHours: 1, name: $n}) '
    '{ __typename } }", "variables": {"n": "\\ud800"}}',
    '{"query": "{ me { actor } }", "variables": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}",
])
def test_unpaired_surrogates_and_deep_nesting_are_400(api: Api, body: str) -> None:
    status, answer = raw_post(api, body.encode())
    assert status == 400, answer
    message = json.loads(answer)["errors"][0]["message"]
    assert "unpaired surrogate" in message or "nests too deeply" in message


def test_a_nul_in_a_query_argument_is_refused_in_words(api: Api) -> None:
    _, owner = new_tenant(api)
    status, answer = api.post('{ containers(desired: "\\u0000") { edges { cursor } } }',
                              token=owner)
    assert status == 200
    assert answer["errors"][0]["message"] == (
        "arguments must not contain NUL or unpaired surrogate characters")


@pytest.mark.parametrize("message", [
    '{"type": "connection_init", "payload": {"authorization": "Bearer \\ud800"}}',
    '{"type": "connection_init", "payload": {"authorization": ' + "[" * 50_000
    + "]" * 50_000 + "}}",
])
def test_a_websocket_message_no_store_can_take_closes_it_cleanly(
    api: Api, message: str
) -> None:
    with open_ws(api) as ws:
        ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert api.get("/healthz") == (200, "ok")


def test_a_subscription_with_a_surrogate_closes_cleanly(api: Api) -> None:
    _, owner = new_tenant(api)
    with open_ws(api) as ws:
        assert login(ws, owner)["type"] == "connection_ack"
        ws.send('{"id": "1", "type": "subscribe", "payload": {"query": '
                '"subscription { events { position } }", "operationName": "\\ud800"}}')
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400

"""Requests an attacker sends, over real HTTP: each answered at once with a clear 4xx,
and none slows anybody else down."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

import pytest

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor


def fragment_bomb(levels: int = 40) -> str:
    """1.5 KB that asks for 2**levels fields: each fragment spreads the one before twice."""
    fragments = ["fragment F0 on Me { actor }"]
    fragments += [f"fragment F{i} on Me {{ ...F{i - 1} ...F{i - 1} }}"
                  for i in range(1, levels + 1)]
    return f"query {{ me {{ ...F{levels} }} }} " + " ".join(fragments)


def raw_post(api: Api, body: bytes, headers: dict[str, str] | None = None,
             timeout: float = 5) -> tuple[int, str]:
    address = urlparse(api.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
    try:
        connection.request("POST", "/graphql", body=body,
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {api.operator_token}",
                                    **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_fragment_bomb_is_refused_and_the_server_keeps_answering(api: Api) -> None:
    _, owner = new_tenant(api)
    document = fragment_bomb()
    assert len(document) < 1600
    status, answer = api.post(document, token=owner)  # (the client gives up after 30 s)
    assert status == 200 and answer.get("data") is None
    assert "more than 300 fields once its fragments are expanded" in (
        answer["errors"][0]["message"])
    assert api.get("/healthz") == (200, "ok")
    # A spread of itself is refused too, without recursing for ever.
    status, answer = api.post("query { me { ...A } } fragment A on Me { ...A }",
                              token=owner)
    assert "spreads itself" in answer["errors"][0]["message"]


def test_a_position_beyond_the_log_is_refused_at_once(api: Api) -> None:
    _, owner = new_tenant(api)
    head = api.wiring.app.recorder.max_notification_id() or 0
    status, answer = api.post("{ me { actor } }", token=owner,
                              headers={"Wharf-Min-Position": str(head + 1000)})
    assert status == 400
    assert answer["errors"][0]["message"] == (f"Wharf-Min-Position {head + 1000} is beyond "
                                              f"the log, whose newest position is {head}")


def test_waiting_for_the_read_side_holds_no_thread_others_need(api: Api) -> None:
    """Sixty requests wait for a position the stopped read side has not reached; another
    tenant's query is answered meanwhile (anyio has 40 worker threads: a wait in each
    would hold them all), and the waiters get a clear answer at the deadline."""
    _, owner = new_tenant(api, "acme")
    _, other = new_tenant(api, "other")
    api.wiring.projector.stop()
    api.wiring.app.handle(m.CreateTenant(actor=Actor.operator("test"), name="late",
                                         plan="free", owner="o@late.io"))
    head = str(api.wiring.app.recorder.max_notification_id())
    answers: list[tuple[int, dict[str, Any]]] = []

    def wait_for_head() -> None:
        answers.append(api.post("{ me { actor } }", token=owner,
                                headers={"Wharf-Min-Position": head}))

    waiters = [threading.Thread(target=wait_for_head) for _ in range(60)]
    for waiter in waiters:
        waiter.start()
    try:
        status, answer = raw_post(api, json.dumps({"query": "{ me { role } }"}).encode(),
                                  headers={"Authorization": f"Bearer {other}"}, timeout=5)
        assert status == 200 and json.loads(answer)["data"]["me"]["role"] == "owner"
    finally:
        for waiter in waiters:
            waiter.join(30)
    assert len(answers) == 60
    for status, answer in answers:
        assert status == 200 and answer.get("data") is None
        message = answer["errors"][0]["message"]
        assert message.startswith("the read side has reached position") and (
            f"not yet {head}" in message), message


@pytest.mark.parametrize("body, message", [
    (b'"x"', "must be a JSON object"),
    (b"123", "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b"[]", "must be a JSON object"),
    (b'{"query": 5}', "`query` must be a string"),
    (b'{"query": "{ me { actor } }", "variables": "x"}', "`variables` must be"),
    (b'{"query": "{ me { actor } }", "operationName": 1}', "`operationName` must be"),
    (b'\xff\xfe{"query": "{ me { actor } }"}', "not UTF-8"),
    (b'{"query": ', "not JSON"),
])
def test_a_body_that_is_not_a_graphql_request_is_400(api: Api, body: bytes,
                                                     message: str) -> None:
    status, answer = raw_post(api, body)
    assert status == 400 and message in json.loads(answer)["errors"][0]["message"]


@pytest.mark.parametrize("position", ["²", "٣", "-1", "1e3", "9" * 40, "soon"])
def test_a_min_position_that_is_not_ascii_digits_is_400(api: Api, position: str) -> None:
    header = position.encode().decode("latin-1")  # as the bytes go on the wire
    status, answer = raw_post(api, json.dumps({"query": "{ me { actor } }"}).encode(),
                              headers={"Wharf-Min-Position": header})
    assert status == 400 and "Wharf-Min-Position" in answer


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    padding = " " * (api.wiring.settings.max_body + 1)
    status, answer = raw_post(api, ('{"query": "{ me { actor } }"' + padding + "}").encode())
    assert status == 413 and "over 1048576 bytes" in answer
    status, _ = raw_post(api, b'{"query": "{ me { actor } }"}' + b" " * 1000)
    assert status == 200


@pytest.fixture
def impatient_api(tmp_path: Path) -> Iterator[Api]:
    """A server that gives clients one second to send a request's head and its body."""
    yield from _serve(f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path, dev=False,
                      WHARF_READ_TIMEOUT="1")


def _closed_by_server(sock: socket.socket) -> bytes:
    """What the server sends before it closes (the 5 s timeout fails the test)."""
    sock.settimeout(5)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize("sent", [
    b"",
    b"POST /graphql HTTP/1.1\r\n",
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl",
])
def test_a_connection_that_stalls_before_its_head_ends_is_closed(
    impatient_api: Api, sent: bytes
) -> None:
    address = urlparse(impatient_api.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(sent)
        assert _closed_by_server(sock) == b""


def test_a_body_that_stalls_is_answered_408(impatient_api: Api) -> None:
    address = urlparse(impatient_api.url)
    head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {impatient_api.operator_token}\r\n"
            "Content-Length: 100\r\n\r\n")
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(head.encode() + b'{"query": ')
        answer = _closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"request body not received within 1 s" in answer


SUGGESTIVE = [
    ("{ me { actr } }", None, "Cannot query field 'actr'"),
    ("{ containers(frist: 1) { edges { cursor } } }", None, "Unknown argument 'frist'"),
    ('mutation { createContainer(input: {nmae: "x", image: "busybox"}) { __typename } }',
     None, "unknown field 'nmae'"),
    ("mutation($i: CreateContainerInput!) { createContainer(input: $i) { __typename } }",
     {"i": {"nmae": "x", "image": "busybox"}}, "unknown field 'nmae'"),
    ("query($x: Strin) { me { actor } }", None, "Unknown type 'Strin'"),
    ("{ mee { actor } }", None, "Cannot query field 'mee'"),
]


@pytest.mark.parametrize("document, variables, says", SUGGESTIVE)
def test_no_error_suggests_a_name_outside_development(
    api: Api, dev_api: Api, document: str, variables: dict[str, Any] | None, says: str
) -> None:
    _status, answer = api.post(document, variables, token=api.operator_token)
    messages = " ".join(e["message"] for e in answer["errors"])
    assert says in messages and "Did you mean" not in messages, messages
    # (the same mistake in development mode does suggest: the check above can fail)
    _status, answer = dev_api.post(document, variables, token=dev_api.operator_token)
    assert "Did you mean" in " ".join(e["message"] for e in answer["errors"])


CREATE_WITH = """mutation($i: CreateContainerInput!) { createContainer(input: $i) { __typename
  ... on InvalidInput { field message } } }"""


def test_a_huge_list_is_refused_before_it_is_converted(api: Api) -> None:
    """40,000 ports (under the body limit) took strawberry seconds of the event loop to
    convert, for every tenant; now the list is refused before that, and a literal one
    in the document too."""
    _, owner = new_tenant(api, plan="s")
    huge = {"name": "big", "image": "busybox", "ports": [{"containerPort": 1}] * 40_000}
    status, answer = api.post(CREATE_WITH, {"i": huge}, token=owner)
    assert status == 200 and answer["data"] is None
    assert [e["message"] for e in answer["errors"]] == [
        "a list in variable $i holds 40000 items; at most 256 are taken"]
    literal = ("mutation { createContainer(input: {name: \"big\", image: \"busybox\", "
               "command: [" + ", ".join(['"x"'] * 300) + "]}) { __typename } }")
    status, answer = api.post(literal, token=owner)  # (a document holds 2,000 tokens)
    assert status == 200 and [e["message"] for e in answer["errors"]] == [
        "a list in the document holds 300 items; at most 256 are taken"]
    # Lists within that bound get the input's own typed answer.
    some = {"name": "big", "image": "busybox", "command": ["x"] * 65}
    assert api.gql(CREATE_WITH, {"i": some}, token=owner)["createContainer"] == {
        "__typename": "InvalidInput", "field": "command", "message": "at most 64 items"}
    listed = api.gql("{ containers { edges { node { name } } } }", token=owner)
    assert listed["containers"]["edges"] == []


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"secrets": [{"name": "nope"}]}, "secrets[0]", "no secret named nope"),
    ({"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}, "env[1].name",
     "A is set twice"),
    ({"ports": [{"containerPort": 80, "hostPort": 20001},
                {"containerPort": 81, "hostPort": 20001}]}, "ports[1].hostPort",
     "host port 20001 asked for twice"),
])
def test_a_spec_that_could_never_run_is_refused_at_create(
        api: Api, spec: dict[str, Any], field: str, message: str) -> None:
    _, owner = new_tenant(api, plan="s")
    made = api.gql(CREATE_WITH, {"i": {"name": "never", "image": "busybox", **spec}},
                   token=owner)
    assert made["createContainer"] == {"__typename": "InvalidInput", "field": field,
                                       "message": message}
    listed = api.gql("{ containers { edges { node { name } } } }", token=owner)
    assert listed["containers"]["edges"] == []


def test_a_client_names_the_chain_its_mutations_join(api: Api) -> None:
    """Wharf-Correlation-Id: every event a mutation leads to carries it; a bad one is a
    400 naming the header, and nothing is written."""
    _, owner = new_tenant(api)
    create = """mutation($n: String!) { createContainer(input: {name: $n, image: "busybox"}) {
        ... on ContainerPayload { container { id } } } }"""
    status, answer = api.post(create, {"n": "web"}, token=owner,
                              headers={"Wharf-Correlation-Id": "deploy-2026.11.30:7"})
    assert status == 200, answer
    made = answer["data"]["createContainer"]["container"]["id"]
    events = list(api.wiring.app.repository.event_store.get(UUID(made)))
    assert [e.correlation for e in events] == ["deploy-2026.11.30:7"]
    head = api.wiring.app.recorder.max_notification_id()
    for bad in ("has space", "x" * 65, "ünï"):
        status, text = raw_post(api, json.dumps({"query": create, "variables": {
            "n": "db"}}).encode(), headers={
                "Authorization": f"Bearer {owner}",
                "Wharf-Correlation-Id": bad.encode().decode("latin-1")})
        assert status == 400 and "Wharf-Correlation-Id" in text, text
    assert api.wiring.app.recorder.max_notification_id() == head


def test_a_correlation_id_sent_twice_is_refused(api: Api) -> None:
    """Two Wharf-Correlation-Id headers: which one is meant is not ours to guess."""
    _, owner = new_tenant(api)
    address = urlparse(api.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        body = json.dumps({"query": "mutation { ping { position } }"}).encode()
        connection.putrequest("POST", "/graphql")
        for name, value in (("Content-Type", "application/json"),
                            ("Authorization", f"Bearer {owner}"),
                            ("Content-Length", str(len(body))),
                            ("Wharf-Correlation-Id", "good"),
                            ("Wharf-Correlation-Id", "other")):
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        assert response.status == 400 and b"one, not several" in response.read()
    finally:
        connection.close()

"""Wharf's own log never holds a secret's value, whatever a client sends it: after every
kind of failing request (and a successful one), the whole output of `wharf -v up` is
searched for the value."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.integration.helpers import Running, running_wharf

SECRET = "hunter2-5c1d9e7a"  # a value nothing else in the log could contain


def post(wharf: Running, body: bytes, token: str | None = None,
         content_type: str = "application/json") -> int:
    address = urllib.parse.urlparse(wharf.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", "/graphql", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def document(query: str, variables: dict[str, object] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": variables or {}}).encode()


def test_no_failing_request_leaves_a_secret_in_the_log(tmp_path: Path) -> None:
    with running_wharf(f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                       tmp_path / "home") as wharf:
        op = wharf.token
        tenant_query = ('mutation { createTenant(input: {name: "acme", owner: "o@acme.io"}) '
                        "{ ... on TenantCreated { ownerToken } } }")
        address = urllib.parse.urlparse(wharf.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.request("POST", "/graphql", body=document(tenant_query),
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {op}"})
        owner = json.loads(connection.getresponse().read())["data"]["createTenant"][
            "ownerToken"]
        connection.close()

        inline = f'setSecret(input: {{name: "db", value: "{SECRET}"}})'
        failing = [
            # fails validation: a misspelled field beside the inline value
            document(f"mutation {{ {inline} {{ __typename ... on SecretPayload {{ nmae }} }} }}"),
            # fails parsing
            document(f'mutation {{ setSecret(input: {{name: "db", value: "{SECRET}"'),
            # a variable of the wrong shape, the value in another
            document("mutation($v: String!, $n: Int!) { setSecret(input: {name: $n, value: $v})"
                     " { __typename } }", {"v": SECRET, "n": "x"}),
            # an unknown input field holding it
            document(f'mutation {{ setSecret(input: {{name: "db", valu: "{SECRET}"}}) '
                     "{ __typename } }"),
            # a typed error (bad name) carrying it
            document(f'mutation {{ setSecret(input: {{name: "NO NO", value: "{SECRET}"}}) '
                     "{ __typename } }"),
            # in arguments a resolver refuses
            document(f'{{ containers(after: "{SECRET}") {{ edges {{ cursor }} }} }}'),
            document(f'{{ metrics(target: "x", from: "{SECRET}") {{ at }} }}'),
            # too deep, too wide
            document(f'{{ me {{ {" ".join(f"a{i}: actor" for i in range(20))} }} }} '
                     f'# {SECRET}'),
            # not JSON, not an object, too big
            f'{{"query": "{SECRET}'.encode(),
            f'"{SECRET}"'.encode(),
            document(f"{{ me {{ actor }} }} #{SECRET}" + " " * (1 << 20)),
        ]
        for body in failing:
            assert post(wharf, body, owner) >= 200
        assert post(wharf, document(f"{{ me {{ actor }} }} # {SECRET}")) == 401  # anonymous
        assert post(wharf, document("{ me { actor } }"), token=SECRET) == 401  # as a token
        assert post(wharf, document(f"mutation {{ {inline} {{ __typename }} }}"),
                    owner) == 200  # and one that works
        # A GET with the document in its query string (refused: POST only).
        with socket.create_connection((address.hostname, address.port)) as sock:
            path = "/graphql?query=" + urllib.parse.quote(f"mutation {{ {inline} }}")
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                         .encode())
            while sock.recv(4096):
                pass
        # Over WebSocket: a token that is the secret, and a bad document holding it.
        ws_url = wharf.url.replace("http://", "ws://") + "/graphql"
        with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps({"type": "connection_init",
                                "payload": {"authorization": f"Bearer {owner}"}}))
            ws.recv(timeout=5)
            ws.send(json.dumps({"id": "1", "type": "subscribe",
                                "payload": {"query": f"subscription {{ {SECRET} }}"}}))
            with pytest.raises(ConnectionClosed):  # 4400: it does not parse
                ws.recv(timeout=5)
        with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps({"type": "connection_init",
                                "payload": {"authorization": f"Bearer {SECRET}"}}))
            with pytest.raises(ConnectionClosed):  # 4403
                ws.recv(timeout=5)
    log = wharf.log()
    assert "POST /graphql" in log and "refused" in log  # the log did see the requests
    assert SECRET not in log
    assert "Traceback" not in log

"""The `events` subscription over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.integration.graphql.conftest import Api, new_tenant

EVENTS = "subscription { events { position type actor summary } }"
CREATE = """mutation($name: String!) { createContainer(input: {name: $name, image: "busybox"})
  { __typename } }"""


def ws_url(api: Api) -> str:
    return api.url.replace("http://", "ws://") + "/graphql"


def receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return message


def test_a_tenant_sees_its_own_events_live(api: Api) -> None:
    _, acme = new_tenant(api, "acme")
    _, other = new_tenant(api, "other")
    with connect(ws_url(api), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"authorization": f"Bearer {acme}"}}))
        assert receive(ws)["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
        api.gql(CREATE, {"name": "elsewhere"}, token=other)
        api.gql(CREATE, {"name": "web"}, token=acme)
        seen = []
        while len(seen) < 2:
            message = receive(ws)
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["events"])
    assert [e["type"] for e in seen] == ["Tenant.ContainerReserved", "Container.Created"]
    assert all(e["actor"] == "member:owner@acme.io" for e in seen)
    assert "web" in seen[1]["summary"]


def test_a_websocket_without_a_valid_token_is_closed(api: Api) -> None:
    with connect(ws_url(api), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"authorization": "Bearer wharf_0_nope"}}))
        with pytest.raises(ConnectionClosed) as closed:
            receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

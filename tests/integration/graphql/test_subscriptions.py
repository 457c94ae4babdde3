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


def test_a_log_follower_that_falls_behind_is_told_exactly_what_it_missed(
    small_logs_api: Api,
) -> None:
    """Past the log's size limit the oldest lines go; a follower that had not read them
    yet gets a line saying how many it missed, where it missed them."""
    from wharf.domain.loglines import LogLine, normal_time

    api = small_logs_api
    _, owner = new_tenant(api, plan="s")
    made = api.gql('mutation { createContainer(input: {name: "noisy", image: "busybox"}) '
                   "{ ... on ContainerPayload { container { id } } } }", token=owner)
    cid = made["createContainer"]["container"]["id"]
    store = api.wiring.logs

    def line(n: int) -> LogLine:
        return LogLine(normal_time(f"2026-11-26T10:00:{n // 1000:02d}.{n % 1000:03d}Z"),
                       f"line {n}")

    store.append(cid, [line(n) for n in range(1, 21)])
    with connect(ws_url(api), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"authorization": f"Bearer {owner}"}}))
        assert receive(ws)["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { containerLog(id: $id, since: "
                     '"2000-01-01T00:00:00Z") { text } }', "variables": {"id": cid}}}))
        texts = [receive(ws)["payload"]["data"]["containerLog"]["text"] for _ in range(20)]
        assert texts == [f"line {n}" for n in range(1, 21)]
        store.append(cid, [line(n) for n in range(21, 1021)])  # while it waits to read
        marker = receive(ws)["payload"]["data"]["containerLog"]["text"]
        after = receive(ws)["payload"]["data"]["containerLog"]["text"]
    oldest_kept = int(after.split()[1])
    assert marker == (f"[wharf] {oldest_kept - 21} lines were dropped here before this "
                      "reader got them (over the log size limit)")
    assert oldest_kept > 21

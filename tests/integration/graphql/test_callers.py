"""Limits per caller over WebSocket and HTTP: connections, subscriptions, the rate limit,
revocation, and the bad-token back-off. Clients tell addresses apart by binding to
different 127.0.0.x source addresses."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from tests.integration.helpers import wait_for
from wharf.graphql import subscriptions
from wharf.infra.api import Limits
from wharf.infra.ratelimit import AuthFailures
from wharf.infra.sessions import SessionLimits

EVENTS = "subscription { events { position type } }"
ISSUE = """mutation($member: String) { issueToken(input: {ttlHours: 1, member: $member}) {
  __typename ... on TokenIssued { id token } } }"""


@pytest.fixture
def small_api(tmp_path: Path) -> Iterator[Api]:
    """Two WebSockets and three subscriptions per member (per address: 8 and 12)."""
    yield from _serve(f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path, dev=False,
                      limits=Limits(sessions=SessionLimits(connections_per_member=2,
                                                           subscriptions_per_member=3)))


@pytest.fixture
def strict_api(tmp_path: Path) -> Iterator[Api]:
    """One request a second per token (bursts of three); back-off after two bad tokens."""
    yield from _serve(f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path, dev=False,
                      limits=Limits(rate=1.0, burst=3), failures=AuthFailures(free=2))


def open_ws(api: Api, source: str = "127.0.0.1") -> ClientConnection:
    address = urlparse(api.url)
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect((address.hostname, address.port))
    return connect(api.url.replace("http://", "ws://") + "/graphql", sock=sock,
                   subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]


def receive(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def login(ws: ClientConnection, token: str) -> dict[str, Any]:
    ws.send(json.dumps({"type": "connection_init",
                        "payload": {"authorization": f"Bearer {token}"}}))
    return receive(ws)


def close_code(ws: ClientConnection, timeout: float = 5) -> tuple[int, str]:
    """The code and reason the server closed with (fails if it stays open)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            receive(ws, timeout)
    assert closed.value.rcvd is not None, "the server did not close"
    return closed.value.rcvd.code, closed.value.rcvd.reason


def subscribe(ws: ClientConnection, ident: str, query: str = EVENTS) -> None:
    ws.send(json.dumps({"id": ident, "type": "subscribe", "payload": {"query": query}}))


def tokens(api: Api, owner: str, count: int) -> list[str]:
    """More tokens of the owner's own."""
    issued = [api.gql(ISSUE, token=owner)["issueToken"] for _ in range(count)]
    return [t["token"] for t in issued]


def members(api: Api, tenant: str, owner: str, count: int) -> list[str]:
    """A token for each of `count` new viewers of the tenant."""
    found = []
    for i in range(count):
        email = f"viewer{i}@acme.io"
        api.gql('mutation($e: String!) { addMember(input: {email: $e, role: "viewer"}) '
                "{ __typename } }", {"e": email}, token=owner)
        found.append(api.gql("""mutation($e: String!, $t: ID!) { issueToken(input: {
            ttlHours: 1, member: $e, tenant: $t}) { ... on TokenIssued { token } } }""",
                             {"e": email, "t": tenant},
                             token=api.operator_token)["issueToken"]["token"])
    return found


def test_a_member_holds_at_most_its_connections_whatever_its_tokens(
    small_api: Api,
) -> None:
    _, owner = new_tenant(small_api)
    [again] = tokens(small_api, owner, 1)
    with ExitStack() as stack:
        for token in (owner, again):
            ws = stack.enter_context(open_ws(small_api))
            assert login(ws, token)["type"] == "connection_ack"
        third = stack.enter_context(open_ws(small_api))
        login_message = json.dumps({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {owner}"}})
        third.send(login_message)
        code, reason = close_code(third)
    assert code == 4429 and "too many WebSockets for this member" in reason


def test_an_address_holds_at_most_its_connections(small_api: Api) -> None:
    with ExitStack() as stack:
        for _ in range(8):
            stack.enter_context(open_ws(small_api, "127.0.0.2"))
        ninth = stack.enter_context(open_ws(small_api, "127.0.0.2"))
        code, reason = close_code(ninth)
        assert code == 4429 and "too many WebSockets from this address" in reason
        # Another address is not affected.
        _, owner = new_tenant(small_api)
        elsewhere = stack.enter_context(open_ws(small_api, "127.0.0.3"))
        assert login(elsewhere, owner)["type"] == "connection_ack"


def test_subscriptions_are_limited_per_member_and_per_address(small_api: Api) -> None:
    tenant, owner = new_tenant(small_api)
    [again] = tokens(small_api, owner, 1)
    viewers = members(small_api, tenant, owner, 4)
    with ExitStack() as stack:
        first = stack.enter_context(open_ws(small_api, "127.0.0.4"))
        assert login(first, owner)["type"] == "connection_ack"
        for i in range(4):
            subscribe(first, f"s{i}")
        refused = receive(first)
        assert refused["id"] == "s3" and refused["type"] == "error"
        assert "too many subscriptions for this member (at most 3)" in (
            refused["payload"][0]["message"])
        # Another token of the same member buys nothing more.
        second = stack.enter_context(open_ws(small_api, "127.0.0.4"))
        assert login(second, again)["type"] == "connection_ack"
        subscribe(second, "t")
        assert "for this member" in receive(second)["payload"][0]["message"]
        for token in viewers[:3]:  # three more members x 3: the address holds 12
            ws = stack.enter_context(open_ws(small_api, "127.0.0.4"))
            assert login(ws, token)["type"] == "connection_ack"
            for i in range(3):
                subscribe(ws, f"s{i}")
        last = stack.enter_context(open_ws(small_api, "127.0.0.4"))
        assert login(last, viewers[3])["type"] == "connection_ack"
        subscribe(last, "x")
        refused = receive(last)
        assert "too many subscriptions from this address (at most 12)" in (
            refused["payload"][0]["message"])
        # The subscriptions that were let in work: a new event reaches the first one.
        small_api.gql('mutation { createContainer(input: {name: "web", image: "busybox"}) '
                      "{ __typename } }", token=owner)
        assert receive(first)["type"] == "next"


def test_the_rate_limit_covers_websocket_operations(strict_api: Api) -> None:
    _, owner = new_tenant(strict_api)
    with open_ws(strict_api) as ws:
        assert login(ws, owner)["type"] == "connection_ack"  # the first of three
        subscribe(ws, "a")
        subscribe(ws, "b")
        subscribe(ws, "c")
        refused = receive(ws)
        assert refused["id"] == "c" and refused["type"] == "error"
        assert "too many requests from this member" in refused["payload"][0]["message"]


def test_revoking_a_token_closes_its_subscriptions_within_a_second(small_api: Api) -> None:
    _, owner = new_tenant(small_api)
    issued = small_api.gql(ISSUE, token=owner)["issueToken"]
    with open_ws(small_api) as ws:
        assert login(ws, issued["token"])["type"] == "connection_ack"
        subscribe(ws, "e")
        small_api.gql('mutation($id: ID!) { revokeToken(input: {id: $id}) { __typename } }',
                      {"id": issued["id"]}, token=owner)
        code, reason = close_code(ws, timeout=1.5)
    assert code == 4403 and "no longer valid" in reason


def test_removing_a_member_closes_their_subscriptions(small_api: Api) -> None:
    tenant, owner = new_tenant(small_api)
    small_api.gql('mutation { addMember(input: {email: "dev@acme.io", role: "viewer"}) '
                  "{ __typename } }", token=owner)
    dev = small_api.gql("""mutation($t: ID!) { issueToken(input: {ttlHours: 1,
        member: "dev@acme.io", tenant: $t}) { ... on TokenIssued { token } } }""",
                        {"t": tenant}, token=small_api.operator_token)["issueToken"]["token"]
    with open_ws(small_api) as owners, open_ws(small_api) as devs:
        assert login(owners, owner)["type"] == "connection_ack"
        assert login(devs, dev)["type"] == "connection_ack"
        subscribe(owners, "o")
        subscribe(devs, "d")
        small_api.gql('mutation { removeMember(input: {email: "dev@acme.io"}) '
                      "{ __typename } }", token=owner)
        assert receive(owners)["type"] == "next"  # the owner sees the removal
        code, _reason = close_code(devs, timeout=1.5)
        assert code == 4403


def test_failed_websocket_logins_count_toward_the_back_off(strict_api: Api) -> None:
    with open_ws(strict_api, "127.0.0.5") as ws:  # a token that proves good
        assert login(ws, strict_api.operator_token)["type"] == "connection_ack"
    for _ in range(2):
        with open_ws(strict_api, "127.0.0.5") as ws:
            ws.send(json.dumps({"type": "connection_init",
                                "payload": {"authorization": "Bearer wharf_0_bad"}}))
            assert close_code(ws)[0] == 4403
    with open_ws(strict_api, "127.0.0.5") as ws:
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"authorization": "Bearer wharf_0_bad"}}))
        code, reason = close_code(ws)
    assert code == 4429 and "too many bad tokens" in reason
    # A token that proved good gets in from that address: a neighbour is not locked out.
    with open_ws(strict_api, "127.0.0.5") as ws:
        assert login(ws, strict_api.operator_token)["type"] == "connection_ack"
    # Bad ones are refused over HTTP too, without being looked up.
    assert strict_api.post("{ me { actor } }", token="wharf_0_bad",
                           source="127.0.0.5")[0] == 429


def test_invalid_protocol_messages_close_the_connection_cleanly(small_api: Api) -> None:
    _, owner = new_tenant(small_api)
    for bad in ("123", "[]", '{"type": 5}',
                '{"id": "1", "type": "subscribe", "payload": "x"}',
                '{"id": "1", "type": "subscribe", "payload": {"query": 1}}'):
        with open_ws(small_api) as ws:
            assert login(ws, owner)["type"] == "connection_ack"
            ws.send(bad)
            code, _reason = close_code(ws)
            assert code == 4400, bad
    assert small_api.get("/healthz") == (200, "ok")


def test_forwarded_addresses_do_not_escape_the_back_off(strict_api: Api) -> None:
    """X-Forwarded-For is believed only from configured proxies (none by default)."""
    answers = [strict_api.post("{ me { actor } }", token="wharf_0_bad",
                               headers={"X-Forwarded-For": f"10.0.0.{i}"})
               for i in range(3)]
    assert [status for status, _ in answers] == [401, 401, 429]


@pytest.fixture
def proxied_api(tmp_path: Path) -> Iterator[Api]:
    """Behind a proxy on 127.0.0.1 that forwards its clients' addresses."""
    yield from _serve(f"sqlite:///{tmp_path / 'wharf.db'}", tmp_path, dev=False,
                      failures=AuthFailures(free=2), WHARF_TRUSTED_PROXIES="127.0.0.1")


def test_a_configured_proxy_forwards_its_clients_addresses(proxied_api: Api) -> None:
    def bad(client: str) -> int:
        return proxied_api.post("{ me { actor } }", token="wharf_0_bad",
                                headers={"X-Forwarded-For": client})[0]

    assert [bad("10.0.0.1") for _ in range(3)] == [401, 401, 429]
    assert bad("10.0.0.2") == 401  # another client of the proxy is another address


def test_a_bad_tokens_answer_never_says_what_was_wrong_with_it(api: Api) -> None:
    _, owner = new_tenant(api)
    issued = api.gql(ISSUE, token=owner)["issueToken"]
    api.gql('mutation($id: ID!) { revokeToken(input: {id: $id}) { __typename } }',
            {"id": issued["id"]}, token=owner)
    ident = issued["token"].split("_")[1]
    answers = [api.post("{ me { actor } }", token=bad)
               for bad in (issued["token"],  # revoked
                           f"wharf_{ident}_wrongsecret",  # right id, wrong secret
                           "wharf_" + "0" * 32 + "_x",  # unknown
                           "wharf_nope", "x" * 5000)]  # malformed
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    assert {status for status, _ in answers} == {401}


def test_one_tenants_subscribers_are_not_woken_by_another_tenants_events(
    small_api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each `events` subscriber is woken by its own tenant's news only: 3 subscribers
    of acme read nothing while globex writes, and each gets acme's own event. (Their
    periodic wake is put off past the test: under load it fell among globex's writes.)"""
    monkeypatch.setattr(subscriptions, "WAKE_EVERY", 120.0)
    acme_id, acme = new_tenant(small_api, "acme")
    _, globex = new_tenant(small_api, "globex")
    view = small_api.wiring.view
    original = view.query
    reads: list[str] = []

    def counting(sql: str, params: Any = ()) -> Any:
        if "FROM rm_audit" in sql and acme_id in params:
            reads.append(sql)
        return original(sql, params)

    view.query = counting  # type: ignore[method-assign]
    try:
        with open_ws(small_api) as ws:
            assert login(ws, acme)["type"] == "connection_ack"
            for i in range(3):
                subscribe(ws, f"s{i}")
            # Each subscriber reads once (nothing yet), then once or twice when acme's
            # first write wakes it (its two events may come as two wakes) and once more
            # (nothing): nine reads at least before it waits.
            small_api.gql('mutation { createContainer(input: {name: "first", '
                          'image: "busybox"}) { __typename } }', token=acme)
            first = [receive(ws) for _ in range(6)]  # two events, three subscribers
            assert sorted(m["id"] for m in first) == sorted(f"s{i}" for i in range(3)
                                                            for _ in range(2))
            wait_for("every subscriber waiting again", lambda: len(reads) >= 9)
            reads.clear()
            for i in range(10):
                small_api.gql('mutation($n: String!) { createContainer(input: {name: $n, '
                              'image: "busybox"}) { __typename } }', {"n": f"g{i}"},
                              token=globex)
            # (Each would have read ten times before; at most a subscriber's last read
            # after acme's own first events may fall here.)
            assert len(reads) <= 3, reads
            small_api.gql('mutation { createContainer(input: {name: "mine", '
                          'image: "busybox"}) { __typename } }', token=acme)
            got = [receive(ws) for _ in range(6)]  # two events, three subscribers
    finally:
        view.query = original  # type: ignore[method-assign]
    seen = sorted((m["id"], m["payload"]["data"]["events"]["type"]) for m in got)
    assert seen == sorted((f"s{i}", kind) for i in range(3)
                          for kind in ("Tenant.ContainerReserved", "Container.Created"))


def test_a_websocket_names_its_chain_as_a_post_does(api: Api) -> None:
    """Wharf-Correlation-Id on the upgrade request: the mutations sent over the socket
    carry it; a bad one closes the socket (4400) before anything is written."""
    from uuid import UUID

    _, owner = new_tenant(api)
    url = api.url.replace("http://", "ws://") + "/graphql"
    create = ('mutation { createContainer(input: {name: "web", image: "busybox"}) '
              '{ ... on ContainerPayload { container { id } } } }')
    with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={"Wharf-Correlation-Id": "ws-deploy-1"}) as ws:
        assert login(ws, owner)["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": create}}))
        answer = receive(ws)
    made = answer["payload"]["data"]["createContainer"]["container"]["id"]
    events = list(api.wiring.app.repository.event_store.get(UUID(made)))
    assert [e.correlation for e in events] == ["ws-deploy-1"]
    head = api.wiring.app.recorder.max_notification_id()
    with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={"Wharf-Correlation-Id": "bad value!"}) as ws:
        assert close_code(ws)[0] == 4400
    assert api.wiring.app.recorder.max_notification_id() == head

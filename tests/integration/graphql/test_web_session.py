"""Signing in to the dashboard: passwords, invitations, the session cookie and its CSRF
token, over a real Wharf API."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra import passwords
from wharf.infra.api import Limits

PASSWORD = "correct horse battery"
ME = "{ me { actor kind role tenant { name } } }"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _serve(f"sqlite:///{tmp_path / 'web.db'}", tmp_path, dev=False,
                      limits=Limits(rate=1000.0, burst=1000))


class Browser:
    """What a browser does: keeps the cookie, sends its Origin."""

    def __init__(self, api: Api, origin: str | None = None, source: str = "127.0.0.1") -> None:
        self.api = api
        self.source = source
        self.address = urlparse(api.url)
        self.origin = origin if origin is not None else api.url
        self.cookie: str | None = None
        self.csrf: str | None = None
        self.set_cookie: str = ""

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        sent = {"Origin": self.origin, **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        if self.cookie:
            sent["Cookie"] = f"wharf_session={self.cookie}"
        connection = http.client.HTTPConnection(self.address.hostname, self.address.port,
                                                timeout=30, source_address=(self.source, 0))
        try:
            data = body if isinstance(body, bytes) or body is None else json.dumps(body)
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
            self.set_cookie = response.headers.get("Set-Cookie") or ""
        finally:
            connection.close()
        if self.set_cookie:
            jar: SimpleCookie = SimpleCookie()
            jar.load(self.set_cookie)
            if "wharf_session" in jar:
                self.cookie = jar["wharf_session"].value or None
        answer: dict[str, Any] = json.loads(text) if text else {}
        if isinstance(answer.get("csrf"), str):
            self.csrf = answer["csrf"]
        return response.status, answer

    def sign_in(self, email: str, password: str, tenant: str = "acme"
                ) -> tuple[int, dict[str, Any]]:
        return self.request("POST", "/session",
                            {"email": email, "password": password, "tenant": tenant})

    def graphql(self, query: str, variables: dict[str, Any] | None = None,
                csrf: bool = True) -> tuple[int, dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf or ""} if csrf else {}
        return self.request("POST", "/graphql", {"query": query, "variables": variables or {}},
                            headers)


def set_password(api: Api, token: str, email: str, password: str = PASSWORD) -> str:
    data = api.gql("""mutation($e: String!, $p: String!) { setPassword(input:
        {email: $e, password: $p}) { __typename ... on InvalidInput { field message } } }""",
                   {"e": email, "p": password}, token=token)
    typename: str = data["setPassword"]["__typename"]
    return typename


def operator_password(api: Api, email: str, password: str = PASSWORD) -> None:
    """As `wharf password EMAIL` on Wharf's machine sets it (the API sets one's own)."""
    hashed = passwords.hash_here(password)
    api.wiring.app.handle(m.SetPassword(actor=Actor.operator("root"), tenant_id=None,
                                        email=email, password_hash=hashed, from_shell=True))


def test_a_member_signs_in_with_a_password_and_the_cookie_needs_its_csrf_token(api: Api):
    _, owner = new_tenant(api, "acme")
    assert set_password(api, owner, "owner@acme.io") == "MemberPayload"
    browser = Browser(api)

    status, answer = browser.sign_in("Owner@Acme.io", PASSWORD)
    assert status == 200, answer
    assert answer["me"]["email"] == "owner@acme.io" and not answer["me"]["operator"]
    cookie = browser.set_cookie.lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert browser.cookie and browser.cookie not in json.dumps(answer)  # (never readable)

    status, answer = browser.graphql(ME)
    assert status == 200 and answer["data"]["me"] == {
        "actor": "member:owner@acme.io", "kind": "member", "role": "owner",
        "tenant": {"name": "acme"}}, answer
    # Without the CSRF token, or with another session's, the cookie buys nothing.
    status, answer = browser.graphql(ME, csrf=False)
    assert status == 403 and "X-CSRF-Token" in answer["errors"][0]["message"]
    status, _ = browser.request("POST", "/graphql", {"query": ME},
                                {"X-CSRF-Token": "0" * 32})
    assert status == 403
    status, _ = browser.request("POST", "/graphql", {"query": ME},
                                {"X-CSRF-Token": "é" * 32})  # (not ASCII: no 500)
    assert status == 403
    # Another site's page, even with the token: refused by its Origin.
    evil = Browser(api, origin="http://evil.example")
    evil.cookie, evil.csrf = browser.cookie, browser.csrf
    status, _ = evil.graphql(ME)
    assert status == 403
    # A reloaded page asks who it is, and gets the same CSRF token again.
    csrf, browser.csrf = browser.csrf, None
    status, answer = browser.request("GET", "/session")
    assert status == 200 and answer["csrf"] == csrf and answer["me"]["email"] == "owner@acme.io"


def test_wrong_passwords_unknown_members_and_tenants_get_the_same_answer(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    answers = [Browser(api).sign_in(*attempt) for attempt in (
        ("owner@acme.io", "wrong password!"), ("nobody@acme.io", PASSWORD),
        ("owner@acme.io", PASSWORD, "other"), ("owner@acme.io", PASSWORD, ""))]
    assert {(status, answer["errors"][0]["message"]) for status, answer in answers} == {
        (401, "wrong e-mail, password or tenant")}


def test_sign_in_attempts_are_limited_per_account(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    statuses = [Browser(api).sign_in("owner@acme.io", f"guess number {i}")[0]
                for i in range(6)]
    assert statuses == [401] * 5 + [429]
    status, answer = Browser(api).sign_in("owner@acme.io", PASSWORD)  # (even the right one)
    assert status == 429 and "retry later" in answer["errors"][0]["message"]


def test_sign_in_takes_json_from_this_origin_only(api: Api):
    new_tenant(api, "acme")
    status, answer = Browser(api).request(
        "POST", "/session", b"email=a&password=b", {"Content-Type": "text/plain"})
    assert status == 415 and "JSON" in answer["errors"][0]["message"]
    status, _ = Browser(api, origin="http://evil.example").sign_in("a@b.io", PASSWORD)
    assert status == 403
    for body in (b"[]", b"{", json.dumps({"email": 5}).encode()):
        status, answer = Browser(api).request("POST", "/session", body)
        assert status == 400, (body, answer)


def test_signing_out_revokes_the_session(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    browser = Browser(api)
    browser.sign_in("owner@acme.io", PASSWORD)
    kept = browser.cookie
    assert browser.request("POST", "/session/sign-out", {}, {"X-CSRF-Token": "x"})[0] == 403
    status, _ = browser.request("POST", "/session/sign-out", {},
                                {"X-CSRF-Token": browser.csrf or ""})
    assert status == 200 and "wharf_session=\"\"" in browser.set_cookie
    browser.cookie = kept  # (a copy of the cookie kept from before is dead too)
    status, answer = browser.graphql(ME)
    assert status == 401, answer
    assert browser.request("GET", "/session")[0] == 401


def test_an_invitation_sets_a_password_once_and_dies_with_the_membership(api: Api):
    _, owner = new_tenant(api, "acme")
    data = api.gql("""mutation { inviteMember(input: {email: "Dev@Acme.io", role: "developer"})
        { ... on InvitationSent { email link } } }""", token=owner)
    sent = data["inviteMember"]
    assert sent["email"] == "dev@acme.io" and sent["link"].startswith("/#/invitation/")
    code = sent["link"].removeprefix("/#/invitation/")
    members = api.gql("{ members { email role } }", token=owner)["members"]
    assert {"email": "dev@acme.io", "role": "developer"} in members

    browser = Browser(api)
    status, answer = browser.request("POST", "/session/invitation",
                                     {"invitation": code, "password": "short"})
    assert status == 400 and answer["errors"][0]["field"] == "password"
    status, answer = browser.request("POST", "/session/invitation",
                                     {"invitation": code[:-2] + "xx", "password": PASSWORD})
    assert status == 403 and "used, expired or withdrawn" in answer["errors"][0]["message"]
    status, answer = browser.request("POST", "/session/invitation",
                                     {"invitation": code, "password": PASSWORD})
    assert status == 200 and answer["me"]["email"] == "dev@acme.io"
    assert browser.graphql(ME)[1]["data"]["me"]["actor"] == "member:dev@acme.io"
    status, _ = Browser(api).request("POST", "/session/invitation",
                                     {"invitation": code, "password": "another password"})
    assert status == 403  # (used)
    assert Browser(api).sign_in("dev@acme.io", PASSWORD)[0] == 200

    # Removed, the member's session and password die; added again, the old password
    # does not come back.
    api.gql('mutation { removeMember(input: {email: "dev@acme.io"}) { __typename } }',
            token=owner)
    assert browser.graphql(ME)[0] == 401
    assert Browser(api).sign_in("dev@acme.io", PASSWORD)[0] == 401
    api.gql('mutation { addMember(input: {email: "dev@acme.io", role: "viewer"}) '
            '{ __typename } }', token=owner)
    assert Browser(api).sign_in("dev@acme.io", PASSWORD)[0] == 401


def test_an_operator_signs_in_without_a_tenant(api: Api):
    # Over the API an operator sets their own password only: another's would be a
    # backdoor that outlives the token it was set with.
    assert set_password(api, api.operator_token, "ops@wharf.io") == "Forbidden"
    operator_password(api, "ops@wharf.io")
    browser = Browser(api)
    status, answer = browser.sign_in("ops@wharf.io", PASSWORD, tenant="")
    assert status == 200 and answer["me"]["operator"], answer
    status, answer = browser.graphql("{ tenants { edges { node { name } } } }")
    assert status == 200 and "errors" not in answer, answer
    # A member cannot set an operator's password (no tenant means their own).
    _, owner = new_tenant(api, "acme")
    assert set_password(api, owner, "ops@wharf.io") == "NotFound"


def test_hashes_never_reach_the_audit_trail(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    sent = api.gql('mutation { inviteMember(input: {email: "x@acme.io"}) '
                   '{ ... on InvitationSent { position } } }', token=owner)
    _, answer = api.post("{ auditLog(first: 20) { edges { node { summary } } } }",
                         token=owner, headers={
                             "Wharf-Min-Position": str(sent["inviteMember"]["position"])})
    entries = answer["data"]["auditLog"]["edges"]
    summaries = [edge["node"]["summary"] for edge in entries]
    assert "password set for owner@acme.io" in summaries, summaries
    assert any(s.startswith("invitation sent to x@acme.io") for s in summaries), summaries
    assert not any("argon2" in s for s in summaries)


def test_a_websocket_takes_the_cookie_from_this_origin_only(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    browser = Browser(api)
    browser.sign_in("owner@acme.io", PASSWORD)
    url = api.url.replace("http", "ws") + "/graphql"
    headers = {"Cookie": f"wharf_session={browser.cookie}"}
    with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={**headers, "Origin": api.url}) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(10))["type"] == "connection_ack"
    with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                 additional_headers={"Origin": api.url}) as ws:  # (no cookie: no entry)
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with pytest.raises(InvalidStatus) as refused:  # (strawberry's check, before Wharf's)
        connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers={**headers, "Origin": "http://evil.example"})
    assert refused.value.response.status_code == 403


def test_the_platform_stream_the_log_position_and_the_runtime_are_the_operators_only(api: Api):
    _, owner = new_tenant(api, "acme")
    for query in ("{ logPosition }", "{ runtime }"):
        _, answer = api.post(query, token=owner)
        assert answer["errors"][0]["message"] == "operators only", answer
    assert api.gql("{ runtime }", token=api.operator_token)["runtime"] == "direct"
    head = api.gql("{ logPosition }", token=api.operator_token)["logPosition"]
    assert head > 0
    url = api.url.replace("http", "ws") + "/graphql"

    def first(token: str) -> dict[str, Any]:
        with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            ws.send(json.dumps({"type": "connection_init",
                                "payload": {"authorization": f"Bearer {token}"}}))
            assert json.loads(ws.recv(10))["type"] == "connection_ack"
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": f"subscription {{ platformEvents(after: {head - 3}) "
                         "{ position tenantId summary } }"}}))
            message: dict[str, Any] = json.loads(ws.recv(10))
            return message

    refused = first(owner)
    assert refused["type"] == "next" and refused["payload"]["errors"][0]["message"] == (
        "operators only"), refused
    seen = first(api.operator_token)["payload"]["data"]["platformEvents"]
    assert head - 3 < seen["position"] <= head, seen  # (after the one asked for)


INVITE = """mutation($e: String!, $r: String) { inviteMember(input: {email: $e, role: $r}) {
  __typename ... on InvitationSent { link } ... on Conflict { message } } }"""


def invite(api: Api, owner: str, email: str, role: str | None = None) -> str:
    sent = api.gql(INVITE, {"e": email, "r": role}, token=owner)["inviteMember"]
    assert sent["__typename"] == "InvitationSent", sent
    link: str = sent["link"]
    return link.removeprefix("/#/invitation/")


def accept(api: Api, code: str, password: str) -> int:
    return Browser(api).request("POST", "/session/invitation",
                                {"invitation": code, "password": password})[0]


def test_only_the_newest_invitation_sets_a_password_and_a_reset_withdraws_it(api: Api):
    _, owner = new_tenant(api, "acme")
    first, second = invite(api, owner, "d@acme.io"), invite(api, owner, "d@acme.io")
    assert accept(api, first, "taken over by an old link") == 403  # (withdrawn by second)
    assert accept(api, second, PASSWORD) == 200
    third = invite(api, owner, "d@acme.io")
    assert set_password(api, owner, "d@acme.io", "the owner's reset") == "MemberPayload"
    assert accept(api, third, "taken over after a reset") == 403
    assert Browser(api).sign_in("d@acme.io", "the owner's reset")[0] == 200
    # An invitation for a member keeps their role: asking for another is refused.
    sent = api.gql(INVITE, {"e": "owner@acme.io", "r": "viewer"}, token=owner)["inviteMember"]
    assert sent["__typename"] == "Conflict" and "already a member, as owner" in sent["message"]


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    before, kept = Browser(api), Browser(api)
    before.sign_in("owner@acme.io", PASSWORD)
    kept_token = api.gql('mutation { issueToken(input: {ttlHours: 1}) '
                         '{ ... on TokenIssued { token } } }', token=owner)
    assert before.graphql(ME)[0] == 200
    set_password(api, owner, "owner@acme.io", "a brand new password")
    status, answer = before.graphql(ME)
    assert status == 401, answer  # (the session signed in with the old password)
    assert kept.sign_in("owner@acme.io", "a brand new password")[0] == 200
    assert kept.graphql(ME)[0] == 200
    # An API token is not a session: it goes on.
    token = kept_token["issueToken"]["token"]
    assert api.gql("{ me { kind } }", token=token)["me"]["kind"] == "member"


def test_a_stranger_cannot_lock_a_member_out_of_the_address_they_use(api: Api):
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    member = Browser(api)
    assert member.sign_in("owner@acme.io", PASSWORD)[0] == 200  # (from 127.0.0.1)

    def guess(source: str, attempt: int) -> int:
        status, _ = Browser(api, source=source).sign_in("owner@acme.io", f"guess {attempt}!!")
        return status

    # Guesses from many addresses: each gets five, and the account twenty in all from
    # addresses it never signed in from (its own first sign-in was one of them).
    statuses = [guess(f"127.0.0.{2 + i // 5}", i) for i in range(25)]
    assert statuses[:19] == [401] * 19 and statuses[-4:] == [429] * 4, statuses
    assert guess("127.0.0.50", 99) == 429  # (a new address: the account is held back)
    assert member.sign_in("owner@acme.io", PASSWORD)[0] == 200  # (its own: never)


def test_sign_in_refuses_text_no_store_can_hold_and_is_never_cached(api: Api):
    new_tenant(api, "acme")
    for field in ("email", "password", "tenant"):
        body = {"email": "a@acme.io", "password": PASSWORD, "tenant": "acme"}
        raw = json.dumps(body).replace(json.dumps(body[field]), '"\\ud800x"')
        status, answer = Browser(api).request("POST", "/session", raw.encode())
        assert status == 400 and field in answer["errors"][0]["message"], (field, answer)
    status, _ = Browser(api).request("POST", "/session/invitation", json.dumps(
        {"invitation": "ab_\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
         "password": PASSWORD}).encode())
    assert status in (400, 403)
    browser = Browser(api)
    browser.request("GET", "/session")
    connection = http.client.HTTPConnection(browser.address.hostname, browser.address.port)
    connection.request("GET", "/session")
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 401 and response.headers["Cache-Control"] == "no-store"
    # Another scheme is another origin.
    other = Browser(api, origin=api.url.replace("http://", "https://"))
    assert other.sign_in("a@acme.io", PASSWORD)[0] == 403


def test_a_token_made_from_a_session_ends_with_its_password(api: Api):
    tenant, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    browser = Browser(api)
    browser.sign_in("owner@acme.io", PASSWORD)
    _, answer = browser.graphql('mutation { issueToken(input: {ttlHours: 8700, name: "ci"}) '
                                '{ ... on TokenIssued { token } } }')
    minted = answer["data"]["issueToken"]["token"]
    assert api.gql("{ me { kind } }", token=minted)["me"]["kind"] == "member"
    set_password(api, owner, "owner@acme.io", "a brand new password")
    status, _ = api.post("{ me { kind } }", token=minted)
    assert status == 401  # (whoever held the session made it: it goes with the session)
    # A session issues tokens for its own member only: an operator's session cannot
    # mint a member's token that its password would not end.
    operator_password(api, "ops@wharf.io")
    ops = Browser(api)
    ops.sign_in("ops@wharf.io", PASSWORD, tenant="")
    _, answer = ops.graphql("""mutation($t: ID!) { issueToken(input: {ttlHours: 1,
        member: "owner@acme.io", tenant: $t}) { __typename ... on Forbidden { message } } }""",
                            {"t": tenant})
    assert answer["data"]["issueToken"]["__typename"] == "Forbidden", answer


def test_an_origin_that_is_not_a_url_is_refused_not_a_server_error(api: Api):
    new_tenant(api, "acme")
    status, answer = Browser(api, origin="http://[").sign_in("a@acme.io", PASSWORD)
    assert status == 403 and answer["errors"][0]["message"] == "cross-site request refused"
    browser = Browser(api, origin="http://[")
    browser.cookie, browser.csrf = "wharf_x_y", "z"
    assert browser.graphql(ME)[0] == 403

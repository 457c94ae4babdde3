"""The registry's token server and notifications endpoint, asked as docker and hostile
callers would ask them (no registry process needed: the tokens are read back here)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from tests.integration.graphql.conftest import Api, new_tenant
from wharf.infra.registry import notify_secret, signer_of

ISSUE_MEMBER_TOKEN = """mutation($tenant: ID!) { addMember(input: {email: "v@acme.io",
  role: "viewer", tenant: $tenant}) { __typename } }"""


def ask(api: Api, query: str, password: str | None = None,
        user: str = "anyone") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{api.url}/registry/token?{query}")
    if password is not None:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def access(api: Api, answer: dict[str, Any]) -> list[dict[str, Any]]:
    wiring = api.wiring
    claims = signer_of(wiring.settings.home, wiring.app.clock).read(answer["token"],
                                                                    wiring.app.clock.now())
    found: list[dict[str, Any]] = claims["access"]
    return found


def scope(*scopes: str) -> str:
    return "service=wharf-registry&" + "&".join(f"scope={s}" for s in scopes)


def test_each_caller_is_granted_its_own_namespace_and_public_pulls(api: Api) -> None:
    _, acme = new_tenant(api, "acme")
    _, rival = new_tenant(api, "rival")
    wanted = scope("repository:acme/web:pull,push", "repository:library/base:pull,push",
                   "repository:rival/db:pull", "registry:catalog:*")
    status, answer = ask(api, wanted, acme)
    assert status == 200 and answer["token"] == answer["access_token"]
    assert answer["expires_in"] == 300
    assert access(api, answer) == [
        {"type": "repository", "name": "acme/web", "actions": ["pull", "push"]},
        {"type": "repository", "name": "library/base", "actions": ["pull"]},
    ]
    assert access(api, ask(api, wanted, rival)[1]) == [
        {"type": "repository", "name": "library/base", "actions": ["pull"]},
        {"type": "repository", "name": "rival/db", "actions": ["pull"]},
    ]
    # Nobody signed in: public pulls only.
    status, anonymous = ask(api, wanted)
    assert status == 200 and access(api, anonymous) == [
        {"type": "repository", "name": "library/base", "actions": ["pull"]}]
    # An operator: pushes to library, pulls anywhere, the catalog.
    assert access(api, ask(api, wanted, api.operator_token)[1]) == [
        {"type": "repository", "name": "acme/web", "actions": ["pull"]},
        {"type": "repository", "name": "library/base", "actions": ["pull", "push"]},
        {"type": "repository", "name": "rival/db", "actions": ["pull"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    # `docker login` asks with no scope: a good password gets a token that grants nothing.
    status, login = ask(api, "service=wharf-registry&account=x&offline_token=true", acme)
    assert status == 200 and access(api, login) == []


def test_a_suspended_tenant_pulls_its_images_and_pushes_none(api: Api) -> None:
    tenant_id, acme = new_tenant(api, "acme")
    api.gql("""mutation($id: ID!) { suspendTenant(input: {id: $id}) { __typename } }""",
            {"id": tenant_id}, token=api.operator_token)
    assert access(api, ask(api, scope("repository:acme/web:pull,push"), acme)[1]) == [
        {"type": "repository", "name": "acme/web", "actions": ["pull"]}]


def test_a_viewer_pulls_but_does_not_push(api: Api) -> None:
    tenant_id, _ = new_tenant(api, "acme")
    api.gql(ISSUE_MEMBER_TOKEN, {"tenant": tenant_id}, token=api.operator_token)
    issued = api.gql("""mutation($tenant: ID!) { issueToken(input: {ttlHours: 1,
      member: "v@acme.io", tenant: $tenant}) { ... on TokenIssued { token } } }""",
                     {"tenant": tenant_id}, token=api.operator_token)
    viewer = issued["issueToken"]["token"]
    assert access(api, ask(api, scope("repository:acme/web:pull,push,delete"), viewer)[1]) \
        == [{"type": "repository", "name": "acme/web", "actions": ["pull"]}]


def test_bad_credentials_and_bad_requests_are_refused_plainly(api: Api) -> None:
    for password in ("", "wharf_0123_nope", "x" * 5000, "\u00e9t\u00e9"):
        status, answer = ask(api, scope("repository:acme/web:pull"), password)
        assert status in (401, 429), (password, status)
        assert "token" not in answer
    assert ask(api, "service=someone-else")[0] == 400
    assert ask(api, "service=wharf-registry&scope=" + "a" * 5000)[0] == 400
    # A malformed header is a bad password, not a server error.
    request = urllib.request.Request(f"{api.url}/registry/token",
                                     headers={"Authorization": "Basic %%%not-base64"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as error:
        assert error.code in (401, 429)


def post_events(api: Api, body: bytes, secret: str | None) -> int:
    request = urllib.request.Request(f"{api.url}/registry/events", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    if secret is not None:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_only_the_registry_may_post_notifications(api: Api) -> None:
    secret = notify_secret(api.wiring.settings.home)
    envelope = json.dumps({"events": [{"action": "push", "target": {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "repository": "acme/web", "tag": "1", "digest": "sha256:" + "a" * 64}}]}).encode()
    assert post_events(api, envelope, None) == 401
    assert post_events(api, envelope, "guess") == 401
    assert post_events(api, b"{not json", secret) == 400
    assert post_events(api, b'{"events": 3}', secret) == 400
    assert post_events(api, b"[" * 2_000_000, secret) == 413
    assert post_events(api, b"[" * 50_000 + b"]" * 50_000, secret) == 400  # (too deep)
    # A well-formed one whose manifest cannot be read (no registry runs here) is taken
    # and not recorded: the reconcile will find what is really there.
    assert post_events(api, envelope, secret) == 200
    head = api.wiring.app.recorder.max_notification_id()
    assert post_events(api, json.dumps({"events": [{"action": "push", "target": "x"},
                                                   "junk", {"target": None}]}).encode(),
                       secret) == 200
    assert api.wiring.app.recorder.max_notification_id() == head

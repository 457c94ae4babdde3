"""The registry's two ways into Wharf: the token server (`GET /registry/token`, what
`docker login`, `docker pull` and `docker push` ask) and the notifications endpoint
(`POST /registry/events`, where the registry tells of pushes and deletes).

The token server follows distribution's token authentication: Basic credentials whose
password is a Wharf API token (any user name), or none (anonymous: public pulls only);
each requested scope is granted only the actions domain/registry.py allows, and a scope
granted nothing is left out of the token (the registry then answers 401/403 for it, and
nothing says whether the repository exists). Callers are held to the API's rate limits
and bad-token back-off (gate.py).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import anyio.to_thread
from eventsourcing.application import AggregateNotFoundError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.domain.errors import DomainError
from wharf.domain.mirror import Mirror
from wharf.domain.registry import MIRRORED, Caller, granted, parse_scopes
from wharf.domain.tenant import Tenant
from wharf.infra.gate import Admitted, Gate, token_key
from wharf.infra.http_guard import BadRequest, client_address, read_body
from wharf.infra.registry import MANIFEST_TYPES, RegistryClient, RegistryError
from wharf.infra.registry_tokens import SERVICE, TTL, Access, TokenSigner

log = logging.getLogger(__name__)

MAX_EVENTS_BODY = 1 << 20  # bytes of one notification envelope
MAX_QUERY = 4096  # characters of a token request's query string
SYSTEM = Actor.system("registry")


def _denied(status: int, message: str, retry_after: str | None = None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return JSONResponse({"errors": [{"code": "UNAUTHORIZED" if status == 401 else "DENIED",
                                     "message": message}]}, status, headers=headers)


def _mirror_of(service: str) -> UUID | None:
    prefix, _, ident = service.partition("wharf-mirror-")
    if prefix:
        return None
    try:
        return UUID(ident)
    except ValueError:
        return None


def _basic_password(header: str | None) -> str | None:
    """The password of a Basic Authorization header ("" when malformed), or None when
    there is no header (an anonymous caller)."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


class TokenServer:
    def __init__(self, app: Wharf, gate: Gate, signer: TokenSigner) -> None:
        self.app = app
        self.gate = gate
        self.signer = signer

    def caller_of(self, actor: Actor) -> Caller:
        if actor.is_operator:
            return Caller(operator=True)
        assert actor.tenant_id is not None
        tenant: Any = self.app.repository.get(actor.tenant_id)
        # A suspended tenant pulls what it has, and pushes nothing (as it runs nothing).
        role = tenant.members.get(actor.name, "") if tenant.status == "active" else "viewer"
        return Caller(tenant=tenant.name, role=role)

    def may_pull_through(self, mirror_id: UUID, caller: Caller) -> bool:
        """The platform's mirrors serve everyone; a tenant's, its members (and operators)."""
        try:
            mirror: Any = self.app.repository.get(mirror_id)
        except AggregateNotFoundError:
            return False
        if not isinstance(mirror, Mirror) or mirror.deleted:
            return False
        if mirror.tenant_id is None or caller.operator:
            return True
        return bool(caller.tenant) and Tenant.id_for(caller.tenant) == mirror.tenant_id

    async def token(self, request: Request) -> Response:
        address = client_address(request.scope)
        if len(request.url.query) > MAX_QUERY:
            return _denied(400, "query too long")
        service = request.query_params.get("service", SERVICE)
        mirror_id = _mirror_of(service)
        if service != SERVICE and mirror_id is None:
            return _denied(400, f"service: {SERVICE}, or a mirror's")
        password = _basic_password(request.headers.get("authorization"))
        subject, caller = "anonymous", Caller()
        if password is None:
            wait = self.gate.buckets.take(f"anonymous:{address}")
            if wait:
                return _denied(429, "too many requests; retry later", str(max(1, int(wait))))
        else:
            answer = await self.gate.admit(address, f"Bearer {password}")
            if not isinstance(answer, Admitted):
                return _denied(answer.status, "sign in with a Wharf API token as the "
                               "password" if answer.status == 401 else answer.message,
                               answer.retry_after_header if answer.status == 429 else None)
            subject = answer.actor.label
            try:
                caller = await anyio.to_thread.run_sync(self.caller_of, answer.actor)
            except Exception:  # (the tenant went between the two reads)
                log.warning("registry token for %s: its tenant is gone", token_key(password))
                return _denied(401, "sign in with a Wharf API token as the password")
        scopes = parse_scopes(request.query_params.getlist("scope"))
        now = self.app.clock.now()
        if mirror_id is not None:  # a pull-through mirror: pulls only, by its owners
            through = await anyio.to_thread.run_sync(self.may_pull_through, mirror_id, caller)
            access = [Access("repository", s.name, ("pull",)) for s in scopes
                      if through and s.type == "repository" and "pull" in s.actions
                      and MIRRORED.fullmatch(s.name)]
            token = self.signer.issue(subject, access, now, audience=service)
            return JSONResponse({"token": token, "access_token": token, "expires_in": TTL,
                                 "issued_at": now.isoformat()})
        access = []
        for scope in scopes:
            if scope.type == "registry":
                if caller.operator and scope.name == "catalog":
                    access.append(Access("registry", "catalog", ("*",)))
                continue
            allowed = granted(caller, scope.name, set(scope.actions))
            if allowed:
                access.append(Access("repository", scope.name, tuple(sorted(allowed))))
        token = self.signer.issue(subject, access, now)
        return JSONResponse({"token": token, "access_token": token, "expires_in": TTL,
                             "issued_at": now.isoformat()})


class Notifications:
    """Records what the registry says it did. Each push becomes `RecordPush` (with the
    image's size read from its manifest), each delete `RecordImagesGone`."""

    def __init__(self, secret: Callable[[], str], client: RegistryClient,
                 handle: Callable[[m.Command], object], clock_now: Callable[[], Any],
                 read_timeout: float) -> None:
        self.read_timeout = read_timeout
        self.secret = secret
        self.client = client
        self.handle = handle
        self.now = clock_now

    async def receive(self, request: Request) -> Response:
        expected = f"Bearer {self.secret()}".encode()
        given = (request.headers.get("authorization") or "").encode()
        if not hmac.compare_digest(given, expected):
            return _denied(401, "the registry's notifications only")
        try:
            body = await read_body(request.receive, MAX_EVENTS_BODY, self.read_timeout)
        except BadRequest as error:
            return _denied(error.status, error.message)
        try:
            events = json.loads(body).get("events") or []
            if not isinstance(events, list):
                raise ValueError
        except (ValueError, AttributeError, RecursionError):
            return _denied(400, "a notification envelope is JSON with a list of events")
        await anyio.to_thread.run_sync(self.record, events)
        return Response(status_code=200)

    def record(self, events: list[Any]) -> None:
        for event in events:
            try:
                self._one(event)
            except (DomainError, RegistryError, ValueError, TypeError, KeyError) as error:
                # (the reconcile records what this misses)
                log.warning("registry notification not recorded: %s", error)

    def _one(self, event: Any) -> None:
        target = event.get("target") if isinstance(event, dict) else None
        if not isinstance(target, dict):
            return
        action, name = event.get("action"), str(target.get("repository", ""))
        digest, tag = str(target.get("digest", "")), str(target.get("tag", ""))
        if action == "push" and tag and str(target.get("mediaType", "")) in MANIFEST_TYPES:
            manifest = self.client.manifest(name, digest)
            self.handle(m.RecordPush(actor=SYSTEM, name=name, tag=tag, digest=digest,
                                     size=manifest.size, pushed_at=self.now().isoformat()))
        elif action == "delete" and (digest or tag):
            self.handle(m.RecordImagesGone(actor=SYSTEM, name=name, digest=digest if not tag
                                           else "", tags=[tag] if tag else []))

"""Signing in to the dashboard: an e-mail, a password and a tenant's name (none for an
operator) buy a short-lived Wharf token, kept in an HttpOnly, SameSite=Strict cookie.

- POST /session {"email", "password", "tenant"}: signs in; answers who and the CSRF token.
- GET /session: who the cookie stands for, and its CSRF token (a reloaded page asks).
- POST /session/sign-out: revokes the cookie's token and forgets the cookie.
- POST /session/invitation {"invitation", "password"}: sets an invited member's
  password from the link's code, then signs them in.

A cookie's token is an ordinary token (revoked, expired or its member removed, it stops
working at once, WebSockets included). Every POST that a cookie authenticates (GraphQL,
sign-out) must carry `X-CSRF-Token`, an HMAC of the cookie's token that another site's
page can neither read nor compute, and a same-origin `Origin` when the browser sends
one; WebSockets authenticated by the cookie need a same-origin `Origin`. Sign-in bodies
must be JSON (no other site's form can post one without CORS' consent).

Attempts are limited per address and per account (a tenant's member); every failure
answers the same words, and an unknown account costs a hash check as a known one does.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
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
from wharf.commands.context import Outcome
from wharf.domain.credential import BAD_INVITATION, Credential, Invitation
from wharf.domain.errors import DomainError, Forbidden
from wharf.domain.tenant import EMAIL, Tenant
from wharf.infra import passwords
from wharf.infra.gate import Admitted, Gate, Refusal
from wharf.infra.http_guard import (
    COOKIE,
    BadRequest,
    client_address,
    cookie_authorization,
    csrf_of,
    header,
    read_body,
    same_origin,
)
from wharf.infra.ratelimit import TokenBuckets

log = logging.getLogger(__name__)

SESSION_HOURS = 12
MAX_BODY = 4096
BAD_SIGN_IN = "wrong e-mail, password or tenant"
NOT_SIGNED_IN = "not signed in"
PROVED = 10_000  # (account, address) pairs remembered as having signed in


class WebSessions:
    def __init__(self, app: Wharf, gate: Gate, handle: Callable[[m.Command], Outcome],
                 read_timeout: float) -> None:
        self.app = app
        self.gate = gate
        self.handle = handle  # (the backend's: the API's one way to run a command)
        self.read_timeout = read_timeout
        # Per address: ten tries, then one every six seconds. Per account and address:
        # five, then one every thirty seconds (a guesser gets two a minute from each
        # address). Per account from addresses it never signed in from: twenty, then one
        # every ten seconds (many addresses guess no faster). An address an account
        # signed in from is never held back by strangers' guesses at that account, and
        # has room of its own when too many passwords are being checked (passwords.py).
        self.attempts = TokenBuckets(1 / 6, 10)
        self.guesses = TokenBuckets(1 / 30, 5)
        self.accounts = TokenBuckets(1 / 10, 20)
        self._proved: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    # -- endpoints -------------------------------------------------------------------

    async def sign_in(self, request: Request) -> Response:
        address = client_address(request.scope)
        try:
            body = await self._body(request)
            email = _text(body, "email").strip().lower()
            password = _text(body, "password")
            tenant = _text(body, "tenant").strip().lower()
        except BadRequest as error:
            return _error(error.status, error.message)
        wait = self.attempts.take(address)
        if not wait and (not EMAIL.fullmatch(email) or len(tenant) > 40):
            return _error(401, BAD_SIGN_IN)  # (no such account: nothing to check)
        account = f"{tenant}/{email}"
        known = self._was_proved(account, address)
        wait = wait or self.guesses.take(f"{account} {address}") or (
            0.0 if known else self.accounts.take(account))
        if wait:
            return _error(429, "too many sign-in attempts; retry later", wait)
        tenant_id = Tenant.id_for(tenant) if tenant else None
        credential, epoch = await anyio.to_thread.run_sync(self._credential, tenant_id, email)
        stored = credential.password_hash if credential is not None else None
        try:
            good = await passwords.verify(stored, password, known)
        except passwords.Busy as busy:
            return _error(429, str(busy), 2.0)
        if not good or credential is None or credential.member_epoch != epoch:
            log.info("a sign-in failed from %s", address)
            return _error(401, BAD_SIGN_IN)
        self._prove(account, address)
        return await self._signed_in(request, tenant_id, email, credential.password_version)

    async def current(self, request: Request) -> Response:
        answer = await self._cookie_caller(request)
        if isinstance(answer, Refusal):
            return _error(answer.status, answer.message)
        return _json({"me": _me(answer.actor), "csrf": csrf_of(answer.token)})

    async def sign_out(self, request: Request) -> Response:
        try:
            authorization = cookie_authorization(request.scope, csrf=True)
        except BadRequest as error:
            return _error(error.status, error.message)
        response = _json({"signedOut": True})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        if authorization is None:
            return response
        answer = await self.gate.admit(client_address(request.scope), authorization)
        if isinstance(answer, Admitted):
            token_id = _token_id(answer.token)
            if token_id is not None:
                command = m.RevokeToken(actor=answer.actor, token_id=token_id)
                with contextlib.suppress(DomainError):  # (revoked already: signed out)
                    await anyio.to_thread.run_sync(self.handle, command)
        return response

    async def accept_invitation(self, request: Request) -> Response:
        address = client_address(request.scope)
        try:
            body = await self._body(request)
            link = _text(body, "invitation").strip()
            password = _text(body, "password")
        except BadRequest as error:
            return _error(error.status, error.message)
        wait = self.attempts.take(address)
        if wait:
            return _error(429, "too many sign-in attempts; retry later", wait)
        ident, _, code = link.partition("_")
        try:
            invitation_id = UUID(hex=ident)
            # (the code first: a wrong one costs no slow hash of the password)
            if not await anyio.to_thread.run_sync(self._holds, invitation_id, code):
                raise Forbidden(BAD_INVITATION)
            password_hash = await passwords.hash_password(password)
            command = m.AcceptInvitation(actor=Actor.system("invitation"),
                                         invitation_id=invitation_id, code=code[:64],
                                         password_hash=password_hash)
            await anyio.to_thread.run_sync(self.handle, command)
            invitation: Any = await anyio.to_thread.run_sync(self.app.repository.get,
                                                             invitation_id)
            credential: Any = await anyio.to_thread.run_sync(
                self.app.repository.get, Credential.id_for(invitation.tenant_id,
                                                           invitation.email))
        except ValueError:
            return _error(403, BAD_INVITATION)
        except passwords.Busy as busy:
            return _error(429, str(busy), 2.0)
        except DomainError as error:
            status = 400 if error.code == "invalid_input" else 403
            return _error(status, str(error), field=getattr(error, "field", None))
        return await self._signed_in(request, invitation.tenant_id, invitation.email,
                                     credential.password_version)

    # -- helpers ---------------------------------------------------------------------

    async def _signed_in(self, request: Request, tenant_id: UUID | None,
                         email: str, password_version: int) -> Response:
        """A session: a token that lasts while the password it checked does."""
        actor = Actor.operator(email) if tenant_id is None else Actor.member(email, tenant_id)
        command = m.IssueToken(actor=actor, tenant_id=tenant_id, member=email,
                               scope="admin" if tenant_id is None else "tenant",
                               ttl_hours=SESSION_HOURS, name="dashboard sign-in",
                               session_of=password_version)
        try:
            outcome = await anyio.to_thread.run_sync(self.handle, command)
        except DomainError:  # (the tenant was closed, or the member removed, meanwhile)
            return _error(401, BAD_SIGN_IN)
        assert outcome.token is not None
        response = _json({"me": _me(actor), "csrf": csrf_of(outcome.token)})
        response.set_cookie(COOKIE, outcome.token, max_age=SESSION_HOURS * 3600, path="/",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    def _credential(self, tenant_id: UUID | None, email: str) -> tuple[Credential | None, int]:
        """The credential and the member's epoch now (0 for operators)."""
        try:
            credential: Any = self.app.repository.get(Credential.id_for(tenant_id, email))
        except AggregateNotFoundError:
            return None, -1
        if tenant_id is None:
            return credential, 0
        try:
            tenant: Any = self.app.repository.get(tenant_id)
        except AggregateNotFoundError:
            return None, -1
        if tenant.status != "active":
            return credential, -1
        return credential, tenant.member_epoch(email)

    def _was_proved(self, account: str, address: str) -> bool:
        with self._lock:
            return f"{account} {address}" in self._proved

    def _prove(self, account: str, address: str) -> None:
        with self._lock:
            key = f"{account} {address}"
            self._proved[key] = None
            self._proved.move_to_end(key)
            while len(self._proved) > PROVED:
                self._proved.popitem(last=False)

    def _holds(self, invitation_id: UUID, code: str) -> bool:
        """Whether `code` is the invitation's (its command checks all the rest)."""
        try:
            invitation: Any = self.app.repository.get(invitation_id)
        except AggregateNotFoundError:
            return False
        digest = hashlib.sha256(code.encode()).hexdigest()
        return isinstance(invitation, Invitation) and hmac.compare_digest(
            digest, invitation.code_hash)

    async def _cookie_caller(self, request: Request) -> Admitted | Refusal:
        try:
            authorization = cookie_authorization(request.scope, csrf=False)
        except BadRequest as error:
            return Refusal(error.status, error.message)
        if authorization is None:
            return Refusal(401, NOT_SIGNED_IN)
        return await self.gate.admit(client_address(request.scope), authorization)

    async def _body(self, request: Request) -> dict[str, Any]:
        if not same_origin(request.scope):
            raise BadRequest(403, "cross-site request refused")
        kind = (header(request.scope, b"content-type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest(415, "send JSON (Content-Type: application/json)")
        raw = await read_body(request.receive, MAX_BODY, self.read_timeout)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "the request body must be a JSON object")
        return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(400, f"{name}: a string")
    if len(value) > 1024:
        raise BadRequest(400, f"{name}: too long")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(400, f"{name}: not text (an unpaired surrogate)") from None
    return value


def _token_id(token: str) -> UUID | None:
    try:
        return UUID(hex=token.split("_", 2)[1])
    except (IndexError, ValueError):
        return None


def _me(actor: Actor) -> dict[str, Any]:
    return {"email": actor.name, "operator": actor.is_operator,
            "tenant": str(actor.tenant_id) if actor.tenant_id else None}


def _json(data: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> JSONResponse:
    """An answer no cache keeps (it may hold the session's CSRF token)."""
    return JSONResponse(data, status, headers={"Cache-Control": "no-store", **(headers or {})})


def _error(status: int, message: str, retry_after: float = 0.0,
           field: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    headers = {"Retry-After": str(max(1, int(retry_after + 0.999)))} if status == 429 else None
    return _json({"errors": [error]}, status, headers)

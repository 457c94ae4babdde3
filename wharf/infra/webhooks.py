"""Webhooks that start builds: GitHub's push event (`POST /hooks/github/{pipeline}`,
signed with X-Hub-Signature-256 over the raw body) and a generic one
(`POST /hooks/generic/{pipeline}`, with the pipeline's secret as a bearer token).

Each delivery builds once: its id (X-GitHub-Delivery, or X-Wharf-Delivery) names the
build. Whatever is wrong (no such pipeline, a wrong or missing signature) is one answer,
401, so that the endpoint tells nobody which pipelines exist. Bodies are bounded, and
each address is held to the API's rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import BuildAsked
from wharf.commands.application import Wharf
from wharf.commands.context import Outcome
from wharf.domain.errors import DomainError
from wharf.domain.pipeline import COMMIT, MAX_WAITING
from wharf.infra.gate import Gate
from wharf.infra.http_guard import BadRequest, client_address, read_body
from wharf.projections.reads import Reader
from wharf.projections.reads import pipelines as pipeline_reads

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # bytes of one delivery (GitHub's push payloads are far smaller)
WEBHOOK = Actor.system("webhook")
DELIVERY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REFUSED = "signature or token does not match this webhook"


def _answer(status: int, message: str, **extra: Any) -> Response:
    return JSONResponse({"message": message, **extra}, status)


def github_signature(secret: str, body: bytes) -> str:
    """What GitHub sends in X-Hub-Signature-256 for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, app: Wharf, gate: Gate, handle: Callable[[m.Command], Outcome],
                 view: Reader, read_timeout: float) -> None:
        self.view = view
        self.read_timeout = read_timeout
        self.app = app
        self.gate = gate
        self.handle = handle

    async def _admit(self, request: Request) -> tuple[UUID, bytes] | Response:
        wait = self.gate.buckets.take(f"webhook:{client_address(request.scope)}")
        if wait:
            return _answer(429, "too many deliveries; retry later")
        try:
            pipeline_id = UUID(request.path_params["pipeline"])
        except ValueError:
            return _answer(401, REFUSED)
        try:
            body = await read_body(request.receive, MAX_BODY, self.read_timeout)
        except BadRequest as error:
            return _answer(error.status, error.message)
        return pipeline_id, body

    async def github(self, request: Request) -> Response:
        admitted = await self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        pipeline_id, body = admitted
        found = await anyio.to_thread.run_sync(self.app.webhook_secret, pipeline_id)
        given = request.headers.get("x-hub-signature-256", "")
        if found is None or not hmac.compare_digest(
                given.encode(), github_signature(found[1], body).encode()):
            return _answer(401, REFUSED)
        pipeline = found[0]
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if event == "ping":
            return _answer(200, "pong")
        if event != "push":
            return _answer(202, f"ignored: a {event or 'nameless'} event builds nothing")
        if not DELIVERY.fullmatch(delivery):
            return _answer(400, "X-GitHub-Delivery: 1-128 letters, digits, '.', '_', ':', '-'")
        try:
            payload = json.loads(body)
            ref, commit = str(payload.get("ref", "")), str(payload.get("after", ""))
        except (ValueError, AttributeError, RecursionError):
            return _answer(400, "a push event's body is JSON with ref and after")
        if ref != f"refs/heads/{pipeline.branch}":
            return _answer(202, f"ignored: a push to {ref[:200]}, not {pipeline.branch}")
        if not COMMIT.fullmatch(commit) or commit == "0" * 40:
            return _answer(202, "ignored: the branch was deleted")
        return await self._build(pipeline_id, "push", delivery, commit)

    async def generic(self, request: Request) -> Response:
        admitted = await self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        pipeline_id, body = admitted
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        found = await anyio.to_thread.run_sync(self.app.webhook_secret, pipeline_id)
        if found is None or scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), found[1].encode()):
            return _answer(401, REFUSED)
        commit = ""
        if body.strip():
            try:
                payload = json.loads(body)
                commit = str(payload.get("commit", "")) if isinstance(payload, dict) else ""
            except (ValueError, RecursionError):
                return _answer(400, 'the body is empty or JSON: {"commit": "<40 hex>"}')
            if commit and not COMMIT.fullmatch(commit):
                return _answer(400, "commit: a full commit id, 40 lower-case hex digits")
        delivery = request.headers.get("x-wharf-delivery", "")
        if delivery and not DELIVERY.fullmatch(delivery):
            return _answer(400, "X-Wharf-Delivery: 1-128 letters, digits, '.', '_', ':', '-'")
        # No delivery id: every call is a build of its own.
        return await self._build(pipeline_id, "generic", delivery or f"once:{uuid4()}", commit)

    async def _build(self, pipeline_id: UUID, trigger: str, delivery: str,
                     commit: str) -> Response:
        waiting = await anyio.to_thread.run_sync(pipeline_reads.waiting, self.view,
                                                 str(pipeline_id))
        if waiting >= MAX_WAITING:
            return _answer(429, f"{waiting} builds of this pipeline wait already: retry when "
                                "they have started", waiting=waiting)
        try:
            outcome = await anyio.to_thread.run_sync(self.handle, m.RequestBuild(
                actor=WEBHOOK, pipeline_id=pipeline_id, trigger=trigger, delivery=delivery,
                commit=commit))
        except DomainError as error:
            return _answer(409, str(error))
        duplicate = outcome.answer_as(BuildAsked).duplicate
        return _answer(200 if duplicate else 202,
                       "delivered before: built once" if duplicate else "build requested",
                       build=str(outcome.id), duplicate=duplicate)

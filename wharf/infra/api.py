"""The ASGI app: GraphQL at /graphql, health, readiness and Prometheus metrics, the
dashboard at / and its sign-in at /session (web_session.py).

Every call to /graphql passes the gate first (gate.py: authentication, rate limits, the
bad-token back-off), over HTTP (http_guard.py, which also bounds and checks the body) and
over WebSocket (sessions.py, which also counts connections and subscriptions). Blocking
work (eventsourcing, SQL) runs in threads; waiting for the read side holds none. The
projector runs in the same process when `embedded` (what `wharf up` does), so requests
wait for the read side by notification.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from wharf.graphql.context import Context
from wharf.graphql.schema import build_schema
from wharf.infra import exports
from wharf.infra.backend import WharfBackend
from wharf.infra.bootstrap import Wiring
from wharf.infra.dashboard import Dashboard
from wharf.infra.gate import Gate, Refusal
from wharf.infra.http_guard import (
    BadRequest,
    GraphQLGuard,
    admitted,
    client_address,
    cookie_authorization,
    correlation_of,
    correlation_of_headers,
    min_position,
)
from wharf.infra.ratelimit import AuthFailures, TokenBuckets
from wharf.infra.registry import RegistryClient, notify_secret, signer_of
from wharf.infra.registry_http import Notifications, TokenServer
from wharf.infra.relay import relay_position
from wharf.infra.sessions import GuardedHandler, SessionLimits, Sessions
from wharf.infra.web_session import WebSessions
from wharf.infra.webhooks import Webhooks
from wharf.projections.consumers import read_side_position

log = logging.getLogger(__name__)

MAX_EXPORTS = 2  # downloads one caller may stream at a time



@dataclass(frozen=True)
class Limits:
    """What one caller may ask of the API (see the README's security section)."""

    rate: float = 50.0  # requests a second per token, and per member
    burst: int = 100
    max_body: int = 1 << 20  # bytes
    read_timeout: float = 10.0  # seconds to send a body (the server bounds the head)
    sessions: SessionLimits = field(default_factory=SessionLimits)


class WharfGraphQL(GraphQL[Context, None]):
    def __init__(self, backend: WharfBackend, dev: bool, sessions: Sessions) -> None:
        super().__init__(build_schema(dev=dev), graphql_ide="graphiql" if dev else None,
                         allow_queries_via_get=False,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=10))
        self.backend = backend
        self.graphql_transport_ws_handler_class = type(
            "WharfTransportWS", (GuardedHandler,), {"sessions": sessions})

    def decode_json(self, data: str | bytes) -> object:
        """JSON nested past Python's recursion limit is invalid JSON to the client (a
        WebSocket is closed 4400), not a server error."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The handler has let the caller in (sessions.py) before this is called."""
        return UNSET  # type: ignore[no-any-return]

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        """Over HTTP the guard (http_guard.py) has let the caller in and read its
        Wharf-Min-Position; over WebSocket the handler lets it in (sessions.py)."""
        admission = admitted(request.scope)
        actor = admission.actor if admission is not None else None
        correlation, refused, cookie = correlation_of(request.scope), None, None
        if isinstance(request, WebSocket):  # (the HTTP guard checked it for POSTs)
            try:
                correlation = correlation_of_headers(request.scope)
                # (a browser cannot set a WebSocket's headers: the dashboard's cookie
                # stands for its token, from its own origin only)
                cookie = cookie_authorization(request.scope, csrf=False)
            except BadRequest as error:
                refused = error.message  # the handler closes the socket (4400)
        return Context(self.backend, actor, min_position(request.scope),
                       address=client_address(request.scope), correlation_id=correlation,
                       refused=refused, cookie_authorization=cookie)


def create_app(
    wiring: Wiring, *, embedded: bool = True, dev: bool = False, limits: Limits | None = None,
    failures: AuthFailures | None = None,
) -> Starlette:
    limits = limits or Limits()
    gate = Gate(wiring.app.authenticate, TokenBuckets(limits.rate, limits.burst),
                failures or AuthFailures())
    sessions = Sessions(gate, limits.sessions)
    backend = wiring.backend(embedded)
    graphql = WharfGraphQL(backend, dev, sessions)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            await anyio.to_thread.run_sync(_positions, wiring)
        except Exception:
            log.exception("store not reachable")
            return JSONResponse({"ready": False, "reason": "store not reachable"}, 503)
        return JSONResponse({"ready": True})  # (positions are for operators: /metrics)

    async def metrics(request: Request) -> Response:
        # Operators only: how fast the log grows tells of every tenant's activity.
        answer = await gate.admit(client_address(request.scope),
                                  request.headers.get("authorization"))
        if isinstance(answer, Refusal) or not answer.actor.is_operator:
            status = answer.status if isinstance(answer, Refusal) else 403
            return JSONResponse({"errors": [{"message": "operators only: send an operator's "
                                                        "token"}]}, status)
        head, read_side = await anyio.to_thread.run_sync(_positions, wiring)
        relayed = await anyio.to_thread.run_sync(relay_position, wiring.view)
        connections, operations = sessions.counts()
        lines = [
            "# HELP wharf_log_position Position of the newest event in the log.",
            "# TYPE wharf_log_position gauge",
            f"wharf_log_position {head}",
            "# HELP wharf_read_side_position Position every read model has reached.",
            "# TYPE wharf_read_side_position gauge",
            f"wharf_read_side_position {read_side}",
            "# HELP wharf_websockets Open GraphQL WebSockets.",
            "# TYPE wharf_websockets gauge",
            f"wharf_websockets {connections}",
            "# HELP wharf_subscriptions Live operations over WebSockets.",
            "# TYPE wharf_subscriptions gauge",
            f"wharf_subscriptions {operations}",
        ]
        if relayed is not None:  # a relay has run against this store
            lines += [
                "# HELP wharf_relay_position Position of the last event Kafka acknowledged.",
                "# TYPE wharf_relay_position gauge",
                f"wharf_relay_position {relayed}",
                "# HELP wharf_relay_lag Events in the log that Kafka has not acknowledged.",
                "# TYPE wharf_relay_lag gauge",
                f"wharf_relay_lag {max(head - relayed, 0)}",
            ]
        return PlainTextResponse("\n".join(lines) + "\n",
                                 media_type="text/plain; version=0.0.4")

    exporting: Counter[str] = Counter()
    export_lock = threading.Lock()

    async def export(request: Request) -> Response:
        """GET /exports/bills?month=YYYY-MM[&format=csv|json][&tenant=ID] and
        /exports/audit?[since=&until=][&format=jsonl|csv][&tenant=ID]: a member gets its
        own tenant's, an operator any tenant's (every tenant's bills without one),
        streamed a page at a time."""
        if request.path_params["what"] not in ("bills", "audit"):
            return JSONResponse({"errors": [{"message": "exports: bills or audit"}]}, 404)
        try:  # (a download: the dashboard's cookie serves, no CSRF token for a GET)
            authorization = (request.headers.get("authorization")
                             or cookie_authorization(request.scope, csrf=False))
        except BadRequest as error:
            return JSONResponse({"errors": [{"message": error.message}]}, error.status)
        answer = await gate.admit(client_address(request.scope), authorization)
        if isinstance(answer, Refusal):
            return JSONResponse({"errors": [{"message": answer.message}]}, answer.status,
                                headers={"Retry-After": answer.retry_after_header}
                                if answer.status == 429 else None)
        what, query, actor = request.path_params["what"], request.query_params, answer.actor
        formats = ("csv", "json") if what == "bills" else ("jsonl", "csv")
        form = query.get("format", formats[0])
        try:
            if form not in formats:
                raise ValueError(f"format: {' or '.join(formats)}")
            tenant = str(actor.tenant_id) if not actor.is_operator else (
                str(uuid.UUID(query["tenant"])) if query.get("tenant") else None)
            if what == "bills":
                lo, hi = exports.month_span(query.get("month", ""), wiring.settings.timezone)
                rows = exports.bill_rows(wiring.view, lo, hi, tenant)
                fields = exports.BILL_FIELDS
            else:
                if tenant is None:
                    raise ValueError("tenant: operators name the tenant whose trail to read")
                rows = exports.audit_rows(
                    wiring.view, tenant, exports.utc(query.get("since", "1970-01-01")),
                    exports.utc(query.get("until", "9999-12-31")))
                fields = exports.AUDIT_FIELDS
        except ValueError as error:
            text = str(error) if str(error).startswith(("format", "tenant")) else (
                "month: YYYY-MM" if what == "bills" else "since, until: ISO times")
            return JSONResponse({"errors": [{"message": text}]}, 400)
        name = f"wharf-{what}.{'json' if form == 'jsonl' else form}"
        # A token's rate limit counts requests, whatever their size: exports also wait
        # their turn, MAX_EXPORTS at a time per caller.
        label = actor.label
        with export_lock:
            if exporting[label] >= MAX_EXPORTS:
                return JSONResponse({"errors": [{"message": (
                    f"at most {MAX_EXPORTS} exports at a time per token: wait for one to "
                    "end")}]}, 429, headers={"Retry-After": "1"})
            exporting[label] += 1

        def counted(chunks: Iterator[str]) -> Iterator[str]:
            try:
                yield from chunks
            finally:
                with export_lock:
                    exporting[label] -= 1

        return StreamingResponse(  # (a sync iterator: Starlette reads it on a thread)
            counted(exports.encode(rows, fields, form)), media_type=exports.FORMATS[form],
            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runner = None
        if embedded:
            runner = threading.Thread(target=wiring.projector.run_forever, name="projector",
                                      daemon=True)
            runner.start()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(sessions.watch)
                yield
                tasks.cancel_scope.cancel()
        finally:
            wiring.projector.stop()
            if runner is not None:
                runner.join(10)

    registry_routes = []
    if wiring.settings.registry:  # Wharf is its registry's token server and hears its news
        signer = signer_of(wiring.settings.home, wiring.app.clock)
        tokens = TokenServer(wiring.app, gate, signer)
        client = RegistryClient(wiring.settings.registry, signer, wiring.app.clock)
        heard = Notifications(lambda: notify_secret(wiring.settings.home), client,
                              backend.handle, wiring.app.clock.now, limits.read_timeout)
        backend.registry_client = client
        backend.registry_process = lambda: wiring.registry_process
        registry_routes = [Route("/registry/token", tokens.token),
                           Route("/registry/events", heard.receive, methods=["POST"])]

    hooks = Webhooks(wiring.app, gate, backend.handle, wiring.view, limits.read_timeout)

    web = WebSessions(wiring.app, gate, backend.handle, limits.read_timeout)

    return Starlette(
        routes=[
            *registry_routes,
            Route("/session", web.sign_in, methods=["POST"]),
            Route("/session", web.current, methods=["GET"]),
            Route("/session/sign-out", web.sign_out, methods=["POST"]),
            Route("/session/invitation", web.accept_invitation, methods=["POST"]),
            Route("/hooks/github/{pipeline:str}", hooks.github, methods=["POST"]),
            Route("/hooks/generic/{pipeline:str}", hooks.generic, methods=["POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/exports/{what:str}", export),
            Mount("/", app=Dashboard()),  # (last: every other path is the dashboard's)
        ],
        lifespan=lifespan,
        middleware=[Middleware(
            GraphQLGuard, gate=gate, max_body=limits.max_body,
            read_timeout=limits.read_timeout,
            # (cheap in-process; another process's read side is asked only past it)
            read_side=lambda: wiring.projector.position if embedded else 0,
            log_head=lambda: wiring.app.recorder.max_notification_id() or 0)],
    )


def _positions(wiring: Wiring) -> tuple[int, int]:
    head = wiring.app.recorder.max_notification_id() or 0
    read_side = read_side_position(wiring.view)
    return head, read_side

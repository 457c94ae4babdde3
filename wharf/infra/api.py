"""The ASGI app: GraphQL at /graphql, health, readiness and Prometheus metrics.

Every call to /graphql passes the gate first (gate.py: authentication, rate limits, the
bad-token back-off), over HTTP (http_guard.py, which also bounds and checks the body) and
over WebSocket (sessions.py, which also counts connections and subscriptions). Blocking
work (eventsourcing, SQL) runs in threads; waiting for the read side holds none. The
projector runs in the same process when `embedded` (what `wharf up` does), so requests
wait for the read side by notification.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
import anyio.to_thread
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from wharf.graphql.context import Context
from wharf.graphql.schema import build_schema
from wharf.infra.bootstrap import Wiring
from wharf.infra.gate import Gate
from wharf.infra.http_guard import GraphQLGuard, admitted, client_address
from wharf.infra.ratelimit import AuthFailures, TokenBuckets
from wharf.infra.sessions import GuardedHandler, SessionLimits, Sessions
from wharf.projections.runner import read_side_position

log = logging.getLogger(__name__)

MIN_POSITION_HEADER = "wharf-min-position"
MAX_POSITION_DIGITS = 18


@dataclass(frozen=True)
class Limits:
    """What one caller may ask of the API (see the README's security section)."""

    rate: float = 50.0  # requests a second per token
    burst: int = 100
    max_body: int = 1 << 20  # bytes
    read_timeout: float = 10.0  # seconds to send a body (the server bounds the head)
    sessions: SessionLimits = field(default_factory=SessionLimits)


class WharfGraphQL(GraphQL[Context, None]):
    def __init__(self, wiring: Wiring, embedded: bool, dev: bool, sessions: Sessions) -> None:
        super().__init__(build_schema(dev=dev), graphql_ide="graphiql" if dev else None,
                         allow_queries_via_get=False,
                         subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=10))
        self.wiring = wiring
        self.embedded = embedded
        self.graphql_transport_ws_handler_class = type(
            "WharfTransportWS", (GuardedHandler,), {"sessions": sessions})

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The handler has let the caller in (sessions.py) before this is called."""
        return UNSET  # type: ignore[no-any-return]

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        admission = admitted(request.scope)
        actor = admission.actor if admission is not None else None
        min_position = await self._min_position(request.headers.get(MIN_POSITION_HEADER))
        return Context(self.wiring, actor, min_position, in_process_projector=self.embedded,
                       address=client_address(request.scope))

    async def _min_position(self, raw: str | None) -> int:
        """Wharf-Min-Position: ASCII digits (int() would take "٣"), at most the log's head
        (a position beyond it is the client's mistake, answered at once)."""
        if raw is None or not raw.strip():
            return 0
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_POSITION_DIGITS:
            raise HTTPException(400, "Wharf-Min-Position must be a log position "
                                     "(ASCII digits)")
        position = int(raw)
        if position > self.wiring.projector.position:
            head = await anyio.to_thread.run_sync(self.wiring.app.recorder.max_notification_id)
            if position > (head or 0):
                raise HTTPException(400, f"Wharf-Min-Position {position} is beyond the log, "
                                         f"whose newest position is {head or 0}")
        return position


def create_app(
    wiring: Wiring, *, embedded: bool = True, dev: bool = False, limits: Limits | None = None,
    failures: AuthFailures | None = None,
) -> Starlette:
    limits = limits or Limits()
    gate = Gate(wiring.app.authenticate, TokenBuckets(limits.rate, limits.burst),
                failures or AuthFailures())
    sessions = Sessions(gate, limits.sessions)
    graphql = WharfGraphQL(wiring, embedded, dev, sessions)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            head, read_side = await anyio.to_thread.run_sync(_positions, wiring)
        except Exception:
            log.exception("store not reachable")
            return JSONResponse({"ready": False, "reason": "store not reachable"}, 503)
        return JSONResponse({"ready": True, "log": head, "readSide": read_side})

    async def metrics(request: Request) -> Response:
        head, read_side = await anyio.to_thread.run_sync(_positions, wiring)
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
        return PlainTextResponse("\n".join(lines) + "\n",
                                 media_type="text/plain; version=0.0.4")

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

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        lifespan=lifespan,
        middleware=[Middleware(GraphQLGuard, gate=gate, max_body=limits.max_body,
                               read_timeout=limits.read_timeout)],
    )


def _positions(wiring: Wiring) -> tuple[int, int]:
    head = wiring.app.recorder.max_notification_id() or 0
    read_side = read_side_position(wiring.view)
    return head, read_side

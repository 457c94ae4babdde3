"""The ASGI app: GraphQL at /graphql, health, readiness and Prometheus metrics.

Blocking work (eventsourcing, SQL) runs in threads; the projector and the timers run in
the same process when `embedded` (what `wharf up` does), so mutations wait for the read
side by notification.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from wharf.domain.errors import Forbidden
from wharf.graphql.context import Context
from wharf.graphql.schema import build_schema
from wharf.infra.bootstrap import Wiring
from wharf.infra.ratelimit import AuthFailures, RateLimit, TokenBuckets
from wharf.projections.runner import read_side_position

log = logging.getLogger(__name__)

MIN_POSITION_HEADER = "wharf-min-position"


class WharfGraphQL(GraphQL[Context, None]):
    def __init__(self, wiring: Wiring, embedded: bool, dev: bool, failures: AuthFailures
                 ) -> None:
        super().__init__(build_schema(dev=dev), graphql_ide="graphiql" if dev else None,
                         allow_queries_via_get=False)
        self.wiring = wiring
        self.embedded = embedded
        self.failures = failures

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: the token comes in connection_init's payload."""
        params = context.connection_params or {}
        scheme, _, token = str(params.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ConnectionRejectionError({"message": "authorization expected"})
        try:
            context.actor = await anyio.to_thread.run_sync(self.wiring.app.authenticate, token)
        except Forbidden as error:
            raise ConnectionRejectionError({"message": str(error)}) from None
        return UNSET  # type: ignore[no-any-return]

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        actor = None
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise HTTPException(401, "Authorization: Bearer <token> expected")
            address = request.client.host if request.client else "unknown"
            try:
                actor = await anyio.to_thread.run_sync(self.wiring.app.authenticate, token)
            except Forbidden as error:
                self.failures.failed(address)
                raise HTTPException(401, str(error)) from None
            self.failures.succeeded(address)
        min_position = 0
        raw = request.headers.get(MIN_POSITION_HEADER)
        if raw:
            if not raw.isdigit():
                raise HTTPException(400, "Wharf-Min-Position must be a log position")
            min_position = int(raw)
        return Context(self.wiring, actor, min_position, in_process_projector=self.embedded)


def create_app(
    wiring: Wiring, *, embedded: bool = True, dev: bool = False,
    rate: float = 50.0, burst: int = 100, failures: AuthFailures | None = None,
) -> Starlette:
    """`rate` requests a second per token (bursts of `burst`); see ratelimit.py."""
    failures = failures or AuthFailures()
    graphql = WharfGraphQL(wiring, embedded, dev, failures)

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
        lines = [
            "# HELP wharf_log_position Position of the newest event in the log.",
            "# TYPE wharf_log_position gauge",
            f"wharf_log_position {head}",
            "# HELP wharf_read_side_position Position every read model has reached.",
            "# TYPE wharf_read_side_position gauge",
            f"wharf_read_side_position {read_side}",
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
            yield
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
        middleware=[Middleware(RateLimit, buckets=TokenBuckets(rate, burst),
                               failures=failures)],
    )


def _positions(wiring: Wiring) -> tuple[int, int]:
    head = wiring.app.recorder.max_notification_id() or 0
    read_side = read_side_position(wiring.view)
    return head, read_side

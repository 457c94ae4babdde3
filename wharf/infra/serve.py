"""Running the API: `wharf up` (everything in one process) and `wharf api`."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra.api import Limits, create_app
from wharf.infra.bootstrap import Wiring
from wharf.infra.sessions import SessionLimits
from wharf.infra.settings import Settings
from wharf.projections.reads.tenants import operator_token_exists


def ensure_operator_token(wiring: Wiring, settings: Settings) -> str | None:
    """On first start, issues the operator's token and keeps it in WHARF_HOME (mode 0600).

    Returns the new token, or None when an operator token already exists.
    """
    wiring.projector.catch_up()
    if operator_token_exists(wiring.view):
        return None
    outcome = wiring.app.handle(m.IssueToken(
        actor=Actor.system("first-start"), tenant_id=None, member="operator", scope="admin",
        ttl_hours=None, name="operator", request_id="first-operator-token"))
    if outcome.token is None:
        return None  # another process issued it first
    path = token_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(outcome.token + "\n")
    return outcome.token


def token_file(settings: Settings) -> Path:
    return settings.home / "operator-token"


def listen_address(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.listen.rpartition(":")
    return host or "127.0.0.1", int(port)


def limits_of(settings: Settings) -> Limits:
    rate = settings.rate_limit or float("inf")
    return Limits(rate=rate, burst=int(max(1.0, min(rate * 2, 1e9))),
                  max_body=settings.max_body, read_timeout=settings.read_timeout,
                  sessions=SessionLimits(settings.ws_per_member,
                                         settings.subscriptions_per_member))


def make_server(app: ASGIApp, settings: Settings, *, log_level: str = "info"
                ) -> uvicorn.Server:
    """uvicorn as Wharf runs it: forwarded headers believed only from the configured
    proxies, a deadline on every request's head (HeadDeadline), WebSocket messages no
    bigger than a request body, and an access log without query strings."""
    host, port = listen_address(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on",
        http=type("HeadDeadline", (HeadDeadline,), {"head_timeout": settings.read_timeout}),
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        ws_max_size=settings.max_body,
    )
    return uvicorn.Server(config)


def serve(wiring: Wiring, settings: Settings, *, embedded: bool) -> None:
    _quiet_access_log()
    app = create_app(wiring, embedded=embedded, dev=settings.dev, limits=limits_of(settings))
    make_server(app, settings).run()


class HeadDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline on each request's head: a connection that
    sends nothing, or half a request line or header, is closed after `head_timeout`
    seconds (uvicorn waits for ever; its keep-alive timeout starts only after a first
    response). The body has its own deadline (http_guard.py)."""

    head_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.head_deadline = self.loop.call_later(self.head_timeout, self._expired)

    def _disarm(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _expired(self) -> None:
        self.head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class _NoQueryStrings(logging.Filter):
    """Access log lines keep the path, never the query string (a GET could carry a
    document, and a document could carry a secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            address, method, path, version, status = record.args
            record.args = (address, method, str(path).split("?", 1)[0], version, status)
        return True


def _quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryStrings) for f in access.filters):
        access.addFilter(_NoQueryStrings())

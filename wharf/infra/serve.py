"""Running the API: `wharf up` (everything in one process) and `wharf api`."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra.api import create_app
from wharf.infra.bootstrap import Wiring
from wharf.infra.settings import Settings


def ensure_operator_token(wiring: Wiring, settings: Settings) -> str | None:
    """On first start, issues the operator's token and keeps it in WHARF_HOME (mode 0600).

    Returns the new token, or None when an operator token already exists.
    """
    wiring.projector.catch_up()
    if wiring.view.query("SELECT id FROM rm_tokens WHERE scope = 'admin' AND revoked = 0"):
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


def serve(wiring: Wiring, settings: Settings, *, embedded: bool) -> None:
    host, port = listen_address(settings)
    rate = settings.rate_limit or float("inf")
    app = create_app(wiring, embedded=embedded, dev=settings.dev, rate=rate,
                     burst=int(max(1.0, min(rate * 2, 1e9))))
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info",
                                  lifespan="on")).run()

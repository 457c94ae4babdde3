"""The dashboard's files (wharf/web: plain ES modules, a style sheet, the zh and en
catalogues), served by Wharf itself with no build step and nothing fetched from
elsewhere. Every response forbids what the dashboard never does: scripts, styles and
connections from another origin, inline scripts, being framed."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FILES = Path(__file__).resolve().parent.parent / "web"

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),  # (revalidated: a new Wharf's files load at once)
]


class Dashboard:
    def __init__(self) -> None:
        self.files: ASGIApp = StaticFiles(directory=FILES, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"allow", b"GET, HEAD"), *HEADERS]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        try:
            await self.files(scope, receive, secured)
        except HTTPException as error:  # (no such file: answered here, with the headers)
            await send({"type": "http.response.start", "status": error.status_code,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    *HEADERS]})
            await send({"type": "http.response.body", "body": b"Not Found"
                        if error.status_code == 404 else b""})

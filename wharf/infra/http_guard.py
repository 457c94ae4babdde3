"""ASGI middleware in front of POST /graphql: the gate (who is calling, and may they),
then the request body, read whole, bounded in size and time, and checked to be the JSON
object GraphQL over HTTP expects, so that no malformed body reaches strawberry (which
answered 500 to some). Every refusal is a JSON answer a client can read."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf.infra.gate import Admitted, Gate, Refusal


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class GraphQLGuard:
    def __init__(self, app: ASGIApp, gate: Gate, max_body: int, read_timeout: float) -> None:
        self.app = app
        self.gate = gate
        self.max_body = max_body
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != "/graphql"
                or scope["method"] != "POST"):
            await self.app(scope, receive, send)
            return
        answer = await self.gate.admit(client_address(scope), header(scope, b"authorization"))
        if isinstance(answer, Refusal):
            await refuse(send, answer.status, answer.message,
                         answer.retry_after_header if answer.status == 429 else None)
            return
        scope.setdefault("state", {})["admitted"] = answer
        try:
            body = await self.read_body(receive)
            check_body(header(scope, b"content-type") or "", body)
        except BadRequest as error:
            await refuse(send, error.status, error.message)
            return
        await self.app(scope, _replay(body, receive), send)

    async def read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.read_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise BadRequest(400, "the client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    raise BadRequest(413, f"request body over {self.max_body} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            raise BadRequest(408, f"request body not received within {self.read_timeout:g} s")
        return b"".join(chunks)


def check_body(content_type: str, body: bytes) -> None:
    """A JSON body must be an object with a string `query` and optional object
    `variables` and string `operationName`. Other content types are strawberry's to
    refuse (it answers 415)."""
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "the request body is not UTF-8") from None
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise BadRequest(400, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "the request body must be a JSON object with a `query`")
    if not isinstance(data.get("query"), str):
        raise BadRequest(400, "`query` must be a string holding a GraphQL document")
    if not isinstance(data.get("variables") or {}, dict):
        raise BadRequest(400, "`variables` must be a JSON object")
    if not isinstance(data.get("operationName") or "", str):
        raise BadRequest(400, "`operationName` must be a string")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # what follows the body: the client's disconnect

    return replay


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def refuse(send: Send, status: int, message: str, retry_after: str | None = None
                 ) -> None:
    body = json.dumps({"errors": [{"message": message}]}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def admitted(scope: Scope) -> Admitted | None:
    value = scope.get("state", {}).get("admitted")
    return value if isinstance(value, Admitted) else None

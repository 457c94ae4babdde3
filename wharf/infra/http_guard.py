"""ASGI middleware in front of POST /graphql: the gate (who is calling, and may they),
`Wharf-Min-Position` (ASCII digits, at most the log's head), then the request body, read
whole, bounded in size and time, and checked to be the JSON object GraphQL over HTTP
expects, so that no malformed body reaches strawberry (which answered 500 to some).
Every refusal is a JSON answer a client can read."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf.infra.gate import Admitted, Gate, Refusal


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


log = logging.getLogger(__name__)

MIN_POSITION = b"wharf-min-position"
MAX_POSITION_DIGITS = 18
CORRELATION = b"wharf-correlation-id"
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
COOKIE = "wharf_session"  # the dashboard's session (web_session.py)
CSRF_HEADER = b"x-csrf-token"


class GraphQLGuard:
    def __init__(self, app: ASGIApp, gate: Gate, max_body: int, read_timeout: float,
                 read_side: Callable[[], int], log_head: Callable[[], int]) -> None:
        self.app = app
        self.gate = gate
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.read_side = read_side  # the position the read side has reached (cheap)
        self.log_head = log_head  # the newest position in the log (a query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != "/graphql"
                or scope["method"] != "POST"):
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        if authorization is None:  # the dashboard's cookie, with its CSRF token
            try:
                authorization = cookie_authorization(scope, csrf=True)
            except BadRequest as error:
                await refuse(send, error.status, error.message)
                return
        answer = await self.gate.admit(client_address(scope), authorization)
        if isinstance(answer, Refusal):
            await refuse(send, answer.status, answer.message,
                         answer.retry_after_header if answer.status == 429 else None)
            return
        state = scope.setdefault("state", {})
        state["admitted"] = answer
        try:
            state["min_position"] = await self.min_position(header(scope, MIN_POSITION))
            state["correlation_id"] = correlation_of_headers(scope)
            body = await read_body(receive, self.max_body, self.read_timeout)
            check_body(header(scope, b"content-type") or "", body)
        except BadRequest as error:
            await refuse(send, error.status, error.message)
            return
        await self.app(scope, _replay(body, receive), send)

    async def min_position(self, raw: str | None) -> int:
        """The position the request's reads must see (0: any). ASCII digits only (int()
        would take "٣"); a position beyond the log is the client's mistake, answered at
        once rather than waited for."""
        raw = (raw or "").strip()
        if not raw:
            return 0
        if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_POSITION_DIGITS:
            raise BadRequest(400, "Wharf-Min-Position must be a log position (ASCII digits)")
        position = int(raw)
        if position > self.read_side():
            head = await anyio.to_thread.run_sync(self.log_head)
            if position > head:
                raise BadRequest(400, f"Wharf-Min-Position {position} is beyond the log, "
                                      f"whose newest position is {head}")
        return position


async def read_body(receive: Receive, max_body: int, read_timeout: float) -> bytes:
    """A request's whole body: BadRequest 413 past `max_body` bytes, 408 when it does not
    arrive within `read_timeout` seconds, 400 when the client went away (every entry point
    that reads a body reads it here: GraphQL, webhooks, the registry's notifications)."""
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(read_timeout) as deadline:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # Not a server error: one line (uvicorn logs no access line for it).
                log.info("a client went away before its request was read")
                raise BadRequest(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                raise BadRequest(413, f"request body over {max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
    if deadline.cancelled_caught:
        raise BadRequest(408, f"request body not received within {read_timeout:g} s")
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
    except RecursionError:
        raise BadRequest(400, "the request body nests too deeply") from None
    if not encodable(data):
        raise BadRequest(400, "the request body holds unpaired surrogate characters")
    if not isinstance(data, dict):
        raise BadRequest(400, "the request body must be a JSON object with a `query`")
    if not isinstance(data.get("query"), str):
        raise BadRequest(400, "`query` must be a string holding a GraphQL document")
    if not isinstance(data.get("variables") or {}, dict):
        raise BadRequest(400, "`variables` must be a JSON object")
    if not isinstance(data.get("operationName") or "", str):
        raise BadRequest(400, "`operationName` must be a string")


def encodable(data: Any) -> bool:
    """Whether every string in JSON `data` can be encoded (JSON can write a lone
    surrogate, "\ud800", which no store and no log can take)."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


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


def correlation_id(raw: str | None) -> str | None:
    """A client's name for the chain of work its mutations belong to (every event they
    lead to carries it): up to 64 letters, digits and . _ : -."""
    if raw is None or not raw.strip():
        return None
    if not CORRELATION_ID.fullmatch(raw.strip()):
        raise BadRequest(400, "Wharf-Correlation-Id: 1 to 64 of A-Z a-z 0-9 . _ : -")
    return raw.strip()


def correlation_of_headers(scope: Scope) -> str | None:
    """The request's Wharf-Correlation-Id (BadRequest if it is bad, or sent twice)."""
    if sum(1 for key, _ in scope["headers"] if key == CORRELATION) > 1:
        raise BadRequest(400, "Wharf-Correlation-Id: one, not several")
    return correlation_id(header(scope, CORRELATION))


def correlation_of(scope: Scope) -> str | None:
    value = scope.get("state", {}).get("correlation_id")
    return value if isinstance(value, str) else None


def min_position(scope: Scope) -> int:
    value = scope.get("state", {}).get("min_position", 0)
    return value if isinstance(value, int) else 0


# -- the dashboard's session cookie (web_session.py signs in) ---------------------------


def csrf_of(token: str) -> str:
    """The CSRF token that goes with a session's token: nobody without it can make it."""
    return hmac.new(token.encode(), b"wharf dashboard csrf", hashlib.sha256).hexdigest()[:32]


def session_token(scope: Scope) -> str | None:
    raw = header(scope, b"cookie")
    if not raw:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(raw)
    except CookieError:
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def same_origin(scope: Scope) -> bool:
    """Whether the request's Origin (when it sends one) is this server's own host."""
    origin = header(scope, b"origin")
    if origin is None:
        return True  # (not a browser's cross-site request: browsers send one)
    host = header(scope, b"host") or ""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"),
                                                 scope.get("scheme", "http"))
    try:
        sent = urlsplit(origin)
    except ValueError:  # (not a URL: "http://[")
        return False
    return bool(host) and sent.netloc.lower() == host.lower() and sent.scheme == scheme


def cookie_authorization(scope: Scope, *, csrf: bool) -> str | None:
    """`Bearer <token>` from the session cookie (None: no cookie). BadRequest 403 for a
    cross-site request, or (when `csrf`) one without the session's X-CSRF-Token."""
    token = session_token(scope)
    if token is None:
        return None
    if not same_origin(scope):
        raise BadRequest(403, "cross-site request refused")
    sent = (header(scope, CSRF_HEADER) or "").encode("latin-1")
    if csrf and not hmac.compare_digest(sent, csrf_of(token).encode()):
        raise BadRequest(403, "X-CSRF-Token missing or wrong: GET /session gives it")
    return f"Bearer {token}"

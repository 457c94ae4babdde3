"""WebSockets (graphql-transport-ws) held to the same rules as HTTP, and then some.

- A connection passes the gate (gate.py) at `connection_init`: failed logins count
  toward the address's back-off like bad tokens over HTTP.
- Connections are counted per member (whichever of its tokens it uses) and per address,
  subscriptions too; past a limit a
  connection is closed (4429) or a subscription refused with an error message.
- Every `subscribe` takes from the token's rate-limit bucket, as an HTTP request does.
- A watcher asks, twice a second, whether each open connection's token is still good:
  a revoked token, a removed member or a closed tenant has its connections closed
  (4403) and with them its subscriptions.
- Messages that are not what the protocol says are refused (4400), never a server error.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)

from wharf.infra.gate import Admitted, Gate, Refusal
from wharf.infra.http_guard import encodable

log = logging.getLogger(__name__)

WATCH_EVERY = 0.5  # seconds between looks at open connections' tokens
PER_ADDRESS = 4  # an address may hold this many times a member's limits


@dataclass(frozen=True)
class SessionLimits:
    connections_per_member: int = 10
    subscriptions_per_member: int = 50

    @property
    def connections_per_address(self) -> int:
        return self.connections_per_member * PER_ADDRESS

    @property
    def subscriptions_per_address(self) -> int:
        return self.subscriptions_per_member * PER_ADDRESS


class Sessions:
    """The open WebSockets of this process, by address and by token."""

    def __init__(self, gate: Gate, limits: SessionLimits) -> None:
        self.gate = gate
        self.limits = limits
        self.open: dict[GuardedHandler, str] = {}  # handler -> address
        self.admitted: dict[GuardedHandler, Admitted] = {}

    def enter(self, handler: GuardedHandler, address: str) -> str | None:
        """Why `address` may not open another connection, or None."""
        if sum(1 for a in self.open.values() if a == address) >= (
                self.limits.connections_per_address):
            return (f"too many WebSockets from this address "
                    f"(at most {self.limits.connections_per_address})")
        self.open[handler] = address
        return None

    def login(self, handler: GuardedHandler, admitted: Admitted) -> str | None:
        """Why the token may not hold another connection, or None."""
        if sum(1 for a in self.admitted.values() if a.key == admitted.key) >= (
                self.limits.connections_per_member):
            return (f"too many WebSockets for this member "
                    f"(at most {self.limits.connections_per_member})")
        self.admitted[handler] = admitted
        return None

    def leave(self, handler: GuardedHandler) -> None:
        self.open.pop(handler, None)
        self.admitted.pop(handler, None)

    def may_subscribe(self, handler: GuardedHandler) -> str | None:
        """Why the handler's caller may not start another operation now, or None."""
        admitted = self.admitted.get(handler)
        if admitted is None:
            return "not logged in"
        wait = self.gate.take(admitted.key)
        if wait:
            return f"too many requests from this member; retry in {math.ceil(wait)} s"
        by_token = sum(len(h.operations) for h, a in self.admitted.items()
                       if a.key == admitted.key)
        if by_token >= self.limits.subscriptions_per_member:
            return (f"too many subscriptions for this member "
                    f"(at most {self.limits.subscriptions_per_member})")
        address = self.open.get(handler)
        by_address = sum(len(h.operations) for h, a in self.open.items() if a == address)
        if by_address >= self.limits.subscriptions_per_address:
            return (f"too many subscriptions from this address "
                    f"(at most {self.limits.subscriptions_per_address})")
        return None

    def counts(self) -> tuple[int, int]:
        """Open connections and live operations, for /metrics."""
        return len(self.open), sum(len(h.operations) for h in self.open)

    async def watch(self) -> None:
        """Closes, within WATCH_EVERY, every connection whose token stopped being good."""
        while True:
            await anyio.sleep(WATCH_EVERY)
            tokens = Counter(a.token for a in self.admitted.values())
            for token in tokens:
                if await self.gate.still_valid(token):
                    continue
                for handler, admitted in list(self.admitted.items()):
                    if admitted.token == token:
                        self.admitted.pop(handler, None)
                        with contextlib.suppress(Exception):
                            await handler.websocket.close(4403, "token no longer valid")


class GuardedHandler(BaseGraphQLTransportWSHandler[Any, None]):
    """strawberry's graphql-transport-ws handler, with Wharf's sessions in front."""

    sessions: Sessions  # set on the subclass the view makes (see api.py)

    async def handle(self) -> None:
        if self.context.refused is not None:
            await self.websocket.close(4400, self.context.refused)
            return
        refusal = self.sessions.enter(self, self.context.address)
        if refusal is not None:
            await self.websocket.close(4429, refusal)
            return
        try:
            await super().handle()
        finally:
            self.sessions.leave(self)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload: Any = message.get("payload") or {}
        if not encodable(message):
            await self.handle_invalid_message("the message holds unpaired surrogates")
            return
        if (isinstance(payload, dict) and not self.connection_init_received
                and not self.connection_timed_out):
            refusal = await self.login(payload)
            if refusal is not None:
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                await self.websocket.close(*refusal)
                return
        await super().handle_connection_init(message)  # acknowledges (or closes)

    async def login(self, payload: dict[str, Any]) -> tuple[int, str] | None:
        """The gate, then the token's connection limit: (close code, reason) or None."""
        sent = str(payload.get("authorization") or "") or self.context.cookie_authorization
        answer = await self.sessions.gate.admit(self.context.address, sent)
        if isinstance(answer, Refusal):
            return (4429 if answer.status == 429 else 4403), answer.message
        refusal = self.sessions.login(self, answer)
        if refusal is not None:
            return 4429, refusal
        self.context.actor = answer.actor
        return None

    async def handle_message(self, message: Message) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("a message is a JSON object with a `type`")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await super().handle_subscribe(message)  # closes: unauthorised
            return
        payload: Any = message.get("payload")
        if (not isinstance(message.get("id"), str) or not isinstance(payload, dict)
                or not isinstance(payload.get("query"), str)
                or not isinstance(payload.get("variables") or {}, dict)
                or not isinstance(payload.get("operationName") or "", str)
                or not encodable(message)):
            await self.handle_invalid_message(
                "subscribe needs an `id` and a payload with a string `query`")
            return
        refusal = self.sessions.may_subscribe(self)
        if refusal is not None:
            await self.send_message({"id": message["id"], "type": "error",
                                     "payload": [{"message": refusal}]})
            return
        await super().handle_subscribe(message)

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, GraphQLError):  # (its text quotes the document)
            log.error("subscription task failed: %s", type(error).__name__)
        else:
            log.error("subscription task failed", exc_info=error)

"""A small GraphQL client for the CLI's tenant commands, which go through the API like
kubectl does: WHARF_URL (default: the local `wharf up`) and WHARF_TOKEN (default: the
operator token in WHARF_HOME)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from websockets.sync.client import connect

from wharf.infra.settings import Settings


class ApiError(Exception):
    pass


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    @classmethod
    def from_env(cls, settings: Settings) -> Client:
        url, token = settings.url, settings.token
        if not token:
            path = settings.home / "operator-token"
            if not path.exists():
                raise ApiError("set WHARF_TOKEN (or run where `wharf up` keeps its "
                               "operator token)")
            token = path.read_text().strip()
        return cls(url, token)

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": document, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ApiError(f"{self.url}: HTTP {error.code} {error.read().decode()[:200]}") \
                from None
        except OSError as error:
            raise ApiError(f"{self.url} does not answer: {error}") from None
        if answer.get("errors"):
            raise ApiError("; ".join(e["message"] for e in answer["errors"]))
        data: dict[str, Any] = answer["data"]
        return data

    def subscribe(self, document: str,
                  variables: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """The `data` of each result of a subscription (graphql-transport-ws)."""
        ws_url = "ws" + self.url[len("http"):] + "/graphql"
        with connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
            socket.send(json.dumps({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {self.token}"}}))
            if json.loads(socket.recv()).get("type") != "connection_ack":
                raise ApiError("the API refused the subscription's connection")
            socket.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": document,
                                                "variables": variables or {}}}))
            for raw in socket:
                message = json.loads(raw)
                if message["type"] == "next":
                    if message["payload"].get("errors"):
                        raise ApiError("; ".join(e["message"]
                                                 for e in message["payload"]["errors"]))
                    yield message["payload"]["data"]
                elif message["type"] == "error":
                    raise ApiError(str(message["payload"]))
                elif message["type"] == "complete":
                    return

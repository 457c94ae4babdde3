"""A real Wharf API on uvicorn, on a free loopback port, for every GraphQL test."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import DrivenClock
from wharf.commands.ports import Clock
from wharf.infra.api import Limits, create_app
from wharf.infra.bootstrap import Wiring, build
from wharf.infra.logstore import LogStore
from wharf.infra.ratelimit import AuthFailures
from wharf.infra.serve import ensure_operator_token, limits_of, make_server
from wharf.infra.settings import Settings


@dataclass
class Api:
    url: str
    wiring: Wiring
    operator_token: str

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             token: str | None = None, headers: dict[str, str] | None = None,
             source: str = "127.0.0.1") -> tuple[int, dict[str, Any]]:
        """POST /graphql from `source` (a 127.0.0.x address of the test's choosing);
        the status and the JSON answer (or {"text": ...}), with "retry_after"."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        address = urlparse(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30,
                                                source_address=(source, 0))
        try:
            connection.request("POST", "/graphql", body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        try:
            answer: dict[str, Any] = json.loads(text)
        except ValueError:
            answer = {"text": text}
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            answer["retry_after"] = retry_after
        return response.status, answer

    def gql(self, query: str, variables: dict[str, Any] | None = None, *,
            token: str | None = None) -> dict[str, Any]:
        """The `data` of a successful answer (asserts there were no errors)."""
        status, answer = self.post(query, variables, token=token)
        assert status == 200 and "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def get(self, path: str, token: str | None = None) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.url}{path}")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from _serve(store_url, tmp_path, dev=False)


@pytest.fixture
def dev_api(tmp_path: Path) -> Iterator[Api]:
    """WHARF_DEV on, with a store of its own."""
    yield from _serve(f"sqlite:///{tmp_path / 'dev' / 'wharf.db'}", tmp_path / "dev", dev=True)


@pytest.fixture
def limited_api(tmp_path: Path) -> Iterator[Api]:
    """One request a second per token, bursts of three; back-off after two bad tokens."""
    yield from _serve(f"sqlite:///{tmp_path / 'limited' / 'wharf.db'}", tmp_path / "limited",
                      dev=False, limits=Limits(rate=1.0, burst=3),
                      failures=AuthFailures(free=2))


@pytest.fixture
def small_logs_api(tmp_path: Path) -> Iterator[Api]:
    """Container logs kept in two files of 2,000 bytes: old lines go early."""
    yield from _serve(f"sqlite:///{tmp_path / 'small' / 'wharf.db'}", tmp_path / "small",
                      dev=False, logs=LogStore(tmp_path / "small-logs", file_bytes=2000,
                                               files=2))


def _serve(url: str, tmp_path: Path, dev: bool, limits: Limits | None = None,
           failures: AuthFailures | None = None, clock: Clock | None = None,
           logs: LogStore | None = None, **env: str) -> Iterator[Api]:
    """Wharf's API as `wharf up` serves it (make_server), on a free port."""
    settings = Settings.from_env({"WHARF_HOME": str(tmp_path / "home"),
                                  "WHARF_DATABASE_URL": url, "WHARF_LISTEN": "127.0.0.1:0",
                                  **env})
    wiring = build(settings, clock=clock or DrivenClock())
    if logs is not None:
        wiring.logs = logs
    token = ensure_operator_token(wiring, settings)
    assert token is not None
    app = create_app(wiring, embedded=True, dev=dev, limits=limits or limits_of(settings),
                     failures=failures)
    server = make_server(app, settings, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and server.servers):
        assert time.monotonic() < deadline, "uvicorn did not start"
        thread.join(0.01)  # returns at once if uvicorn died
        assert thread.is_alive(), "uvicorn died"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Api(f"http://127.0.0.1:{port}", wiring, token)
    finally:
        server.should_exit = True
        thread.join(10)
        wiring.close()


CREATE_TENANT = """
mutation($name: String!, $owner: String!, $plan: String!) {
  createTenant(input: {name: $name, owner: $owner, plan: $plan}) {
    __typename
    ... on TenantCreated { ownerToken position tenant { tenant { id name } } }
    ... on InvalidInput { field message }
    ... on Conflict { message }
  }
}"""


def new_tenant(api: Api, name: str = "acme", plan: str = "free") -> tuple[str, str]:
    """Creates a tenant through the API; returns (tenant id, owner token)."""
    data = api.gql(CREATE_TENANT, {"name": name, "owner": f"owner@{name}.io", "plan": plan},
                   token=api.operator_token)
    created = data["createTenant"]
    assert created["__typename"] == "TenantCreated", created
    return created["tenant"]["tenant"]["id"], created["ownerToken"]

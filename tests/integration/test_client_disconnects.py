"""Clients that go away (during a stall of the server, say) are not server errors: no
ERROR and no traceback in the log, one access line each."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tests.integration.helpers import Running, running_wharf, wait_for


def test_requests_abandoned_during_a_stall_log_no_error(tmp_path: Path) -> None:
    with running_wharf(f"sqlite:///{tmp_path / 'home' / 'wharf.db'}",
                       tmp_path / "home") as wharf:
        address = urlparse(wharf.url)

        def request(i: int) -> bytes:
            body = json.dumps({"query": "mutation($n: String!) { createTenant(input: "
                                        '{name: $n, owner: "o@t.io"}) { __typename } }',
                               "variables": {"n": f"t{i}"}}).encode()
            return (f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    f"\r\nAuthorization: Bearer {wharf.token}\r\nContent-Length: "
                    f"{len(body)}\r\n\r\n").encode() + body

        os.kill(wharf.process.pid, signal.SIGSTOP)  # frozen, as under a stall
        try:
            for i in range(30):
                with socket.create_connection((address.hostname, address.port)) as sock:
                    # a whole request, or its head and half its body; then gone
                    sent = request(i)
                    sock.sendall(sent if i < 15 else sent[:-20])
        finally:
            os.kill(wharf.process.pid, signal.SIGCONT)
        # The server reads none of them: each client is gone (one INFO line each).
        wait_for("the abandoned requests", lambda: wharf.log().count(
            "a client went away before its request was read") == 30)
        assert _tenants(wharf) == 0
    log = wharf.log()
    assert "Exception in ASGI application" not in log and "Traceback" not in log
    assert " ERROR " not in log and "ERROR:" not in log


def _tenants(wharf: Running) -> int:
    request = urllib.request.Request(
        f"{wharf.url}/graphql", data=json.dumps({"query": "{ tenants(first: 100) "
                                                          "{ edges { cursor } } }"}).encode(),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {wharf.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return len(json.loads(response.read())["data"]["tenants"]["edges"])

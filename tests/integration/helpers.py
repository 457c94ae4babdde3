"""Small builders shared by the integration tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.infra.bootstrap import Wiring


@dataclass
class TenantHandle:
    id: UUID
    owner: Actor
    token: str


def make_tenant(wiring: Wiring, name: str = "acme", plan: str = "free",
                owner: str = "owner@acme.io") -> TenantHandle:
    outcome = wiring.app.handle(m.CreateTenant(actor=Actor.operator("test"), name=name,
                                               plan=plan, owner=owner))
    assert outcome.id is not None and outcome.token is not None
    return TenantHandle(outcome.id, wiring.app.authenticate(outcome.token), outcome.token)


def create_container(wiring: Wiring, tenant: TenantHandle, name: str, **spec: object) -> UUID:
    outcome = wiring.app.handle(m.CreateContainer(
        actor=tenant.owner, tenant_id=tenant.id, name=name, spec={"image": "busybox", **spec}))
    assert outcome.id is not None
    return outcome.id


def caught_up(wiring: Wiring) -> Wiring:
    wiring.projector.catch_up()
    return wiring


ROOT = Path(__file__).parents[2]


def wharf(url: str, home: Path, *args: str, ok: bool = True,
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the `wharf` CLI as a real process on the store at `url` (`stdin`: its input,
    not a terminal)."""
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "wharf.infra.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300,
                          input=stdin if stdin is not None else "")
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Polls `check` until it returns something truthy; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class Running:
    """A `wharf up` process: its address, the operator's token and its output so far."""

    process: subprocess.Popen[str]
    url: str
    token: str
    output: Path

    def log(self) -> str:
        return self.output.read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_wharf(url: str, home: Path, *args: str, **env: str) -> Iterator[Running]:
    """`wharf -v up` (every log line, INFO included) as a real process, with its output in
    HOME/../wharf-up.log; stopped (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    output = home.parent / f"{home.name}-up.log"
    environment = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
                   "WHARF_LISTEN": f"127.0.0.1:{port}", "WHARF_SCHEDULER": "off",
                   "WHARF_REGISTRY": f"127.0.0.1:{free_port()}", "PYTHONPATH": str(ROOT),
                   **env}
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "-v", *args,
                                    "up"], env=environment, stdout=sink, stderr=sink,
                                   text=True)
    try:
        def ready() -> bool:
            assert process.poll() is None, output.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return True
            except OSError:
                return False

        wait_for("wharf up to answer", ready, timeout=60)
        token = (home / "operator-token").read_text().strip()
        yield Running(process, f"http://127.0.0.1:{port}", token, output)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

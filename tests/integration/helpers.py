"""Small builders shared by the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


def wharf(url: str, home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the `wharf` CLI as a real process on the store at `url`."""
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "wharf.infra.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)
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

"""Pull-through mirrors' processes: one `docker-registry` in proxy mode per mirror, each
on its own loopback address and data directory (WHARF_HOME/mirrors/<id>), trusting
Wharf's tokens for its own service name (`wharf-mirror-<id>`).

The supervisor (on the scheduler's leader) starts each live mirror, starts again one that
died, stops a deleted one, and records what it saw: `running`, or `unreachable` with the
error the process gave (a proxy-mode registry stops at start when its upstream cannot be
reached; the next pass tries again).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.domain.errors import DomainError
from wharf.infra.caddy import free_port
from wharf.infra.registry import RegistryError, RegistryProcess
from wharf.infra.registry_tokens import TokenSigner
from wharf.projections.reads import Reader
from wharf.projections.reads import repositories as repository_reads

log = logging.getLogger(__name__)

SUPERVISOR = Actor.system("mirrors")
PASS_SECONDS = 10.0


def mirror_service(mirror_id: str) -> str:
    """The service name a mirror's tokens are for."""
    return f"wharf-mirror-{mirror_id}"


class MirrorSupervisor:
    def __init__(self, app: Wharf, view: Reader, home: Path, api_url: str,
                 signer: TokenSigner) -> None:
        self.app = app
        self.view = view
        self.home = home
        self.api_url = api_url
        self.signer = signer
        self.processes: dict[str, RegistryProcess] = {}

    def run_forever(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.pass_once()
                except Exception:
                    log.exception("mirror supervisor pass failed")
                stop.wait(PASS_SECONDS)
        finally:
            self.close()

    def pass_once(self) -> None:
        for row in repository_reads.mirrors(self.view, None, live=False):
            process = self.processes.get(row.id)
            if row.deleted:
                if process is not None:
                    process.stop()
                    del self.processes[row.id]
                continue
            if process is not None and process.alive:
                self._observe(row.id, row.state, "running", "")
                continue
            self._start(row)

    def _start(self, row: repository_reads.MirrorRow) -> None:
        mirror: Any = self.app.repository.get(UUID(row.id))
        address = mirror.address
        if not address:
            address = f"127.0.0.1:{free_port()}"
            try:
                self.app.handle(m.RecordMirrorServed(actor=SUPERVISOR, mirror_id=mirror.id,
                                                     address=address))
            except DomainError as error:
                log.warning("mirror %s: %s", row.name, error)
                return
        proxy = {"remoteurl": mirror.upstream}
        if mirror.username:
            proxy |= {"username": mirror.username,
                      "password": self.app.mirror_password(mirror)}
        process = RegistryProcess(self.home, address, self.api_url, self.signer,
                                  service=mirror_service(row.id), proxy=proxy,
                                  directory=self.home / "mirrors" / row.id)
        try:
            process.start()
        except RegistryError as error:
            process.stop()
            self._observe(row.id, row.state, "unreachable", str(error))
            return
        self.processes[row.id] = process
        self._observe(row.id, row.state, "running", "")

    def _observe(self, mirror_id: str, was: str, state: str, detail: str) -> None:
        if was == state and state == "running":
            return
        try:
            self.app.handle(m.RecordMirrorState(actor=SUPERVISOR, mirror_id=UUID(mirror_id),
                                                state=state, detail=detail))
        except DomainError as error:
            log.warning("mirror %s: %s", mirror_id, error)

    def close(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.processes.clear()

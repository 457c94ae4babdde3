"""The volumes controller: backups taken, restores made, and the Docker volumes of
deleted volumes removed, each step recorded (volumes are bound to a host by the first
container that mounts one: containers.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

from wharf.commands import messages as m
from wharf.domain.errors import DomainError
from wharf.projections.reads import Reader
from wharf.projections.reads import volumes as volume_reads
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.fleet import Fleet
from wharf.schedulers.leading import Leading
from wharf.schedulers.placement import HostRoom
from wharf.schedulers.ports import EngineError
from wharf.schedulers.reconcile import VolumeAction, VolumeWant, plan_volumes

log = logging.getLogger(__name__)


class VolumesController:
    kinds = frozenset({ActionKind.BACKUP, ActionKind.RESTORE, ActionKind.REMOVE_VOLUME})

    def __init__(self, reader: Reader, leading: Leading, fleet: Fleet,
                 backups: Path) -> None:
        self.reader = reader
        self.leading = leading
        self.fleet = fleet
        self.backups = backups

    def plan(self, hosts: list[HostRoom], answering: list[str]) -> list[VolumeAction]:
        """Engines are asked for their volumes only when Wharf has (or had) some."""
        wants = self.wants()
        observed = self.fleet.volumes(answering) if wants else {}
        return plan_volumes(wants, observed, hosts)

    def wants(self) -> list[VolumeWant]:
        return [VolumeWant(id=w.volume.id, tenant_id=w.volume.tenant_id, tenant=w.tenant,
                           state=w.volume.state, host_id=w.volume.host_id,
                           backups_due=w.backups_due, restore=w.restore)
                for w in volume_reads.wanted(self.reader)]

    def carry_out(self, action: VolumeAction) -> tuple[bool, int]:
        engine = self.fleet.engines[action.host_id]
        vid = UUID(action.volume_id)
        try:
            if action.kind is ActionKind.REMOVE_VOLUME:
                if engine.remove_volume(action.volume_id):
                    log.info("removed the Docker volume of deleted volume %s", vid)
                return True, 0
            if action.kind is ActionKind.BACKUP:
                size, digest = engine.backup_volume(
                    action.volume_id, self.archive(action.volume_id, action.backup_id))
                outcome = self.leading.record(m.RecordBackup, volume_id=vid,
                                              backup_id=action.backup_id, size_bytes=size,
                                              sha256=digest)
                return True, outcome.position
            if action.kind is ActionKind.RESTORE:
                volume = volume_reads.volume(self.reader, action.volume_id)
                assert volume is not None
                engine.restore_volume(action.volume_id, volume.tenant_id,
                                      self.archive(action.source_volume_id, action.backup_id))
                outcome = self.leading.record(m.RecordRestore, volume_id=vid,
                                              host_id=UUID(action.host_id))
                return True, outcome.position
        except (EngineError, DomainError, OSError) as error:
            log.warning("%s of volume %s failed: %s", action.kind, vid, error)
        except Exception:
            log.exception("%s of volume %s failed", action.kind, vid)
        return False, 0

    def archive(self, volume_id: str, backup_id: str) -> Path:
        """Where the archive of one backup lives (under WHARF_HOME)."""
        return self.backups / volume_id / f"{backup_id}.tar"

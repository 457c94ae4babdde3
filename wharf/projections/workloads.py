"""Containers, volumes and secret names of every tenant."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.application import Application
from wharf.domain.container import Container
from wharf.domain.secret import Secret
from wharf.domain.service import Service
from wharf.domain.volume import Volume
from wharf.projections.base import ReadModel, as_json, ts, uid


class Containers(ReadModel):
    name = "containers"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_containers (id TEXT PRIMARY KEY, "
        "tenant_id TEXT NOT NULL, name TEXT NOT NULL, image TEXT NOT NULL, spec TEXT NOT NULL, "
        "cpu_millis INTEGER NOT NULL, memory_mib INTEGER NOT NULL, desired TEXT NOT NULL, "
        "observed TEXT NOT NULL, host_id TEXT, exit_code INTEGER, oom_killed INTEGER, "
        "generation INTEGER NOT NULL DEFAULT 0, run_generation INTEGER NOT NULL DEFAULT 0, "
        "restarts INTEGER NOT NULL DEFAULT 0, started_at TEXT, finished_at TEXT, "
        "ports TEXT NOT NULL DEFAULT '{}', unschedulable TEXT, unschedulable_summary TEXT, "
        "failure TEXT, "
        "disk_over_since TEXT, service_id TEXT, health TEXT, "
        "config_version INTEGER NOT NULL DEFAULT 0, pulling TEXT, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_containers_tenant ON rm_containers "
        "(tenant_id, created_at, id)",
        "CREATE INDEX IF NOT EXISTS rm_containers_service ON rm_containers "
        "(service_id, created_at, id)",
    )
    tables = (("rm_containers", "id"),)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Container.Created, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_containers (id, tenant_id, name, image, spec, cpu_millis, "
            "memory_mib, desired, observed, generation, service_id, config_version, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
            (str(event.originator_id), str(event.tenant_id), event.name, event.spec["image"],
             as_json(event.spec), event.cpu_millis, event.memory_mib, event.desired,
             1 if event.desired == "running" else 0, uid(event.service_id),
             event.config_version, ts(event), ts(event)),
        )

    @process_event.register
    def _(self, event: Container.StartRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'running', generation = generation + 1, restarts = 0")

    @process_event.register
    def _(self, event: Container.StopRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'stopped'")

    @process_event.register
    def _(self, event: Container.DeleteRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'deleted'")

    @process_event.register
    def _(self, event: Container.Placed, tracking: Tracking) -> None:
        self._update(event, "host_id = ?, unschedulable = NULL, unschedulable_summary = NULL",
                     str(event.host_id))

    @process_event.register
    def _(self, event: Container.Unschedulable, tracking: Tracking) -> None:
        self._update(event, "unschedulable = ?, unschedulable_summary = ?",
                     as_json(event.reasons), as_json(event.summary))

    @process_event.register
    def _(self, event: Container.Started, tracking: Tracking) -> None:
        self._update(event, "observed = 'running', exit_code = NULL, oom_killed = NULL, "
                     "failure = NULL, health = NULL, pulling = NULL, run_generation = ?, "
                     "started_at = ?, "
                     "ports = ?",
                     event.generation,
                     event.started_at, as_json(event.ports))

    @process_event.register
    def _(self, event: Container.Exited, tracking: Tracking) -> None:
        self._update(event, "observed = 'exited', exit_code = ?, oom_killed = ?, "
                     "finished_at = ?", event.exit_code, int(event.oom_killed),
                     event.finished_at)

    @process_event.register
    def _(self, event: Container.HealthChanged, tracking: Tracking) -> None:
        self._update(event, "health = ?", event.status)

    @process_event.register
    def _(self, event: Container.Paused, tracking: Tracking) -> None:
        self._update(event, "observed = 'paused'")

    @process_event.register
    def _(self, event: Container.Unpaused, tracking: Tracking) -> None:
        self._update(event, "observed = 'running'")

    @process_event.register
    def _(self, event: Container.DiskOverLimit, tracking: Tracking) -> None:
        self._update(event, "disk_over_since = ?", event.at)

    @process_event.register
    def _(self, event: Container.DiskWithinLimit, tracking: Tracking) -> None:
        self._update(event, "disk_over_since = NULL")

    @process_event.register
    def _(self, event: Container.DiskLimitEnforced, tracking: Tracking) -> None:
        self._update(event, "desired = 'stopped'")

    @process_event.register
    def _(self, event: Container.Failed, tracking: Tracking) -> None:
        self._update(event, "failure = ?, pulling = NULL", event.reason)

    @process_event.register
    def _(self, event: Container.Pulling, tracking: Tracking) -> None:
        self._update(event, "pulling = ?", event.progress or None)

    @process_event.register
    def _(self, event: Container.Restarted, tracking: Tracking) -> None:
        self._update(event, "restarts = ?", event.attempt)

    @process_event.register
    def _(self, event: Container.Removed, tracking: Tracking) -> None:
        self._update(event, "observed = 'removed', ports = '{}'")

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_containers SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )


class Services(ReadModel):
    """Services: their spec, the count asked for, and the listeners that balance them.
    Their replicas are rows of rm_containers (service_id)."""

    name = "services"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_services (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "name TEXT NOT NULL, category TEXT NOT NULL, image TEXT NOT NULL, spec TEXT NOT NULL, "
        "balanced TEXT NOT NULL, cpu_millis INTEGER NOT NULL, memory_mib INTEGER NOT NULL, "
        "desired TEXT NOT NULL, replicas INTEGER NOT NULL, endpoints TEXT NOT NULL, "
        "autoscale TEXT, scaled_at TEXT, scale_reason TEXT, application_id TEXT, "
        "alias TEXT NOT NULL, depends_on TEXT NOT NULL, version INTEGER NOT NULL, "
        "good_version INTEGER NOT NULL, retiring TEXT NOT NULL, update_policy TEXT NOT NULL, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_services_tenant ON rm_services "
        "(tenant_id, created_at, id)",
    )
    tables = (("rm_services", "id"),)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Service.Created, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_services (id, tenant_id, name, category, image, spec, balanced, "
            "cpu_millis, memory_mib, desired, replicas, endpoints, application_id, alias, "
            "depends_on, version, good_version, retiring, update_policy, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '{}', ?, ?, ?, 1, 1, '{}', "
            "?, ?, ?)",
            (str(event.originator_id), str(event.tenant_id), event.name, event.category,
             event.spec["image"], as_json(event.spec), as_json(event.balanced),
             event.cpu_millis, event.memory_mib, event.desired, uid(event.application_id),
             event.alias, as_json(event.depends_on), as_json(event.update), ts(event),
             ts(event)))

    @process_event.register
    def _(self, event: Service.Rolled, tracking: Tracking) -> None:
        # (The pairs in progress are whole in each event that changes them: the
        # aggregate's `retiring` after it.)
        self._update(event, "retiring = ?", as_json(event.retiring))

    @process_event.register
    def _(self, event: Service.Retired, tracking: Tracking) -> None:
        self._update(event, "retiring = ?", as_json(event.retiring))

    @process_event.register
    def _(self, event: Service.RolloutFinished, tracking: Tracking) -> None:
        self._update(event, "good_version = ?", event.config_version)

    @process_event.register
    def _(self, event: Service.RolledBack, tracking: Tracking) -> None:
        self._update(event, "version = ?, image = ?, spec = ?, balanced = ?, cpu_millis = ?, "
                     "memory_mib = ?, depends_on = ?, retiring = '{}'", event.to_version,
                     event.config["spec"]["image"], as_json(event.config["spec"]),
                     as_json(event.config["balanced"]), event.config["cpu_millis"],
                     event.config["memory_mib"], as_json(event.config["depends_on"]))

    @process_event.register
    def _(self, event: Service.Reconfigured, tracking: Tracking) -> None:
        self._update(event, "version = ?, image = ?, spec = ?, balanced = ?, cpu_millis = ?, "
                     "memory_mib = ?, depends_on = ?", event.config_version, event.spec["image"],
                     as_json(event.spec), as_json(event.balanced), event.cpu_millis,
                     event.memory_mib, as_json(event.depends_on))

    @process_event.register
    def _(self, event: Service.Scaled, tracking: Tracking) -> None:
        self._update(event, "replicas = ?, scaled_at = ?, scale_reason = ?", event.replicas,
                     ts(event), event.reason)

    @process_event.register
    def _(self, event: Service.UpdatePolicySet, tracking: Tracking) -> None:
        self._update(event, "update_policy = ?", as_json(event.policy))

    @process_event.register
    def _(self, event: Service.AutoscalePolicySet, tracking: Tracking) -> None:
        self._update(event, "autoscale = ?",
                     None if event.policy is None else as_json(event.policy))

    @process_event.register
    def _(self, event: Service.StartRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'running'")

    @process_event.register
    def _(self, event: Service.StopRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'stopped'")

    @process_event.register
    def _(self, event: Service.DeleteRequested, tracking: Tracking) -> None:
        self._update(event, "desired = 'deleted', replicas = 0")

    @process_event.register
    def _(self, event: Service.EndpointAssigned, tracking: Tracking) -> None:
        self._update(event, "endpoints = ?", as_json(event.endpoints))

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_services SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )


class Applications(ReadModel):
    """Applications, their services by Compose name, and the custom domains bound."""

    name = "applications"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_applications (id TEXT PRIMARY KEY, "
        "tenant_id TEXT NOT NULL, name TEXT NOT NULL, desired TEXT NOT NULL, "
        "version INTEGER NOT NULL, entry TEXT, services TEXT NOT NULL, "
        "warnings TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_applications_tenant ON rm_applications "
        "(tenant_id, created_at, id)",
        "CREATE TABLE IF NOT EXISTS rm_domains (domain TEXT PRIMARY KEY, "
        "tenant_id TEXT NOT NULL, application_id TEXT NOT NULL, service TEXT NOT NULL, "
        "bound_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_domains_application ON rm_domains (application_id)",
    )
    tables = (("rm_applications", "id"), ("rm_domains", "domain"))

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Application.Created, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_applications (id, tenant_id, name, desired, version, services, "
            "warnings, created_at, updated_at) VALUES (?, ?, ?, 'running', 0, '[]', '[]', ?, ?)",
            (str(event.originator_id), str(event.tenant_id), event.name, ts(event), ts(event)))

    @process_event.register
    def _(self, event: Application.Deployed, tracking: Tracking) -> None:
        self._update(event, "desired = 'running', version = ?, entry = ?, services = ?, "
                     "warnings = ?", event.deploy, event.entry,
                     as_json(list(event.services.items())),  # (in the file's order)
                     as_json(event.warnings))

    @process_event.register
    def _(self, event: Application.Stopped, tracking: Tracking) -> None:
        self._update(event, "desired = 'stopped'")

    @process_event.register
    def _(self, event: Application.Started, tracking: Tracking) -> None:
        self._update(event, "desired = 'running'")

    @process_event.register
    def _(self, event: Application.Deleted, tracking: Tracking) -> None:
        self._update(event, "desired = 'deleted', services = '[]'")
        self.view.stage("DELETE FROM rm_domains WHERE application_id = ?",
                        (str(event.originator_id),))

    @process_event.register
    def _(self, event: Application.DomainBound, tracking: Tracking) -> None:
        # (A domain moves between a tenant's applications: its row is replaced.)
        self.view.stage("DELETE FROM rm_domains WHERE domain = ?", (event.domain,))
        self.view.stage(
            "INSERT INTO rm_domains (domain, tenant_id, application_id, service, bound_at) "
            "SELECT ?, tenant_id, id, ?, ? FROM rm_applications WHERE id = ?",
            (event.domain, event.service, ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Application.DomainUnbound, tracking: Tracking) -> None:
        self.view.stage("DELETE FROM rm_domains WHERE domain = ? AND application_id = ?",
                        (event.domain, str(event.originator_id)))

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_applications SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )


class Volumes(ReadModel):
    name = "volumes"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_volumes (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "name TEXT NOT NULL, size_gib INTEGER NOT NULL, state TEXT NOT NULL, host_id TEXT, "
        "restoring_from TEXT, disk_over_since TEXT, created_at TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_volumes_tenant ON rm_volumes (tenant_id, created_at, id)",
        "CREATE TABLE IF NOT EXISTS rm_volume_backups (id TEXT PRIMARY KEY, "
        "volume_id TEXT NOT NULL, tenant_id TEXT NOT NULL, state TEXT NOT NULL, "
        "size_bytes INTEGER, sha256 TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_volume_backups_volume ON rm_volume_backups "
        "(volume_id, created_at)",
    )
    tables = (("rm_volumes", "id"), ("rm_volume_backups", "id"))

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Volume.Created, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_volumes (id, tenant_id, name, size_gib, state, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?)",
            (str(event.originator_id), str(event.tenant_id), event.name, event.size_gib,
             ts(event), ts(event)),
        )

    @process_event.register
    def _(self, event: Volume.Resized, tracking: Tracking) -> None:
        self._update(event, "size_gib = ?", event.size_gib)

    @process_event.register
    def _(self, event: Volume.Deleted, tracking: Tracking) -> None:
        self._update(event, "state = 'deleted'")

    @process_event.register
    def _(self, event: Volume.DiskOverLimit, tracking: Tracking) -> None:
        self._update(event, "disk_over_since = ?", event.at)

    @process_event.register
    def _(self, event: Volume.DiskWithinLimit, tracking: Tracking) -> None:
        self._update(event, "disk_over_since = NULL")

    @process_event.register
    def _(self, event: Volume.Placed, tracking: Tracking) -> None:
        self._update(event, "host_id = ?", str(event.host_id))

    @process_event.register
    def _(self, event: Volume.RestoreRequested, tracking: Tracking) -> None:
        self._update(event, "state = 'restoring', restoring_from = ?", event.backup_id)

    @process_event.register
    def _(self, event: Volume.Restored, tracking: Tracking) -> None:
        self._update(event, "state = 'active', restoring_from = NULL, host_id = ?",
                     str(event.host_id))

    @process_event.register
    def _(self, event: Volume.BackupRequested, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_volume_backups (id, volume_id, tenant_id, state, created_at, "
            "updated_at) SELECT ?, id, tenant_id, 'requested', ?, ? FROM rm_volumes "
            "WHERE id = ?",
            (event.backup_id, ts(event), ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Volume.BackedUp, tracking: Tracking) -> None:
        self.view.stage(
            "UPDATE rm_volume_backups SET state = 'done', size_bytes = ?, sha256 = ?, "
            "updated_at = ? WHERE id = ?",
            (event.size_bytes, event.sha256, ts(event), event.backup_id))

    def _update(self, event: Any, assignments: str, *params: Any) -> None:
        self.view.stage(
            f"UPDATE rm_volumes SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, ts(event), str(event.originator_id)),
        )


class Secrets(ReadModel):
    """Names and times only: values never reach the read side."""

    name = "secrets"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_secrets (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "name TEXT NOT NULL, deleted INTEGER NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_secrets_tenant ON rm_secrets (tenant_id, name)",
    )
    tables = (("rm_secrets", "id"),)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Secret.Created, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_secrets VALUES (?, ?, ?, 0, ?)",
                        (str(event.originator_id), str(event.tenant_id), event.name, ts(event)))

    @process_event.register
    def _(self, event: Secret.Set, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_secrets SET deleted = 0, updated_at = ? WHERE id = ?",
                        (ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Secret.Deleted, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_secrets SET deleted = 1, updated_at = ? WHERE id = ?",
                        (ts(event), str(event.originator_id)))

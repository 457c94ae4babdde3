"""Tenant: members and roles, plan, status, and what its workloads reserve.

Reservations live here so that one optimistic-concurrency check on the tenant makes plan
limits exact when many requests race: two creates decided against the same version of
the tenant cannot both be saved. About 330 lines on purpose: an aggregate and its event
classes are declared together.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from wharf.domain.plans import Plan, Resources

ROLES = ("owner", "developer", "viewer")
MANAGE_WORKLOADS = ("owner", "developer")
MANAGE_TENANT = ("owner",)
READ = ROLES
TENANT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
MAX_DOMAINS = 100  # custom domains one tenant may hold: none can squat a namespace
OBJECT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_email(email: str, field: str = "email") -> str:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise InvalidInput(field, "not an e-mail address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    return role


def check_object_name(name: str, field: str = "name") -> str:
    if not OBJECT_NAME.fullmatch(name):
        raise InvalidInput(field, "1-63 lower-case letters, digits or '-', not starting or "
                                  "ending with '-'")
    return name


class Tenant(WharfAggregate):
    @property
    def services(self) -> dict[str, UUID]:
        """Service ids by name. (Read this way: a snapshot taken before services existed
        restores without the attribute.)"""
        found: dict[str, UUID] = self.__dict__.get("_services", {})
        return found

    @property
    def domains(self) -> frozenset[str]:
        """The custom domains its applications hold (read this way, as `services`)."""
        return frozenset(self.__dict__.get("_domains", ()))  # (a list: snapshots are JSON)

    @staticmethod
    def id_for(name: str) -> UUID:
        return derive_id("tenant", name)

    class Registered(WharfAggregate.Created):
        """Version 2 pins the plan's version; version 1 named the plan only."""

        class_version = 2
        name: str
        plan_name: str
        plan_version: int
        owner: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["plan_version"] = 1

    @event(Registered)
    def __init__(
        self,
        id: UUID, name: str, plan_name: str, plan_version: int, owner: str, actor: str, cause: str
    ) -> None:
        self.name = name
        self.plan_name = plan_name
        self.plan_version = plan_version
        self.status = "active"
        self.members: dict[str, str] = {owner: "owner"}
        # Bumped each time someone becomes a member; tokens carry the epoch they were
        # issued in, so a removed and re-added member's old tokens stay dead.
        self.epochs: dict[str, int] = {owner: 1}
        self.usage: dict[str, int] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.purge_after: str | None = None
        self.purged = False

    # -- its own hosts -----------------------------------------------------------------

    own_hosts: tuple[str, ...] = ()  # (a class default: tenants from before had none)

    def join_host(self, host_id: UUID, limit: int | None) -> None:
        if str(host_id) in self.own_hosts:
            return
        self.require_active()
        if limit is not None and len(self.own_hosts) >= limit:
            raise QuotaExceeded("own_hosts", limit, len(self.own_hosts), 1)
        self._host_joined(host_id=str(host_id))

    class HostJoined(WharfAggregate.Event):
        host_id: str

    @event(HostJoined)
    def _host_joined(self, host_id: str) -> None:
        self.own_hosts = (*self.own_hosts, host_id)

    def leave_host(self, host_id: UUID) -> None:
        if str(host_id) in self.own_hosts:
            self._host_left(host_id=str(host_id))

    class HostLeft(WharfAggregate.Event):
        host_id: str

    @event(HostLeft)
    def _host_left(self, host_id: str) -> None:
        self.own_hosts = tuple(h for h in self.own_hosts if h != host_id)

    # -- who may do what -------------------------------------------------------------

    def require_role(self, email: str, allowed: tuple[str, ...]) -> None:
        role = self.members.get(email)
        if role is None:
            raise Forbidden(f"{email} is not a member of tenant {self.name}")
        if role not in allowed:
            raise Forbidden(f"role {role} may not do this; needs {' or '.join(allowed)}")

    def require_active(self) -> None:
        if self.status != "active":
            raise Conflict(f"tenant {self.name} is {self.status}")

    # -- members ---------------------------------------------------------------------

    def add_member(self, email: str, role: str) -> None:
        self.require_active()
        if email in self.members:
            raise Conflict(f"{email} is already a member")
        self._member_added(email=email, role=role)

    class MemberAdded(WharfAggregate.Event):
        email: str
        role: str

    @event(MemberAdded)
    def _member_added(self, email: str, role: str) -> None:
        self.members[email] = role
        self.epochs[email] = self.epochs.get(email, 0) + 1

    def member_epoch(self, email: str) -> int:
        return self.epochs.get(email, 0) if email in self.members else 0

    def remove_member(self, email: str) -> None:
        self._require_member(email)
        if self.members[email] == "owner" and self._owners() == 1:
            raise Conflict("the last owner cannot be removed")
        self._member_removed(email=email)

    class MemberRemoved(WharfAggregate.Event):
        email: str

    @event(MemberRemoved)
    def _member_removed(self, email: str) -> None:
        del self.members[email]

    def change_role(self, email: str, role: str) -> None:
        self._require_member(email)
        if self.members[email] == role:
            return
        if self.members[email] == "owner" and self._owners() == 1:
            raise Conflict("the last owner must stay an owner")
        self._role_changed(email=email, role=role)

    class RoleChanged(WharfAggregate.Event):
        email: str
        role: str

    @event(RoleChanged)
    def _role_changed(self, email: str, role: str) -> None:
        self.members[email] = role

    def _require_member(self, email: str) -> None:
        if email not in self.members:
            raise NotFound("member", email)

    def _owners(self) -> int:
        return sum(1 for r in self.members.values() if r == "owner")

    # -- plan and status -------------------------------------------------------------

    def change_plan(self, plan: Plan) -> None:
        self.require_active()
        if (plan.name, plan.version) == (self.plan_name, self.plan_version):
            return
        for resource, used in self.usage.items():
            limit = plan.limit(resource)
            if limit is not None and used > limit:
                raise QuotaExceeded(resource, limit, used, 0)
        self._plan_changed(plan_name=plan.name, plan_version=plan.version)

    class PlanChanged(WharfAggregate.Event):
        plan_name: str
        plan_version: int

    @event(PlanChanged)
    def _plan_changed(self, plan_name: str, plan_version: int) -> None:
        self.plan_name = plan_name
        self.plan_version = plan_version

    def suspend(self) -> None:
        if self.status != "active":
            raise Conflict(f"tenant {self.name} is {self.status}, not active")
        self._suspended()

    class Suspended(WharfAggregate.Event):
        pass

    @event(Suspended)
    def _suspended(self) -> None:
        self.status = "suspended"

    def resume(self) -> None:
        if self.status != "suspended":
            raise Conflict(f"tenant {self.name} is {self.status}, not suspended")
        self._resumed()

    class Resumed(WharfAggregate.Event):
        pass

    @event(Resumed)
    def _resumed(self) -> None:
        self.status = "active"

    def close(self, purge_after: str) -> None:
        """Closes the tenant; its workloads and volumes are deleted after `purge_after`."""
        if self.status == "closed":
            raise Conflict(f"tenant {self.name} is already closed")
        self._closed(purge_after=purge_after)

    class Closed(WharfAggregate.Event):
        purge_after: str

    @event(Closed)
    def _closed(self, purge_after: str) -> None:
        self.status = "closed"
        self.purge_after = purge_after

    def mark_purged(self) -> None:
        if self.status != "closed" or self.purged:
            raise Conflict(f"tenant {self.name} is not waiting to be purged")
        self._purged()

    class Purged(WharfAggregate.Event):
        pass

    @event(Purged)
    def _purged(self) -> None:
        self.purged = True

    # -- reservations against the plan -----------------------------------------------

    def check_quota(self, plan: Plan, want: Resources) -> None:
        for resource, amount in want.items():
            limit = plan.limit(resource)
            used = self.usage.get(resource, 0)
            if amount > 0 and limit is not None and used + amount > limit:
                raise QuotaExceeded(resource, limit, used, amount)

    def reserve_container(
        self, plan: Plan, name: str, container_id: UUID, want: Resources, volumes: list[str]
    ) -> None:
        self.require_active()
        if name in self.containers:
            raise Conflict(f"a container named {name} already exists")
        if name in self.services:
            raise Conflict(f"a service named {name} already exists")
        for volume in volumes:
            if volume not in self.volumes:
                raise InvalidInput("volumes", f"no volume named {volume}")
        self.check_quota(plan, want)
        self._container_reserved(
            name=name, container_id=container_id, resources=want.as_data(), volumes=volumes
        )

    class ContainerReserved(WharfAggregate.Event):
        name: str
        container_id: UUID
        resources: dict[str, int]
        volumes: list[str]

    @event(ContainerReserved)
    def _container_reserved(
        self, name: str, container_id: UUID, resources: dict[str, int], volumes: list[str]
    ) -> None:
        self.containers[name] = {"id": container_id, "resources": resources, "volumes": volumes}
        self._add_usage(resources, 1)

    def release_container(self, name: str) -> None:
        if name in self.containers:
            self._container_released(name=name, resources=self.containers[name]["resources"])

    class ContainerReleased(WharfAggregate.Event):
        name: str
        resources: dict[str, int]

    @event(ContainerReleased)
    def _container_released(self, name: str, resources: dict[str, int]) -> None:
        del self.containers[name]
        self._add_usage(resources, -1)

    def reserve_service(self, name: str, service_id: UUID) -> None:
        """A service's name, which shares one namespace with containers: both are how
        neighbours reach them on the tenant's network. Its replicas reserve the rest."""
        self.require_active()
        if name in self.services:
            raise Conflict(f"a service named {name} already exists")
        if name in self.containers:
            raise Conflict(f"a container named {name} already exists")
        self._service_reserved(name=name, service_id=service_id)

    class ServiceReserved(WharfAggregate.Event):
        name: str
        service_id: UUID

    @event(ServiceReserved)
    def _service_reserved(self, name: str, service_id: UUID) -> None:
        self._services = {**self.services, name: service_id}

    def reserve_domain(self, name: str) -> None:
        """A custom domain counted against the tenant's cap (once, whichever of its
        applications holds it)."""
        if name in self.domains:
            return
        if len(self.domains) >= MAX_DOMAINS:
            raise QuotaExceeded("domains", MAX_DOMAINS, len(self.domains), 1)
        self._domain_reserved(name=name)

    class DomainReserved(WharfAggregate.Event):
        name: str

    @event(DomainReserved)
    def _domain_reserved(self, name: str) -> None:
        self._domains = sorted(self.domains | {name})

    def release_domain(self, name: str) -> None:
        if name in self.domains:
            self._domain_released(name=name)

    class DomainReleased(WharfAggregate.Event):
        name: str

    @event(DomainReleased)
    def _domain_released(self, name: str) -> None:
        self._domains = sorted(self.domains - {name})

    def release_service(self, name: str) -> None:
        if name in self.services:
            self._service_released(name=name)

    class ServiceReleased(WharfAggregate.Event):
        name: str

    @event(ServiceReleased)
    def _service_released(self, name: str) -> None:
        self._services = {k: v for k, v in self.services.items() if k != name}

    def reserve_volume(self, plan: Plan, name: str, volume_id: UUID, size_gib: int) -> None:
        self.require_active()
        if name in self.volumes:
            raise Conflict(f"a volume named {name} already exists")
        self.check_quota(plan, Resources(volume_gib=size_gib))
        self._volume_reserved(name=name, volume_id=volume_id, size_gib=size_gib)

    class VolumeReserved(WharfAggregate.Event):
        name: str
        volume_id: UUID
        size_gib: int

    @event(VolumeReserved)
    def _volume_reserved(self, name: str, volume_id: UUID, size_gib: int) -> None:
        self.volumes[name] = {"id": volume_id, "size_gib": size_gib}
        self._add_usage({"volume_gib": size_gib}, 1)

    def resize_volume(self, plan: Plan, name: str, size_gib: int) -> None:
        self.require_active()
        current = self.volumes[name]["size_gib"]
        if size_gib < current:
            raise InvalidInput("size_gib", f"a volume can only grow (now {current} GiB)")
        if size_gib == current:
            return
        self.check_quota(plan, Resources(volume_gib=size_gib - current))
        self._volume_resized(name=name, size_gib=size_gib, grown_gib=size_gib - current)

    class VolumeResized(WharfAggregate.Event):
        name: str
        size_gib: int
        grown_gib: int

    @event(VolumeResized)
    def _volume_resized(self, name: str, size_gib: int, grown_gib: int) -> None:
        self.volumes[name] = {**self.volumes[name], "size_gib": size_gib}
        self._add_usage({"volume_gib": grown_gib}, 1)

    def release_volume(self, name: str) -> None:
        users = sorted(c for c, v in self.containers.items() if name in v["volumes"])
        if users:
            raise Conflict(f"volume {name} is in use by {', '.join(users)}")
        self._volume_released(name=name, size_gib=self.volumes[name]["size_gib"])

    class VolumeReleased(WharfAggregate.Event):
        name: str
        size_gib: int

    @event(VolumeReleased)
    def _volume_released(self, name: str, size_gib: int) -> None:
        del self.volumes[name]
        self._add_usage({"volume_gib": size_gib}, -1)

    def _add_usage(self, resources: dict[str, int], sign: int) -> None:
        for resource, amount in resources.items():
            self.usage[resource] = self.usage.get(resource, 0) + sign * amount

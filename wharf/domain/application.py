"""Application: a stack of services deployed from a Compose file, on a network of its
own, reached on its platform subdomains and on the custom domains its tenant binds.

The application records each deploy (the file as Wharf understood it, version by
version) and which of its services each Compose service is; the services themselves
are Service aggregates that name their application. A custom domain is a Domain
aggregate of its own, whose id is derived from the name, so that two tenants can never
bind one name: the second finds it taken.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_APP_NAME = 30  # its services are named <app>-<service> (object names: 63)
MAX_DOMAINS = 20  # custom domains an application may hold


def check_domain(name: str, apps_domain: str) -> str:
    """A host name a tenant may bind: lower-case, dotted, and not the platform's own
    apps domain or any name under it."""
    name = name.strip().lower().rstrip(".")
    if not DOMAIN.fullmatch(name):
        raise InvalidInput("domain", "not a domain name such as shop.example.com")
    apps = apps_domain.lower().strip(".")
    if name == apps or name.endswith("." + apps):
        raise InvalidInput("domain", f"{apps} and its subdomains are the platform's own")
    return name


class Application(WharfAggregate):
    @staticmethod
    def id_for(tenant_id: UUID, name: str) -> UUID:
        return derive_id("application", tenant_id, name)

    class Created(WharfAggregate.Created):
        tenant_id: UUID
        name: str

    @event(Created)
    def __init__(self, id: UUID, tenant_id: UUID, name: str, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.deploys = 0  # (`version` is the aggregate's own, in eventsourcing)
        self.services: dict[str, UUID] = {}  # Compose service name -> Service id
        self.compose: dict[str, Any] = {}  # the last deploy's services, as understood
        self.entry: str | None = None
        self.desired = "running"
        self.domains: dict[str, str] = {}  # custom domain -> Compose service name
        self.warnings: list[str] = []  # what the last deploy could not honour

    def deploy(self, services: dict[str, UUID], compose: dict[str, Any], entry: str | None,
               warnings: list[str]) -> bool:
        """Records a deploy (of a deleted application too: its name is the tenant's
        again); one that changes nothing records nothing."""
        if services == self.services and compose == self.compose and entry == self.entry:
            return False
        self._deployed(deploy=self.deploys + 1,
                       services={k: str(v) for k, v in services.items()},
                       compose=compose, entry=entry, warnings=list(warnings))
        return True

    class Deployed(WharfAggregate.Event):
        deploy: int  # the how-manieth deploy that changed it
        services: dict[str, str]
        compose: dict[str, Any]
        entry: str | None
        warnings: list[str]

    @event(Deployed)
    def _deployed(self, deploy: int, services: dict[str, str], compose: dict[str, Any],
                  entry: str | None, warnings: list[str]) -> None:
        self.deploys = deploy
        self.services = {k: UUID(v) for k, v in services.items()}
        self.compose = compose
        self.entry = entry
        self.desired = "running"
        self.warnings = list(warnings)

    def bind(self, domain: str, service: str) -> None:
        self._require_not_deleted()
        if service not in self.services:
            raise InvalidInput("service", f"application {self.name} has no service {service}")
        if domain not in self.domains and len(self.domains) >= MAX_DOMAINS:
            raise InvalidInput("domain", f"an application holds at most {MAX_DOMAINS} "
                                         "custom domains")
        if self.domains.get(domain) != service:
            self._domain_bound(domain=domain, service=service)

    class DomainBound(WharfAggregate.Event):
        domain: str
        service: str

    @event(DomainBound)
    def _domain_bound(self, domain: str, service: str) -> None:
        self.domains = {**self.domains, domain: service}

    def unbind(self, domain: str) -> None:
        if domain not in self.domains:
            raise InvalidInput("domain", f"{domain} is not bound to {self.name}")
        self._domain_unbound(domain=domain)

    class DomainUnbound(WharfAggregate.Event):
        domain: str

    @event(DomainUnbound)
    def _domain_unbound(self, domain: str) -> None:
        self.domains = {k: v for k, v in self.domains.items() if k != domain}

    def stop(self) -> None:
        self._require_not_deleted()
        if self.desired == "running":
            self._stopped()

    class Stopped(WharfAggregate.Event):
        pass

    @event(Stopped)
    def _stopped(self) -> None:
        self.desired = "stopped"

    def start(self) -> None:
        self._require_not_deleted()
        if self.desired != "running":
            self._started()

    class Started(WharfAggregate.Event):
        pass

    @event(Started)
    def _started(self) -> None:
        self.desired = "running"

    def delete(self) -> None:
        self._require_not_deleted()
        self._deleted()

    class Deleted(WharfAggregate.Event):
        pass

    @event(Deleted)
    def _deleted(self) -> None:
        self.desired = "deleted"
        self.services = {}
        self.domains = {}

    def _require_not_deleted(self) -> None:
        if self.desired == "deleted":
            raise Conflict(f"application {self.name} is deleted")


class Domain(WharfAggregate):
    """A custom domain's one binding across every tenant."""

    @staticmethod
    def id_for(name: str) -> UUID:
        return derive_id("domain", name)

    class Created(WharfAggregate.Created):
        name: str
        tenant_id: UUID
        application_id: UUID

    @event(Created)
    def __init__(self, id: UUID, name: str, tenant_id: UUID, application_id: UUID,
                 actor: str, cause: str) -> None:
        self.name = name
        self.tenant_id: UUID | None = tenant_id
        self.application_id: UUID | None = application_id

    def claim(self, tenant_id: UUID, application_id: UUID) -> bool:
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            raise Conflict(f"domain {self.name} is bound by another tenant")
        if self.application_id == application_id:
            return False
        self._claimed(tenant_id=tenant_id, application_id=application_id)
        return True

    class Claimed(WharfAggregate.Event):
        tenant_id: UUID
        application_id: UUID

    @event(Claimed)
    def _claimed(self, tenant_id: UUID, application_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.application_id = application_id

    def release(self) -> None:
        if self.tenant_id is not None:
            self._released()

    class Released(WharfAggregate.Event):
        pass

    @event(Released)
    def _released(self) -> None:
        self.tenant_id = None
        self.application_id = None

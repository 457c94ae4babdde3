"""Every read model Wharf keeps, in the order the projector feeds them."""

from __future__ import annotations

from wharf.projections.audit import AuditTrail, QuotaRejections
from wharf.projections.base import ReadModel
from wharf.projections.billing import Bills, Usage
from wharf.projections.hosts import Hosts
from wharf.projections.mirrors import Mirrors
from wharf.projections.pipelines import Pipelines
from wharf.projections.repositories import Repositories
from wharf.projections.tenants import Tenants
from wharf.projections.workloads import (
    Applications,
    Containers,
    Secrets,
    Services,
    Volumes,
)

# What the API's mutations answer from and the scheduler plans from.
WORKLOADS: tuple[type[ReadModel], ...] = (Tenants, Containers, Services, Applications,
                                          Volumes, Secrets, Hosts, Repositories,
                                          Pipelines, Mirrors)
# What the audit exports and the events subscription read.
RECORDS: tuple[type[ReadModel], ...] = (AuditTrail, QuotaRejections)
# What bills are priced from, and the bills.
BILLING: tuple[type[ReadModel], ...] = (Usage, Bills)
READ_MODELS: tuple[type[ReadModel], ...] = WORKLOADS + RECORDS + BILLING

# The consumers of the log: each keeps its own position and runs on its own
# (projections/consumers.py), so that one falling behind holds up only its readers.
CONSUMERS: dict[str, tuple[type[ReadModel], ...]] = {
    "workloads": WORKLOADS,
    "records": RECORDS,
    "billing": BILLING,
}
WORKLOAD_MODELS: tuple[str, ...] = tuple(model.name for model in WORKLOADS)
BILLING_MODELS: tuple[str, ...] = tuple(model.name for model in BILLING)
# The consumers woken by every save (mutations wait for them); the others poll, a batch
# of many events at a time, and are woken when a reader waits for them.
EAGER: tuple[str, ...] = ("workloads",)


def ddl() -> list[str]:
    return [statement for model in READ_MODELS for statement in model.schema]


def tables() -> list[tuple[str, str]]:
    return [table for model in READ_MODELS for table in model.tables]

"""Every read model Wharf keeps, in the order the projector feeds them."""

from __future__ import annotations

from wharf.projections.audit import AuditTrail, QuotaRejections
from wharf.projections.base import ReadModel
from wharf.projections.hosts import Hosts
from wharf.projections.tenants import Tenants
from wharf.projections.workloads import Containers, Secrets, Volumes

READ_MODELS: tuple[type[ReadModel], ...] = (
    Tenants, Containers, Volumes, Secrets, Hosts, AuditTrail, QuotaRejections,
)


def ddl() -> list[str]:
    return [statement for model in READ_MODELS for statement in model.schema]


def tables() -> list[tuple[str, str]]:
    return [table for model in READ_MODELS for table in model.tables]

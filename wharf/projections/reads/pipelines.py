"""Reads of the pipelines read model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class PipelineRow:
    id: str
    tenant_id: str
    name: str
    git_url: str
    branch: str
    dockerfile: str
    repository: str
    tag_pattern: str
    service_id: str | None
    timeout_s: int
    deleted: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class BuildRow:
    id: str
    tenant_id: str
    pipeline_id: str
    number: int
    trigger: str
    branch: str
    commit_id: str
    image: str
    state: str  # requested, running, succeeded, failed
    digest: str | None
    reason: str | None
    log_tail: str | None
    deploy: str | None
    host: str | None
    requested_at: str
    started_at: str | None
    finished_at: str | None


def pipeline(reader: Reader, ident: str, tenant_id: str | None) -> PipelineRow | None:
    rows = reader.query("SELECT * FROM rm_pipelines WHERE id = ? AND deleted = 0", (ident,))
    found = PipelineRow(**rows[0]) if rows else None
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def page_of(reader: Reader, tenant_id: str, first: int,
            after: Sequence[Any] | None) -> Page[PipelineRow]:
    return keyset_page(reader, "SELECT * FROM rm_pipelines WHERE tenant_id = ? AND deleted = 0",
                       (tenant_id,), ("name",), first, after, lambda r: PipelineRow(**r))


def build(reader: Reader, ident: str, tenant_id: str | None) -> BuildRow | None:
    rows = reader.query("SELECT * FROM rm_builds WHERE id = ?", (ident,))
    found = BuildRow(**rows[0]) if rows else None
    if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
        return None
    return found


def builds_of(reader: Reader, pipeline_id: str, first: int,
              after: Sequence[Any] | None) -> Page[BuildRow]:
    """Newest first."""
    return keyset_page(reader, "SELECT * FROM rm_builds WHERE pipeline_id = ?", (pipeline_id,),
                       ("number",), first, after, lambda r: BuildRow(**r), descending=True)


def queued(reader: Reader, per_tenant: int = 8) -> list[BuildRow]:
    """Builds waiting to start, oldest first: each tenant's `per_tenant` oldest, so that
    one tenant's queue never hides another's."""
    return [BuildRow(**{k: v for k, v in r.items() if k != "place"}) for r in reader.query(
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY "
        "requested_at, id) AS place FROM rm_builds WHERE state = 'requested') AS waiting "
        f"WHERE place <= {int(per_tenant)} ORDER BY requested_at, id")]


def waiting(reader: Reader, pipeline_id: str) -> int:
    """How many of a pipeline's builds wait to start."""
    rows = reader.query("SELECT COUNT(*) AS n FROM rm_builds WHERE pipeline_id = ? AND "
                        "state = 'requested'", (pipeline_id,))
    return int(rows[0]["n"])


def running(reader: Reader) -> list[BuildRow]:
    return [BuildRow(**r) for r in reader.query(
        "SELECT * FROM rm_builds WHERE state = 'running'")]

"""Reads of the repositories read model: what a tenant may see of the registry (its own
repositories and the platform's public ones)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wharf.projections.reads import Page, Reader, keyset_page


@dataclass(frozen=True)
class RepositoryRow:
    id: str
    name: str
    tenant_id: str | None  # None: public
    description: str
    guide: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class TagRow:
    repository_id: str
    tag: str
    digest: str
    size: int
    pushed_at: str


def _visible(tenant_id: str | None) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause of what a tenant sees (None: an operator, who sees all)."""
    if tenant_id is None:
        return "WHERE 1 = 1", ()
    return "WHERE (tenant_id = ? OR tenant_id IS NULL)", (tenant_id,)


def repository(reader: Reader, ident: str, tenant_id: str | None) -> RepositoryRow | None:
    where, params = _visible(tenant_id)
    rows = reader.query(f"SELECT * FROM rm_repositories {where} AND id = ?", (*params, ident))
    return RepositoryRow(**rows[0]) if rows else None


def by_name(reader: Reader, name: str, tenant_id: str | None) -> RepositoryRow | None:
    where, params = _visible(tenant_id)
    rows = reader.query(f"SELECT * FROM rm_repositories {where} AND name = ?", (*params, name))
    return RepositoryRow(**rows[0]) if rows else None


def page_of(reader: Reader, tenant_id: str | None, first: int,
            after: Sequence[Any] | None) -> Page[RepositoryRow]:
    where, params = _visible(tenant_id)
    return keyset_page(reader, f"SELECT * FROM rm_repositories {where}", params, ("name",),
                       first, after, lambda r: RepositoryRow(**r))


def tags_of(reader: Reader, repository_ids: Sequence[str]) -> dict[str, list[TagRow]]:
    """Each repository's tags, newest push first."""
    found: dict[str, list[TagRow]] = {ident: [] for ident in repository_ids}
    if not repository_ids:
        return found
    marks = ", ".join("?" * len(repository_ids))
    for row in reader.query(f"SELECT * FROM rm_repository_tags WHERE repository_id IN "
                            f"({marks}) ORDER BY pushed_at DESC, tag", tuple(repository_ids)):
        found[row["repository_id"]].append(TagRow(**row))
    return found


def all_tags(reader: Reader) -> dict[str, dict[str, str]]:
    """Every repository's tags and their digests, by repository name (the reconcile)."""
    found: dict[str, dict[str, str]] = {}
    for row in reader.query("SELECT r.name, t.tag, t.digest FROM rm_repositories r "
                            "LEFT JOIN rm_repository_tags t ON t.repository_id = r.id"):
        tags = found.setdefault(row["name"], {})
        if row["tag"] is not None:
            tags[row["tag"]] = row["digest"]
    return found


@dataclass(frozen=True)
class MirrorRow:
    id: str
    tenant_id: str | None  # None: the platform's
    name: str
    upstream: str
    username: str
    address: str  # "" until first started
    state: str  # starting, running, unreachable
    detail: str
    deleted: int
    created_at: str
    updated_at: str


def mirrors(reader: Reader, tenant_id: str | None, live: bool = True) -> list[MirrorRow]:
    """The mirrors a tenant may pull through (its own and the platform's; None: all), by
    name."""
    where, params = _visible(tenant_id)
    if live:
        where += " AND deleted = 0"
    return [MirrorRow(**r) for r in reader.query(
        f"SELECT * FROM rm_mirrors {where} ORDER BY name, id", params)]


def mirror(reader: Reader, ident: str, tenant_id: str | None) -> MirrorRow | None:
    where, params = _visible(tenant_id)
    rows = reader.query(f"SELECT * FROM rm_mirrors {where} AND id = ?", (*params, ident))
    return MirrorRow(**rows[0]) if rows else None

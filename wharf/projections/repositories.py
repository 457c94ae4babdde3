"""Image repositories and their tags, as the registry's news recorded them."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.repository import Repository
from wharf.projections.base import ReadModel, ts, uid


class Repositories(ReadModel):
    name = "repositories"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_repositories (id TEXT PRIMARY KEY, "
        "name TEXT NOT NULL UNIQUE, tenant_id TEXT, description TEXT NOT NULL, "
        "guide TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_repositories_tenant ON rm_repositories "
        "(tenant_id, name)",
        "CREATE TABLE IF NOT EXISTS rm_repository_tags (repository_id TEXT NOT NULL, "
        "tag TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, "
        "pushed_at TEXT NOT NULL, PRIMARY KEY (repository_id, tag))",
        "CREATE INDEX IF NOT EXISTS rm_repository_tags_digest ON rm_repository_tags (digest)",
    )
    tables = (("rm_repositories", "id"), ("rm_repository_tags", "repository_id, tag"))

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Repository.Created, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_repositories VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (str(event.originator_id), event.name, uid(event.tenant_id),
                         event.description, event.guide, ts(event), ts(event)))

    @process_event.register
    def _(self, event: Repository.Described, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_repositories SET description = ?, guide = ?, "
                        "updated_at = ? WHERE id = ?",
                        (event.description, event.guide, ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Repository.Pushed, tracking: Tracking) -> None:
        ident = str(event.originator_id)
        self.view.stage("DELETE FROM rm_repository_tags WHERE repository_id = ? AND tag = ?",
                        (ident, event.tag))
        self.view.stage("INSERT INTO rm_repository_tags VALUES (?, ?, ?, ?, ?)",
                        (ident, event.tag, event.manifest, event.size, event.pushed_at))
        self.view.stage("UPDATE rm_repositories SET updated_at = ? WHERE id = ?",
                        (ts(event), ident))

    @process_event.register
    def _(self, event: Repository.Removed, tracking: Tracking) -> None:
        ident = str(event.originator_id)
        for tag in event.tags:
            self.view.stage("DELETE FROM rm_repository_tags WHERE repository_id = ? AND "
                            "tag = ?", (ident, tag))
        self.view.stage("UPDATE rm_repositories SET updated_at = ? WHERE id = ?",
                        (ts(event), ident))

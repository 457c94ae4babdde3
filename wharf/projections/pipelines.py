"""Build pipelines and their builds (never a webhook's secret)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.pipeline import Build, Pipeline
from wharf.projections.base import ReadModel, ts, uid


class Pipelines(ReadModel):
    name = "pipelines"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_pipelines (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "name TEXT NOT NULL, git_url TEXT NOT NULL, branch TEXT NOT NULL, "
        "dockerfile TEXT NOT NULL, repository TEXT NOT NULL, tag_pattern TEXT NOT NULL, "
        "service_id TEXT, timeout_s INTEGER NOT NULL, deleted INTEGER NOT NULL, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rm_pipelines_tenant ON rm_pipelines (tenant_id, name)",
        "CREATE TABLE IF NOT EXISTS rm_builds (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "pipeline_id TEXT NOT NULL, number INTEGER NOT NULL, trigger TEXT NOT NULL, "
        "branch TEXT NOT NULL, commit_id TEXT NOT NULL, image TEXT NOT NULL, "
        "state TEXT NOT NULL, digest TEXT, reason TEXT, log_tail TEXT, deploy TEXT, "
        "host TEXT, requested_at TEXT NOT NULL, started_at TEXT, finished_at TEXT)",
        "CREATE INDEX IF NOT EXISTS rm_builds_pipeline ON rm_builds (pipeline_id, number)",
        "CREATE INDEX IF NOT EXISTS rm_builds_state ON rm_builds (state, requested_at)",
    )
    tables = (("rm_pipelines", "id"), ("rm_builds", "id"))

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events this read model does not show."""

    @process_event.register
    def _(self, event: Pipeline.Created, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_pipelines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                        (str(event.originator_id), str(event.tenant_id), event.name,
                         event.git_url, event.branch, event.dockerfile, event.repository,
                         event.tag_pattern, uid(event.service_id), event.timeout_s, ts(event),
                         ts(event)))

    @process_event.register
    def _(self, event: Pipeline.Deleted, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_pipelines SET deleted = 1, updated_at = ? WHERE id = ?",
                        (ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Build.Requested, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_builds (id, tenant_id, pipeline_id, number, trigger, "
                        "branch, commit_id, image, state, requested_at) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?)",
                        (str(event.originator_id), str(event.tenant_id),
                         str(event.pipeline_id), event.number, event.trigger, event.branch,
                         event.commit, event.image, ts(event)))

    @process_event.register
    def _(self, event: Build.Started, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_builds SET state = 'running', commit_id = ?, image = ?, "
                        "host = ?, started_at = ? WHERE id = ?",
                        (event.commit, event.image, event.host, ts(event),
                         str(event.originator_id)))

    @process_event.register
    def _(self, event: Build.Succeeded, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_builds SET state = 'succeeded', digest = ?, deploy = ?, "
                        "finished_at = ? WHERE id = ?",
                        (event.manifest, event.deploy, ts(event), str(event.originator_id)))

    @process_event.register
    def _(self, event: Build.Failed, tracking: Tracking) -> None:
        self.view.stage("UPDATE rm_builds SET state = 'failed', reason = ?, log_tail = ?, "
                        "finished_at = ? WHERE id = ?",
                        (event.reason, event.log_tail, ts(event), str(event.originator_id)))

"""Wire once: the one function that builds Wharf for production and tests alike."""

from __future__ import annotations

from dataclasses import dataclass

from wharf.commands.application import Wharf
from wharf.commands.ports import Clock, DataKeys
from wharf.infra.keystore import DatabaseDataKeys
from wharf.infra.logstore import LogStore
from wharf.infra.metrics_store import MetricsStore
from wharf.infra.settings import Settings
from wharf.infra.store import eventsourcing_env, open_read_models, with_schema_retry
from wharf.projections.runner import Projector
from wharf.projections.views import ReadModelStore


@dataclass
class Wiring:
    settings: Settings
    app: Wharf
    view: ReadModelStore
    projector: Projector
    logs: LogStore
    metrics: MetricsStore

    def close(self) -> None:
        self.projector.stop()
        self.app.close()
        self.view.datastore.close()  # type: ignore[attr-defined]


def open_app(
    url: str, *, clock: Clock | None = None, keys: DataKeys | None = None, pool_size: int = 10
) -> Wharf:
    return with_schema_retry(lambda: Wharf(
        eventsourcing_env(url, pool_size), clock=clock,
        keys=keys if keys is not None else DatabaseDataKeys(url)))


def build(
    settings: Settings, *, clock: Clock | None = None, keys: DataKeys | None = None,
    pool_size: int = 10,
) -> Wiring:
    """The write side, the read side and the projector, on `settings.database_url`.

    `pool_size` connections each to the log and to the read side (PostgreSQL opens them
    at start, and as many again in bursts).
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    app = open_app(settings.database_url, clock=clock, keys=keys, pool_size=pool_size)
    app.seed()
    view = open_read_models(settings.database_url, pool_size)
    projector = Projector(app, view)
    app.on_saved = projector.nudge
    return Wiring(settings, app, view, projector, LogStore(settings.home / "logs"),
                  MetricsStore(view))

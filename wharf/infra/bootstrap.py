"""Wire once: the one function that builds Wharf for production and tests alike."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from wharf.commands.application import Wharf
from wharf.commands.ports import Clock, DataKeys
from wharf.infra.keystore import DatabaseDataKeys, KeyEncryptionKey
from wharf.infra.logstore import LogStore
from wharf.infra.metrics_store import MetricsStore
from wharf.infra.settings import Settings
from wharf.infra.store import (
    eventsourcing_env,
    kind_of,
    open_read_models,
    probe,
    sqlite_path,
    with_schema_retry,
)
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
    """The write side on `url`. Without `keys`, the store's own data keys, unwrapped by
    the key-encryption key the environment names (as `wharf` itself would find it)."""
    probe(url)
    if keys is None:
        settings = Settings.from_env()
        keys = DatabaseDataKeys(url, KeyEncryptionKey.load(settings.home, settings.master_key))
    data_keys = keys
    return with_schema_retry(lambda: Wharf(eventsourcing_env(url, pool_size), clock=clock,
                                           keys=data_keys))


def build(
    settings: Settings, *, clock: Clock | None = None, keys: DataKeys | None = None,
    pool_size: int | None = None,
) -> Wiring:
    """The write side, the read side and the projector, on `settings.database_url`.

    At most `pool_size` (default: WHARF_DB_POOL) connections each to the log and to the
    read side, opened as load needs them.
    """
    secure_home(settings)
    probe(settings.database_url)
    pool_size = pool_size or settings.db_pool
    if keys is None:
        keys = DatabaseDataKeys(settings.database_url,
                                KeyEncryptionKey.load(settings.home, settings.master_key))
    app = open_app(settings.database_url, clock=clock, keys=keys, pool_size=pool_size)
    app.seed()
    view = open_read_models(settings.database_url, pool_size)
    projector = Projector(app, view)
    app.on_saved = projector.nudge
    return Wiring(settings, app, view, projector, LogStore(settings.home / "logs"),
                  MetricsStore(view))


def secure_home(settings: Settings) -> None:
    """WHARF_HOME and everything in it, and the SQLite store wherever it lives, readable
    by their owner only (an installation from before this rule is put right on start).
    New files are made so by the CLI's umask."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    paths = [home]
    for root, directories, files in os.walk(home):
        paths += [Path(root, name) for name in directories + files]
    if kind_of(settings.database_url) == "sqlite":
        database = sqlite_path(settings.database_url)
        paths += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)

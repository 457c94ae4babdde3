"""Rebuilding read models from the log: as of a point, into a scratch database, and
verifying that the live read models equal a fresh fold of the log."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg

from wharf.commands.application import Wharf
from wharf.infra.store import eventsourcing_env, kind_of, open_read_models, sqlite_path
from wharf.projections.catalog import READ_MODELS, tables
from wharf.projections.runner import Projector
from wharf.projections.views import ReadModelStore


@dataclass
class TableDiff:
    table: str
    live_rows: int
    live_hash: str
    rebuilt_rows: int
    rebuilt_hash: str

    @property
    def same(self) -> bool:
        return (self.live_rows, self.live_hash) == (self.rebuilt_rows, self.rebuilt_hash)


# The read models in two groups of about equal work, rebuilt side by side by two
# processes (each folds the log for its own group), since one Python process is bound by
# one core. Each group tracks its own positions, so the two never interfere.
SHARDS: tuple[tuple[str, ...], ...] = (
    ("audit", "quota_rejections", "applications", "usage", "bills", "repositories",
     "pipelines", "mirrors"),
    ("tenants", "containers", "services", "volumes", "secrets", "hosts"),
)
ALL = tuple(name for shard in SHARDS for name in shard)


def rebuild(
    app: Wharf,
    target_url: str,
    until: int | Mapping[str, int] | None = None,
    until_time: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    source_url: str | None = None,
) -> int:
    """Folds the log (up to a position or a time) into every read model at `target_url`.
    `until` may also give each read model a position of its own (what `verify` needs:
    each consumer of the live read side is at its own position).

    The target must be a database of the same kind as the source and hold no read models
    yet. With `source_url`, the read models are rebuilt by parallel processes. Returns
    the position every rebuilt read model reached (the least of them).
    """
    # In this process one projector folds the log once for all; in parallel, by shards.
    jobs = _jobs(until, SHARDS if source_url is not None else (ALL,))
    view = open_read_models(target_url)  # creates every table before anyone writes
    try:
        if any(view.position(m.name) for m in READ_MODELS):
            raise ValueError(f"{target_url} already holds read models; give an empty target")
        if source_url is None:
            for names, stop in jobs:
                models = [m for m in READ_MODELS if m.name in names]
                Projector(app, view, models=models, batch_size=BATCH).catch_up(
                    until=stop, until_time=until_time, progress=progress)
        else:
            _rebuild_in_parallel(source_url, target_url, jobs, until_time, progress)
        reached = {m.name: view.position(m.name) for m in READ_MODELS}
    finally:
        view.datastore.close()  # type: ignore[attr-defined]
    if until_time is None:
        for names, stop in jobs:
            position = min(reached[name] for name in names)
            if stop is not None and position >= stop:
                continue
            left = app.recorder.select_notifications(position, 1, stop=stop,
                                                     inclusive_of_start=False)
            if left:
                raise RuntimeError(f"replay stopped at {position} before {stop}")
    return min(reached.values())


BATCH = 5000

Job = tuple[tuple[str, ...], int | None]  # read models, rebuilt together up to a position


def _jobs(until: int | Mapping[str, int] | None,
          shards: tuple[tuple[str, ...], ...]) -> list[Job]:
    """The shards, each split by the positions its read models go to."""
    jobs: list[Job] = []
    for shard in shards:
        if until is None or isinstance(until, int):
            jobs.append((shard, until))
            continue
        stops = sorted({until[name] for name in shard})
        jobs += [(tuple(n for n in shard if until[n] == stop), stop) for stop in stops]
    return jobs


def _rebuild_in_parallel(
    source_url: str, target_url: str, jobs: list[Job], until_time: datetime | None,
    progress: Callable[[int], None] | None,
) -> None:
    context = multiprocessing.get_context("spawn")
    positions = context.Array("q", len(jobs))
    workers = [
        context.Process(target=_rebuild_shard, name=f"wharf-replay-{i}",
                        args=(source_url, target_url, names, stop, until_time, positions, i))
        for i, (names, stop) in enumerate(jobs)
    ]
    for worker in workers:
        worker.start()
    try:
        while any(worker.is_alive() for worker in workers):
            workers[0].join(0.25)
            if progress is not None:
                progress(min(positions[:]))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    failed = [w.name for w in workers if w.exitcode != 0]
    if failed:
        raise RuntimeError(f"replay worker(s) failed: {', '.join(failed)}")


def _rebuild_shard(
    source_url: str, target_url: str, names: tuple[str, ...], until: int | None,
    until_time: datetime | None, positions: Any, index: int,
) -> None:
    from wharf.commands.ports import MemoryDataKeys
    from wharf.infra.bootstrap import open_app

    app = open_app(source_url, keys=MemoryDataKeys(), pool_size=2)
    view = open_read_models(target_url)
    try:
        models = [m for m in READ_MODELS if m.name in names]
        projector = Projector(app, view, models=models, batch_size=BATCH)

        def report(position: int) -> None:
            positions[index] = position

        projector.catch_up(until=until, until_time=until_time, progress=report)
    finally:
        view.datastore.close()  # type: ignore[attr-defined]
        app.close()


def verify(
    app: Wharf, live: ReadModelStore, source_url: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[TableDiff]]:
    """Reads the live read models in one snapshot, rebuilds each read model up to its
    position there (each consumer keeps its own) in a scratch database of the same kind,
    and compares table by table. Returns the least of those positions and the diffs.

    Works while the consumers are running: the snapshot pins what is compared.
    """
    names = [m.name for m in READ_MODELS]
    positions, live_digests = live.snapshot(names, tables())
    position = min(positions.values())
    with scratch_database(source_url) as scratch_url:
        rebuild(app, scratch_url, until=positions, progress=progress, source_url=source_url)
        rebuilt = open_read_models(scratch_url)
        try:
            _, rebuilt_digests = rebuilt.snapshot(names, tables())
        finally:
            rebuilt.datastore.close()  # type: ignore[attr-defined]
    return position, [
        TableDiff(table, *live_digests[table], *rebuilt_digests[table]) for table, _ in tables()
    ]


@contextlib.contextmanager
def scratch_database(like_url: str) -> Iterator[str]:
    """An empty database of the same kind as `like_url`, dropped afterwards."""
    if kind_of(like_url) == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="wharf-scratch-"))
        path = directory / "scratch.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}{suffix}")
            with contextlib.suppress(OSError):
                directory.rmdir()
        return
    name = f"wharf_scratch_{uuid.uuid4().hex[:12]}"
    create_postgres_database(like_url, name)
    try:
        yield with_database(like_url, name)
    finally:
        drop_postgres_database(like_url, name)


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    env = eventsourcing_env(url)
    return psycopg.connect(dbname="postgres", host=env["POSTGRES_HOST"],
                           port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                           password=env["POSTGRES_PASSWORD"], autocommit=True)


def create_postgres_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


def drop_postgres_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def ensure_target(url: str) -> None:
    """Creates a PostgreSQL target database if it does not exist yet."""
    if kind_of(url) == "sqlite":
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        return
    name = urlparse(url).path.lstrip("/")
    with _admin(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        create_postgres_database(url, name)

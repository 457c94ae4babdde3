"""Timer jobs, triggered by APScheduler. The jobs themselves are plain functions of a
clock (tests call them directly with a clock they drive)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from wharf.commands.application import Wharf
from wharf.projections.views import ReadModelStore
from wharf.schedulers.disk import DiskSource, enforce_disk_limits
from wharf.schedulers.metrics import MetricsSink, StatsSource, sample_running
from wharf.schedulers.networks import NetworkSource, prune_networks
from wharf.schedulers.purge import purge_due_tenants
from wharf.schedulers.retention import KeptLogs, purge_expired_logs

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 60
LOG_RETENTION_EVERY_SECONDS = 300
NETWORK_PRUNE_EVERY_SECONDS = 600


def start_timers(
    app: Wharf, view: ReadModelStore, logs: KeptLogs | None = None,
    metrics: tuple[Callable[[str, str], StatsSource], MetricsSink] | None = None,
    metrics_every: float = 15.0,
    disk: tuple[Callable[[str, str], DiskSource], timedelta] | None = None,
    disk_every: float = 60.0,
    networks: Callable[[str, str], NetworkSource] | None = None,
) -> BackgroundScheduler:
    """Starts the timer jobs in a background thread; `.shutdown()` stops them."""
    scheduler = BackgroundScheduler(timezone="UTC")
    if disk is not None:
        disk_engines, grace = disk
        scheduler.add_job(
            enforce_disk_limits, "interval", seconds=disk_every,
            args=(app, view, disk_engines, app.clock, grace), id="disk-limits",
            max_instances=1, coalesce=True)
    if metrics is not None:
        engine_for, sink = metrics
        scheduler.add_job(
            sample_running, "interval", seconds=metrics_every,
            args=(view, engine_for, sink, app.clock), id="sample-metrics", max_instances=1,
            coalesce=True)
    if networks is not None:
        scheduler.add_job(
            prune_networks, "interval", seconds=NETWORK_PRUNE_EVERY_SECONDS,
            args=(view, networks), id="prune-networks", max_instances=1, coalesce=True)
    if logs is not None:
        scheduler.add_job(
            purge_expired_logs, "interval", seconds=LOG_RETENTION_EVERY_SECONDS,
            args=(app, view, logs, app.clock), id="purge-expired-logs", max_instances=1,
            coalesce=True)
    scheduler.add_job(
        purge_due_tenants, "interval", seconds=PURGE_EVERY_SECONDS,
        args=(app, view, app.clock), id="purge-closed-tenants", max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    log.info("timers started: purge of closed tenants every %ss", PURGE_EVERY_SECONDS)
    return scheduler

"""Timer jobs, triggered by APScheduler. The jobs themselves are plain functions of a
clock (tests call them directly with a clock they drive)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from wharf.commands.application import Wharf
from wharf.projections.views import ReadModelStore
from wharf.schedulers.purge import purge_due_tenants

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 60


def start_timers(app: Wharf, view: ReadModelStore) -> BackgroundScheduler:
    """Starts the timer jobs in a background thread; `.shutdown()` stops them."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        purge_due_tenants, "interval", seconds=PURGE_EVERY_SECONDS,
        args=(app, view, app.clock), id="purge-closed-tenants", max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    log.info("timers started: purge of closed tenants every %ss", PURGE_EVERY_SECONDS)
    return scheduler

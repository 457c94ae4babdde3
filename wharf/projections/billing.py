"""The billing consumer's read models: what each tenant held and when (the input of every
bill), and the bills closed.

`Usage` folds the log into periods, each with the log positions of the events that began
and ended it: a tenant's plan versions (from its registration and each plan change until
it is closed), each container's reserved CPU and memory while it runs (from `Started`
until it exits, is paused or removed), each volume's size while it exists. Times are the
events' own (the command's clock), never an engine's; traffic is what `TrafficMetered`
says each hour sent. `Bills` keeps a row per bill, as each tenant-month ledger's
`Billed` events list them (and older logs' `HourBilled`). Both belong to the "billing"
consumer, which keeps its own position: a slow bill never delays a mutation.
"""

from __future__ import annotations

from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking

from wharf.domain.billing import Bill, Ledger, TrafficMeter
from wharf.domain.container import Container
from wharf.domain.plans import PlanCatalog
from wharf.domain.tenant import Tenant
from wharf.domain.volume import Volume
from wharf.projections.base import ReadModel, as_json, ts


def cores(cpu_millis: int) -> str:
    return str(Decimal(cpu_millis) / 1000)


def gib(mib: int) -> str:
    return str(Decimal(mib) / 1024)  # (exact: 1024 is a power of two)


class Usage(ReadModel):
    name = "usage"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_bill_prices (plan TEXT NOT NULL, "
        "version INTEGER NOT NULL, prices TEXT NOT NULL, PRIMARY KEY (plan, version))",
        "CREATE TABLE IF NOT EXISTS rm_plan_periods (tenant_id TEXT NOT NULL, "
        "start_at TEXT NOT NULL, end_at TEXT, plan TEXT NOT NULL, version INTEGER NOT NULL, "
        "start_pos BIGINT NOT NULL, end_pos BIGINT, PRIMARY KEY (tenant_id, start_pos))",
        "CREATE TABLE IF NOT EXISTS rm_bill_containers (id TEXT PRIMARY KEY, "
        "tenant_id TEXT NOT NULL, cpu TEXT NOT NULL, memory TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS rm_held (subject TEXT NOT NULL, item TEXT NOT NULL, "
        "tenant_id TEXT NOT NULL, amount TEXT NOT NULL, start_at TEXT NOT NULL, end_at TEXT, "
        "start_pos BIGINT NOT NULL, end_pos BIGINT, PRIMARY KEY (subject, item, start_pos))",
        "CREATE INDEX IF NOT EXISTS rm_held_tenant ON rm_held (tenant_id, start_at)",
        "CREATE INDEX IF NOT EXISTS rm_held_open ON rm_held (subject, end_at)",
        "CREATE TABLE IF NOT EXISTS rm_traffic (tenant_id TEXT NOT NULL, hour TEXT NOT NULL, "
        "sent BIGINT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (tenant_id, hour))",
    )
    tables = (
        ("rm_bill_prices", "plan, version"),
        ("rm_plan_periods", "tenant_id, start_pos"),
        ("rm_bill_containers", "id"),
        ("rm_held", "subject, item, start_pos"),
        ("rm_traffic", "tenant_id, hour"),
    )

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events that change nothing a bill counts."""

    @process_event.register
    def _(self, event: PlanCatalog.PlanAdded, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_bill_prices VALUES (?, ?, ?)",
                        (event.plan["name"], event.plan["version"],
                         as_json(event.plan["prices"])))

    # -- plan periods -------------------------------------------------------------------

    @process_event.register
    def _(self, event: Tenant.Registered, tracking: Tracking) -> None:
        self._open_plan(event, tracking, event.plan_name, event.plan_version)

    @process_event.register
    def _(self, event: Tenant.PlanChanged, tracking: Tracking) -> None:
        self._close_plan(event, tracking)
        self._open_plan(event, tracking, event.plan_name, event.plan_version)

    @process_event.register
    def _(self, event: Tenant.Closed, tracking: Tracking) -> None:
        self._close_plan(event, tracking)

    def _open_plan(self, event: Any, tracking: Tracking, plan: str, version: int) -> None:
        self.view.stage(
            "INSERT INTO rm_plan_periods (tenant_id, start_at, plan, version, start_pos) "
            "VALUES (?, ?, ?, ?, ?)",
            (str(event.originator_id), ts(event), plan, version, tracking.notification_id))

    def _close_plan(self, event: Any, tracking: Tracking) -> None:
        self.view.stage(
            "UPDATE rm_plan_periods SET end_at = ?, end_pos = ? "
            "WHERE tenant_id = ? AND end_at IS NULL",
            (ts(event), tracking.notification_id, str(event.originator_id)))

    # -- containers: reserved CPU and memory while running ---------------------------------

    @process_event.register
    def _(self, event: Container.Created, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_bill_containers VALUES (?, ?, ?, ?)",
                        (str(event.originator_id), str(event.tenant_id),
                         cores(event.cpu_millis), gib(event.memory_mib)))

    @process_event.register
    def _(self, event: Container.Started, tracking: Tracking) -> None:
        self._run(event, tracking)

    @process_event.register
    def _(self, event: Container.Unpaused, tracking: Tracking) -> None:
        self._run(event, tracking)

    @process_event.register
    def _(self, event: Container.Exited, tracking: Tracking) -> None:
        self._end(event, tracking)

    @process_event.register
    def _(self, event: Container.Paused, tracking: Tracking) -> None:
        self._end(event, tracking)

    @process_event.register
    def _(self, event: Container.Removed, tracking: Tracking) -> None:
        self._end(event, tracking)

    def _run(self, event: Any, tracking: Tracking) -> None:
        """Held from this event on, unless already held (a run seen twice)."""
        subject = str(event.originator_id)
        for item, column in (("cpu", "cpu"), ("memory", "memory")):
            self.view.stage(
                "INSERT INTO rm_held (subject, item, tenant_id, amount, start_at, start_pos) "
                f"SELECT id, ?, tenant_id, {column}, ?, ? FROM rm_bill_containers "
                "WHERE id = ? AND NOT EXISTS (SELECT 1 FROM rm_held WHERE subject = ? "
                "AND item = ? AND end_at IS NULL)",
                (item, ts(event), tracking.notification_id, subject, subject, item))

    def _end(self, event: Any, tracking: Tracking) -> None:
        self.view.stage(
            "UPDATE rm_held SET end_at = ?, end_pos = ? WHERE subject = ? AND end_at IS NULL",
            (ts(event), tracking.notification_id, str(event.originator_id)))

    # -- traffic: what the tenant's containers sent, hour by hour --------------------------

    @process_event.register
    def _(self, event: TrafficMeter.TrafficMetered, tracking: Tracking) -> None:
        self.view.stage("INSERT INTO rm_traffic VALUES (?, ?, ?, ?)",
                        (str(event.tenant_id), event.hour, sum(event.sent.values()),
                         tracking.notification_id))

    # -- volumes: their size while they exist ------------------------------------------------

    @process_event.register
    def _(self, event: Volume.Created, tracking: Tracking) -> None:
        self.view.stage(
            "INSERT INTO rm_held (subject, item, tenant_id, amount, start_at, start_pos) "
            "VALUES (?, 'volume', ?, ?, ?, ?)",
            (str(event.originator_id), str(event.tenant_id), str(event.size_gib), ts(event),
             tracking.notification_id))

    @process_event.register
    def _(self, event: Volume.Resized, tracking: Tracking) -> None:
        subject = str(event.originator_id)
        # The new size from now on: a new period, of the same tenant, after the last.
        self.view.stage(
            "INSERT INTO rm_held (subject, item, tenant_id, amount, start_at, start_pos) "
            "SELECT subject, 'volume', tenant_id, ?, ?, ? FROM rm_held "
            "WHERE subject = ? AND item = 'volume' AND end_at IS NULL",
            (str(event.size_gib), ts(event), tracking.notification_id, subject))
        self.view.stage(
            "UPDATE rm_held SET end_at = ?, end_pos = ? WHERE subject = ? AND item = 'volume' "
            "AND end_at IS NULL AND start_pos < ?",
            (ts(event), tracking.notification_id, subject, tracking.notification_id))

    @process_event.register
    def _(self, event: Volume.Deleted, tracking: Tracking) -> None:
        self._end(event, tracking)


class Bills(ReadModel):
    name = "bills"
    schema = (
        "CREATE TABLE IF NOT EXISTS rm_bills (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "hour TEXT NOT NULL, total TEXT NOT NULL, lines TEXT NOT NULL, "
        "position BIGINT NOT NULL, closed_at TEXT NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS rm_bills_hour ON rm_bills (tenant_id, hour)",
    )
    tables = (("rm_bills", "id"),)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        """Events that are not bills."""

    @process_event.register
    def _(self, event: Bill.HourBilled, tracking: Tracking) -> None:
        # (logs written before ledgers: a stream per tenant-hour)
        self.view.stage(
            "INSERT INTO rm_bills VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(event.originator_id), str(event.tenant_id), event.hour, event.total,
             as_json(event.lines), tracking.notification_id, ts(event)))

    @process_event.register
    def _(self, event: Ledger.Billed, tracking: Tracking) -> None:
        tenant = str(event.tenant_id)
        for bill in event.bills:
            self.view.stage(
                "INSERT INTO rm_bills VALUES (?, ?, ?, ?, ?, ?, ?)",
                (bill["id"], tenant, bill["hour"], bill["total"], as_json(bill["lines"]),
                 tracking.notification_id, ts(event)))

"""Hourly bills from the log, on the command layer and the read side (SQLite and
PostgreSQL), with a clock the test drives: every line of every bill equals a recount from
the raw events written here (with fractions, not the billing code), a second close of
the same hours changes nothing, and a late close catches up every missed hour."""

from __future__ import annotations

import contextlib
import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from tests.conftest import DrivenClock
from tests.integration.helpers import caught_up, create_container, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import TermTaken
from wharf.domain.billing import hour_of
from wharf.domain.errors import DomainError
from wharf.infra.bootstrap import Wiring
from wharf.projections.reads import billing as billing_reads
from wharf.schedulers.billing import GRACE, close_hours

OPERATOR = Actor.operator("test")
SCHEDULER = Actor.system("scheduler")
METERED = {"fee_per_hour": "0.0100", "cpu_second": "0.00002", "memory_gib_second": "0.00001",
           "volume_gib_hour": "0.0007", "traffic_gib": "0.8"}
HOUR = timedelta(hours=1)


class Cloud:
    """Drives tenants, containers and volumes through the commands a user and the
    scheduler send, at the times the driven clock says."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.host = wiring.app.handle(m.RegisterHost(
            actor=OPERATOR, endpoint="tcp://127.0.0.1:2375", name="h", cpu_millis=64000,
            memory_mib=262144)).id
        self.term = wiring.app.handle(m.TakeLeadership(actor=SCHEDULER, holder="t")).answer_as(
            TermTaken).term
        self.runs: dict[UUID, str | None] = {}  # container -> its run's start, if running
        self.runs_made = 0

    def container(self, tenant: Any, name: str, cpu: int, memory: int) -> UUID:
        made = create_container(self.wiring, tenant, name, cpu_millis=cpu, memory_mib=memory)
        self.wiring.app.handle(m.PlaceContainer(actor=SCHEDULER, term=self.term,
                                                container_id=made, host_id=self.host))
        self.runs[made] = None
        return made

    def start(self, container: UUID) -> None:
        self.runs_made += 1
        started = f"run-{self.runs_made}"
        self.wiring.app.handle(m.RecordRun(actor=SCHEDULER, term=self.term,
                                           container_id=container, generation=1,
                                           started_at=started, finished_at="", running=True))
        self.runs[container] = started

    def stop(self, container: UUID) -> None:
        started = self.runs[container]
        assert started is not None
        self.wiring.app.handle(m.RecordRun(actor=SCHEDULER, term=self.term,
                                           container_id=container, generation=1,
                                           started_at=started, finished_at=f"end-{started}",
                                           running=False, exit_code=0))
        self.runs[container] = None


def simulate(wiring: Wiring, clock: DrivenClock, hours: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    wiring.app.handle(m.AddPlan(actor=OPERATOR, name="metered", limits={}, prices=METERED,
                                default_cpu_millis=250, default_memory_mib=256))
    cloud = Cloud(wiring)
    tenants = [make_tenant(wiring, f"tenant{i}", plan=("free", "s", "metered")[i % 3],
                           owner=f"o@t{i}.io") for i in range(6)]
    containers = {t.id: [cloud.container(t, f"c{j}", 100 * j + 150, 64 * (j + 1))
                         for j in range(2)] for t in tenants}
    volumes = {}
    for tenant in tenants[1:]:
        volumes[tenant.id] = wiring.app.handle(m.CreateVolume(
            actor=tenant.owner, tenant_id=tenant.id, name="data", size_gib=1)).id
    end = clock.now() + timedelta(hours=hours)
    version = 1
    while clock.now() < end:
        clock.advance(minutes=rng.randint(1, 40), microseconds=rng.randint(0, 999999))
        tenant = rng.choice(tenants)
        roll = rng.random()
        # (a plan's limit refuses some: recorded as such, nothing else)
        with contextlib.suppress(DomainError):
            act(wiring, cloud, rng, roll, tenant, containers, volumes, version)
        version += roll >= 0.9 and roll < 0.95
    return tenants


def act(wiring: Wiring, cloud: Cloud, rng: random.Random, roll: float, tenant: Any,
        containers: dict[UUID, list[UUID]], volumes: dict[UUID, UUID], version: int) -> None:
    if True:
        if roll < 0.6:
            container = rng.choice(containers[tenant.id])
            (cloud.stop if cloud.runs[container] else cloud.start)(container)
        elif roll < 0.75 and tenant.id in volumes:
            size = rng.randint(2, 6)
            current = caught_up(wiring).view.query(
                "SELECT size_gib FROM rm_volumes WHERE id = ?", (str(volumes[tenant.id]),))
            if current and current[0]["size_gib"] < size:
                wiring.app.handle(m.ResizeVolume(actor=tenant.owner,
                                                 volume_id=volumes[tenant.id], size_gib=size))
        elif roll < 0.9:
            plan = rng.choice(("s", "m", "metered"))
            wiring.app.handle(m.ChangePlan(actor=OPERATOR, tenant_id=tenant.id, plan=plan))
        elif roll < 0.95:  # a new version of the metered plan: its tenants stay on theirs
            wiring.app.handle(m.AddPlan(
                actor=OPERATOR, name="metered", limits={}, default_cpu_millis=250,
                default_memory_mib=256,
                prices={**METERED, "cpu_second": f"0.0000{version + 1}"}))
        elif tenant.id in volumes:
            wiring.app.handle(m.DeleteVolume(actor=tenant.owner, volume_id=volumes.pop(
                tenant.id)))


def log(wiring: Wiring) -> list[Any]:
    """Every event, in the log's order."""
    found: list[Any] = []
    position = 1
    while batch := wiring.app.recorder.select_notifications(start=position, limit=1000):
        found += [wiring.app.mapper.to_domain_event(n) for n in batch]
        position = batch[-1].id + 1
    return found


def recount(wiring: Wiring, tenant_id: UUID, hour: datetime) -> dict[tuple[str, str, int],
                                                                     Decimal]:
    """The hour's amounts by (item, plan, version), from the raw events alone."""
    events = log(wiring)
    prices: dict[tuple[str, int], dict[str, Fraction]] = {}
    plans: list[tuple[datetime, tuple[str, int] | None]] = []  # (from, plan or none)
    held: dict[str, list[tuple[datetime, Fraction | None]]] = defaultdict(list)
    sizes: dict[UUID, tuple[Fraction, Fraction]] = {}
    mine: set[UUID] = set()
    for event in events:
        kind, at = type(event).__qualname__, event.timestamp
        if kind == "PlanCatalog.PlanAdded":
            plan = event.plan
            prices[(plan["name"], plan["version"])] = {
                k: Fraction(v) for k, v in plan["prices"].items()}
        elif event.originator_id == tenant_id and kind in ("Tenant.Registered",
                                                            "Tenant.PlanChanged"):
            plans.append((at, (event.plan_name, event.plan_version)))
        elif kind == "Container.Created" and event.tenant_id == tenant_id:
            mine.add(event.originator_id)
            sizes[event.originator_id] = (Fraction(event.cpu_millis, 1000),
                                          Fraction(event.memory_mib, 1024))
        elif kind == "Volume.Created" and event.tenant_id == tenant_id:
            mine.add(event.originator_id)
            held[f"volume:{event.originator_id}"].append((at, Fraction(event.size_gib)))
        elif event.originator_id in mine:
            key = f"volume:{event.originator_id}"
            if kind == "Volume.Resized":
                held[key].append((at, Fraction(event.size_gib)))
            elif kind == "Volume.Deleted":
                held[key].append((at, None))
            elif kind in ("Container.Started", "Container.Unpaused"):
                cpu, memory = sizes[event.originator_id]
                for item, amount in (("cpu", cpu), ("memory", memory)):
                    held[f"{item}:{event.originator_id}"].append((at, amount))
            elif kind in ("Container.Exited", "Container.Paused", "Container.Removed"):
                for item in ("cpu", "memory"):
                    held[f"{item}:{event.originator_id}"].append((at, None))
    end = hour + HOUR

    def spans(changes: list[tuple[datetime, Any]]) -> list[tuple[datetime, datetime, Any]]:
        """Each value with the part of the hour it held for."""
        found = []
        for i, (at, value) in enumerate(changes):
            until = changes[i + 1][0] if i + 1 < len(changes) else end
            lo, hi = max(at, hour), min(until, end)
            if value is not None and hi > lo:
                found.append((lo, hi, value))
        return found

    def secs(lo: datetime, hi: datetime) -> Fraction:
        d = hi - lo
        return Fraction(d.days * 86400 + d.seconds) + Fraction(d.microseconds, 1000000)

    totals: dict[tuple[str, str, int], Fraction] = defaultdict(Fraction)
    for p_lo, p_hi, plan in spans(plans):
        price = prices[plan]
        totals[("fee", *plan)] += secs(p_lo, p_hi) * price["fee_per_hour"] / 3600
        for key, changes in held.items():
            item = key.split(":")[0]
            for lo, hi, amount in spans(changes):
                lo, hi = max(lo, p_lo), min(hi, p_hi)
                if hi > lo:
                    rate = {"cpu": price["cpu_second"], "memory": price["memory_gib_second"],
                            "volume": price["volume_gib_hour"] / 3600}[item]
                    totals[(item, *plan)] += secs(lo, hi) * amount * rate
    return {key: (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP) for key, value in totals.items()}


def test_every_line_of_every_bill_is_an_independent_recount_of_the_log(
    wiring: Wiring, clock: DrivenClock,
) -> None:
    start = clock.now()
    tenants = simulate(wiring, clock, hours=30, seed=11)
    until = clock.now()
    hours = int((until - start) / HOUR)  # every tenant was registered in the first hour
    # The tick ran until three hours ago and was down since.
    first = close_hours(wiring.app, wiring.view, until - 3 * HOUR, lambda: caught_up(wiring))
    assert first == len(tenants) * (hours - 3)
    # Asked for hours that have not ended, it closes only those that ended GRACE ago.
    close_hours(wiring.app, wiring.view, until + 240 * HOUR, lambda: caught_up(wiring))
    assert billing_reads.bills(caught_up(wiring).view, str(tenants[0].id), start, until + 240 * HOUR
                               )[-1].hour == hour_of(until - GRACE) - HOUR
    # Then two ticks run at once: every hour is closed, once.
    clock.advance(minutes=2)
    caught_up(wiring)  # (here, before both: a test's catch-up is not for two threads)
    ticks = [threading.Thread(target=lambda: close_hours(wiring.app, wiring.view, until))
             for _ in range(2)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join(60)
    bills_in_log = [bill for e in log(wiring) if type(e).__qualname__ == "Ledger.Billed"
                    for bill in e.bills]
    assert len(bills_in_log) == len(tenants) * hours
    assert len({bill["id"] for bill in bills_in_log}) == len(bills_in_log)
    caught_up(wiring)
    charged = Decimal(0)
    for tenant in tenants:
        bills = billing_reads.bills(wiring.view, str(tenant.id), start, until)
        assert [b.hour for b in bills] == [start + i * HOUR for i in range(hours)]
        for bill in bills:
            expected = recount(wiring, tenant.id, bill.hour)
            got = {(line.item, line.plan, line.plan_version): line.amount
                   for line in bill.lines if line.item != "traffic"}
            assert got == expected, (tenant, bill.hour)
            assert bill.total == sum(got.values(), Decimal(0))
            charged += bill.total
    assert charged > 0
    # Closing again changes nothing; the free tenant's bills are all zero.
    head = wiring.app.recorder.max_notification_id()
    assert close_hours(wiring.app, wiring.view, until, lambda: caught_up(wiring)) == 0
    assert wiring.app.recorder.max_notification_id() == head


def test_days_and_months_begin_in_the_zone_asked(wiring: Wiring, clock: DrivenClock) -> None:
    start = clock.now()  # 2026-11-01 09:00 UTC: 17:00 in Shanghai
    acme = make_tenant(wiring, plan="s")
    clock.advance(hours=40)
    close_hours(wiring.app, wiring.view, clock.now(), lambda: caught_up(wiring))
    caught_up(wiring)
    hourly = billing_reads.totals(wiring.view, str(acme.id), "hour", start,
                                  clock.now(), "UTC")
    days = billing_reads.totals(wiring.view, str(acme.id), "day", start, clock.now(),
                                "Asia/Shanghai")
    assert [(d.start.isoformat(), d.hours) for d in days] == [
        ("2026-11-01T00:00:00+08:00", 7), ("2026-11-02T00:00:00+08:00", 24),
        ("2026-11-03T00:00:00+08:00", 8)]
    assert sum(d.total for d in days) == sum(h.total for h in hourly) == 39 * Decimal(
        "0.0806")
    # The same instants written in the zone's own offset: the same days and hours.
    from zoneinfo import ZoneInfo
    local = ZoneInfo("Asia/Shanghai")
    assert billing_reads.totals(wiring.view, str(acme.id), "day", start.astimezone(local),
                                clock.now().astimezone(local), "Asia/Shanghai") == days
    assert [(h.start, h.total) for h in billing_reads.totals(
        wiring.view, str(acme.id), "hour", start.astimezone(local),
        clock.now().astimezone(local), "Asia/Shanghai")] == [
        (h.start.astimezone(local), h.total) for h in hourly]


def test_what_containers_sent_is_metered_once_an_hour_and_billed(
    wiring: Wiring, clock: DrivenClock,
) -> None:
    from wharf.schedulers.metrics import Sample

    start = clock.now()  # 09:00
    acme = make_tenant(wiring, plan="s")  # 0.8 a GiB
    cloud = Cloud(wiring)
    web = cloud.container(acme, "web", 250, 128)
    cloud.start(web)
    gib = 2 ** 30

    def sample(minutes: float, sent: int) -> None:
        wiring.metrics.add([Sample(str(web), "container", start + timedelta(minutes=minutes),
                                   0.0, 1000, 0, sent)])

    sample(10, gib // 4)  # 09:10, a quarter of a GiB sent since it started
    sample(50, gib)  # 09:50: one GiB in all
    sample(70, gib + gib // 2)  # 10:10: half a GiB more
    sample(100, gib + 3 * gib // 4)  # 10:40: a quarter more
    clock.advance(hours=3, minutes=2)
    close_hours(wiring.app, wiring.view, clock.now(), lambda: caught_up(wiring),
                sent=wiring.metrics.sent)
    bills = billing_reads.bills(caught_up(wiring).view, str(acme.id), start, clock.now())
    traffic = {b.hour.hour: [(line.quantity, line.amount, len(line.sources))
                             for line in b.lines if line.item == "traffic"] for b in bills}
    assert traffic == {9: [(Decimal(1), Decimal("0.8000"), 1)],
                       10: [(Decimal("0.75"), Decimal("0.6000"), 1)], 11: []}
    meters = [e for e in log(wiring) if type(e).__qualname__ == "TrafficMeter.TrafficMetered"]
    assert [(e.hour[11:16], e.sent) for e in meters] == [
        ("09:00", {str(web): gib}), ("10:00", {str(web): 3 * gib // 4})]
    assert close_hours(wiring.app, wiring.view, clock.now(), lambda: caught_up(wiring),
                       sent=wiring.metrics.sent) == 0  # metered and billed once


def test_the_timers_tick_closes_what_ended_a_minute_ago(wiring: Wiring,
                                                        clock: DrivenClock) -> None:
    from wharf.schedulers.billing import tick

    acme = make_tenant(wiring, plan="s")
    clock.advance(hours=2, seconds=30)  # 11:00:30: 10:00 ended, but not a minute ago
    assert tick(wiring.app, wiring.view, clock.now, lambda: caught_up(wiring),
                wiring.metrics.sent) == 1  # 09:00
    clock.advance(seconds=31)
    assert tick(wiring.app, wiring.view, clock.now, lambda: caught_up(wiring),
                wiring.metrics.sent) == 1  # 10:00
    bills = billing_reads.bills(caught_up(wiring).view, str(acme.id), clock.now() - 3 * HOUR,
                                clock.now())
    assert [b.hour.hour for b in bills] == [9, 10]

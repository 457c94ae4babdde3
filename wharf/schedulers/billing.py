"""The billing tick: closes every tenant-hour that has ended, each tenant's hours in
order, with one bill each priced from the log (domain/billing.py: `bill_hour`). A plain
function of a time: the leader's timer calls it every few minutes with the clock's now,
and `wharf billing run --until TIME` with the time given, so a test runs a month of
bills in seconds.

An hour is closed only once it ended `GRACE` ago and the billing consumer has read the
whole log as it was when the tick began, so no event timed inside the hour can still be
on its way. A tick that missed hours (Wharf was down) closes each of them; two ticks at
once write each bill once (its id is the tenant-hour's: the second finds it).
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.handlers.billing import MAX_BILLS
from wharf.domain.billing import HOUR, Held, Metered, PlanPeriod, bill_hour, hour_of
from wharf.projections.reads import Reader
from wharf.projections.reads import billing as billing_reads

log = logging.getLogger(__name__)

BILLING = Actor.system("billing")
GRACE = timedelta(seconds=60)  # far longer than any command takes to record its events


def _ceil_hour(moment: datetime) -> datetime:
    start = hour_of(moment)
    return start if start == moment else start + HOUR


Sent = Callable[[list[str], datetime], dict[str, int]]


def _spans(reader: Reader, until: datetime
           ) -> list[tuple[billing_reads.Billable, datetime, datetime]]:
    """Each tenant with hours to close: [start, stop) of them."""
    spans = []
    for tenant in billing_reads.billable(reader):
        start = hour_of(tenant.since) if tenant.last_billed is None \
            else tenant.last_billed + HOUR
        stop = until if tenant.until is None else min(until, _ceil_hour(tenant.until))
        if start < stop:
            spans.append((tenant, start, stop))
    return spans


class SteadyHours:
    """Whether an hour's lines are the hour before's: nothing a bill counts began or ended
    strictly between the start of the hour before and the end of this one, and neither
    hour was metered. `bill_hour` then gives the same lines (whole hours of the same
    periods, the same sources), so a steady tenant's month is priced once, not 720
    times."""

    def __init__(self, plans: Sequence[PlanPeriod], held: Sequence[Held],
                 metered: Sequence[Metered]) -> None:
        moments = {p.start for p in plans} | {h.start for h in held}
        moments |= {p.end for p in plans if p.end is not None}
        moments |= {h.end for h in held if h.end is not None}
        self.moments = sorted(moments)
        self.metered = sorted(m.at for m in metered)

    def same_as_before(self, hour: datetime) -> bool:
        counted = bisect_left(self.metered, hour - HOUR)  # metered in either hour
        if counted < len(self.metered) and self.metered[counted] < hour + HOUR:
            return False
        after = bisect_right(self.moments, hour - HOUR)
        return after == len(self.moments) or self.moments[after] >= hour + HOUR


def priced_hours(start: datetime, stop: datetime, plans: Sequence[PlanPeriod],
                 held: Sequence[Held], metered: Sequence[Metered]
                 ) -> Iterator[tuple[datetime, list[dict[str, Any]]]]:
    """Each hour in [start, stop) with its lines (as data), priced by `bill_hour`."""
    steady = SteadyHours(plans, held, metered)
    lines: list[dict[str, Any]] | None = None
    hour = start
    while hour < stop:
        if lines is None or not steady.same_as_before(hour):
            lines = [line.to_data() for line in bill_hour(hour, plans, held, metered)]
        yield hour, lines
        hour += HOUR


class _Batches:
    """Commands of at most MAX_BILLS items each, sent as they fill."""

    def __init__(self, send: Callable[[list[dict[str, Any]]], object],
                 progress: Callable[[int], object] = lambda n: None) -> None:
        self.send, self.progress = send, progress
        self.pending: list[dict[str, Any]] = []
        self.sent = 0

    def add(self, item: dict[str, Any]) -> None:
        self.pending.append(item)
        if len(self.pending) >= MAX_BILLS:
            self.flush()

    def flush(self) -> int:
        if self.pending:
            self.send(list(self.pending))
            self.sent += len(self.pending)
            self.pending.clear()
            self.progress(self.sent)
        return self.sent


def close_hours(app: Wharf, reader: Reader, until: datetime,
                catch_up: Callable[[], object] = lambda: None, actor: Actor = BILLING,
                progress: Callable[[int], object] = lambda closed: None,
                sent: Sent | None = None) -> int:
    """Closes every tenant-hour that ended by `until` (and GRACE before the app's clock:
    never an hour whose events may still come) and is not closed yet; returns how many
    bills it wrote. `catch_up` brings the billing consumer to the log's head; `sent`
    (the metrics store's) says what containers sent in an hour, recorded as each
    tenant-hour's `TrafficMetered` before its bill is made."""
    catch_up()
    last = hour_of(min(until, app.clock.now() - GRACE))  # hours [h, h + 1), h + 1 <= it
    if sent is not None:
        meters = _Batches(lambda items: app.handle(m.MeterTraffic(actor=actor, records=items)))
        for tenant, start, stop in _spans(reader, last):
            held = billing_reads.held(reader, tenant.tenant_id, start, stop)
            hour = start
            while hour < stop:
                found = sent(billing_reads.containers_in(held, hour, hour + HOUR), hour)
                if found:
                    meters.add({"tenant_id": tenant.tenant_id, "hour": hour.isoformat(),
                                "sent": found})
                hour += HOUR
        if meters.flush():
            catch_up()
    bills = _Batches(lambda items: app.handle(m.CloseHours(actor=actor, bills=items)),
                     progress)
    for tenant, start, stop in _spans(reader, last):
        plans = billing_reads.plan_periods(reader, tenant.tenant_id, start, stop)
        held = billing_reads.held(reader, tenant.tenant_id, start, stop)
        metered = billing_reads.metered(reader, tenant.tenant_id, start, stop)
        for hour, lines in priced_hours(start, stop, plans, held, metered):
            bills.add({"tenant_id": tenant.tenant_id, "hour": hour.isoformat(),
                       "lines": lines})
    return bills.flush()


def tick(app: Wharf, reader: Reader, now: Callable[[], datetime],
         catch_up: Callable[[], object], sent: Sent | None = None) -> int:
    """The leader's timer job: every hour that ended GRACE ago."""
    closed = close_hours(app, reader, now() - GRACE, catch_up, sent=sent)
    if closed:
        log.info("billing: closed %d tenant-hours", closed)
    return closed

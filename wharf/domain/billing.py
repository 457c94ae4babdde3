"""Billing: one bill per tenant-hour, priced exactly from the times Wharf's events carry.

`bill_hour` is the pure rule: given the plan periods of a tenant (which plan version was
in force from when to when), what it held (each container's reserved CPU and memory
while it ran, each volume's size while it existed) and what it was metered for (traffic),
it gives the hour's lines. A line is one item under one plan version: a plan change in
the middle of the hour splits each item into two lines. Each line names the log
positions of the events it came from. Money is Decimal CNY, each line rounded half-up to
0.0001, the bill the sum of its lines.

The `Bill` aggregate's id is derived from (tenant, hour): a second close of the same
hour finds it and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import InvalidInput

HOUR = timedelta(hours=1)
GIB = 1024 ** 3
UNIT = Decimal("0.0001")  # a line's amount is rounded half-up to this
SHOWN = Decimal("0.000001")  # a line's quantity is shown to this (its amount is exact)
Item = Literal["fee", "cpu", "memory", "volume", "traffic"]
ITEMS: tuple[Item, ...] = ("fee", "cpu", "memory", "volume", "traffic")
# Each item: the plan's price it is charged at, and what its quantity counts.
PRICES: dict[Item, str] = {"fee": "fee_per_hour", "cpu": "cpu_second",
                           "memory": "memory_gib_second", "volume": "volume_gib_hour",
                           "traffic": "traffic_gib"}
UNITS: dict[Item, str] = {"fee": "hour", "cpu": "CPU-second", "memory": "GiB-second",
                          "volume": "GiB-hour", "traffic": "GiB"}
PER_HOUR: frozenset[Item] = frozenset({"fee", "volume"})  # priced per hour, not second


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def seconds(span: timedelta) -> Decimal:
    """A span in seconds, exactly (to the microsecond)."""
    return Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds) / 1000000


@dataclass(frozen=True)
class PlanPeriod:
    """The plan version a tenant was on from `start` until `end` (None: still)."""

    start: datetime
    end: datetime | None
    plan: str
    version: int
    prices: Mapping[str, Decimal]
    sources: tuple[int, ...]  # the event that put it on this plan (and the one that ended it)


@dataclass(frozen=True)
class Held:
    """A resource held from `start` until `end` (None: still held): a running container's
    reserved CPU (cores) or memory (GiB), or a volume's size (GiB)."""

    item: Literal["cpu", "memory", "volume"]
    subject: str  # the container's or volume's id
    amount: Decimal
    start: datetime
    end: datetime | None
    sources: tuple[int, ...]  # the events that began (and ended) it


@dataclass(frozen=True)
class Metered:
    """Bytes sent, counted at `at` (a TrafficMetered event: the start of its hour)."""

    at: datetime
    sent: int  # bytes
    source: int


@dataclass(frozen=True)
class Line:
    item: Item
    plan: str
    plan_version: int
    quantity: Decimal  # in UNITS[item]
    unit_price: Decimal
    amount: Decimal
    sources: tuple[int, ...]

    def to_data(self) -> dict[str, Any]:
        return {"item": self.item, "plan": self.plan, "plan_version": self.plan_version,
                "quantity": str(self.quantity), "unit_price": str(self.unit_price),
                "amount": str(self.amount), "sources": list(self.sources)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Line:
        if data["item"] not in UNITS or not isinstance(data["plan"], str) \
                or len(data["plan"]) > 100 or not isinstance(data["plan_version"], int):
            raise InvalidInput("lines", f"not a bill line: {str(dict(data))[:200]}")
        return cls(item=data["item"], plan=data["plan"], plan_version=data["plan_version"],
                   quantity=Decimal(data["quantity"]), unit_price=Decimal(data["unit_price"]),
                   amount=Decimal(data["amount"]), sources=tuple(data["sources"]))


def _overlap(start: datetime, end: datetime | None, lo: datetime, hi: datetime
             ) -> timedelta | None:
    begin, finish = max(start, lo), min(end or hi, hi)
    return finish - begin if finish > begin else None


def bill_hour(hour: datetime, plans: Sequence[PlanPeriod], held: Sequence[Held],
              metered: Sequence[Metered] = (), until: datetime | None = None) -> list[Line]:
    """The lines of the tenant-hour starting at `hour`: for each plan period that
    overlaps it, its fee for that part of the hour and each item held or metered in
    that part, at that plan version's prices. Lines with nothing to count are left out.
    With `until` (inside the hour), the hour so far: what the open hour costs now."""
    end = hour + HOUR if until is None else max(hour, min(hour + HOUR, until))
    lines: list[Line] = []
    with localcontext() as exact:
        exact.prec = 60  # (every product and sum below is exact; only the amount rounds)
        for period in sorted(plans, key=lambda p: p.start):
            span = _overlap(period.start, period.end, hour, end)
            if span is None:
                continue
            lo, hi = max(period.start, hour), min(period.end or end, end)
            # item -> (sum of amount x seconds, sources)
            counted: dict[Item, tuple[Decimal, list[int]]] = {
                "fee": (seconds(span), list(period.sources[:1]))}
            for each in held:
                part = _overlap(each.start, each.end, lo, hi)
                if part is None or each.amount == 0:
                    continue
                total, sources = counted.get(each.item, (Decimal(0), []))
                counted[each.item] = (total + each.amount * seconds(part),
                                      sources + [s for s in each.sources if s not in sources])
            for m in metered:
                if lo <= m.at < hi and m.sent:
                    total, sources = counted.get("traffic", (Decimal(0), []))
                    counted["traffic"] = (total + Decimal(m.sent) / GIB, [*sources, m.source])
            for item in ITEMS:
                if item not in counted:
                    continue
                total, sources = counted[item]
                quantity = total / 3600 if item in PER_HOUR else total
                price = period.prices.get(PRICES[item], Decimal(0))
                amount = (total * price / 3600 if item in PER_HOUR else total * price)
                shown = quantity.quantize(SHOWN, rounding=ROUND_HALF_UP).normalize()
                lines.append(Line(item, period.plan, period.version, shown,
                                  price, amount.quantize(UNIT, rounding=ROUND_HALF_UP),
                                  tuple(sorted(sources))))
    return lines


def tenant_hour_id(kind: str, tenant_id: UUID, hour: datetime | str) -> UUID:
    """The id of what there is one of per tenant-hour (a bill, a traffic meter); `hour`
    as a time, or as the ISO text of the start of a UTC hour."""
    text = hour if isinstance(hour, str) else hour_of(hour).isoformat()
    return derive_id(kind, f"{tenant_id}/{text}")


def total(lines: Sequence[Line]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.0000"))


class Bill(WharfAggregate):
    """The bill of one tenant-hour, closed once."""

    @staticmethod
    def id_for(tenant_id: UUID, hour: datetime) -> UUID:
        return tenant_hour_id("bill", tenant_id, hour)

    class HourBilled(WharfAggregate.Created):
        tenant_id: UUID
        hour: str  # ISO start of the UTC hour
        lines: list[dict[str, Any]]
        total: str

    @event(HourBilled)
    def __init__(self, id: UUID, tenant_id: UUID, hour: str, lines: list[dict[str, Any]],
                 total: str, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.hour = hour
        self.lines = [dict(line) for line in lines]
        self.total = total


def month_of(hour: datetime) -> str:
    """The UTC month ("YYYY-MM") a tenant-hour is kept in."""
    utc = hour.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


class Ledger(WharfAggregate):
    """A tenant's closed hours of one UTC month: each hour's bill, closed once.

    One event records every bill one close makes for the tenant (a tick: one hour; a
    tick that was down, or `wharf billing run`: every missed hour), each bill with the id
    derived from (tenant, hour), so a month for 1,000 tenants is thousands of events,
    not 720,000. A month's stream stays short (at most 744 hours). Logs written before
    ledgers hold one `Bill.HourBilled` per tenant-hour; both are read alike."""

    @staticmethod
    def id_for(tenant_id: UUID, hour: datetime) -> UUID:
        return derive_id("ledger", tenant_id, month_of(hour))

    class Opened(WharfAggregate.Created):
        tenant_id: UUID
        month: str

    @event(Opened)
    def __init__(self, id: UUID, tenant_id: UUID, month: str, actor: str,
                 cause: str) -> None:
        self.tenant_id = tenant_id
        self.month = month
        self.closed: list[str] = []  # the hours billed (ISO), in the order closed

    def close(self, bills: Sequence[tuple[datetime, list[Line]]]) -> int:
        """Records the bills of the hours (starts of UTC hours) of its month not closed
        yet; how many. Each bill's id is `Bill.id_for(tenant, hour)`."""
        closed = set(self.closed)
        unique: dict[str, dict[str, Any]] = {}
        for hour, lines in bills:
            start = hour_of(hour) if hour.utcoffset() or hour.minute or hour.second \
                or hour.microsecond else hour
            when = start.isoformat()
            if when in closed or when in unique or when[:7] != self.month:
                continue
            unique[when] = {"id": str(tenant_hour_id("bill", self.tenant_id, when)),
                            "hour": when, "lines": [line.to_data() for line in lines],
                            "total": str(total(lines))}
        if unique:
            self._billed(tenant_id=self.tenant_id, bills=list(unique.values()))
        return len(unique)

    class Billed(WharfAggregate.Event):
        tenant_id: UUID
        bills: list[dict[str, Any]]  # each: id, hour (ISO), lines (Line.to_data), total

    @event(Billed)
    def _billed(self, tenant_id: UUID, bills: list[dict[str, Any]]) -> None:
        self.closed = [*self.closed, *(bill["hour"] for bill in bills)]


class TrafficMeter(WharfAggregate):
    """What a tenant's containers sent in one hour, measured once (from the metrics
    store's hourly counters) and recorded before the hour is billed. A stream of its own
    per tenant-hour: metering grows without bound, so it is kept out of Tenant."""

    @staticmethod
    def id_for(tenant_id: UUID, hour: datetime) -> UUID:
        return tenant_hour_id("traffic", tenant_id, hour)

    class TrafficMetered(WharfAggregate.Created):
        tenant_id: UUID
        hour: str  # ISO start of the UTC hour
        sent: dict[str, int]  # container id -> bytes sent in the hour

    @event(TrafficMetered)
    def __init__(self, id: UUID, tenant_id: UUID, hour: str, sent: dict[str, int],
                 actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.hour = hour
        self.sent = dict(sent)

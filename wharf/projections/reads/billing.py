"""Reads of the billing consumer's read models: what a tenant held in a span of time (the
input of its bills), which tenant-hours are still open, and the bills closed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from wharf.domain.billing import Held, Line, Metered, PlanPeriod
from wharf.projections.reads import Reader


def _utc(moment: datetime) -> str:
    """A bound as the stored times are written (ISO, UTC): text compares as time only
    between the same offsets (a local midnight compared as text missed 8 hours)."""
    return moment.astimezone(UTC).isoformat()


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def plan_periods(reader: Reader, tenant_id: str, lo: datetime, hi: datetime
                 ) -> list[PlanPeriod]:
    """The tenant's plan versions in force at some moment of [lo, hi), with their prices."""
    return [PlanPeriod(
        start=datetime.fromisoformat(r["start_at"]), end=_at(r["end_at"]), plan=r["plan"],
        version=r["version"],
        prices={k: Decimal(v) for k, v in json.loads(r["prices"] or "{}").items()},
        sources=tuple(p for p in (r["start_pos"], r["end_pos"]) if p is not None))
        for r in reader.query(
            "SELECT p.*, b.prices FROM rm_plan_periods p LEFT JOIN rm_bill_prices b "
            "ON b.plan = p.plan AND b.version = p.version WHERE p.tenant_id = ? "
            "AND p.start_at < ? AND (p.end_at IS NULL OR p.end_at > ?) ORDER BY p.start_pos",
            (tenant_id, _utc(hi), _utc(lo)))]


def held(reader: Reader, tenant_id: str, lo: datetime, hi: datetime) -> list[Held]:
    """What the tenant held at some moment of [lo, hi)."""
    return [Held(
        item=cast(Any, r["item"]), subject=r["subject"], amount=Decimal(r["amount"]),
        start=datetime.fromisoformat(r["start_at"]), end=_at(r["end_at"]),
        sources=tuple(p for p in (r["start_pos"], r["end_pos"]) if p is not None))
        for r in reader.query(
            "SELECT * FROM rm_held WHERE tenant_id = ? AND start_at < ? "
            "AND (end_at IS NULL OR end_at > ?) ORDER BY start_pos",
            (tenant_id, _utc(hi), _utc(lo)))]


def metered(reader: Reader, tenant_id: str, lo: datetime, hi: datetime) -> list[Metered]:
    """The tenant's traffic of the hours in [lo, hi), each at its hour's start."""
    return [Metered(at=datetime.fromisoformat(r["hour"]), sent=int(r["sent"]),
                    source=r["position"])
            for r in reader.query(
                "SELECT hour, sent, position FROM rm_traffic WHERE tenant_id = ? "
                "AND hour >= ? AND hour < ? ORDER BY hour",
                (tenant_id, _utc(lo), _utc(hi)))]


def containers_in(held: list[Held], lo: datetime, hi: datetime) -> list[str]:
    """The containers that ran at some moment of [lo, hi)."""
    return sorted({h.subject for h in held if h.item == "cpu" and h.start < hi
                   and (h.end is None or h.end > lo)})


@dataclass(frozen=True)
class Billable:
    """A tenant with hours to bill: from when, and the last hour billed (if any)."""

    tenant_id: str
    since: datetime  # its first plan period's start
    until: datetime | None  # when its last plan period ended (closed), if it did
    last_billed: datetime | None


def billable(reader: Reader) -> list[Billable]:
    rows = reader.query(
        "SELECT p.tenant_id, MIN(p.start_at) AS since, "
        "MAX(CASE WHEN p.end_at IS NULL THEN 1 ELSE 0 END) AS open, MAX(p.end_at) AS until, "
        "(SELECT MAX(hour) FROM rm_bills b WHERE b.tenant_id = p.tenant_id) AS last "
        "FROM rm_plan_periods p GROUP BY p.tenant_id ORDER BY p.tenant_id")
    return [Billable(r["tenant_id"], datetime.fromisoformat(r["since"]),
                     None if r["open"] else _at(r["until"]), _at(r["last"])) for r in rows]


@dataclass(frozen=True)
class BillRow:
    id: str
    tenant_id: str
    hour: datetime
    total: Decimal
    lines: tuple[Line, ...]
    position: int
    closed_at: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> BillRow:
        return cls(id=row["id"], tenant_id=row["tenant_id"],
                   hour=datetime.fromisoformat(row["hour"]), total=Decimal(row["total"]),
                   lines=tuple(Line.from_data(line) for line in json.loads(row["lines"])),
                   position=row["position"], closed_at=row["closed_at"])


def bill(reader: Reader, bill_id: str) -> BillRow | None:
    rows = reader.query("SELECT * FROM rm_bills WHERE id = ?", (bill_id,))
    return BillRow.of(rows[0]) if rows else None


def all_bills(reader: Reader, lo: datetime, hi: datetime, after: str, limit: int,
              tenant_id: str | None = None) -> list[BillRow]:
    """The bills of [lo, hi) by id after `after`, a tenant's or every tenant's: an
    export's pages."""
    where, params = "hour >= ? AND hour < ? AND id > ?", [_utc(lo), _utc(hi),
                                                          after]
    if tenant_id is not None:
        where, params = f"tenant_id = ? AND {where}", [tenant_id, *params]
    return [BillRow.of(r) for r in reader.query(
        f"SELECT * FROM rm_bills WHERE {where} ORDER BY id LIMIT {int(limit)}",
        tuple(params))]


def bills(reader: Reader, tenant_id: str, lo: datetime, hi: datetime) -> list[BillRow]:
    """The tenant's hourly bills of [lo, hi), oldest first."""
    return [BillRow.of(r) for r in reader.query(
        "SELECT * FROM rm_bills WHERE tenant_id = ? AND hour >= ? AND hour < ? ORDER BY hour",
        (tenant_id, _utc(lo), _utc(hi)))]


Period = Literal["hour", "day", "month"]


@dataclass(frozen=True)
class Total:
    """The bills of one hour, day or month (days and months begin in the zone asked)."""

    start: datetime
    hours: int  # the hourly bills it sums
    total: Decimal
    items: dict[str, Decimal]  # by item: fee, cpu, memory, volume, traffic


def _start(hour: datetime, period: Period, zone: ZoneInfo) -> datetime:
    local = hour.astimezone(zone)
    if period == "hour":
        return local
    if period == "day":
        return datetime(local.year, local.month, local.day, tzinfo=zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def totals(reader: Reader, tenant_id: str | None, period: Period, lo: datetime,
           hi: datetime, zone: str) -> list[Total]:
    """A tenant's bills of [lo, hi) (None: every tenant's, the operator's totals), summed
    by `period`, oldest first."""
    where, params = "hour >= ? AND hour < ?", [_utc(lo), _utc(hi)]
    if tenant_id is not None:
        where, params = f"tenant_id = ? AND {where}", [tenant_id, *params]
    tz = ZoneInfo(zone)
    found: dict[datetime, tuple[int, Decimal, dict[str, Decimal]]] = {}
    for row in reader.query(f"SELECT hour, total, lines FROM rm_bills WHERE {where} "
                            "ORDER BY hour", tuple(params)):
        key = _start(datetime.fromisoformat(row["hour"]), period, tz)
        hours, amount, items = found.get(key, (0, Decimal("0.0000"), {}))
        for line in json.loads(row["lines"]):
            items[line["item"]] = items.get(line["item"], Decimal("0.0000")) + Decimal(
                line["amount"])
        found[key] = (hours + 1, amount + Decimal(row["total"]), items)
    return [Total(start, hours, amount, items)
            for start, (hours, amount, items) in found.items()]

"""Bills as the API shows them: hourly bills with their lines, and their sums by hour,
day or month. Money is a decimal string in CNY (never a float)."""

from __future__ import annotations

import strawberry

from wharf.domain.billing import UNITS, Line
from wharf.projections.reads.billing import BillRow, Total


@strawberry.type(description="One item of an hour under one plan version.")
class BillLine:
    item: str = strawberry.field(description="fee, cpu, memory, volume or traffic.")
    plan: str
    plan_version: int
    quantity: str = strawberry.field(description="In `unit` (shown to 0.000001).")
    unit: str = strawberry.field(description="hour, CPU-second, GiB-second, GiB-hour, GiB.")
    unit_price: str
    amount: str = strawberry.field(description="CNY, rounded half-up to 0.0001.")
    sources: list[int] = strawberry.field(
        description="The log positions of the events it was priced from (`wharf events`).")

    @classmethod
    def of(cls, line: Line) -> BillLine:
        return cls(item=line.item, plan=line.plan, plan_version=line.plan_version,
                   quantity=str(line.quantity), unit=UNITS[line.item],
                   unit_price=str(line.unit_price), amount=str(line.amount),
                   sources=list(line.sources))


@strawberry.type(description="A tenant-hour's bill, closed once from the log.")
class Bill:
    id: strawberry.ID
    tenant_id: strawberry.ID
    hour: str = strawberry.field(description="The start of its UTC hour.")
    total: str = strawberry.field(description="CNY: the sum of its lines.")
    lines: list[BillLine]
    closed_at: str

    @classmethod
    def of(cls, row: BillRow) -> Bill:
        return cls(id=strawberry.ID(row.id), tenant_id=strawberry.ID(row.tenant_id),
                   hour=row.hour.isoformat(), total=str(row.total),
                   lines=[BillLine.of(line) for line in row.lines], closed_at=row.closed_at)


@strawberry.type
class ItemAmount:
    item: str
    amount: str


@strawberry.type(description="The bills of one hour, day or month (days and months "
                             "begin in WHARF_TIMEZONE).")
class BillTotal:
    start: str
    hours: int = strawberry.field(description="How many hourly bills it sums.")
    total: str
    items: list[ItemAmount]

    @classmethod
    def of(cls, total: Total) -> BillTotal:
        return cls(start=total.start.isoformat(), hours=total.hours, total=str(total.total),
                   items=[ItemAmount(item=k, amount=str(v)) for k, v in total.items.items()])

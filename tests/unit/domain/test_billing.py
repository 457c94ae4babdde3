"""The hour's lines, from plan periods and what was held: exact seconds, a plan change
splitting each item, half-up rounding to 0.0001, and the events each line came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wharf.domain.billing import Bill, Held, Metered, PlanPeriod, bill_hour, hour_of, total

H = datetime(2026, 11, 1, 10, tzinfo=UTC)
S = {"fee_per_hour": Decimal("0.0806"), "cpu_second": Decimal("0.00002"),
     "memory_gib_second": Decimal("0.00001"), "volume_gib_hour": Decimal("0.0007"),
     "traffic_gib": Decimal("0.8")}
M = {**S, "fee_per_hour": Decimal("0.2750"), "cpu_second": Decimal("0.00003")}


def at(minutes: float) -> datetime:
    return H + timedelta(minutes=minutes)


def test_a_whole_hour_on_one_plan() -> None:
    plans = [PlanPeriod(H - timedelta(days=3), None, "s", 1, S, (7,))]
    held = [Held("cpu", "c1", Decimal("0.25"), at(-30), None, (11,)),
            Held("memory", "c1", Decimal("0.5"), at(-30), None, (11,)),
            Held("volume", "v1", Decimal(3), at(-600), None, (5,))]
    lines = {line.item: line for line in bill_hour(H, plans, held,
                                                   [Metered(at(59), 3 * 2**29, 40)])}
    assert lines["fee"].quantity == 1 and lines["fee"].amount == Decimal("0.0806")
    assert lines["cpu"].quantity == 900  # 0.25 cores x 3600 s
    assert lines["cpu"].amount == Decimal("0.0180")
    assert lines["memory"].quantity == 1800 and lines["memory"].amount == Decimal("0.0180")
    assert lines["volume"].quantity == 3 and lines["volume"].amount == Decimal("0.0021")
    assert lines["traffic"].amount == Decimal("1.2000") and lines["traffic"].sources == (40,)
    assert lines["cpu"].sources == (11,) and lines["fee"].sources == (7,)
    assert total(list(lines.values())) == Decimal("1.3187")


def test_a_plan_change_in_the_hour_splits_each_item_and_the_parts_are_exact() -> None:
    change = at(20) + timedelta(microseconds=500000)  # 20 min 0.5 s in
    plans = [PlanPeriod(H - timedelta(days=1), change, "s", 1, S, (3, 90)),
             PlanPeriod(change, None, "m", 2, M, (90,))]
    # A container that ran from 10 min in until 40 min in.
    held = [Held("cpu", "c1", Decimal(1), at(10), at(40), (50, 120))]
    lines = [(line.item, line.plan, line.quantity, line.amount, line.sources)
             for line in bill_hour(H, plans, held)]
    # 1200.5 s on s, 2399.5 s on m; the container 600.5 s on s, 1199.5 s on m.
    assert lines == [
        ("fee", "s", Decimal("0.333472"), Decimal("0.0269"), (3,)),  # 0.0268789
        ("cpu", "s", Decimal("600.5"), Decimal("0.0120"), (50, 120)),  # 0.01201
        ("fee", "m", Decimal("0.666528"), Decimal("0.1833"), (90,)),  # 0.1832951
        ("cpu", "m", Decimal("1199.5"), Decimal("0.0360"), (50, 120)),  # 0.035985
    ]


def test_rounding_is_half_up_per_line() -> None:
    plans = [PlanPeriod(H, None, "p", 1, {"cpu_second": Decimal("0.00001")}, (1,))]
    # 5 CPU-seconds x 0.00001 = 0.00005: half of the unit, rounded up.
    held = [Held("cpu", "c", Decimal(1), H, H + timedelta(seconds=5), (2, 3))]
    [fee, cpu] = bill_hour(H, plans, held)
    assert (fee.amount, cpu.amount) == (Decimal("0.0000"), Decimal("0.0001"))


def test_nothing_outside_the_hour_counts_and_the_free_plan_costs_nothing() -> None:
    free = {key: Decimal(0) for key in S}
    plans = [PlanPeriod(H - timedelta(days=1), None, "free", 1, free, (1,))]
    held = [Held("cpu", "old", Decimal(1), at(-120), at(-60), (2, 3)),
            Held("cpu", "new", Decimal(1), at(60), None, (4,)),
            Held("cpu", "c", Decimal("0.5"), at(30), None, (5,))]
    lines = bill_hour(H, plans, held, [Metered(at(60), 2**30, 6)])
    assert [(line.item, line.quantity, line.amount) for line in lines] == [
        ("fee", 1, Decimal("0.0000")), ("cpu", 900, Decimal("0.0000"))]
    assert bill_hour(H, [PlanPeriod(at(60), None, "free", 1, free, (1,))], held) == []


def test_a_bills_id_is_its_tenant_and_hour() -> None:
    from uuid import uuid4

    tenant = uuid4()
    assert Bill.id_for(tenant, at(59)) == Bill.id_for(tenant, H) != Bill.id_for(tenant, at(60))
    assert hour_of(at(59.9)) == H


def test_the_open_hour_so_far() -> None:
    plans = [PlanPeriod(H - timedelta(days=1), None, "s", 1, S, (1,))]
    held = [Held("cpu", "c", Decimal(1), at(-5), None, (2,))]
    lines = bill_hour(H, plans, held, until=at(15))
    assert [(line.item, line.quantity) for line in lines] == [("fee", Decimal("0.25")),
                                                             ("cpu", 900)]


def test_bytes_sent_in_an_hour_from_hourly_counters() -> None:
    from wharf.schedulers.metrics import sent_in_hour

    assert sent_in_hour(None, None) == 0 and sent_in_hour(500, None) == 0
    assert sent_in_hour(None, 700) == 700  # started in the hour: from zero
    assert sent_in_hour(500, 700) == 200
    assert sent_in_hour(500, 300) == 300  # a new run: its counter started from zero

"""A steady tenant's hours are priced once: every hour `priced_hours` gives has the lines
`bill_hour` gives for it, whatever begins, ends or is metered around it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wharf.domain.billing import HOUR, Held, Metered, PlanPeriod, bill_hour
from wharf.schedulers.billing import priced_hours

START = datetime(2026, 11, 1, tzinfo=UTC)
PRICES = {"fee_per_hour": Decimal("0.0806"), "cpu_second": Decimal("0.00002"),
          "memory_gib_second": Decimal("0.00001"), "volume_gib_hour": Decimal("0.0007"),
          "traffic_gib": Decimal("0.8")}


def moment(rng: random.Random) -> datetime:
    """Somewhere in the first two days: on an hour, or anywhere inside one."""
    hours = rng.randrange(48)
    inside = 0 if rng.random() < 0.4 else rng.randrange(1, 3_600_000_000)
    return START + hours * HOUR + timedelta(microseconds=inside)


def test_every_hour_has_the_lines_bill_hour_gives() -> None:
    rng = random.Random(12)
    for _ in range(60):
        cut = moment(rng)
        plans = [PlanPeriod(START - HOUR, cut, "s", 1, PRICES, (1,)),
                 PlanPeriod(cut, None, "m", 1, {**PRICES, "fee_per_hour": Decimal("0.3")},
                            (2,))]
        held = []
        for i in range(rng.randrange(4)):
            begin = moment(rng)
            end = None if rng.random() < 0.3 else begin + timedelta(
                microseconds=rng.randrange(1, 10 * 3_600_000_000))
            held.append(Held(rng.choice(["cpu", "memory", "volume"]), f"c{i}",
                             Decimal(rng.randrange(1, 4)) / 4, begin, end, (10 + i,)))
        metered = [Metered(moment(rng), rng.randrange(1, 2**31), 50 + i)
                   for i in range(rng.randrange(3))]
        got = list(priced_hours(START, START + 48 * HOUR, plans, held, metered))
        assert [hour for hour, _ in got] == [START + i * HOUR for i in range(48)]
        for hour, lines in got:
            assert lines == [line.to_data() for line in
                             bill_hour(hour, plans, held, metered)], (hour, plans, held)

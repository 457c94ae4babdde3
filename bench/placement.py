"""Placement over a large fleet, against filtering every host in the same run.

1,000 containers are placed one after another over 1,000 hosts (a few dedicated pools,
labels, some hosts draining or full), each placement booking its room so the next one
sees it, as a planning pass does. The baseline is the rule spelled out: every filter
over every host, then the best score (what placement did before the index). Both must
choose the same hosts; the figure is the indexed time as a ratio of the baseline's
(goal <= 0.2x). Each is the median of ROUNDS rounds.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from wharf.schedulers.placement import HostRoom, Placer, Request, rejection, room

HOSTS = 1_000
PLACEMENTS = 1_000
ROUNDS = 5


def fleet(rng: random.Random) -> list[HostRoom]:
    return [HostRoom(id=f"host-{i:04d}", name=f"h{i}",
                     pool="public" if i % 10 else f"tenant-{i % 7}",
                     state="draining" if i % 50 == 0 else "active",
                     cpu_millis=16_000, memory_mib=65_536, overcommit=Decimal("1.5"),
                     reserved_cpu_millis=rng.randrange(0, 24_000),
                     reserved_memory_mib=rng.randrange(0, 98_304),
                     labels=frozenset({f"zone=z{i % 3}"}))
            for i in range(HOSTS)]


def requests(rng: random.Random) -> list[Request]:
    return [Request(tenant=f"tenant-{rng.randrange(20)}", cpu_millis=rng.choice([250, 500, 1000]),
                    memory_mib=rng.choice([256, 512, 1024]),
                    constraints=frozenset({"zone=z1"}) if rng.random() < 0.2 else frozenset())
            for _ in range(PLACEMENTS)]


def naive(hosts: list[HostRoom], asks: list[Request], strategy: str) -> list[str | None]:
    rooms = {h.id: h for h in hosts}
    sign = -1 if strategy == "spread" else 1
    chosen: list[str | None] = []
    for request in asks:
        fits = [h for h in rooms.values() if rejection(h, request) is None]
        if not fits:
            chosen.append(None)
            continue
        best = min(fits, key=lambda h: (h.pool != request.tenant, sign * room(h), h.id))
        rooms[best.id] = best.take(request.cpu_millis, request.memory_mib)
        chosen.append(best.id)
    return chosen


def indexed(hosts: list[HostRoom], asks: list[Request], strategy: str) -> list[str | None]:
    placer = Placer(hosts, strategy)
    chosen: list[str | None] = []
    for request in asks:
        host, _ = placer.choose(request)
        if host is not None:
            placer.take(host.id, request.cpu_millis, request.memory_mib)
        chosen.append(host.id if host is not None else None)
    return chosen


Place = Callable[[list[HostRoom], list[Request], str], list[str | None]]


def timed(place: Place, hosts: list[HostRoom], asks: list[Request],
          strategy: str) -> tuple[float, list[str | None]]:
    started = time.perf_counter()
    chosen = place(hosts, asks, strategy)
    return time.perf_counter() - started, chosen


def run() -> list[str]:
    lines = []
    for strategy in ("spread", "binpack"):
        naive_s, indexed_s = [], []
        for round_ in range(ROUNDS):
            rng = random.Random(round_)
            hosts, asks = fleet(rng), requests(rng)
            base, expected = timed(naive, hosts, asks, strategy)
            ours, got = timed(indexed, hosts, asks, strategy)
            if got != expected:
                raise SystemExit(f"placement {strategy}: the index chose other hosts")
            naive_s.append(base)
            indexed_s.append(ours)
        base, ours = statistics.median(naive_s), statistics.median(indexed_s)
        line = (f"placement ({strategy}, {PLACEMENTS:,} over {HOSTS:,} hosts): "
                f"{ours * 1000:.0f} ms vs filtering every host {base * 1000:.0f} ms "
                f"= {ours / base:.2f}x (goal <= 0.2x)")
        print(line, flush=True)
        lines.append(line)
    return lines


if __name__ == "__main__":
    run()

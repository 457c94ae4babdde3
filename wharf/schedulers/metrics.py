"""Metrics: CPU, memory and network samples of running containers and of hosts.

Metrics are not events: they go to a table of their own, kept at three resolutions
(raw for an hour, per minute for a day, per hour for a month). The sampling job is a plain
function of a clock; APScheduler triggers it. The arithmetic here is pure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from wharf.commands.ports import Clock
from wharf.projections.reads import Reader
from wharf.projections.reads.containers import RunningRow, running_on_hosts

log = logging.getLogger(__name__)

RAW, MINUTE, HOUR = 0, 60, 3600
KEEP = {RAW: timedelta(hours=1), MINUTE: timedelta(days=1), HOUR: timedelta(days=31)}
PARALLEL_STATS = 16  # one stats call takes about a second: sample many at once


@dataclass(frozen=True)
class Sample:
    target: str  # a container's or a host's id
    kind: str  # container or host
    at: datetime
    cpu_percent: float  # of one CPU: 150.0 is one and a half CPUs busy
    memory_bytes: int
    rx_bytes: int  # counters since the container started
    tx_bytes: int


def from_docker_stats(target: str, at: datetime, stats: dict[str, Any]) -> Sample:
    """A sample from one `docker stats` answer (cgroup v1 or v2 field names)."""
    cpu, pre = stats.get("cpu_stats", {}), stats.get("precpu_stats", {})
    cpu_delta = (cpu.get("cpu_usage", {}).get("total_usage", 0)
                 - pre.get("cpu_usage", {}).get("total_usage", 0))
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or [1])
    percent = cpu_delta / system_delta * cpus * 100.0 if system_delta > 0 and cpu_delta > 0 \
        else 0.0
    memory = stats.get("memory_stats", {})
    inner = memory.get("stats", {})
    cache = inner.get("total_inactive_file", inner.get("inactive_file", inner.get("cache", 0)))
    used = max(0, int(memory.get("usage", 0)) - int(cache or 0))
    networks = (stats.get("networks") or {}).values()
    return Sample(target=target, kind="container", at=at, cpu_percent=round(percent, 3),
                  memory_bytes=used, rx_bytes=sum(n.get("rx_bytes", 0) for n in networks),
                  tx_bytes=sum(n.get("tx_bytes", 0) for n in networks))


def host_sample(host_id: str, at: datetime, samples: list[Sample]) -> Sample:
    """A host's load from Wharf's containers on it."""
    return Sample(target=host_id, kind="host", at=at,
                  cpu_percent=round(sum(s.cpu_percent for s in samples), 3),
                  memory_bytes=sum(s.memory_bytes for s in samples),
                  rx_bytes=sum(s.rx_bytes for s in samples),
                  tx_bytes=sum(s.tx_bytes for s in samples))


def bucket(at: datetime, resolution: int) -> datetime:
    """The start of the roll-up bucket `at` falls in (raw samples are their own)."""
    if resolution == RAW:
        return at
    seconds = int(at.timestamp()) // resolution * resolution
    return datetime.fromtimestamp(seconds, tz=at.tzinfo)


def sent_in_hour(before: int | None, counter: int | None) -> int:
    """Bytes a container sent in an hour, from the highest transmit counter seen in the
    hour before (None: none seen) and in the hour (None: none seen). A counter lower than
    the hour before's is a new run (its counters start at zero)."""
    if counter is None:
        return 0
    if before is None or counter < before:
        return counter
    return counter - before


def resolution_for(step: int, start: datetime, now: datetime) -> int:
    """The coarsest kept resolution that still serves `step` over a range from `start`."""
    if step >= HOUR or start < now - KEEP[MINUTE]:
        return HOUR
    if step >= MINUTE or start < now - KEEP[RAW]:
        return MINUTE
    return RAW


class MetricsSink(Protocol):
    def add(self, samples: list[Sample]) -> None: ...

    def expire(self, now: datetime) -> None: ...


class StatsSource(Protocol):
    def stats(self, container_id: str) -> dict[str, Any] | None: ...


def sample_running(
    view: Reader, engine_for: Callable[[str, str], StatsSource], sink: MetricsSink,
    clock: Clock,
) -> int:
    """Samples every running container (in parallel) and every host with containers;
    expires what is past its resolution's keep. Returns how many containers it sampled."""
    rows = running_on_hosts(view)
    now = clock.now()

    def one(row: RunningRow) -> Sample | None:
        try:
            stats = engine_for(row.host_id, row.endpoint).stats(row.id)
        except Exception as error:  # stopped meanwhile, or its engine is silent
            log.debug("stats of %s: %s", row.id, error)
            return None
        return None if stats is None else from_docker_stats(row.id, now, stats)

    with ThreadPoolExecutor(min(PARALLEL_STATS, max(1, len(rows)))) as pool:
        taken = list(pool.map(one, rows))
    samples = [s for s in taken if s is not None]
    by_host: dict[str, list[Sample]] = {}
    for row, sample in zip(rows, taken, strict=True):
        if sample is not None:
            by_host.setdefault(row.host_id, []).append(sample)
    samples += [host_sample(host, now, found) for host, found in by_host.items()]
    sink.add(samples)
    sink.expire(now)
    return sum(1 for s in samples if s.kind == "container")

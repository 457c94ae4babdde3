"""Metrics arithmetic: CPU from two cgroup readings, buckets, which resolution serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wharf.schedulers.metrics import (
    HOUR,
    MINUTE,
    RAW,
    Sample,
    bucket,
    from_docker_stats,
    host_sample,
    resolution_for,
)

AT = datetime(2026, 11, 26, 12, 34, 56, tzinfo=UTC)
STATS = {  # one real `docker stats` answer of `yes > /dev/null` (cgroup v1)
    "cpu_stats": {"cpu_usage": {"total_usage": 1019324777}, "system_cpu_usage": 4313830000000,
                  "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 30065287}, "system_cpu_usage": 4311840000000},
    "memory_stats": {"usage": 573440, "stats": {"total_inactive_file": 40960}},
    "networks": {"eth0": {"rx_bytes": 486, "tx_bytes": 12}, "eth1": {"rx_bytes": 14,
                                                                     "tx_bytes": 0}},
}


def test_a_sample_from_docker_stats() -> None:
    sample = from_docker_stats("c1", AT, STATS)
    assert sample.cpu_percent == 99.423  # one of two CPUs busy
    assert sample.memory_bytes == 573440 - 40960
    assert (sample.rx_bytes, sample.tx_bytes) == (500, 12)


def test_a_first_reading_without_a_previous_one_is_zero_cpu() -> None:
    assert from_docker_stats("c1", AT, {"cpu_stats": {}, "precpu_stats": {}}).cpu_percent == 0


def test_a_host_sums_its_containers() -> None:
    samples = [Sample("a", "container", AT, 50.0, 100, 1, 2),
               Sample("b", "container", AT, 25.5, 50, 3, 4)]
    assert host_sample("h", AT, samples) == Sample("h", "host", AT, 75.5, 150, 4, 6)


def test_buckets() -> None:
    assert bucket(AT, RAW) == AT
    assert bucket(AT, MINUTE) == datetime(2026, 11, 26, 12, 34, tzinfo=UTC)
    assert bucket(AT, HOUR) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_finest_resolution_still_kept_serves_a_range() -> None:
    assert resolution_for(10, AT - timedelta(minutes=30), AT) == RAW
    assert resolution_for(10, AT - timedelta(hours=2), AT) == MINUTE
    assert resolution_for(60, AT - timedelta(minutes=5), AT) == MINUTE
    assert resolution_for(60, AT - timedelta(days=2), AT) == HOUR
    assert resolution_for(3600, AT - timedelta(minutes=5), AT) == HOUR

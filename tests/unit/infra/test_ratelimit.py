import pytest

from wharf.infra import ratelimit
from wharf.infra.ratelimit import AuthFailures, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_token_gets_its_burst_then_waits_for_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, now=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 0.5
    assert buckets.take("b") == 0.0  # another token has its own bucket
    clock.t = 0.5
    assert buckets.take("a") == 0.0


def test_failed_authentication_backs_off_and_is_forgotten_after_a_quiet_spell() -> None:
    clock = Clock()
    failures = AuthFailures(free=2, longest=8, now=clock)
    failures.failed("1.2.3.4")
    failures.failed("1.2.3.4")
    assert failures.retry_after("1.2.3.4") == 1.0
    failures.failed("1.2.3.4")
    assert failures.retry_after("1.2.3.4") == 2.0
    clock.t = 2.0
    assert failures.retry_after("1.2.3.4") == 0.0
    assert failures.retry_after("5.6.7.8") == 0.0
    failures.failed("1.2.3.4")  # the fourth: twice as long again
    assert failures.retry_after("1.2.3.4") == 4.0
    clock.t = 2.0 + 8.1  # `longest` after the last failure: forgotten
    failures.failed("1.2.3.4")
    assert failures.retry_after("1.2.3.4") == 0.0


def test_tables_of_callers_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 100)
    buckets = TokenBuckets(rate=1.0, burst=1, now=Clock())
    failures = AuthFailures(now=Clock())
    for i in range(1000):
        buckets.take(f"token-{i}")
        failures.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(buckets._buckets) == 100 and len(failures._failures) == 100
    assert buckets.take("token-999") > 0  # the newest are the ones kept


def test_a_flood_of_failures_waits_the_longest_and_never_overflows() -> None:
    clock = Clock()
    failures = AuthFailures(free=5, longest=60, now=clock)
    for _ in range(5000):  # (2 ** 1023 is the last power of two a float holds)
        failures.failed("1.2.3.4")
    assert failures.retry_after("1.2.3.4") == 60

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


def test_failed_authentication_backs_off_and_success_forgets() -> None:
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
    failures.succeeded("1.2.3.4")
    assert failures.retry_after("1.2.3.4") == 0.0

"""A service's pure rules: scale decisions, balanced ports, autoscale policies."""

from __future__ import annotations

import pytest

from wharf.domain.errors import InvalidInput
from wharf.domain.service import AutoscalePolicy, autoscale_decision, check_policy

CPU = AutoscalePolicy(min=1, max=4, cpu_percent=60, memory_percent=None, cooldown_s=30)
BOTH = AutoscalePolicy(min=1, max=4, cpu_percent=60, memory_percent=80, cooldown_s=30)


@pytest.mark.parametrize(("policy", "replicas", "cpu", "memory", "since", "expected"), [
    (CPU, 2, 90.0, None, 100, (3, "cpu 90% > 60%")),
    (CPU, 4, 99.0, None, 100, None),  # at its maximum
    (CPU, 2, 90.0, None, 10, None),  # within the cooldown
    (CPU, 2, 40.0, None, 100, None),  # under the threshold, not under half of it
    (CPU, 2, 20.0, None, 100, (1, "cpu 20% < 30%")),
    (CPU, 1, 0.0, None, 100, None),  # at its minimum
    (CPU, 2, None, None, 100, None),  # nothing measured: no decision down
    (CPU, 0, None, None, 0, (1, "below the minimum of 1")),  # even in the cooldown
    (CPU, 6, None, None, 0, (4, "above the maximum of 4")),
    (BOTH, 2, 10.0, 95.0, 100, (3, "memory 95% > 80%")),
    (BOTH, 2, 10.0, 50.0, 100, None),  # memory not calm enough to go down
    (BOTH, 2, 10.0, 30.0, 100, (1, "cpu 10% < 30%; memory 30% < 40%")),
])
def test_autoscale_decisions(policy: AutoscalePolicy, replicas: int, cpu: float | None,
                             memory: float | None, since: float,
                             expected: tuple[int, str] | None) -> None:
    assert autoscale_decision(policy, replicas, cpu, memory, since) == expected


@pytest.mark.parametrize(("args", "field"), [
    (("data", 1, 2, 50, None, 60), "category"),
    (("disk", 1, 2, 50, None, 60), "category"),
    (("app", 3, 2, 50, None, 60), "max"),
    (("app", 1, 201, 50, None, 60), "max"),
    (("app", 1, 2, None, None, 60), "cpu_percent"),
    (("app", 1, 2, 0, None, 60), "cpu_percent"),
    (("app", 1, 2, None, 101, 60), "memory_percent"),
    (("app", 1, 2, 50, None, 0), "cooldown_s"),
])
def test_bad_policies_name_their_field(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_policy(*args)  # type: ignore[arg-type]
    assert caught.value.field == field

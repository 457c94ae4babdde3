"""Sampling real containers: a CPU burner shows its limit, an idle one shows nothing, and
the host shows their sum; all through the `metrics` query."""

from __future__ import annotations

from typing import Any

from tests.integration.docker.conftest import Cloud
from tests.integration.docker.test_lifecycle import create
from wharf.infra.scheduling import StatsEngines
from wharf.schedulers.metrics import sample_running

METRICS = """query($t: ID!) { metrics(target: $t, step: 1) { at cpuPercent memoryBytes
  rxBytes txBytes } }"""


def points(cloud: Cloud, token: str, target: str) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] | None = cloud.api.gql(METRICS, {"t": target},
                                                       token=token)["metrics"]
    return found


def test_running_containers_and_their_host_are_sampled(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    burner = create(cloud, token, name="burner", command=["sh", "-c", "yes > /dev/null"],
                    cpuMillis=500)
    idle = create(cloud, token, name="idle", command=["sleep", "600"])
    cloud.wait_observed(token, burner, "running")
    cloud.wait_observed(token, idle, "running")
    wiring = cloud.api.wiring

    with StatsEngines(wiring.app.installation) as engines:
        sampled = sample_running(wiring.view, engines, wiring.metrics, wiring.app.clock)
    assert sampled == 2
    [hot] = points(cloud, token, burner) or []
    [cold] = points(cloud, token, idle) or []
    assert 35 <= hot["cpuPercent"] <= 60  # held to its half CPU
    assert cold["cpuPercent"] < 5
    assert 0 < cold["memoryBytes"] < 16 * 1024 * 1024

    host_id = cloud.container(token, burner)["hostId"]
    [host] = points(cloud, cloud.api.operator_token, host_id) or []
    assert abs(host["cpuPercent"] - hot["cpuPercent"] - cold["cpuPercent"]) < 0.01
    # Tenants see their own containers' metrics only, never a host's.
    _, other = cloud.tenant("globex")
    assert points(cloud, other, burner) is None
    assert points(cloud, token, host_id) is None

"""Disk limits are measured (no quota on overlay2/ext4): over the limit is recorded, and a
container that stays over past the grace period is stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import DrivenClock
from tests.integration.docker.conftest import Cloud, wait_for
from tests.integration.docker.test_lifecycle import create, events_of
from wharf.infra.scheduling import StatsEngines
from wharf.schedulers.disk import enforce_disk_limits

GRACE = timedelta(minutes=10)


def test_a_container_over_its_disk_limit_is_flagged_then_stopped(cloud: Cloud) -> None:
    added = cloud.api.gql("""mutation { addPlan(input: {name: "tiny", limits: {containers: 5,
        containerDiskMib: 1}, prices: {}}) { __typename } }""", token=cloud.api.operator_token)
    assert added["addPlan"]["__typename"] == "PlanPayload"
    _, token = cloud.tenant(plan="tiny")
    fat = create(cloud, token, name="fat", command=[
        "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=4 && sleep 600"])
    slim = create(cloud, token, name="slim", command=["sleep", "600"])
    cloud.wait_observed(token, fat, "running")
    cloud.wait_observed(token, slim, "running")
    wiring = cloud.api.wiring
    with StatsEngines(wiring.app.installation) as engines:
        check_disk(cloud, token, fat, slim, engines)


def check_disk(cloud: Cloud, token: str, fat: str, slim: str, engines: StatsEngines) -> None:
    wiring = cloud.api.wiring
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def flagged() -> bool:
        enforce_disk_limits(wiring.app, wiring.view, engines, DrivenClock(t0), GRACE)
        return cloud.container(token, fat)["diskOverSince"] is not None

    wait_for("the fat container to be flagged", flagged)
    assert cloud.container(token, slim)["diskOverSince"] is None

    assert enforce_disk_limits(wiring.app, wiring.view, engines,
                               DrivenClock(t0 + GRACE / 2), GRACE) == []
    assert enforce_disk_limits(wiring.app, wiring.view, engines,
                               DrivenClock(t0 + GRACE), GRACE) == [fat]
    stopped = cloud.wait_observed(token, fat, "exited", timeout=20)
    assert stopped["desired"] == "stopped"
    assert cloud.container(token, slim)["observed"] == "running"
    history = events_of(cloud, fat)
    assert history.count("DiskOverLimit") == 1 and "DiskLimitEnforced" in history

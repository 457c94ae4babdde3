"""A Wharf service as a Swarm service spec: hardening, placement, update policy."""

from __future__ import annotations

from wharf.domain.container_spec import HealthCheck
from wharf.domain.service import UpdatePolicy
from wharf.infra.hardening import CAPABILITIES
from wharf.infra.swarm_spec import placement, service_spec
from wharf.schedulers.cluster import ClusterService


def web(**changes: object) -> ClusterService:
    fields: dict[str, object] = dict(
        name="wharf-svc-1", alias="web", labels={"wharf.service": "1"}, image="busybox",
        command=("httpd", "-f"), entrypoint=(), env={"B": "2", "A": "1"}, cpu_millis=250,
        memory_mib=64, replicas=3, network="net-1", pool="acme",
        constraints=("disk=ssd", "zone=eu-1"))
    fields.update(changes)
    return ClusterService(**fields)  # type: ignore[arg-type]


def test_a_service_keeps_wharfs_hardening_where_swarm_can_say_it() -> None:
    spec = service_spec(web(health_check=HealthCheck(test=("true",), interval_s=2)))
    task = spec["TaskTemplate"]
    container = task["ContainerSpec"]
    assert (container["Init"], container["CapabilityDrop"], container["CapabilityAdd"]) == (
        True, ["ALL"], CAPABILITIES)
    assert container["Args"] == ["httpd", "-f"] and "Command" not in container
    assert container["Env"] == ["A=1", "B=2"]
    assert container["HealthCheck"]["Test"] == ["CMD", "true"]
    assert container["HealthCheck"]["Interval"] == 2_000_000_000
    assert task["Resources"]["Limits"] == {"NanoCPUs": 250_000_000,
                                           "MemoryBytes": 64 * 1024 * 1024, "Pids": 512}
    assert task["Resources"]["Reservations"] == {"NanoCPUs": 250_000_000,
                                                 "MemoryBytes": 64 * 1024 * 1024}
    assert task["Networks"] == [{"Target": "net-1", "Aliases": ["web"]}]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr"}  # (no IPVS here: VIPs would hang)
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}


def test_placement_carries_the_pool_and_the_labels() -> None:
    assert placement("acme", ("disk=ssd", "zone=eu-1")) == [
        "node.labels.wharf.pool==acme", "node.labels.disk==ssd", "node.labels.zone==eu-1"]


def test_restart_and_update_policies_in_swarms_terms() -> None:
    for ours, theirs in (("no", "none"), ("on-failure", "on-failure"), ("always", "any"),
                         ("unless-stopped", "any")):
        spec = service_spec(web(restart_policy=ours))
        assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == theirs
    spec = service_spec(web(update=UpdatePolicy(parallelism=2, monitor_s=5,
                                                failure_action="rollback",
                                                order="start-first", delay_s=0)))
    assert spec["UpdateConfig"] == {"Parallelism": 2, "FailureAction": "rollback",
                                    "Monitor": 5_000_000_000, "MaxFailureRatio": 0,
                                    "Order": "start-first"}
    delayed = service_spec(web(update=UpdatePolicy(delay_s=3)))
    assert delayed["UpdateConfig"]["Delay"] == 3_000_000_000

"""Wharf's service as a Docker Swarm service: the translation, pure (no Docker).

What Wharf hardens on every container and what Swarm's service spec (API 1.41) lets it
say:

- kept: a tiny init as PID 1, every capability dropped but Wharf's short list, a pids
  limit, CPU and memory limits (and the same as reservations, so Swarm's scheduler
  counts them against a node's capacity), Docker's log rotation, the health check;
- not expressible in a Swarm service spec here: `no-new-privileges` (Swarm has it from
  API 1.44 on, as `Privileges.NoNewPrivileges`), memory swap equal to memory (Swarm
  sets no swap limit), and publishing on 127.0.0.1 only (Swarm publishes on every
  address, and its routing mesh needs IPVS): Wharf publishes nothing of a swarm service
  and reaches its replicas through a gateway on their overlay network instead;
- restarts are Swarm's (a new task each time), recorded from its task list.

A service's endpoint mode is `dnsrr`: this kernel has no IPVS, so virtual IPs would hang;
its name on the network resolves to every running replica.
"""

from __future__ import annotations

from typing import Any

from wharf.domain.service import UpdatePolicy
from wharf.infra.hardening import CAPABILITIES, LOG_ROTATION, PIDS_LIMIT
from wharf.schedulers.cluster import POOL_LABEL, ClusterService

SECOND = 1_000_000_000  # Swarm's durations are nanoseconds
RESTART = {"no": "none", "on-failure": "on-failure", "always": "any", "unless-stopped": "any"}


def task_template(service: ClusterService) -> dict[str, Any]:
    container: dict[str, Any] = {
        "Image": service.image,
        "Labels": dict(service.labels),
        "Env": [f"{k}={v}" for k, v in sorted(service.env.items())],
        "Init": True,
        "CapabilityDrop": ["ALL"],
        "CapabilityAdd": list(CAPABILITIES),
        "Hostname": "{{.Service.Name}}-{{.Task.Slot}}",
        "StopGracePeriod": 10 * SECOND,
    }
    if service.command:
        container["Args"] = list(service.command)
    if service.entrypoint:
        container["Command"] = list(service.entrypoint)
    if service.health_check is not None:
        check = service.health_check
        container["HealthCheck"] = {
            "Test": ["CMD", *check.test], "Interval": check.interval_s * SECOND,
            "Timeout": check.timeout_s * SECOND, "Retries": check.retries,
            "StartPeriod": check.start_period_s * SECOND}
    nano_cpus = service.cpu_millis * 1_000_000
    memory = service.memory_mib * 1024 * 1024
    return {
        "ContainerSpec": container,
        "Resources": {"Limits": {"NanoCPUs": nano_cpus, "MemoryBytes": memory,
                                 "Pids": PIDS_LIMIT},
                      "Reservations": {"NanoCPUs": nano_cpus, "MemoryBytes": memory}},
        "RestartPolicy": {"Condition": RESTART.get(service.restart_policy, "any"),
                          "Delay": SECOND // 2, "MaxAttempts": 0},
        "Placement": {"Constraints": placement(service.pool, service.constraints)},
        "LogDriver": {"Name": "json-file", "Options": dict(LOG_ROTATION)},
        "Networks": [{"Target": service.network, "Aliases": [service.alias]}],
    }


def placement(pool: str, constraints: tuple[str, ...]) -> list[str]:
    """Swarm's constraints: the pool (public nodes, or the tenant's own) and the labels."""
    found = [f"node.labels.{POOL_LABEL}=={pool}"]
    for constraint in constraints:
        key, _, value = constraint.partition("=")
        found.append(f"node.labels.{key}=={value}")
    return found


def update_config(policy: UpdatePolicy) -> dict[str, Any]:
    config = {"Parallelism": policy.parallelism, "FailureAction": policy.failure_action,
              "Monitor": policy.monitor_s * SECOND, "MaxFailureRatio": 0,
              "Order": policy.order}
    if policy.delay_s:  # (Swarm stores no delay of 0: a spec with one would always differ)
        config["Delay"] = policy.delay_s * SECOND
    return config


def rollback_config(policy: UpdatePolicy) -> dict[str, Any]:
    return {"Parallelism": policy.parallelism, "FailureAction": "pause",
            "Monitor": policy.monitor_s * SECOND, "MaxFailureRatio": 0,
            "Order": policy.order}


def service_spec(service: ClusterService) -> dict[str, Any]:
    """The whole spec, as `POST /services/create` and `/services/ID/update` take it."""
    return {
        "Name": service.name,
        "Labels": dict(service.labels),
        "TaskTemplate": task_template(service),
        "Mode": {"Replicated": {"Replicas": service.replicas}},
        "UpdateConfig": update_config(service.update),
        "RollbackConfig": rollback_config(service.update),
        "EndpointSpec": {"Mode": "dnsrr"},
    }

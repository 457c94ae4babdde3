"""A Docker Swarm cluster, driven through its manager's API: services made from Wharf's
(`swarm_spec.py`), attachable overlay networks, nodes and their labels, and what Swarm
decided, read from its task list (the manager's event stream carries no task events;
service and node events only say when to read it again)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors

from wharf.domain.host import address_of
from wharf.infra import gateway
from wharf.infra.docker_client import DockerClient
from wharf.infra.swarm_spec import service_spec
from wharf.schedulers.cluster import LABEL_SERVICE, ClusterNode, ClusterService, ClusterTask
from wharf.schedulers.ports import LABEL_INSTALLATION, LABEL_MANAGED, EngineError

log = logging.getLogger(__name__)

class SwarmCluster(DockerClient):
    """The manager's API; every call a Wharf makes to its cluster."""

    def ensure_network(self, name: str, labels: dict[str, str]) -> str:
        """An attachable overlay network (its services reach each other by name across
        nodes; a gateway container may join it), made once; its id."""
        with self._call():
            found = self.api.networks(names=[name])
        for network in found:
            if network["Name"] == name:
                return str(network["Id"])
        with self._call("network"):
            made = self.api.create_network(name, driver="overlay", attachable=True,
                                           labels={LABEL_MANAGED: "1",
                                                   LABEL_INSTALLATION: self.installation,
                                                   **labels})
        return str(made["Id"])

    def remove_network(self, name: str) -> None:
        self._quiet("network", lambda: self.api.remove_network(name), 404)

    def apply(self, service: ClusterService) -> bool:
        """Makes the service as `service` says, or updates it where it differs (a rolling
        update as its update policy says, rolled back by Swarm if a new task fails);
        whether anything changed."""
        spec = service_spec(service)
        current = self.inspect_service(service.name)
        if current is None:
            try:
                with self._call("create"):
                    self.api.create_service(
                        spec["TaskTemplate"], name=spec["Name"], labels=spec["Labels"],
                        mode=spec["Mode"], update_config=spec["UpdateConfig"],
                        rollback_config=spec["RollbackConfig"],
                        endpoint_spec=spec["EndpointSpec"])
                return True
            except EngineError as error:
                cause = error.__cause__
                if not (isinstance(cause, docker.errors.APIError)
                        and cause.status_code == 409):
                    raise
                current = self.inspect_service(service.name)  # (made by a crashed attempt)
                if current is None:
                    raise
        if _same(current["Spec"], spec):
            return False
        with self._call("update"):
            self.api.update_service(
                current["ID"], current["Version"]["Index"], task_template=spec["TaskTemplate"],
                name=spec["Name"], labels=spec["Labels"], mode=spec["Mode"],
                update_config=spec["UpdateConfig"], rollback_config=spec["RollbackConfig"],
                endpoint_spec=spec["EndpointSpec"])
        return True

    def inspect_service(self, name: str) -> dict[str, Any] | None:
        try:
            with self._call():
                found: dict[str, Any] = self.api.inspect_service(name)
                return found
        except EngineError as error:
            cause = error.__cause__
            if isinstance(cause, docker.errors.APIError) and cause.status_code == 404:
                return None
            raise

    def scale(self, name: str, replicas: int) -> None:
        current = self.inspect_service(name)
        if current is None:
            raise EngineError(f"no swarm service {name}", transient=False)
        spec = current["Spec"]
        if spec["Mode"].get("Replicated", {}).get("Replicas") == replicas:
            return
        with self._call("scale"):
            self.api.update_service(
                current["ID"], current["Version"]["Index"], task_template=spec["TaskTemplate"],
                name=spec["Name"], labels=spec.get("Labels"),
                mode={"Replicated": {"Replicas": replicas}},
                update_config=spec.get("UpdateConfig"),
                rollback_config=spec.get("RollbackConfig"),
                endpoint_spec=spec.get("EndpointSpec"))

    def update_state(self, name: str) -> str:
        """The state of the service's last rolling update ("" when it had none):
        updating, paused, completed, rollback_started, rollback_paused,
        rollback_completed."""
        current = self.inspect_service(name)
        if current is None:
            return ""
        return str((current.get("UpdateStatus") or {}).get("State") or "")

    def remove_service(self, name: str) -> None:
        self._quiet("remove", lambda: self.api.remove_service(name), 404)

    def services(self) -> list[str]:
        """The names of this Wharf's services in the cluster."""
        with self._call():
            rows = self.api.services(filters={"label": self._ours()})
        return [str(r["Spec"]["Name"]) for r in rows]

    def tasks(self) -> list[ClusterTask]:
        """Every task of this Wharf's services, as the manager knows them now."""
        with self._call():
            services = self.api.services(filters={"label": self._ours()})
        ours = {s["ID"]: s["Spec"]["Labels"].get(LABEL_SERVICE, "") for s in services}
        if not ours:
            return []
        with self._call():
            rows = self.api.tasks(filters={"service": list(ours)})
        return [_task(row, ours.get(row.get("ServiceID", ""), "")) for row in rows
                if row.get("ServiceID") in ours]

    def nodes(self) -> list[ClusterNode]:
        with self._call():
            rows = self.api.nodes()
        return [_node(row) for row in rows]

    def label_node(self, node_id: str, labels: dict[str, str]) -> None:
        """Sets the node's labels Wharf owns (the pool, the host's labels), keeping any
        other an operator set."""
        with self._call():
            node = self.api.inspect_node(node_id)
        spec = node["Spec"]
        merged = {**(spec.get("Labels") or {}), **labels}
        if merged == (spec.get("Labels") or {}):
            return
        with self._call("label"):
            self.api.update_node(node_id, node["Version"]["Index"],
                                 {**spec, "Labels": merged})

    def cluster_events(self) -> Iterator[dict[str, Any]]:
        """Service and node events: each says the task list may have changed."""
        self._reachable()
        stream = self.api.events(decode=True, filters={"type": ["service", "node"]})
        try:
            yield from stream
        finally:
            with contextlib.suppress(OSError):
                stream.close()


    # -- the gateway (infra/gateway.py) -------------------------------------------

    def ensure_gateway(self, networks: set[str]) -> tuple[str, int, str]:
        address = address_of(self.endpoint)
        name = gateway.container_name(self.installation)
        found = self._quiet("gateway", lambda: self.api.inspect_container(name), 404)
        if found is None or not found["State"]["Running"]:
            with self._call("gateway"):
                if found is None:
                    gateway.create(self.api, self.installation, address)
                else:
                    self.api.start(name)
                found = self.api.inspect_container(name)
        for network in sorted(networks - gateway.joined(found)):
            with self._call("gateway"):
                self.api.connect_container_to_network(name, network)
        port = gateway.published(found)
        if port is None:
            raise EngineError(f"the gateway {name} has no published port yet")
        return address, port, str(found["Id"])

    def configure_gateway(self, apps: dict[str, Any]) -> None:
        name = gateway.container_name(self.installation)
        with self._call("gateway"):
            self.api.put_archive(name, str(Path(gateway.CONFIG).parent),
                                 gateway.config_archive(apps))
            made = self.api.exec_create(name, gateway.RELOAD)
            said = self.api.exec_start(made)
            code = self.api.exec_inspect(made["Id"]).get("ExitCode")
        if code != 0:
            raise EngineError("the gateway did not load its configuration: "
                              f"{said.decode(errors='replace')[-300:]}")


def _same(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the service already runs as wanted (Swarm fills in defaults: compare what
    Wharf sets)."""
    return _subset(wanted, current)


def _subset(wanted: Any, current: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            _subset(value, current.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        return isinstance(current, list) and len(wanted) == len(current) and all(
            _subset(w, c) for w, c in zip(wanted, current, strict=True))
    return bool(wanted == current)


def _task(row: dict[str, Any], service: str) -> ClusterTask:
    status = row.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    exit_code = container.get("ExitCode")
    return ClusterTask(
        id=str(row["ID"]), service=service, slot=int(row.get("Slot") or 0),
        node_id=str(row.get("NodeID") or ""), state=str(status.get("State") or ""),
        desired=str(row.get("DesiredState") or ""),
        container_id=str(container.get("ContainerID") or ""),
        exit_code=int(exit_code) if exit_code is not None and status.get("State") in (
            "complete", "failed", "shutdown") else None,
        error=str(status.get("Err") or "")[:500], since=str(status.get("Timestamp") or ""),
        spec_image=str(((row.get("Spec") or {}).get("ContainerSpec") or {}).get("Image")
                       or ""), created=str(row.get("CreatedAt") or ""),
        addresses=tuple(
            (str((attached.get("Network") or {}).get("ID") or ""), address.split("/")[0])
            for attached in row.get("NetworksAttachments") or []
            for address in (attached.get("Addresses") or [])[:1]))


def _node(row: dict[str, Any]) -> ClusterNode:
    spec, description = row.get("Spec") or {}, row.get("Description") or {}
    resources = description.get("Resources") or {}
    return ClusterNode(
        id=str(row["ID"]), address=str((row.get("Status") or {}).get("Addr") or ""),
        role=str(spec.get("Role") or ""), state=str((row.get("Status") or {}).get("State")
                                                    or ""),
        availability=str(spec.get("Availability") or ""),
        labels=dict(spec.get("Labels") or {}),
        cpu_millis=int(resources.get("NanoCPUs") or 0) // 1_000_000,
        memory_mib=int(resources.get("MemoryBytes") or 0) // (1024 * 1024),
        engine_version=str((description.get("Engine") or {}).get("EngineVersion") or ""))

"""Tenant networks on an engine: one bridge network per tenant on each host, made when
its first container there is created, removed in the pass that removes its last one (and
by the network timer, for what a crash left behind)."""

from __future__ import annotations

import logging
import time

import docker.errors

from wharf.infra.docker_client import DockerClient
from wharf.schedulers.ports import (
    LABEL_INSTALLATION,
    LABEL_MANAGED,
    LABEL_NETWORK,
    LABEL_TENANT,
    EngineError,
)

log = logging.getLogger(__name__)

NETWORK_ATTEMPTS = 3


def network_name(tenant_id: str, installation: str) -> str:
    """A tenant's network on an engine (tenant ids repeat across installations that
    share an engine, as tests and a developer's `wharf up` do)."""
    return f"wharf-net-{tenant_id}-{installation[:8]}"


class DockerNetworks(DockerClient):
    def _ensure_network(self, tenant_id: str) -> str:
        """Each tenant's containers share a bridge network of their own on each host:
        they reach each other by name, and no other tenant's container reaches them
        (Docker isolates user-defined bridges from each other). Returns its id."""
        with self._network_guard:
            known = self._networks.get(tenant_id)
            if known is not None:
                return known
            name = network_name(tenant_id, self.installation)
            for attempt in range(1, NETWORK_ATTEMPTS + 1):
                try:
                    network_id = self._find_or_create(name, tenant_id)
                    break
                except EngineError as error:
                    # Two engines on one machine share iptables: one's rule changes can
                    # fail the other's network create for a moment ("unable to remove
                    # jump to DOCKER-ISOLATION-STAGE-1 rule"). Worth a second try.
                    if "iptables" not in str(error) or attempt == NETWORK_ATTEMPTS:
                        raise
                    log.info("network %s: %s; trying again", name, error)
                    time.sleep(0.2 * attempt)
            self._networks[tenant_id] = network_id
            return network_id

    def _find_or_create(self, name: str, tenant_id: str) -> str:
        with self._call("network"):
            found = [n for n in self.api.networks(names=[name]) if n["Name"] == name]
            if found:  # the oldest, should an older Wharf have made two
                return str(min(found, key=lambda n: n["Created"])["Id"])
            try:
                return str(self.api.create_network(name, driver="bridge", labels={
                    LABEL_MANAGED: "1", LABEL_INSTALLATION: self.installation,
                    LABEL_TENANT: tenant_id})["Id"])
            except docker.errors.APIError as error:
                if "address pool" not in str(error.explanation or ""):
                    raise
                # Shown on the container: retrying will not help.
                raise EngineError(
                    f"{self.endpoint} has no address range left for another tenant "
                    "network; give its daemon larger default-address-pools",
                    transient=False) from error

    def _network_gone(self, error: EngineError) -> bool:
        """Whether the engine refused a call because a tenant network it names no longer
        exists (pruned, or removed by hand); if so, the known networks are forgotten, so
        that the next attempt makes it again."""
        cause = error.__cause__
        if not (isinstance(cause, docker.errors.NotFound) and
                "network" in str(cause.explanation or "")):
            return False
        with self._network_guard:
            self._networks.clear()
        return True

    def prune_networks(self, keep: set[str]) -> list[str]:
        """Removes this Wharf's tenant networks whose tenant is not in `keep` (tenants
        with containers in the read side) and has no container on this engine; returns
        the names removed. (A create racing a removal makes its network again.)"""
        with self._call():
            networks = self.api.networks(filters={"label": self._ours()})
            used = {key for row in self.api.containers(all=True, filters={
                "label": self._ours()}) for key in (row["Labels"].get(LABEL_TENANT),
                                                    row["Labels"].get(LABEL_NETWORK))}
        removed = []
        for network in networks:
            tenant = network["Labels"].get(LABEL_TENANT)
            if tenant in keep or tenant in used:
                continue
            with self._network_guard:
                self._networks.pop(tenant, None)
            try:
                with self._call("remove-network"):
                    self.api.remove_network(network["Id"])
                removed.append(network["Name"])
            except EngineError as error:  # in use after all (a create raced us), or gone
                log.debug("network %s stays: %s", network["Name"], error)
        return removed

    def release_network(self, tenant_id: str) -> bool:
        """Removes the tenant's network on this engine once none of its containers is
        left here, in any state (the pass that removes its last container calls this);
        True if it removed it. A create racing the removal makes the network again."""
        with self._call():
            left = [row for label in (LABEL_TENANT, LABEL_NETWORK) for row in
                    self.api.containers(all=True, filters={
                        "label": [*self._ours(), f"{label}={tenant_id}"]})]
        if left:
            return False
        name = network_name(tenant_id, self.installation)
        with self._network_guard:
            self._networks.pop(tenant_id, None)
        try:
            with self._call("remove-network"):
                self.api.remove_network(name)
        except EngineError as error:  # gone already, or a create raced us and uses it
            log.debug("network %s stays: %s", name, error)
            return False
        return True

"""The routes controller: keeps the ingress (Caddy) equal to the read side.

Each balanced port of a service gets a listener on loopback (its port chosen once by the
scheduler and recorded: `EndpointAssigned`, so it survives restarts and replays), whose
upstreams are the service's replicas seen running, at the ports their engines published
(on loopback, or on the address of a host elsewhere); applications' services are also
reached by Host header, over HTTP and over HTTPS with certificates from Caddy's own CA.
`caddy_apps()` is the pure translation of those routes into Caddy's JSON; the controller
applies it whole whenever it differs from what it applied last, and checks every
`VERIFY_EVERY` seconds that Caddy still holds it (a Caddy restarted behind Wharf's back,
or loaded by someone else, gets its configuration again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from wharf.commands import messages as m
from wharf.projections.reads import Reader
from wharf.projections.reads import services as service_reads
from wharf.projections.reads.services import Route
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.leading import Leading
from wharf.schedulers.ports import Ingress

log = logging.getLogger(__name__)

VERIFY_EVERY = 2.0  # seconds between checks that Caddy still holds what was applied
TRY_DURATION = "5s"  # how long Caddy keeps trying other replicas for one request
FAIL_DURATION = "2s"  # how long a replica that refused a connection is left out


def server_name(route: Route) -> str:
    return f"svc-{route.service_id}-{route.container_port}"


def _handler(route: Route) -> dict[str, Any]:
    if not route.upstreams:
        return {"handler": "static_response", "status_code": 503,
                "body": f"service {route.service} has no running replica\n"}
    return _proxy([f"{u.address}:{u.host_port}" for u in route.upstreams],
                  {"set": {k: [v] for k, v in route.via}} if route.via else None)


def _proxy(dials: list[str], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Round robin over `dials`; a request an upstream refused is tried on the next;
    `headers`: Caddy's request header operations on the way."""
    proxy: dict[str, Any] = {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": dial} for dial in dials],
        "load_balancing": {"selection_policy": {"policy": "round_robin"},
                           "try_duration": TRY_DURATION, "try_interval": "50ms"},
        "health_checks": {"passive": {"fail_duration": FAIL_DURATION, "max_fails": 1}},
    }
    if headers:
        proxy["headers"] = {"request": headers}
    return proxy


NOT_HERE = {"handle": [{"handler": "static_response", "status_code": 404,
                        "body": "no application answers to this name here\n"}]}


def servers(routes: list[Route], http_port: int = 0, https_port: int = 0) -> dict[str, Any]:
    """Caddy's `apps.http.servers`: one listener per balanced port with a port assigned,
    balancing over its running replicas round-robin (a request whose replica refuses is
    tried on the next, so a replica that dies loses no request beyond those in flight);
    and, when applications publish ports, one HTTP and one HTTPS listener that route by
    Host header to each application's services."""
    found: dict[str, Any] = {}
    for route in routes:
        if route.listen_port is None:
            continue
        found[server_name(route)] = {
            "listen": [f"127.0.0.1:{route.listen_port}"],
            "automatic_https": {"disable": True},
            "routes": [{"handle": [_handler(route)]}],
        }
    by_host = [{"match": [{"host": list(route.hosts)}], "handle": [_handler(route)],
                "terminal": True} for route in routes if route.hosts]
    if by_host and http_port:
        found["apps-http"] = {"listen": [f"127.0.0.1:{http_port}"],
                              "automatic_https": {"disable": True},
                              "routes": [*by_host, NOT_HERE]}
    if by_host and https_port:
        found["apps-https"] = {"listen": [f"127.0.0.1:{https_port}"],
                               "automatic_https": {"disable_redirects": True},
                               "routes": [*by_host, NOT_HERE]}
    return found


def caddy_apps(routes: list[Route], http_port: int = 0, https_port: int = 0
               ) -> dict[str, Any]:
    """Caddy's `apps`: the servers above, and certificates from Caddy's own CA for every
    name an application answers to over HTTPS (never an ACME issuer)."""
    http: dict[str, Any] = {"servers": servers(routes, http_port, https_port)}
    apps: dict[str, Any] = {"http": http}
    names = sorted({host for route in routes for host in route.hosts})
    if names and https_port:
        http["http_port"], http["https_port"] = http_port, https_port
        # On demand: each name's certificate is made at its first handshake, not while
        # the configuration loads (making them for every new name held a load, and so
        # every route change, for a second or two). Only the names listed get one.
        apps["tls"] = {"automation": {"policies": [
            {"subjects": names, "issuers": [{"module": "internal"}], "on_demand": True}]}}
    return apps


GATEWAY_ROUTE = "Wharf-Route"  # which service's port a request through the gateway is for
GATEWAY_KEY = "Wharf-Gateway-Key"  # proof that it came from Wharf's own ingress


def gateway_apps(upstreams: dict[str, list[str]], key: str, port: int) -> dict[str, Any]:
    """The Caddy of a gateway (on the Swarm runtime, a container on the overlay networks,
    its one port published for Wharf's ingress): a request carrying the gateway's key
    and a route's name (`server_name`) goes to that route's replicas (`upstreams`, by
    name: their addresses on their overlay); anything else is refused. Its admin API
    listens on the container's own loopback only."""
    routes: list[dict[str, Any]] = [
        {"match": [{"header": {GATEWAY_ROUTE: [name], GATEWAY_KEY: [key]}}],
         # (the key never reaches a replica: it would let its tenant use the gateway)
         "handle": [_proxy(dials, {"delete": [GATEWAY_ROUTE, GATEWAY_KEY]})],
         "terminal": True}
        for name, dials in sorted(upstreams.items()) if dials]
    routes.append({"handle": [{"handler": "static_response", "status_code": 404}]})
    return {"admin": {"listen": "localhost:2019"},
            "apps": {"http": {"servers": {"gateway": {
                "listen": [f":{port}"], "automatic_https": {"disable": True},
                "routes": routes}}}}}


@dataclass(frozen=True)
class RouteAction:
    kind: ActionKind
    key: str
    service_id: str = ""
    container_port: int = 0
    apps: dict[str, Any] = field(default_factory=dict)


class RoutesController:
    def __init__(self, reader: Reader, leading: Leading, ingress: Ingress,
                 monotonic: Callable[[], float] = time.monotonic,
                 apps_domain: str = "apps.localhost",
                 through: Callable[[list[Route]], list[Route]] | None = None) -> None:
        self.reader = reader
        # (the Swarm runtime's: each route's upstreams are its gateway)
        self.through = through or (lambda routes: routes)
        self.apps_domain = apps_domain
        self.leading = leading
        self.ingress = ingress
        self.monotonic = monotonic
        self._applied: dict[str, Any] | None = None
        self._verified = float("-inf")
        self._lock = threading.Lock()  # (the loop's actions and refresh() both apply)

    @property
    def kinds(self) -> frozenset[ActionKind]:
        return frozenset({ActionKind.ASSIGN_ENDPOINT, ActionKind.APPLY_ROUTES})

    def plan(self) -> list[RouteAction]:
        routes = service_reads.routes(self.reader, self.apps_domain)
        actions = [RouteAction(ActionKind.ASSIGN_ENDPOINT,
                               f"endpoint:{r.service_id}:{r.container_port}",
                               r.service_id, r.container_port)
                   for r in routes if r.listen_port is None]
        wanted = caddy_apps(self.through(routes), self.ingress.http_port,
                            self.ingress.https_port)
        if wanted != self._applied or self.monotonic() - self._verified >= VERIFY_EVERY:
            actions.append(RouteAction(ActionKind.APPLY_ROUTES, "routes", apps=wanted))
        return actions

    def carry_out(self, action: RouteAction) -> tuple[bool, int]:
        try:
            if action.kind is ActionKind.ASSIGN_ENDPOINT:
                return True, self._assign(action)
            self._apply(action.apps)
            return True, 0
        except Exception as error:  # the queue retries it, later and later
            log.warning("%s failed: %s", action.kind, error)
            return False, 0

    def _assign(self, action: RouteAction) -> int:
        taken = {port for r in service_reads.routes(self.reader)
                 if (port := r.listen_port) is not None}
        port = self.ingress.free_port(taken)
        outcome = self.leading.record(m.AssignEndpoint, service_id=UUID(action.service_id),
                                      container_port=action.container_port, listen_port=port)
        log.info("service %s port %s is balanced on 127.0.0.1:%s", action.service_id,
                 action.container_port, port)
        return int(outcome.position)

    def _apply(self, wanted: dict[str, Any]) -> None:
        with self._lock:
            if self._applied != wanted or self.ingress.applied() != wanted:
                self.ingress.apply(wanted)
            self._applied = wanted
            self._verified = self.monotonic()

    def refresh(self) -> bool:
        """Applies the routes at once when the read side changed them: called when the
        projector has written something, between the scheduler's passes, so that a
        replica recorded running gets traffic within milliseconds. True if it applied."""
        wanted = caddy_apps(self.through(service_reads.routes(self.reader, self.apps_domain)),
                            self.ingress.http_port, self.ingress.https_port)
        with self._lock:
            if wanted == self._applied or self._applied is None:
                return False  # (the first configuration is the loop's to apply)
            self.ingress.apply(wanted)
            self._applied = wanted
            self._verified = self.monotonic()
            return True

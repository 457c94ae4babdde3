"""The routes controller against an ingress in memory: what Caddy is given, and that
it is given it again when it loses it."""

from __future__ import annotations

from typing import Any

from wharf.projections.reads.services import Route, Upstream
from wharf.schedulers.actions import ActionKind
from wharf.schedulers.routes import RoutesController, caddy_apps, servers


def route(listen: int | None, *ports: int, service: str = "web") -> Route:
    return Route(service_id=f"id-{service}", tenant_id="t", service=service,
                 container_port=8080, listen_port=listen,
                 upstreams=tuple(Upstream(f"r{p}", f"{service}.{i}", p)
                                 for i, p in enumerate(ports, 1)))


def test_each_balanced_port_listens_on_loopback_over_its_running_replicas() -> None:
    found = servers([route(30001, 41001, 41002), route(None, 41003, service="db")])
    assert list(found) == ["svc-id-web-8080"]  # no listener before its port is assigned
    web = found["svc-id-web-8080"]
    assert web["listen"] == ["127.0.0.1:30001"]
    [handler] = web["routes"][0]["handle"]
    assert [u["dial"] for u in handler["upstreams"]] == ["127.0.0.1:41001", "127.0.0.1:41002"]
    assert handler["load_balancing"]["try_duration"] != "0s"  # a refused replica is retried


def test_a_service_without_running_replicas_answers_503() -> None:
    [handler] = servers([route(30001)])["svc-id-web-8080"]["routes"][0]["handle"]
    assert (handler["handler"], handler["status_code"]) == ("static_response", 503)


class MemoryIngress:
    http_port = 0
    https_port = 0

    def __init__(self) -> None:
        self.held: dict[str, Any] | None = {}
        self.loads = 0

    def apply(self, servers: dict[str, Any]) -> None:
        self.held = servers
        self.loads += 1

    def applied(self) -> dict[str, Any] | None:
        return self.held

    def free_port(self, taken: set[int]) -> int:
        return max(taken | {30000}) + 1


class Reads:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes


def controller(routes: list[Route], clock: list[float]) -> tuple[RoutesController,
                                                                 MemoryIngress]:
    ingress = MemoryIngress()
    made = RoutesController(reader=None, leading=None, ingress=ingress,  # type: ignore[arg-type]
                            monotonic=lambda: clock[0])
    return made, ingress


def test_applied_once_then_only_checked_and_applied_again_when_lost(monkeypatch: Any) -> None:
    clock = [0.0]
    routes = [route(30001, 41001)]
    monkeypatch.setattr("wharf.projections.reads.services.routes",
                        lambda reader, apps_domain: routes)
    made, ingress = controller(routes, clock)
    for action in made.plan():
        assert made.carry_out(action) == (True, 0)
    assert ingress.loads == 1 and ingress.held == caddy_apps(routes)
    assert made.plan() == []  # nothing changed, and checked a moment ago
    clock[0] += 5
    for action in made.plan():  # a check: Caddy still holds it
        made.carry_out(action)
    assert ingress.loads == 1
    ingress.held = {}  # restarted behind Wharf's back
    clock[0] += 5
    [action] = made.plan()
    made.carry_out(action)
    assert ingress.loads == 2 and ingress.held == caddy_apps(routes)
    routes.append(route(30002, 41005, service="api"))  # a change is applied at once
    [action] = made.plan()
    assert action.kind is ActionKind.APPLY_ROUTES
    made.carry_out(action)
    assert ingress.loads == 3 and "svc-id-api-8080" in (ingress.held or {})["http"]["servers"]


def test_applications_are_reached_by_name_over_http_and_https_with_caddys_own_ca() -> None:
    shop = Route(service_id="id-front", tenant_id="t", service="shop-front", container_port=80,
                 listen_port=30001, upstreams=(Upstream("r1", "shop-front.1", 41001),),
                 hosts=("front.shop.acme.apps.test", "shop.acme.apps.test", "shop.example"))
    apps = caddy_apps([shop, route(30002, 41002)], http_port=8080, https_port=8443)
    found = apps["http"]["servers"]
    assert set(found) == {"svc-id-front-80", "svc-id-web-8080", "apps-http", "apps-https"}
    for name, port in (("apps-http", 8080), ("apps-https", 8443)):
        first, last = found[name]["routes"][0], found[name]["routes"][-1]
        assert found[name]["listen"] == [f"127.0.0.1:{port}"]
        assert first["match"] == [{"host": list(shop.hosts)}]
        assert first["handle"][0]["upstreams"] == [{"dial": "127.0.0.1:41001"}]
        assert last["handle"][0]["status_code"] == 404  # any other name
    [policy] = apps["tls"]["automation"]["policies"]
    assert policy == {"subjects": sorted(shop.hosts), "issuers": [{"module": "internal"}],
                      "on_demand": True}
    # Services of their own are not reached by name: no name listeners, no certificates.
    assert set(caddy_apps([route(30002, 41002)], 8080, 8443)) == {"http"}


def test_through_a_gateway_each_route_sends_its_name_and_the_key() -> None:
    from dataclasses import replace

    gate = Upstream(replica_id="gateway", name="gateway", host_port=40000,
                    address="10.232.0.31")
    routed = replace(route(8101, 31001), upstreams=(gate,),
                     via=(("Wharf-Route", "svc-web-8080"), ("Wharf-Gateway-Key", "k")))
    [handler] = servers([routed])["svc-id-web-8080"]["routes"][0]["handle"]
    assert handler["upstreams"] == [{"dial": "10.232.0.31:40000"}]
    assert handler["headers"] == {"request": {"set": {
        "Wharf-Route": ["svc-web-8080"], "Wharf-Gateway-Key": ["k"]}}}


def test_the_gateway_routes_only_requests_with_its_key_to_running_replicas() -> None:
    from wharf.schedulers.routes import gateway_apps

    apps = gateway_apps({"svc-a-80": ["10.0.1.3:80", "10.0.1.4:80"], "svc-b-80": []},
                        "secret", 8000)
    assert apps["admin"] == {"listen": "localhost:2019"}  # (its own loopback only)
    server = apps["apps"]["http"]["servers"]["gateway"]
    assert server["listen"] == [":8000"]
    first, last = server["routes"]
    assert first["match"] == [{"header": {"Wharf-Route": ["svc-a-80"],
                                          "Wharf-Gateway-Key": ["secret"]}}]
    assert [u["dial"] for u in first["handle"][0]["upstreams"]] == ["10.0.1.3:80",
                                                                   "10.0.1.4:80"]
    # (the replicas never see the key: their tenant could use the gateway with it)
    assert first["handle"][0]["headers"] == {"request": {"delete": [
        "Wharf-Route", "Wharf-Gateway-Key"]}}
    assert last == {"handle": [{"handler": "static_response", "status_code": 404}]}

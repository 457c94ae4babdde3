"""Services on a real Docker Engine behind Wharf's own Caddy, driven through the API:
replicas answer through one load-balanced listener, a scale adds listeners' upstreams,
and a killed replica costs no request beyond the one in flight."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any
from uuid import UUID

from tests.integration.docker.conftest import Cloud, caught_up, wait_for
from wharf.schedulers.ports import docker_name
from wharf.schedulers.reconcile import docker_time

CREATE = """mutation($input: CreateServiceInput!) { createService(input: $input) {
  __typename ... on ServicePayload { service { id } }
  ... on InvalidInput { field message } ... on QuotaExceeded { resource limit used requested }
} }"""
SCALE = """mutation($id: ID!, $n: Int!) { scaleService(input: {id: $id, replicas: $n}) {
  __typename ... on QuotaExceeded { resource limit used requested } } }"""
SERVICE = """query($id: ID!) { service(id: $id) { name replicas running desired scaleReason
  scaledAt
  endpoints { containerPort address }
  containers(first: 100) { edges { node { id name observed restarts hostId } } } } }"""
LOGS = """query($id: ID!) { serviceLogs(id: $id, tail: 50) { replica text } }"""

# Each replica serves its own hostname (its container id's first 12 digits).
WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && echo serving && "
       "exec httpd -f -p 8080 -h /www"]
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def create_web(cloud: Cloud, token: str, replicas: int) -> str:
    data = cloud.api.gql(CREATE, {"input": {
        "name": "web", "image": "busybox", "command": WEB, "replicas": replicas,
        "cpuMillis": 50, "memoryMib": 32,
        "ports": [{"containerPort": 8080, "loadBalanced": True}]}}, token=token)
    assert data["createService"]["__typename"] == "ServicePayload", data
    service_id: str = data["createService"]["service"]["id"]
    return service_id


def service(cloud: Cloud, token: str, service_id: str) -> dict[str, Any]:
    found: dict[str, Any] = cloud.api.gql(SERVICE, {"id": service_id}, token=token)["service"]
    return found


def get(address: str) -> str | None:
    """The answer's body, or None when none came whole (a replica killed mid-answer cuts
    its body short: http.client's IncompleteRead, which is no OSError)."""
    try:
        with DIRECT.open(f"http://{address}/", timeout=10) as reply:
            return str(reply.read().decode().strip())
    except (OSError, urllib.error.HTTPError, http.client.HTTPException):
        return None


def serving(cloud: Cloud, token: str, service_id: str, count: int) -> tuple[str, set[str]]:
    """Waits for `count` replicas running and every one of them answering through the
    listener; returns its address and the replicas' hostnames."""
    def ready() -> tuple[str, set[str]] | None:
        found = service(cloud, token, service_id)
        [endpoint] = found["endpoints"]
        live = {e["node"]["id"][:12] for e in found["containers"]["edges"]
                if e["node"]["observed"] == "running"}
        if found["running"] != count or endpoint["address"] is None or len(live) != count:
            return None
        # (each replica answers with its hostname last: "[MESSAGE ]HOSTNAME")
        seen = {(get(endpoint["address"]) or "").split(" ")[-1] for _ in range(4 * count)}
        return (endpoint["address"], live) if seen == live else None

    return wait_for(f"{count} replicas answering through the listener", ready, 60)


def test_replicas_answer_through_one_listener_and_a_killed_one_costs_nothing(
    ingress_cloud: Cloud,
) -> None:
    cloud = ingress_cloud
    _, token = cloud.tenant()
    web = create_web(cloud, token, 3)
    address, hosts = serving(cloud, token, web, 3)

    answers = [get(address) for _ in range(300)]
    assert None not in answers
    assert set(answers) == hosts and all(answers.count(h) >= 50 for h in hosts), \
        {h: answers.count(h) for h in hosts}

    assert cloud.api.gql(SCALE, {"id": web, "n": 5}, token=token)["scaleService"][
        "__typename"] == "ServicePayload"
    address_after, hosts = serving(cloud, token, web, 5)
    assert address_after == address  # the listener stays where it was

    # Kill one replica's container behind Wharf's back while requests keep coming.
    victim = service(cloud, token, web)["containers"]["edges"][0]["node"]
    failures: list[int] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            failures.append(0 if get(address) is not None else 1)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        cloud.docker.kill(docker_name(victim["id"]))
        wait_for("the killed replica to run again", lambda: next(
            (e["node"] for e in service(cloud, token, web)["containers"]["edges"]
             if e["node"]["id"] == victim["id"] and e["node"]["restarts"] >= 1
             and e["node"]["observed"] == "running"), None), 60)
        serving(cloud, token, web, 5)
    finally:
        done.set()
        thread.join(30)
    assert len(failures) > 50 and sum(failures) <= 1, (sum(failures), len(failures))

    lines = cloud.api.gql(LOGS, {"id": web}, token=token)["serviceLogs"]
    assert {line["replica"] for line in lines if line["text"] == "serving"} == {
        f"web.{slot}" for slot in range(1, 6)}


def test_scale_down_drops_upstreams_and_a_stopped_service_answers_503(
    ingress_cloud: Cloud,
) -> None:
    cloud = ingress_cloud
    _, token = cloud.tenant()
    web = create_web(cloud, token, 2)
    address, _ = serving(cloud, token, web, 2)
    cloud.api.gql(SCALE, {"id": web, "n": 1}, token=token)
    _, [host] = serving(cloud, token, web, 1)
    assert {get(address) for _ in range(20)} == {host}
    stop = """mutation($id: ID!) { stopService(input: {id: $id}) { __typename } }"""
    cloud.api.gql(stop, {"id": web}, token=token)

    def refused() -> bool:
        try:
            DIRECT.open(f"http://{address}/", timeout=5)
        except urllib.error.HTTPError as error:
            return error.code == 503 and b"no running replica" in error.read()
        except OSError:
            return False
        return False

    wait_for("the stopped service's listener to answer 503", refused, 30)
    # A Caddy whose configuration is replaced behind Wharf's back gets it again.
    routes = cloud.scheduler.routes
    assert routes is not None
    routes.ingress.apply({})
    wait_for("the listener to come back", refused, 30)


def test_a_scale_past_the_plan_answers_quota_exceeded_with_numbers(cloud: Cloud) -> None:
    _, token = cloud.tenant(plan="free")  # two containers
    data = cloud.api.gql(CREATE, {"input": {
        "name": "web", "image": "busybox", "replicas": 3}}, token=token)["createService"]
    assert data == {"__typename": "QuotaExceeded", "resource": "containers", "limit": 2,
                    "used": 0, "requested": 3}
    data = cloud.api.gql(CREATE, {"input": {
        "name": "web", "image": "busybox", "command": ["sleep", "600"], "replicas": 1}},
        token=token)["createService"]
    answer = cloud.api.gql(SCALE, {"id": data["service"]["id"], "n": 4}, token=token)
    assert answer["scaleService"] == {"__typename": "QuotaExceeded", "resource": "containers",
                                      "limit": 2, "used": 1, "requested": 3}


HEALTHY_WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ok && "
               "exec httpd -f -p 8080 -h /www"]
HISTORY = """query($id: ID!) { container(id: $id) { health observed } }"""


def test_a_replica_failing_its_check_is_replaced_and_serves_again(ingress_cloud: Cloud) -> None:
    cloud = ingress_cloud
    _, token = cloud.tenant()
    data = cloud.api.gql(CREATE, {"input": {
        "name": "web", "image": "busybox", "command": HEALTHY_WEB, "replicas": 2,
        "cpuMillis": 50, "memoryMib": 32,
        "healthCheck": {"test": ["test", "-f", "/www/ok"], "intervalS": 1, "timeoutS": 1,
                        "retries": 1},
        "ports": [{"containerPort": 8080, "loadBalanced": True}]}}, token=token)
    web = data["createService"]["service"]["id"]
    address, _ = serving(cloud, token, web, 2)
    replica = service(cloud, token, web)["containers"]["edges"][0]["node"]["id"]
    assert cloud.api.gql(HISTORY, {"id": replica}, token=token)["container"]["health"] == \
        "healthy"

    exec_id = cloud.docker.exec_create(docker_name(replica), ["rm", "/www/ok"])
    cloud.docker.exec_start(exec_id)

    def history() -> list[str]:
        return [type(e).__qualname__.split(".")[-1] + (f":{e.status}" if hasattr(e, "status")
                                                        else "")
                for e in cloud.api.wiring.app.repository.event_store.get(
                    UUID(replica))]

    def replaced() -> list[str] | None:
        events = history()
        if "Recycled" not in events or events[-1] != "HealthChanged:healthy":
            return None
        return events[events.index("HealthChanged:unhealthy"):]

    after = wait_for("the unhealthy replica replaced and healthy again", replaced, 60)
    assert [e for e in after if e != "HealthChanged:starting"] == [
        "HealthChanged:unhealthy", "Recycled", "Exited", "Started", "HealthChanged:healthy"]
    serving(cloud, token, web, 2)
    assert get(address) is not None


# Idle until /burn exists, then one busy loop: a replica burns its CPU when told.
BURNER = ["sh", "-c", "while :; do if [ -f /burn ]; then :; else sleep 0.2; fi; done"]
# (60 %: one replica burning its whole reservation beside an idle one averages about
# 50 %, which must not scale again while the test waits for the way back down.)
POLICY = """mutation($id: ID!) { setAutoscalePolicy(input: {id: $id, min: 1, max: 3,
  cpuPercent: 60, cooldownS: 3}) { __typename ... on InvalidInput { field message } } }"""


def test_a_burning_replica_scales_the_service_up_and_it_comes_back_down(cloud: Cloud) -> None:
    from datetime import timedelta

    from wharf.infra.scheduling import StatsEngines
    from wharf.schedulers.autoscale import autoscale
    from wharf.schedulers.metrics import sample_running

    _, token = cloud.tenant()
    data = cloud.api.gql(CREATE, {"input": {
        "name": "work", "image": "busybox", "command": BURNER, "replicas": 1,
        "cpuMillis": 100, "memoryMib": 32}}, token=token)
    work = data["createService"]["service"]["id"]
    assert cloud.api.gql(POLICY, {"id": work}, token=token)["setAutoscalePolicy"] == {
        "__typename": "ServicePayload"}
    wiring = cloud.api.wiring
    [first] = wait_for("the replica running", lambda: [
        e["node"]["id"] for e in service(cloud, token, work)["containers"]["edges"]
        if e["node"]["observed"] == "running"], 30)

    def evaluate() -> int:
        with StatsEngines(wiring.app.installation) as engines:
            sample_running(wiring.view, engines, wiring.metrics, wiring.app.clock)
        scaled = autoscale(wiring.app, wiring.view, wiring.metrics, wiring.app.clock,
                           timedelta(seconds=3))
        caught_up(wiring)  # (waits for the consumers' own threads: never folds beside them)
        return scaled

    assert evaluate() == 0  # idle, and at its minimum
    exec_id = cloud.docker.exec_create(docker_name(first), ["touch", "/burn"])
    cloud.docker.exec_start(exec_id)
    wait_for("a scale up", lambda: evaluate() == 1, 30)
    up = service(cloud, token, work)
    assert up["replicas"] == 2 and up["scaleReason"].startswith("autoscale: cpu ")

    exec_id = cloud.docker.exec_create(docker_name(first), ["rm", "/burn"])
    cloud.docker.exec_start(exec_id)
    wait_for("the scale back down, after the cooldown", lambda: evaluate() == 1, 30)
    down = service(cloud, token, work)
    assert down["replicas"] == 1 and "% < 30%" in down["scaleReason"]
    scaled = [e for e in wiring.app.repository.event_store.get(UUID(work))
              if type(e).__name__ == "Scaled"]
    assert [(e.replicas, e.reason.split(":")[0]) for e in scaled] == [
        (1, "created"), (2, "autoscale"), (1, "autoscale")]
    assert scaled[1].figures["cpu_percent"] > 60 and scaled[2].figures["cpu_percent"] < 30
    last = datetime.fromisoformat(down["scaledAt"]) - datetime.fromisoformat(up["scaledAt"])
    assert last.total_seconds() >= 3  # not within the cooldown


VERSIONED_WEB = ["sh", "-c", "mkdir -p /www && echo \"$MESSAGE $(hostname)\" > /www/index.html "
                 "&& touch /www/ok && exec httpd -f -p 8080 -h /www"]
UPDATE = """mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename
  ... on ServicePayload { service { version rolledOutVersion } }
  ... on InvalidInput { field message } } }"""
ROLLBACK = """mutation($id: ID!, $v: Int) { rollbackService(input: {id: $id, toVersion: $v}) {
  __typename ... on ServicePayload { service { version } } ... on Conflict { message } } }"""
VERSIONS = """query($id: ID!) { service(id: $id) { version rolledOutVersion running
  containers(first: 20) { edges { node { spec } } } } }"""


def web_spec(message: str, memory: int, command: list[str] | None = None) -> dict[str, Any]:
    return {"image": "busybox", "command": command or VERSIONED_WEB, "cpuMillis": 50,
            "memoryMib": memory, "env": [{"name": "MESSAGE", "value": message}],
            # (a check a loaded machine may answer slowly: a broken version never passes)
            "healthCheck": {"test": ["test", "-f", "/www/ok"], "intervalS": 1,
                            "timeoutS": 5, "retries": 2},
            "ports": [{"containerPort": 8080, "loadBalanced": True}]}


def test_an_update_rolls_out_without_loss_a_broken_one_rolls_back_and_any_version_returns(
    ingress_cloud: Cloud,
) -> None:
    cloud = ingress_cloud
    _, token = cloud.tenant()
    data = cloud.api.gql(CREATE, {"input": {"name": "web", "replicas": 2,
                                            **web_spec("v1", 32)}}, token=token)
    web = data["createService"]["service"]["id"]
    address, _ = serving(cloud, token, web, 2)

    def state() -> dict[str, Any]:
        found: dict[str, Any] = cloud.api.gql(VERSIONS, {"id": web}, token=token)["service"]
        return found

    def settled(version: int, message: str) -> bool:
        now = state()
        specs = [e["node"]["spec"] for e in now["containers"]["edges"]]
        answers = {(get(address) or "").split(" ")[0] for _ in range(6)}
        return (now["version"] == now["rolledOutVersion"] == version and now["running"] == 2
                and len(specs) == 2 and answers == {message})

    failures: list[int] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            failures.append(0 if get(address) is not None else 1)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        updated = cloud.api.gql(UPDATE, {"input": {"id": web, **web_spec("v2", 48)}},
                                token=token)["updateService"]
        assert updated["service"] == {"version": 2, "rolledOutVersion": 1}
        wait_for("version 2 rolled out", lambda: settled(2, "v2"), 90)
    finally:
        done.set()
        thread.join(30)
    assert len(failures) > 50 and sum(failures) <= 1, (sum(failures), len(failures))
    events = list(cloud.api.wiring.app.repository.event_store.get(UUID(web)))
    rolled = [e for e in events if type(e).__name__ == "Rolled"]
    assert [len(e.pairs) for e in rolled] == [1, 1]  # one replica at a time

    # A version whose replicas die at once is rolled back by itself.
    broken = cloud.api.gql(UPDATE, {"input": {"id": web, **web_spec(
        "v3", 48, ["sh", "-c", "exit 3"])}}, token=token)["updateService"]
    assert broken["service"]["version"] == 3
    wait_for("the broken version rolled back", lambda: state()["version"] == 2, 60)
    back = [e for e in cloud.api.wiring.app.repository.event_store.get(UUID(web))
            if type(e).__name__ == "RolledBack"]
    assert len(back) == 1 and back[0].from_version == 3 and "exited" in back[0].reason
    wait_for("version 2 serving again", lambda: settled(2, "v2"), 60)

    # Any earlier version comes back whole: its env and its limits.
    assert cloud.api.gql(ROLLBACK, {"id": web, "v": 1}, token=token)["rollbackService"] == {
        "__typename": "ServicePayload", "service": {"version": 1}}
    wait_for("version 1 rolled out again", lambda: settled(1, "v1"), 90)
    assert {e["node"]["spec"]["memory_mib"] for e in state()["containers"]["edges"]} == {32}


SERVICE_METRICS = """query($t: ID!) { metrics(target: $t, step: 3600) { cpuPercent
  memoryBytes } }"""


def test_a_services_metrics_are_its_replicas_summed(cloud: Cloud) -> None:
    from wharf.infra.scheduling import StatsEngines
    from wharf.schedulers.metrics import sample_running

    _, token = cloud.tenant()
    data = cloud.api.gql(CREATE, {"input": {
        "name": "work", "image": "busybox", "command": ["sh", "-c", "yes > /dev/null"],
        "replicas": 2, "cpuMillis": 100, "memoryMib": 32}}, token=token)
    work = data["createService"]["service"]["id"]
    ids = wait_for("both replicas running", lambda: [
        e["node"]["id"] for e in service(cloud, token, work)["containers"]["edges"]
        if e["node"]["observed"] == "running"] if service(cloud, token, work)["running"] == 2
        else None, 30)
    wiring = cloud.api.wiring
    with StatsEngines(wiring.app.installation) as engines:
        sample_running(wiring.view, engines, wiring.metrics, wiring.app.clock)
    each = [cloud.api.gql(SERVICE_METRICS, {"t": i}, token=token)["metrics"][0] for i in ids]
    [summed] = cloud.api.gql(SERVICE_METRICS, {"t": work}, token=token)["metrics"]
    assert summed["cpuPercent"] == sum(p["cpuPercent"] for p in each) > 15  # two at 10 %
    assert summed["memoryBytes"] == sum(p["memoryBytes"] for p in each)
    _, other = cloud.tenant("globex")
    assert cloud.api.gql(SERVICE_METRICS, {"t": work}, token=other)["metrics"] is None

    # An application's are its services' replicas', summed likewise.
    app = cloud.api.gql("""mutation($c: String!) { deployApplication(input: {name: "duo",
        compose: $c}) { ... on ApplicationPayload { application { id services { id } } } } }""",
        {"c": "services: {a: {image: busybox, command: [sleep, '600']}, "
              "b: {image: busybox, command: [sleep, '600']}}"},
        token=token)["deployApplication"]["application"]
    wait_for("the application's replicas running", lambda: all(
        service(cloud, token, s["id"])["running"] == 1 for s in app["services"]), 30)
    with StatsEngines(wiring.app.installation) as engines:
        sample_running(wiring.view, engines, wiring.metrics, wiring.app.clock)
    [whole] = cloud.api.gql(SERVICE_METRICS, {"t": app["id"]}, token=token)["metrics"]
    parts = [cloud.api.gql(SERVICE_METRICS, {"t": s["id"]}, token=token)["metrics"][0]
             for s in app["services"]]
    assert whole["memoryBytes"] == sum(p["memoryBytes"] for p in parts) > 0
    assert cloud.api.gql(SERVICE_METRICS, {"t": app["id"]}, token=other)["metrics"] is None


# Each run appends its version and hostname to its volume's journal and prints it whole.
JOURNAL = ["sh", "-c", "echo \"$MESSAGE $(hostname)\" >> /data/journal && cat /data/journal "
           "&& touch /ok && trap 'exit 0' TERM && while :; do sleep 1; done"]
DATA_STATE = """query($id: ID!) { service(id: $id) { version rolledOutVersion running
  updatePolicy { order monitorS }
  containers(first: 20) { edges { node { id name observed startedAt spec } } } } }"""
JOURNAL_LOGS = """query($id: ID!) { containerLogs(id: $id, tail: 20) { text } }"""


def data_spec(message: str, command: list[str] | None = None) -> dict[str, Any]:
    return {"image": "busybox", "command": command or JOURNAL, "cpuMillis": 50,
            "memoryMib": 32, "env": [{"name": "MESSAGE", "value": message}],
            "volumes": [{"volume": "journal", "path": "/data"}],
            "healthCheck": {"test": ["test", "-f", "/ok"], "intervalS": 1,
                            "timeoutS": 1, "retries": 1}}


def test_a_data_service_keeps_each_replicas_volume_through_updates_and_rollbacks(
    cloud: Cloud,
) -> None:
    _, token = cloud.tenant()
    data = cloud.api.gql(CREATE, {"input": {
        "name": "db", "replicas": 2, "category": "data", **data_spec("v1"),
        "updatePolicy": {"monitorS": 1}}}, token=token)
    db = data["createService"]["service"]["id"]

    def state() -> dict[str, Any]:
        found: dict[str, Any] = cloud.api.gql(DATA_STATE, {"id": db}, token=token)["service"]
        return found

    def journal(name: str) -> list[str]:
        [node] = [e["node"] for e in state()["containers"]["edges"]
                  if e["node"]["name"] == name]
        lines = cloud.api.gql(JOURNAL_LOGS, {"id": node["id"]}, token=token)["containerLogs"]
        return [line["text"] for line in lines or []]

    def settled(version: int, runs: int) -> bool:
        now = state()
        return (now["version"] == now["rolledOutVersion"] == version and now["running"] == 2
                and all(len(journal(f"db.{slot}")) == runs for slot in (1, 2)))

    wait_for("two replicas, each with its journal", lambda: settled(1, 1), 60)
    assert state()["updatePolicy"] == {"order": "stop-first", "monitorS": 1}  # (data)
    first = {e["node"]["name"]: e["node"]["id"] for e in state()["containers"]["edges"]}
    mounts = {name: [m["Name"] for m in cloud.docker.inspect_container(
        docker_name(ident))["Mounts"]] for name, ident in first.items()}
    assert mounts["db.1"] != mounts["db.2"]  # a volume each

    # A new version replaces each replica in its slot, stop-first (a data service), and
    # the new replica finds what the old one wrote.
    updated = cloud.api.gql(UPDATE, {"input": {"id": db, **data_spec("v2")}},
                            token=token)["updateService"]
    assert updated["service"] == {"version": 2, "rolledOutVersion": 1}
    wait_for("version 2 rolled out", lambda: settled(2, 2), 90)
    for slot in (1, 2):
        runs = journal(f"db.{slot}")
        assert [line.split(" ")[0] for line in runs] == ["v1", "v2"]
        assert runs[0].split(" ")[1] == first[f"db.{slot}"][:12]  # the old replica's line
    replaced = [e for e in cloud.api.wiring.app.repository.event_store.get(UUID(db))
                if type(e).__name__ == "Replaced"]
    assert [sorted(e.slots) for e in replaced] == [["1"], ["2"]]  # one at a time
    # No two containers ran on one volume: each successor started after its predecessor
    # was removed.
    caught_up(cloud.api.wiring)
    rows = {r["id"]: r for r in cloud.api.wiring.view.query(
        "SELECT id, name, observed, started_at, updated_at FROM rm_containers "
        "WHERE service_id = ?", (db,))}
    for name, old in first.items():
        [new] = [r for r in rows.values() if r["name"] == name and r["id"] != old
                 and r["observed"] == "running"]
        assert rows[old]["observed"] == "removed"
        assert docker_time(new["started_at"]) >= docker_time(rows[old]["updated_at"])
    assert mounts == {name: [m["Name"] for m in cloud.docker.inspect_container(docker_name(
        next(e["node"]["id"] for e in state()["containers"]["edges"]
             if e["node"]["name"] == name)))["Mounts"]] for name in first}

    # A version whose replicas die at once is rolled back by itself, in place too.
    broken = cloud.api.gql(UPDATE, {"input": {"id": db, **data_spec(
        "v3", ["sh", "-c", "echo v3 >> /data/journal; exit 3"])}},
        token=token)["updateService"]
    assert broken["service"]["version"] == 3
    wait_for("the broken version rolled back", lambda: state()["version"] == 2, 60)

    def healed() -> bool:
        now = state()
        if not now["version"] == now["rolledOutVersion"] == 2 or now["running"] != 2:
            return False
        runs = [journal(f"db.{slot}") for slot in (1, 2)]
        return all(lines and lines[0].startswith("v1 ") and lines[-1].startswith("v2 ")
                   for lines in runs)

    wait_for("version 2 running again on the same volumes", healed, 90)

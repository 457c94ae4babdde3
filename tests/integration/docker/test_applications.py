"""Applications from Compose files on a real Docker Engine behind Wharf's Caddy: a
three-tier sample deployed unchanged, reached by name over HTTP and HTTPS, its services
calling each other by name on a network no other tenant reaches."""

from __future__ import annotations

import http.client
import os
import ssl
from pathlib import Path
from typing import Any

from docker import APIClient

from tests.integration.docker.conftest import Cloud, wait_for

# A front that calls a back end by service name, which reads a store that keeps its data
# on a named volume and says when it is ready (busybox httpd with CGI scripts).
SHOP = r"""
version: "3.8"
x-defaults: &defaults
  restart: always
services:
  front:
    image: busybox
    <<: *defaults
    command:
      - sh
      - -c
      - |
        mkdir -p /www/cgi-bin
        {
          echo '#!/bin/sh'
          echo 'echo Content-Type: text/plain; echo'
          echo 'echo "front sees $$(wget -qO- http://back:5000/cgi-bin/v)"'
        } > /www/cgi-bin/v
        chmod +x /www/cgi-bin/v
        exec httpd -f -p 80 -h /www
    ports: ["8080:80"]
    depends_on:
      back: {condition: service_started}
    deploy:
      replicas: 2
      resources: {limits: {cpus: "0.25", memory: 32M}}
    labels: {wharf.entry: "true"}
  back:
    image: busybox
    command:
      - sh
      - -c
      - |
        mkdir -p /www/cgi-bin
        {
          echo '#!/bin/sh'
          echo 'echo Content-Type: text/plain; echo'
          echo 'wget -qO- http://store:5000/value'
        } > /www/cgi-bin/v
        chmod +x /www/cgi-bin/v
        exec httpd -f -p 5000 -h /www
    expose: ["5000"]
    environment:
      STORE_URL: http://store:5000
    depends_on:
      store: {condition: service_healthy}
  store:
    image: busybox
    command:
      - sh
      - -c
      - >-
        mkdir -p /data && echo ${GREETING:-stored} > /data/value &&
        touch /data/ready && exec httpd -f -p 5000 -h /data
    volumes: ["data:/data"]
    expose: ["5000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/ready"]
      interval: 1s
      timeout: 1s
      retries: 3
    logging: {driver: json-file}
volumes:
  data: {}
"""
DEPLOY = """mutation($input: DeployApplicationInput!) { deployApplication(input: $input) {
  __typename ... on ApplicationPayload { application { id name version entry warnings hosts
    services { name replicas running endpoints { containerPort address } } } }
  ... on InvalidInput { field message } ... on Conflict { message } } }"""
BIND = """mutation($app: ID!, $domain: String!) { bindDomain(input: {application: $app,
  domain: $domain, service: "front"}) { __typename ... on Conflict { message }
  ... on InvalidInput { field message } } }"""


def deploy(cloud: Cloud, token: str, text: str, name: str = "shop",
           **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = cloud.api.gql(DEPLOY, {"input": {
        "name": name, "compose": text, **extra}}, token=token)["deployApplication"]
    return answer


def fetch(port: int, host: str, path: str = "/cgi-bin/v", tls: bool = False) -> str | None:
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # Caddy's own CA: not trusted by this client
        # The name asked for in SNI is the host's, the address loopback's (curl --resolve).
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=10, context=context)
        connection._create_connection = _to_loopback  # type: ignore[attr-defined]
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        reply = connection.getresponse()
        body = reply.read().decode().strip()
        return body if reply.status == 200 else None
    except OSError:
        return None
    finally:
        connection.close()


def _to_loopback(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
    import socket

    return socket.create_connection(("127.0.0.1", address[1]), *args, **kwargs)


def test_a_three_service_compose_file_serves_by_name_over_http_and_https(
    ingress_cloud: Cloud,
) -> None:
    cloud = ingress_cloud
    _, token = cloud.tenant()
    made = deploy(cloud, token, SHOP, variables=[{"name": "GREETING", "value": "hello"}])
    assert made["__typename"] == "ApplicationPayload", made
    app = made["application"]
    assert app["entry"] == "front" and app["version"] == 1
    assert [s["name"] for s in app["services"]] == ["shop-front", "shop-back", "shop-store"]
    assert any("logging is ignored" in w for w in app["warnings"])
    # (back and store publish no port: they answer only to their siblings)
    assert app["hosts"] == ["shop.acme.apps.localhost", "front.shop.acme.apps.localhost"]
    routes = cloud.scheduler.routes
    assert routes is not None
    http_port, https_port = routes.ingress.http_port, routes.ingress.https_port

    # (front waits for back to start, not to listen: until back's httpd is up, front
    # answers "front sees " alone; what the user gets once both run is the point)
    answer = wait_for("the application answering through its own domain", lambda: fetch(
        http_port, "shop.acme.apps.localhost") == "front sees hello", 90)
    assert answer
    assert fetch(http_port, "front.shop.acme.apps.localhost") == "front sees hello"
    assert wait_for("HTTPS with Caddy's own CA", lambda: fetch(
        https_port, "shop.acme.apps.localhost", tls=True), 30) == "front sees hello"
    assert fetch(http_port, "nothing.acme.apps.localhost") is None

    # A custom domain, by Host header, over HTTP and HTTPS; another tenant cannot take it.
    bound = cloud.api.gql(BIND, {"app": app["id"], "domain": "shop.example.com"},
                          token=token)["bindDomain"]
    assert bound == {"__typename": "ApplicationPayload"}
    assert wait_for("the custom domain", lambda: fetch(http_port, "shop.example.com"),
                    30) == "front sees hello"
    assert wait_for("the custom domain over HTTPS", lambda: fetch(
        https_port, "shop.example.com", tls=True), 30) == "front sees hello"
    _, other = cloud.tenant("globex")
    theirs = deploy(cloud, other, "services: {web: {image: busybox, command: [sleep, '600'],"
                                  " ports: ['80']}}", name="site")
    taken = cloud.api.gql(BIND, {"app": theirs["application"]["id"],
                                 "domain": "shop.example.com"}, token=other)["bindDomain"]
    assert taken["__typename"] == "Conflict"
    reserved = cloud.api.gql(BIND, {"app": theirs["application"]["id"],
                                    "domain": "x.acme.apps.localhost"}, token=other)
    assert reserved["bindDomain"]["__typename"] == "InvalidInput"

    # Their services reach each other by name; another tenant's container cannot.
    theirs_id = cloud.api.gql("""query($id: ID!) { application(id: $id) { services {
        containers { edges { node { id observed } } } } } }""",
                              {"id": theirs["application"]["id"]}, token=other)
    [probe] = wait_for("the other tenant's container running", lambda: [
        e["node"]["id"] for s in cloud.api.gql(
            """query($id: ID!) { application(id: $id) { services { containers { edges {
            node { id observed } } } } } }""", {"id": theirs["application"]["id"]},
            token=other)["application"]["services"]
        for e in s["containers"]["edges"] if e["node"]["observed"] == "running"], 30)
    assert theirs_id is not None
    from wharf.schedulers.ports import docker_name

    run = cloud.docker.exec_create(docker_name(probe), ["wget", "-qO-", "-T", "2",
                                                        "http://back:5000/cgi-bin/v"])
    output = cloud.docker.exec_start(run)
    assert cloud.docker.exec_inspect(run)["ExitCode"] != 0, output


def test_an_unsupported_key_is_refused_by_its_path_and_nothing_is_left(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    head = cloud.api.wiring.app.recorder.max_notification_id()
    bad = SHOP.replace("    expose: [\"5000\"]\n    environment:",
                       "    expose: [\"5000\"]\n    privileged: true\n    environment:")
    answer = deploy(cloud, token, bad)
    assert answer == {"__typename": "InvalidInput", "field": "services.back.privileged",
                      "message": answer["message"]}
    for text, field in (
            ("services: {web: {build: .}}", "services.web.build"),
            ("services: {web: {image: busybox, volumes: ['/etc:/x']}}",
             "services.web.volumes[0]"),
            ("secrets: {s: {file: ./s}}\nservices: {web: {image: busybox}}", "secrets.s.file"),
            ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c,"
             " *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
             "compose")):
        refused = deploy(cloud, token, text)
        assert (refused["__typename"], refused.get("field")) == ("InvalidInput", field), refused
    assert cloud.api.wiring.app.recorder.max_notification_id() == head
    assert cloud.api.gql("{ applications { edges { node { id } } } }",
                         token=token)["applications"]["edges"] == []


CLI_APP = """
services:
  web:
    image: busybox
    env_file: web.env
    command: ["sh", "-c", "mkdir -p /www && echo \\"$$MESSAGE $${GREETING}\\" > /www/index.html && exec httpd -f -p 80 -h /www"]
    environment: {GREETING: "${GREETING}"}
    ports: ["80"]
"""  # noqa: E501


def test_wharf_app_deploy_sends_the_file_its_env_files_and_dot_env(tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    from tests.integration.helpers import ROOT, free_port, running_wharf, wharf
    from wharf.commands.ports import MemoryDataKeys
    from wharf.infra.bootstrap import open_app
    from wharf.schedulers.ports import LABEL_INSTALLATION

    home, http_port = tmp_path / "home", free_port()
    url = f"sqlite:///{home / 'wharf.db'}"
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text(CLI_APP)
    (project / "web.env").write_text("MESSAGE=from-the-env-file\n")
    (project / ".env").write_text("GREETING=and-from-dot-env\n")
    with running_wharf(url, home, WHARF_SCHEDULER="on", WHARF_HTTP_PORT=str(http_port)) as up:
        made = wharf(url, home, "tenant", "create", "acme", "--plan", "unlimited",
                     "--owner", "o@acme.io").stdout
        token = re.search(r"owner token \(shown once\): (\S+)", made)
        assert token is not None

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "wharf.infra.cli", *args], capture_output=True,
                text=True, timeout=120, cwd=project,
                env={**os.environ, "WHARF_URL": up.url, "WHARF_TOKEN": token.group(1),
                     "PYTHONPATH": str(ROOT)})

        deployed = cli("app", "deploy", "shop")
        assert deployed.returncode == 0, deployed.stderr
        assert "http://shop.acme.apps.localhost" in deployed.stdout
        assert wait_for("the application through `wharf up`'s ingress", lambda: fetch(
            http_port, "shop.acme.apps.localhost", "/"), 90) == \
            "from-the-env-file and-from-dot-env"
        listed = cli("app", "ls")
        assert re.search(r"shop\s+running\s+v1\s+shop-web 1/1", listed.stdout), listed.stdout
        app_id = listed.stdout.split()[0]
        assert cli("app", "rm", app_id).returncode == 0
        refused = cli("app", "deploy", "shop", "-f", str(project / "missing.yaml"))
        assert refused.returncode == 1 and "no Compose file" in refused.stderr
        made_service = cli("service", "create", "api", "--image", "busybox", "--replicas", "2",
                           "--balance", "8080", "--command", "sleep 600")
        assert made_service.returncode == 0, made_service.stderr
        service_id = made_service.stdout.split()[0]
        scaled = cli("service", "scale", service_id, "3")
        assert scaled.returncode == 0 and "/3 running" in scaled.stdout, scaled.stdout
        bad = cli("service", "scale", service_id, "999")
        assert bad.returncode == 1 and "InvalidInput" in bad.stderr and "replicas" in bad.stderr
        assert re.search(r"api\s+\d/3 running", cli("service", "ls").stdout)
        assert cli("service", "rm", service_id).returncode == 0
        made_db = cli("service", "create", "db", "--image", "busybox", "--category", "data",
                      "--replicas", "0", "--volume", "pgdata:/data:ro", "--order", "stop-first")
        assert made_db.returncode == 0, made_db.stderr
        rolled = cli("service", "rollback", made_db.stdout.split()[0])
        assert rolled.returncode == 1 and "runs version 1 already" in rolled.stderr
        bad_mount = cli("service", "create", "x", "--image", "busybox", "--volume", "nopath")
        assert bad_mount.returncode == 2 and "NAME:/PATH" in bad_mount.stderr
        installation = open_app(url, keys=MemoryDataKeys())
        label = f"{LABEL_INSTALLATION}={installation.installation}"
        installation.close()
    client = APIClient(base_url="unix:///var/run/docker.sock")
    try:
        for row in client.containers(all=True, filters={"label": label}):
            client.remove_container(row["Id"], force=True)
        for network in client.networks(filters={"label": label}):
            client.remove_network(network["Id"])
    finally:
        client.close()

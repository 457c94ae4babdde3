"""Compose files: the subset Wharf deploys, and everything else refused by its path,
before anything is walked that could be expensive."""

from __future__ import annotations

import time

import pytest

from wharf.domain.compose import MAX_BYTES, duration, parse
from wharf.domain.errors import InvalidInput

SAMPLE = """
version: "3.9"
name: ignored
x-base: &base
  restart: unless-stopped
  labels: {team: web}
services:
  web:
    <<: *base
    image: nginx:1.25
    command: nginx -g 'daemon off;'
    ports: ["80:80", "127.0.0.1:8443:443/tcp", {target: 9000, published: 9000}, "53/udp"]
    expose: [3000]
    environment: [A=1, B=two]
    env_file: [.env.web]
    depends_on: [api]
    deploy:
      replicas: 3
      resources: {limits: {cpus: "1.5", memory: 1G}}
      update_config: {parallelism: 2, delay: 5s, failure_action: rollback, order: stop-first}
    logging: {driver: syslog}
  api:
    image: example/api:2
    entrypoint: ["/app", "--serve"]
    environment: {PORT: 8080, DEBUG: false, EMPTY: null, URL: "${API_URL:-http://db}"}
    secrets: [db_password, {source: api_key, target: /run/secrets/api-key}]
    volumes: [data:/var/lib/data:ro, {type: volume, source: cache, target: /cache}]
    networks: [back]
    healthcheck:
      test: curl -f http://localhost:8080/health
      interval: 1m30s
      timeout: 500ms
      retries: 5
      start_period: 10s
    restart: on-failure:3
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16
    healthcheck: {test: [CMD, pg_isready], interval: 2s}
volumes:
  data: {}
  cache: {external: true, name: shared-cache}
networks:
  back: {driver: bridge}
secrets:
  db_password: {external: true}
  api_key: {name: api-key}
"""


def test_a_sample_shaped_like_real_files_is_understood() -> None:
    app = parse(SAMPLE, "shop", env_files={".env.web": "# web\nC=3\nexport D='four'\n"},
                variables={})
    web, api, db = app.services
    assert (web.replicas, web.balanced) == (3, (80, 443, 9000))
    assert [(p.container_port, p.protocol, p.publish) for p in web.spec.ports] == [
        (80, "tcp", True), (443, "tcp", True), (9000, "tcp", True), (53, "udp", True),
        (3000, "tcp", False)]
    assert web.spec.command == ("nginx", "-g", "daemon off;")
    assert dict(web.spec.env) == {"C": "3", "D": "four", "A": "1", "B": "two"}
    assert (web.spec.cpu_millis, web.spec.memory_mib) == (1500, 1024)
    assert web.spec.restart_policy == "unless-stopped" and web.labels == {"team": "web"}
    assert (web.update.parallelism, web.update.delay_s, web.update.order) == (2, 5, "stop-first")
    assert dict(api.spec.env) == {"PORT": "8080", "DEBUG": "false", "EMPTY": "",
                                  "URL": "http://db"}
    assert [(s.name, s.env) for s in api.spec.secrets] == [("db_password", "DB_PASSWORD"),
                                                           ("api-key", "API_KEY")]
    assert [(m.volume, m.path, m.read_only) for m in api.spec.volumes] == [
        ("shop-data", "/var/lib/data", True), ("shared-cache", "/cache", False)]
    check = api.spec.health_check
    assert check is not None
    assert check.test == ("sh", "-c", "curl -f http://localhost:8080/health")
    assert (check.interval_s, check.timeout_s, check.retries, check.start_period_s) == (
        90, 1, 5, 10)
    assert api.spec.restart_policy == "on-failure" and db.spec.restart_policy == "always"
    assert dict(api.depends_on) == {"db": "service_healthy"}
    assert app.start_order() == [["db"], ["api"], ["web"]] and app.entry == "web"
    assert app.warnings == ("services.web.logging is ignored: Wharf keeps every replica's logs",)


@pytest.mark.parametrize(("text", "field"), [
    ("services: {web: {image: x, privileged: true}}", "services.web.privileged"),
    ("services: {web: {image: x, cap_add: [ALL]}}", "services.web.cap_add"),
    ("services: {web: {image: x, network_mode: host}}", "services.web.network_mode"),
    ("services: {web: {image: x, deploy: {mode: global}}}", "services.web.deploy.mode"),
    ("services: {web: {image: x, deploy: {resources: {reservations: {}}}}}",
     "services.web.deploy.resources.reservations"),
    ("services: {web: {image: x, healthcheck: {test: [CMD, x], bogus: 1}}}",
     "services.web.healthcheck.bogus"),
    ("services: {web: {build: .}}", "services.web.build"),
    ("services: {web: {image: x, volumes: ['/etc:/etc']}}", "services.web.volumes[0]"),
    ("services: {web: {image: x, volumes: ['./src:/src']}}", "services.web.volumes[0]"),
    ("services: {web: {image: x, volumes: [{type: bind, source: /, target: /h}]}}",
     "services.web.volumes[0].type"),
    ("services: {web: {image: x, volumes: ['nope:/data']}}", "services.web.volumes[0]"),
    ("services: {web: {image: x, ports: ['8000-8010:80']}}", "services.web.ports[0]"),
    ("services: {web: {image: x, depends_on: {db: {condition: "
     "service_completed_successfully}}}, db: {image: x}}",
     "services.web.depends_on.db.condition"),
    ("services: {web: {image: x, depends_on: [ghost]}}", "services.web.depends_on"),
    ("services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [a]}}", "services"),
    ("services: {Web: {image: x}}", "services.Web"),
    ("services: {web: {image: x, env_file: missing.env}}", "services.web.env_file[0]"),
    ("services: {web: {image: x, environment: {A: [1]}}}", "services.web.environment.A"),
    ("secrets: {s: {file: ./s.txt}}\nservices: {web: {image: x}}", "secrets.s.file"),
    ("configs: {}\nservices: {web: {image: x}}", "configs"),
    ("services: {web: {image: 'NOT AN IMAGE'}}", "services.web.image"),
    ("services: {web: {image: x, restart: sometimes}}", "services.web.restart"),
    ("services: {web: {image: x, deploy: {replicas: 1000}}}", "services.web.deploy.replicas"),
    ("services: {web: {image: x, command: '${NEEDED:?set it}'}}", "services.web.command"),
    ("services: []", "services"),
    ("- just\n- a list", "compose"),
    ("services: {web: {image: x}", "compose"),
    ("", "compose"),
])
def test_everything_outside_the_subset_is_refused_by_its_path(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text, "shop")
    assert caught.value.field == field, caught.value


def test_hostile_yaml_is_refused_before_it_is_walked() -> None:
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(["*" + chr(97 + i)] * 9) + "]\n"
        for i in range(8))
    assert len(laughs) < 600  # about a billion nodes once expanded
    began = time.perf_counter()
    with pytest.raises(InvalidInput, match="expands to over"):
        parse(laughs, "shop")
    assert time.perf_counter() - began < 0.5
    with pytest.raises(InvalidInput, match="contains it"):
        parse("services: &s {web: {image: x, labels: *s}}", "shop")
    with pytest.raises(InvalidInput, match="over 256 KiB"):
        parse("x-pad: '" + "a" * MAX_BYTES + "'\nservices: {web: {image: x}}", "shop")
    with pytest.raises(InvalidInput):
        parse("services: !!python/object:os.system {}", "shop")


def test_variables_are_read_as_compose_reads_them() -> None:
    app = parse("services: {web: {image: x, environment: {A: '${A}', B: '${B:-b}', "
                "C: '$$HOME', D: '$A-${A}'}}}", "shop", variables={"A": "1"})
    assert dict(app.services[0].spec.env) == {"A": "1", "B": "b", "C": "$HOME", "D": "1-1"}
    unset = parse("services: {web: {image: x, environment: {A: '${NOPE}'}}}", "shop")
    assert unset.warnings == ("services.web.environment.A: ${NOPE} is not set; it is empty",)


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10), ("1m30s", 90), ("2h", 7200), ("500ms", 1), ("1m", 60), (5, 5),
    ("3600000001us", 3601), ("1s500ms", 2), ("2s1us", 3)])
def test_durations(text: str | int, seconds: int) -> None:
    assert duration(text, "x") == seconds


@pytest.mark.parametrize(("text", "field", "message"), [
    # (findings of an outside attack: each once answered "Unexpected error" or worse)
    ("services: " + "[" * 5000 + "]" * 5000, "compose", "nests"),
    ("services: {web: {image: x, labels: {a: !!binary aGVsbG8=}}}", "services.web.labels.a",
     "a string"),
    ("services: {web: {image: x, labels: {a: [1, 2]}}}", "services.web.labels.a", "a string"),
    ("services: {web: {image: x, deploy: {resources: {limits: {cpus: .inf}}}}}",
     "services.web.deploy.resources.limits.cpus", "CPUs"),
    ("services: {web: {image: x, deploy: {resources: {limits: {cpus: '1e400'}}}}}",
     "services.web.deploy.resources.limits.cpus", "CPUs"),
    ("services: {web: {image: x, deploy: {resources: {limits: {memory: '" + "9" * 400 +
     "'}}}}}", "services.web.deploy.resources.limits.memory", "256G"),
    ("services: {web: {image: x, ports: [" + "9" * 5000 + "]}}", "compose", "cannot be read"),
    ('services: {web: {image: x, environment: {A: "x\\0y"}}}', "services.web.environment.A",
     "NUL"),
    ("volumes: {'..': {}}\nservices: {web: {image: x, volumes: ['..:/d']}}", "volumes...",
     "volume name"),
    ('services: {"web\\n": {image: x}}', "services.web\n", "service name"),
    # (a second attack: a rollout's monitor or delay past any clock stopped the scheduler)
    ("services: {web: {image: x, deploy: {update_config: {monitor: 100000000000000000}}}}",
     "services.web.deploy.update_config.monitor", "0 to 3600"),
    ("services: {web: {image: x, deploy: {update_config: {delay: 100000h}}}}",
     "services.web.deploy.update_config.delay", "0 to 3600"),
    ("services: {web: {image: x, deploy: {update_config: {parallelism: 999}}}}",
     "services.web.deploy.update_config.parallelism", "1 to 200"),
    ("services: {web: {image: x, deploy: {update_config: {monitor: '" + "9" * 5000 +
     "h'}}}}", "services.web.deploy.update_config.monitor", "a duration"),
    ("services: {web: {image: x, labels: {wharf.category: big}}}",
     "services.web.labels.wharf.category", "one of"),
])
def test_what_an_attack_found_is_refused_by_its_path(text: str, field: str,
                                                     message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text, "shop")
    assert caught.value.field == field and message in caught.value.message, caught.value


def test_aliases_and_variables_cannot_grow_a_small_file_past_the_text_budget() -> None:
    big = "a" * 200_000
    labels = ", ".join(f"l{i}: *a" for i in range(10))
    with pytest.raises(InvalidInput, match="KiB of text"):
        parse(f"x-big: &a '{big}'\nservices: {{web: {{image: x, labels: {{{labels}}}}}}}",
              "shop")
    with pytest.raises(InvalidInput, match="KiB"):
        parse("services: {web: {image: x, command: [" + ", ".join(["'$A$A$A$A'"] * 60) +
              "]}}", "shop", variables={"A": "b" * 60_000})
    files = ", ".join(["*f"] * 40)
    began = time.perf_counter()
    with pytest.raises(InvalidInput, match="at most 16 env files"):
        parse(f"x-f: &f a.env\nservices: {{web: {{image: x, env_file: [{files}]}}}}", "shop",
              env_files={"a.env": "A=1\n" * 5000})
    assert time.perf_counter() - began < 0.5


def test_placement_constraints_come_from_deploy_placement() -> None:
    app = parse("services: {web: {image: x, deploy: {placement: {constraints: "
                "['node.labels.zone == eu-1']}}}}", "shop", env_files={}, variables={})
    assert app.services[0].spec.constraints == ("zone=eu-1",)
    for text, field in (
            ("services: {web: {image: x, deploy: {placement: {preferences: []}}}}",
             "services.web.deploy.placement.preferences"),
            ("services: {web: {image: x, deploy: {placement: {constraints: "
             "['node.hostname == a']}}}}", "services.web.deploy.placement.constraints[0]")):
        with pytest.raises(InvalidInput) as caught:
            parse(text, "shop", env_files={}, variables={})
        assert caught.value.field == field


def test_characters_yaml_does_not_allow_are_refused_by_name() -> None:
    """The fuzz found one: the YAML reader refuses them as it is made, before parsing."""
    with pytest.raises(InvalidInput) as caught:
        parse("services: {web: {image: \"\u0083x\"}}", "shop", env_files={}, variables={})
    assert caught.value.field == "compose" and "character" in caught.value.message

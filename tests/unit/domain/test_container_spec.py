from __future__ import annotations

import json
from typing import Any

import pytest

from wharf.domain.container_spec import (
    ContainerSpec,
    HealthCheck,
    Mount,
    Port,
    SecretRef,
    validate_spec,
)
from wharf.domain.errors import InvalidInput


def test_minimal_spec_is_normalised() -> None:
    spec = validate_spec({"image": "busybox"})
    assert spec == ContainerSpec(image="busybox")
    assert spec.restart_policy == "no" and spec.health_check is None
    assert spec.env == {} and spec.ports == () and spec.secrets == ()


def test_secret_reference_gets_an_env_name() -> None:
    spec = validate_spec({"image": "busybox", "secrets": [{"name": "db-password"}]})
    assert spec.secrets == (SecretRef(name="db-password", env="DB_PASSWORD"),)


def test_a_spec_survives_the_trip_through_an_event() -> None:
    """What an event stores is read back as the same spec (and a spec stored before
    health checks existed reads back without one)."""
    spec = validate_spec({
        "image": "nginx:1", "command": ["nginx"], "env": {"A": "1"},
        "secrets": [{"name": "key", "env": "KEY"}],
        "ports": [{"container_port": 80, "host_port": 20080}],
        "volumes": [{"volume": "data", "path": "/data", "read_only": True}],
        "cpu_millis": 500, "restart_policy": "always",
        "health_check": {"test": ["wget", "-q", "localhost"], "interval_s": 5},
    })
    assert spec.ports == (Port(80, "tcp", 20080, True),)
    assert spec.volumes == (Mount("data", "/data", True),)
    assert spec.health_check == HealthCheck(test=("wget", "-q", "localhost"), interval_s=5)
    data = spec.to_data()
    assert json.loads(json.dumps(data)) == data
    assert ContainerSpec.from_data(data) == spec
    old = {k: v for k, v in data.items() if k != "health_check"}
    assert ContainerSpec.from_data(old).health_check is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "image"),
        ({"image": "Bad Image"}, "image"),
        ({"image": "busybox", "privileged": True}, "privileged"),
        ({"image": "busybox", "network_mode": "host"}, "network_mode"),
        ({"image": "busybox", "binds": ["/etc:/etc"]}, "binds"),
        ({"image": "busybox", "volumes": [{"volume": "/var/run/docker.sock",
                                           "path": "/var/run/docker.sock"}]}, "volumes[0]"),
        ({"image": "busybox", "volumes": [{"volume": "data", "path": "relative"}]},
         "volumes[0].path"),
        ({"image": "busybox", "env": {"1BAD": "x"}}, "env.1BAD"),
        ({"image": "busybox", "ports": [{"container_port": 80, "host_port": 80}]},
         "ports[0].host_port"),
        ({"image": "busybox", "ports": [{"container_port": 0}]}, "ports[0].container_port"),
        ({"image": "busybox", "cpu_millis": 0}, "cpu_millis"),
        ({"image": "busybox", "memory_mib": "lots"}, "memory_mib"),
        ({"image": "busybox", "restart_policy": "sometimes"}, "restart_policy"),
        ({"image": "busybox", "colour": "blue"}, "colour"),
        ({"image": "busybox", "ports": {"80": 80}}, "ports"),
        ({"image": "busybox", "health_check": {"test": []}}, "health_check.test"),
        ({"image": "busybox", "health_check": {"test": ["true"], "retries": 0}},
         "health_check.retries"),
        ({"image": "busybox", "health_check": {"test": ["true"], "every": 1}},
         "health_check.every"),
        ({"image": "busybox", "ports": [{"container_port": 80, "host_port": 20001},
                                        {"container_port": 81, "host_port": 20001}]},
         "ports[1].host_port"),
        ({"image": "busybox", "env": {f"V{i}": "x" for i in range(257)}}, "env"),
        ({"image": "busybox", "secrets": [{"name": "a", "env": "X"},
                                          {"name": "b", "env": "X"}]}, "secrets[1].env"),
    ],
)
def test_bad_specs_name_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_spec(raw)
    assert caught.value.field == field


def test_one_host_port_for_two_protocols_and_256_variables_are_fine() -> None:
    spec = validate_spec({"image": "busybox", "env": {f"V{i}": "x" for i in range(256)},
                          "ports": [{"container_port": 53, "host_port": 20053},
                                    {"container_port": 53, "protocol": "udp",
                                     "host_port": 20053}]})
    assert len(spec.env) == 256 and [p.key for p in spec.ports] == ["53/tcp", "53/udp"]


def test_placement_constraints_on_host_labels() -> None:
    spec = validate_spec({"image": "busybox", "constraints": [
        "host.labels.zone == eu-1", " node.labels.disk==ssd ", "host.labels.zone == eu-1"]})
    assert spec.constraints == ("disk=ssd", "zone=eu-1")
    assert ContainerSpec.from_data(json.loads(json.dumps(spec.to_data()))) == spec
    assert "constraints" not in validate_spec({"image": "busybox"}).to_data()
    for bad, field in ((["node.role == manager"], "constraints[0]"),
                       (["host.labels.zone != eu-1"], "constraints[0]"),
                       (["host.labels.Zone == x"], "constraints[0]"),
                       (["host.labels.zone == a b"], "constraints[0]"),
                       ("host.labels.zone == x", "constraints"),
                       ([f"host.labels.k{i} == v" for i in range(11)], "constraints")):
        with pytest.raises(InvalidInput) as caught:
            validate_spec({"image": "busybox", "constraints": bad})
        assert caught.value.field == field, bad

from __future__ import annotations

from typing import Any

import pytest

from wharf.domain.container_spec import validate_spec
from wharf.domain.errors import InvalidInput


def test_minimal_spec_is_normalised() -> None:
    spec = validate_spec({"image": "busybox"})
    assert spec["image"] == "busybox"
    assert spec["restart_policy"] == "no"
    assert spec["env"] == {} and spec["ports"] == [] and spec["secrets"] == []


def test_secret_reference_gets_an_env_name() -> None:
    spec = validate_spec({"image": "busybox", "secrets": [{"name": "db-password"}]})
    assert spec["secrets"] == [{"name": "db-password", "env": "DB_PASSWORD"}]


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
    ],
)
def test_bad_specs_name_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_spec(raw)
    assert caught.value.field == field

"""Tenant isolation, walked from the schema itself: every query and mutation that takes an
id is called with another tenant's ids. Each answer must be exactly the answer for an id
that does not exist: nothing leaks, not even existence."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.graphql.conftest import Api, new_tenant
from wharf.graphql.schema import build_schema

FILLERS: dict[str, Any] = {
    "name": "probe", "image": "busybox", "email": "probe@probe.io", "role": "viewer",
    "plan": "free", "value": "v", "owner": "o@probe.io", "endpoint": "unix:///probe.sock",
    "sizeGib": 1, "ttlHours": 1, "cpuMillis": 100, "memoryMib": 64, "graceHours": 1,
    "replicas": 1, "compose": "services: {web: {image: busybox}}", "domain": "x.example.com",
    "service": "web", "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z",
}
ID_NAMES = ("id", "tenant", "application")


def _named(type_: Any) -> Any:
    while hasattr(type_, "of_type"):
        type_ = type_.of_type
    return type_


def _required(type_: Any) -> bool:
    return type(type_).__name__ == "GraphQLNonNull"


def id_taking_fields() -> list[tuple[str, str, str, str | None]]:
    """(operation, field, the argument or input field that takes an id, input arg)."""
    schema = build_schema(dev=True)._schema
    found: list[tuple[str, str, str, str | None]] = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                if arg_name in ID_NAMES:
                    found.append((operation, name, arg_name, None))
                named = _named(arg.type)
                if hasattr(named, "fields") and arg_name == "input":
                    found += [(operation, name, key, "input") for key in named.fields
                              if key in ID_NAMES]
    return found


def selection(type_: Any, depth: int = 3) -> str:
    """Every field a client could read without arguments, to `depth` levels: a leaking
    list has rows to show, where an empty one has none (a type name alone is the same)."""
    named = _named(type_)
    if hasattr(named, "types"):  # a union: every member's fields
        parts = [f"... on {member.name} {selection(member, depth)}" for member in named.types]
        return "{ __typename " + " ".join(parts) + " }"
    if not hasattr(named, "fields"):
        return ""
    picked = []
    for name, field in named.fields.items():
        if any(_required(arg.type) for arg in field.args.values()):
            continue
        inner = _named(field.type)
        if hasattr(inner, "fields") or hasattr(inner, "types"):
            if depth > 1:
                picked.append(f"{name} {selection(inner, depth - 1)}")
        else:
            picked.append(name)
    return "{ __typename " + " ".join(picked) + " }"


def call(api: Api, token: str, operation: str, field: str, key: str, via: str | None,
         ident: str) -> dict[str, Any]:
    schema = build_schema(dev=True)._schema
    root = schema.query_type if operation == "query" else schema.mutation_type
    assert root is not None
    gql_field = root.fields[field]
    fields = selection(gql_field.type)
    if via == "input":
        input_type = _named(gql_field.args["input"].type)
        value = {k: FILLERS[k] for k, f in input_type.fields.items()
                 if _required(f.type) and k in FILLERS}
        value[key] = ident
        args = f"(input: {_literal(value)})"
    else:
        required = {k: FILLERS[k] for k, a in gql_field.args.items()
                    if _required(a.type) and k in FILLERS}
        args = f"({key}: {json.dumps(ident)}" + "".join(
            f", {k}: {json.dumps(v)}" for k, v in required.items()) + ")"
    status, answer = api.post(f"{operation} {{ {field}{args} {fields} }}", token=token)
    assert status == 200, answer
    text = json.dumps(answer).replace(ident, "<ID>")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _literal(value: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in value.items()) + "}"


# (On PostgreSQL only: the answers come from the read side's queries, the same on both
# stores, and every operation on both took a minute of the suite's thirty.)
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_another_tenants_ids_answer_like_ids_that_do_not_exist(api: Api) -> None:
    _, acme = new_tenant(api, "acme")
    other_id, other = new_tenant(api, "other")
    other_ids = {"tenant": other_id}
    made = api.gql("""mutation { c: createContainer(input: {name: "secretive", image: "busybox"})
        { ... on ContainerPayload { container { id } } }
      v: createVolume(input: {name: "hidden", sizeGib: 1})
        { ... on VolumePayload { volume { id } } }
      s: createService(input: {name: "stealthy", image: "busybox", replicas: 1})
        { ... on ServicePayload { service { id } } }
      a: deployApplication(input: {name: "furtive",
        compose: "services: {web: {image: busybox, deploy: {replicas: 0}}}"})
        { ... on ApplicationPayload { application { id } } }
      t: issueToken(input: {ttlHours: 1}) { ... on TokenIssued { id } } }""", token=other)
    other_ids["application"] = made["a"]["application"]["id"]
    other_ids["service"] = made["s"]["service"]["id"]
    other_ids["container"] = made["c"]["container"]["id"]
    other_ids["volume"] = made["v"]["volume"]["id"]
    other_ids["token"] = made["t"]["id"]
    fields = id_taking_fields()
    assert len(fields) >= 20, fields  # new id-taking fields join this walk by themselves
    nowhere = str(uuid.uuid4())
    checked = 0
    for operation, field, key, via in fields:
        expected = call(api, acme, operation, field, key, via, nowhere)
        for ident in other_ids.values():
            answer = call(api, acme, operation, field, key, via, ident)
            assert answer == expected, (operation, field, key, ident, answer, expected)
            said = json.dumps(answer)
            assert not any(name in said for name in ("secretive", "hidden", "stealthy",
                                                     "furtive")), \
                (field, said)
            assert not any(other in said for other in other_ids.values()), (field, said)
            checked += 1
    assert checked >= 80

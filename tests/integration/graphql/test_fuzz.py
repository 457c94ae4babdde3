"""A bounded schema fuzz: schemathesis generates documents from the schema (in development
mode, where introspection is on) for every query and mutation, as an operator and as a
tenant's owner. No answer may be a server error, and none "Unexpected error.": whatever
a client sends is either done or refused in words that say why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from wharf.infra.api import Limits

EXAMPLES = 20  # documents per field, each sent as both roles: about a minute in all


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str]]]:
    home = tmp_path_factory.mktemp("fuzz")
    served = _serve(f"sqlite:///{home / 'wharf.db'}", home, dev=True,
                    limits=Limits(rate=float("inf"), burst=1))
    api = next(served)
    _, owner = new_tenant(api, "fuzzed", plan="s")
    try:
        yield api, {"operator": api.operator_token, "owner": owner}
    finally:
        next(served, None)


def test_no_document_gets_a_server_error(fuzzed: tuple[Api, dict[str, str]]) -> None:
    """Each query and mutation field in turn, through schemathesis' own strategies and
    transport (its pytest plugin does not run under pytest 9)."""
    api, tokens = fuzzed
    schema = schemathesis.graphql.from_url(
        f"{api.url}/graphql", headers={"Authorization": f"Bearer {tokens['operator']}"})
    failures: list[str] = []
    fields = sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        fields += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def probe(case: Any) -> None:
            for role, token in tokens.items():  # each document as operator and as owner
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                nonlocal sent
                sent += 1
                if response.status_code >= 500 or "Unexpected error." in response.text:
                    failures.append(f"{role}: {case.body} -> {response.status_code} "
                                    f"{response.text[:300]}")

        probe()
    print(f"fuzzed {fields} fields with {sent} requests")
    assert fields > 40 and sent > fields * 20  # every query and mutation, many times
    assert failures == []

"""The role matrix: each role against each mutation, over HTTP."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.graphql.conftest import Api, _serve, new_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import BackupAsked, TermTaken
from wharf.infra.api import Limits

ROLES = ("owner", "developer", "viewer", "operator")
counter = itertools.count()


class Tenant:
    """A tenant with one token per role, and helpers that make fresh objects."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.id, owner = new_tenant(api, "matrix", plan="payg")
        self.tokens = {"owner": owner, "operator": api.operator_token}
        for role in ("developer", "viewer"):
            email = f"{role}@matrix.io"
            api.gql("""mutation($e: String!, $r: String!) { addMember(input: {email: $e,
                role: $r}) { __typename } }""", {"e": email, "r": role}, token=owner)
            api.wiring.projector.catch_up()
            # Members issue their own tokens; here on the member's behalf, as they would.
            tenant_id = uuid.UUID(self.id)
            token = api.wiring.app.handle(m.IssueToken(
                actor=Actor.member(email, tenant_id), tenant_id=tenant_id, member=email,
                ttl_hours=1)).token
            assert token is not None
            self.tokens[role] = token

    def container(self) -> str:
        data = self.api.gql("""mutation($n: String!) { createContainer(input: {name: $n,
            image: "busybox"}) { ... on ContainerPayload { container { id } } } }""",
                            {"n": f"c{next(counter)}"}, token=self.tokens["owner"])
        ident: str = data["createContainer"]["container"]["id"]
        return ident

    def service(self) -> str:
        data = self.api.gql("""mutation($n: String!) { createService(input: {name: $n,
            image: "busybox", replicas: 0}) { ... on ServicePayload { service { id } } } }""",
                            {"n": f"s{next(counter)}"}, token=self.tokens["owner"])
        ident: str = data["createService"]["service"]["id"]
        return ident

    def updated_service(self) -> str:
        ident = self.service()
        self.api.gql("""mutation($id: ID!) { updateService(input: {id: $id, image: "busybox:1"})
            { __typename } }""", {"id": ident}, token=self.tokens["owner"])
        return ident

    def application(self) -> str:
        data = self.api.gql("""mutation($n: String!) { deployApplication(input: {name: $n,
            compose: "services: {web: {image: busybox, ports: ['80'], deploy: {replicas: 0}}}"
            }) {
            ... on ApplicationPayload { application { id } } } }""",
                            {"n": f"a{next(counter)}"}, token=self.tokens["owner"])
        ident: str = data["deployApplication"]["application"]["id"]
        return ident

    def bound_application(self) -> str:
        ident = self.application()
        self.api.gql("""mutation($id: ID!) { bindDomain(input: {application: $id,
            domain: "bound.example.com", service: "web"}) { __typename } }""", {"id": ident},
                     token=self.tokens["owner"])
        return ident

    def volume(self) -> str:
        data = self.api.gql("""mutation($n: String!) { createVolume(input: {name: $n,
            sizeGib: 1}) { ... on VolumePayload { volume { id } } } }""",
                            {"n": f"v{next(counter)}"}, token=self.tokens["owner"])
        ident: str = data["createVolume"]["volume"]["id"]
        return ident

    def placed_volume(self) -> str:
        """A volume a container has mounted (as the scheduler records it, with no engine)."""
        volume = self.volume()
        name = self.api.gql("query($id: ID!) { volume(id: $id) { name } }", {"id": volume},
                            token=self.tokens["owner"])["volume"]["name"]
        data = self.api.gql("""mutation($n: String!, $v: String!) { createContainer(input:
            {name: $n, image: "busybox", volumes: [{volume: $v, path: "/data"}]})
            { ... on ContainerPayload { container { id } } } }""",
                            {"n": f"c{next(counter)}", "v": name}, token=self.tokens["owner"])
        container = uuid.UUID(data["createContainer"]["container"]["id"])
        app = self.api.wiring.app
        host = app.handle(m.RegisterHost(actor=Actor.operator("test"),
                                         endpoint=f"tcp://127.0.0.1:{3000 + next(counter)}",
                                         name="h", cpu_millis=1000, memory_mib=1024)).id
        assert host is not None
        app.handle(m.PlaceContainer(actor=Actor.system("scheduler"), term=self.term(),
                                    container_id=container, host_id=host))
        return volume

    def term(self) -> int:
        """The scheduler's term (taken once, as a scheduler would)."""
        if not hasattr(self, "_term"):
            self._term = int(self.api.wiring.app.handle(m.TakeLeadership(
                actor=Actor.system("scheduler"), holder="test")).answer_as(TermTaken).term)
        return self._term

    def backup(self) -> tuple[str, str]:
        """A placed volume with a finished backup: (volume id, backup id)."""
        volume = self.placed_volume()
        asked = self.api.wiring.app.handle(m.BackupVolume(
            actor=Actor.operator("test"), volume_id=uuid.UUID(volume)))
        backup: str = asked.answer_as(BackupAsked).backup_id
        self.api.wiring.app.handle(m.RecordBackup(
            actor=Actor.system("scheduler"), term=self.term(), volume_id=uuid.UUID(volume),
            backup_id=backup, size_bytes=1, sha256="0" * 64))
        return volume, backup

    def member(self) -> str:
        email = f"m{next(counter)}@matrix.io"
        self.api.gql("""mutation($e: String!) { addMember(input: {email: $e, role: "viewer"})
            { __typename } }""", {"e": email}, token=self.tokens["owner"])
        return email

    def token(self) -> str:
        data = self.api.gql("mutation { issueToken(input: {ttlHours: 1}) { ... on TokenIssued "
                            "{ id } } }", token=self.tokens["owner"])
        ident: str = data["issueToken"]["id"]
        return ident


Case = tuple[str, Callable[[Tenant], str], set[str]]
WORKLOAD = {"owner", "developer", "operator"}
OWNER = {"owner", "operator"}
EVERYONE = set(ROLES)
OPERATOR = {"operator"}

CASES: list[Case] = [
    ("createContainer", lambda t: f'{{name: "n{next(counter)}", image: "busybox", '
                                  f'tenant: "{t.id}"}}', WORKLOAD),
    ("stopContainer", lambda t: f'{{id: "{t.container()}"}}', WORKLOAD),
    ("startContainer", lambda t: f'{{id: "{t.container()}"}}', WORKLOAD),
    ("deleteContainer", lambda t: f'{{id: "{t.container()}"}}', WORKLOAD),
    ("createService", lambda t: f'{{name: "s{next(counter)}", image: "busybox", '
                                f'replicas: 0, tenant: "{t.id}"}}', WORKLOAD),
    ("scaleService", lambda t: f'{{id: "{t.service()}", replicas: 1}}', WORKLOAD),
    ("stopService", lambda t: f'{{id: "{t.service()}"}}', WORKLOAD),
    ("updateService", lambda t: f'{{id: "{t.service()}", image: "busybox:1"}}', WORKLOAD),
    ("rollbackService", lambda t: f'{{id: "{t.updated_service()}", toVersion: 1}}',
     WORKLOAD),
    ("deployApplication", lambda t: f'{{name: "d{next(counter)}", tenant: "{t.id}", compose: '
                                    f'"services: {{web: {{image: busybox, deploy: '
                                    f'{{replicas: 0}}}}}}"}}', WORKLOAD),
    ("stopApplication", lambda t: f'{{id: "{t.application()}"}}', WORKLOAD),
    ("startApplication", lambda t: f'{{id: "{t.application()}"}}', WORKLOAD),
    ("deleteApplication", lambda t: f'{{id: "{t.application()}"}}', WORKLOAD),
    ("bindDomain", lambda t: f'{{application: "{t.application()}", '
                             f'domain: "d{next(counter)}.example.com", service: "web"}}',
     WORKLOAD),
    ("unbindDomain", lambda t: f'{{application: "{t.bound_application()}", '
                               'domain: "bound.example.com"}', WORKLOAD),
    ("setAutoscalePolicy", lambda t: f'{{id: "{t.service()}", max: 2, cpuPercent: 50}}',
     WORKLOAD),
    ("startService", lambda t: f'{{id: "{t.service()}"}}', WORKLOAD),
    ("deleteService", lambda t: f'{{id: "{t.service()}"}}', WORKLOAD),
    ("createVolume", lambda t: f'{{name: "v{next(counter)}", sizeGib: 1, tenant: "{t.id}"}}',
     WORKLOAD),
    ("resizeVolume", lambda t: f'{{id: "{t.volume()}", sizeGib: 2}}', WORKLOAD),
    ("deleteVolume", lambda t: f'{{id: "{t.volume()}"}}', WORKLOAD),
    ("backupVolume", lambda t: f'{{id: "{t.placed_volume()}"}}', WORKLOAD),
    ("restoreVolume", lambda t: '{{volume: "{}", backup: "{}", name: "r{}"}}'.format(
        *t.backup(), next(counter)), WORKLOAD),
    ("setSecret", lambda t: f'{{name: "s{next(counter)}", value: "v", tenant: "{t.id}"}}',
     WORKLOAD),
    ("addMember", lambda t: f'{{email: "n{next(counter)}@matrix.io", role: "viewer", '
                            f'tenant: "{t.id}"}}', OWNER),
    ("removeMember", lambda t: f'{{email: "{t.member()}", tenant: "{t.id}"}}', OWNER),
    ("changeRole", lambda t: f'{{email: "{t.member()}", role: "developer", '
                             f'tenant: "{t.id}"}}', OWNER),
    ("revokeToken", lambda t: f'{{id: "{t.token()}"}}', OWNER),
    ("setPassword", lambda t: f'{{email: "{t.member()}", password: "long enough words", '
                              f'tenant: "{t.id}"}}', OWNER),
    ("inviteMember", lambda t: f'{{email: "i{next(counter)}@matrix.io", tenant: "{t.id}"}}',
     OWNER),
    ("changePlan", lambda t: f'{{plan: "m", tenant: "{t.id}"}}', OWNER),
    ("suspendTenant", lambda t: f'{{id: "{t.id}"}}', OPERATOR),
    ("addPlan", lambda t: f'{{name: "p{next(counter)}", limits: {{containers: 1}}, '
                          f'prices: {{}}}}', OPERATOR),
    ("registerHost", lambda t: f'{{endpoint: "tcp://127.0.0.1:{2000 + next(counter)}", '
                               f'cpuMillis: 1000, memoryMib: 1024}}', OPERATOR),
    ("createTenant", lambda t: f'{{name: "t{next(counter)}-co", owner: "o@x.io"}}', OPERATOR),
]


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'roles.db'}"


@pytest.fixture
def api(store_url: str, tmp_path: Any) -> Iterator[Api]:
    """The API with room for the matrix's few hundred requests on one owner's token (the
    rate limit is tested on its own)."""
    yield from _serve(store_url, tmp_path, dev=False, limits=Limits(rate=1000.0, burst=1000))


def test_role_matrix(api: Api) -> None:
    tenant = Tenant(api)
    seen: dict[tuple[str, str], str] = {}
    for mutation, make_input, _ in CASES:
        for role in ROLES:
            if mutation == "suspendTenant" and role == "operator":
                continue  # checked last: it stops the tenant for every case after it
            status, answer = api.post(
                f"mutation {{ {mutation}(input: {make_input(tenant)}) {{ __typename "
                "... on InvalidInput { field message } ... on Conflict { message } } }",
                token=tenant.tokens[role])
            assert status == 200 and "errors" not in answer, (mutation, role, answer)
            seen[(mutation, role)] = answer["data"][mutation]["__typename"]
    for (mutation, role), typename in seen.items():
        allowed = next(a for m, _, a in CASES if m == mutation)
        if role in allowed:
            assert typename not in ("Forbidden", "NotFound", "InvalidInput", "Conflict"), (
                mutation, role, typename)
        else:
            assert typename == "Forbidden", (mutation, role, typename)
    status, answer = api.post(f'mutation {{ suspendTenant(input: {{id: "{tenant.id}"}}) '
                              "{ __typename } }", token=api.operator_token)
    assert answer["data"]["suspendTenant"]["__typename"] == "TenantPayload"

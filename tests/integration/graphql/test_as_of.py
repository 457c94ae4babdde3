"""Time travel: `asOf` (a moment) and `atPosition` (a log position) on the container,
volume, service and application queries answer with the state recorded at that moment
by the ordinary queries (the read models), folded from the log; before the object existed,
or for another tenant's, null; a moment in the future or a position past the log's end
is the client's mistake. Past the snapshot interval the fold starts from a snapshot."""

from __future__ import annotations

from typing import Any

from tests.conftest import DrivenClock
from tests.integration.graphql.conftest import Api, new_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.answers import TermTaken
from wharf.commands.application import SNAPSHOT_EVERY
from wharf.domain.container import Container

SCHEDULER = Actor.system("scheduler")
FIELDS = {
    "container": """id name image desired observed cpuMillis memoryMib hostId exitCode
        oomKilled restarts startedAt finishedAt ports { containerPort hostIp hostPort }
        unschedulable diskOverSince failure health serviceId spec createdAt updatedAt""",
    "volume": "id name sizeGib state hostId diskOverSince createdAt",
    "service": """id name category image desired replicas cpuMillis memoryMib
        endpoints { containerPort address } version rolledOutVersion
        autoscale { min max cpuPercent memoryPercent cooldownS }
        updatePolicy { parallelism monitorS failureAction order delayS }
        scaledAt scaleReason spec createdAt updatedAt""",
    "application": "id name desired version entry warnings createdAt updatedAt",
}


def state(api: Api, token: str, kind: str, ident: str, **when: Any) -> Any:
    args = "".join(f", {k}: {v!r}" if isinstance(v, int) else f', {k}: "{v}"'
                   for k, v in when.items())
    return api.gql(f'{{ {kind}(id: "{ident}"{args}) {{ {FIELDS[kind]} }} }}',
                   token=token)[kind]


class Moments:
    """What the ordinary queries said after each step, with when and where in the log."""

    def __init__(self, api: Api, token: str) -> None:
        self.api, self.token = api, token
        self.clock: DrivenClock = api.wiring.app.clock  # type: ignore[assignment]
        self.seen: list[tuple[str, str, str, int, Any]] = []

    def step(self, query: str, kind: str, ident: str | None = None) -> Any:
        self.clock.advance(minutes=1)
        answer = self.api.gql(query, token=self.token) if query else None
        if ident is not None:
            head = self.api.wiring.app.recorder.max_notification_id() or 0
            self.api.wiring.projector.wait(head)  # (the scheduler's writes: not mutations)
            self.seen.append((kind, ident, self.clock.now().isoformat(), head,
                              state(self.api, self.token, kind, ident)))
        return answer


def test_as_of_answers_what_the_queries_said_then(api: Api) -> None:
    _, owner = new_tenant(api, "acme", plan="s")
    moments = Moments(api, owner)
    app = api.wiring.app

    made = moments.step('mutation { createContainer(input: {name: "web", image: "busybox", '
                        'ports: [{containerPort: 80}]}) { ... on ContainerPayload { container '
                        '{ id } } } }', "container")
    container = made["createContainer"]["container"]["id"]
    born = moments.clock.now()
    moments.step("", "container", container)
    moments.step(f'mutation {{ stopContainer(input: {{id: "{container}"}}) {{ __typename }} }}',
                 "container", container)
    host = app.handle(m.RegisterHost(actor=Actor.operator("t"), endpoint="tcp://127.0.0.1:1",
                                     name="h", cpu_millis=8000, memory_mib=8192)).id
    term = app.handle(m.TakeLeadership(actor=SCHEDULER, holder="t")).answer_as(TermTaken).term
    moments.step(f'mutation {{ startContainer(input: {{id: "{container}"}}) {{ __typename }} }}',
                 "container", container)
    from uuid import UUID
    cid = UUID(container)
    moments.clock.advance(seconds=1)  # (the scheduler's writes come after that moment)
    app.handle(m.PlaceContainer(actor=SCHEDULER, term=term, container_id=cid, host_id=host))
    app.handle(m.RecordRun(actor=SCHEDULER, term=term, container_id=cid, generation=2,
                           started_at="run-1", finished_at="", running=True,
                           ports={"80/tcp": 32768}))
    moments.step("", "container", container)
    moments.clock.advance(seconds=1)
    app.handle(m.RecordRun(actor=SCHEDULER, term=term, container_id=cid, generation=2,
                           started_at="run-1", finished_at="end-1", running=False,
                           exit_code=137, oom_killed=True))
    moments.step("", "container", container)

    made = moments.step('mutation { createVolume(input: {name: "data", sizeGib: 1}) '
                        '{ ... on VolumePayload { volume { id } } } }', "volume")
    volume = made["createVolume"]["volume"]["id"]
    moments.step("", "volume", volume)
    moments.step(f'mutation {{ resizeVolume(input: {{id: "{volume}", sizeGib: 3}}) '
                 '{ __typename } }', "volume", volume)
    moments.step(f'mutation {{ deleteVolume(input: {{id: "{volume}"}}) {{ __typename }} }}',
                 "volume", volume)

    made = moments.step('mutation { createService(input: {name: "api", image: "busybox", '
                        'replicas: 1}) { ... on ServicePayload { service { id } } } }',
                        "service")
    service = made["createService"]["service"]["id"]
    moments.step("", "service", service)
    moments.step(f'mutation {{ scaleService(input: {{id: "{service}", replicas: 3}}) '
                 '{ __typename } }', "service", service)
    moments.step(f'mutation {{ stopService(input: {{id: "{service}"}}) {{ __typename }} }}',
                 "service", service)

    made = moments.step('mutation { deployApplication(input: {name: "shop", compose: '
                        '"services: {web: {image: busybox, deploy: {replicas: 0}}}"}) '
                        '{ ... on ApplicationPayload { application { id } } } }',
                        "application")
    application = made["deployApplication"]["application"]["id"]
    moments.step("", "application", application)
    moments.step(f'mutation {{ stopApplication(input: {{id: "{application}"}}) '
                 '{ __typename } }', "application", application)
    moments.step('mutation { deployApplication(input: {name: "shop", compose: '
                 '"services: {web: {image: busybox, deploy: {replicas: 0}}, '
                 'db: {image: busybox, deploy: {replicas: 0}}}"}) { __typename } }',
                 "application", application)

    kinds = {kind for kind, *_ in moments.seen}
    assert kinds == set(FIELDS) and len(moments.seen) == 14
    for kind, ident, at, position, expected in moments.seen:
        assert state(api, owner, kind, ident, asOf=at) == expected, (kind, at, "asOf")
        assert state(api, owner, kind, ident, atPosition=position) == expected, (kind,
                                                                                  position)
    # The states differ from one moment to the next: the answers above are not the last.
    assert len({repr(s) for *_, s in moments.seen}) == len(moments.seen)

    before = (born.replace(year=born.year - 1)).isoformat()
    assert state(api, owner, "container", container, asOf=before) is None
    _, other = new_tenant(api, "other")
    assert state(api, other, "container", container, asOf=moments.seen[0][2]) is None
    assert state(api, api.operator_token, "container", container,
                 asOf=moments.seen[0][2]) == moments.seen[0][4]


def test_a_moment_to_come_or_a_position_past_the_log_is_refused(api: Api) -> None:
    _, owner = new_tenant(api, "acme")
    made = api.gql('mutation { createContainer(input: {name: "web", image: "busybox"}) '
                   '{ ... on ContainerPayload { container { id } } } }', token=owner)
    ident = made["createContainer"]["container"]["id"]
    head = api.wiring.app.recorder.max_notification_id() or 0
    for args, said in (('asOf: "2999-01-01T00:00:00Z"', "asOf: in the future"),
                       (f"atPosition: {head + 5}", "atPosition: from 0"),
                       ("atPosition: -1", "atPosition: from 0"),
                       ('asOf: "yesterday"', "asOf: not an ISO 8601 time"),
                       ('asOf: "0001-01-01T00:00:00+14:00"', "asOf: not an ISO 8601 time"),
                       ('asOf: "2026-01-01T00:00:00Z", atPosition: 1', "not both")):
        _, answer = api.post(f'{{ container(id: "{ident}", {args}) {{ id }} }}',
                                  token=owner)
        assert said in answer["errors"][0]["message"], (args, answer)


def test_a_long_history_folds_from_a_snapshot(api: Api) -> None:
    """Past the interval, a container's fold starts from its newest snapshot: the answer
    is the same as folding every event."""
    _, owner = new_tenant(api, "acme")
    made = api.gql('mutation { createContainer(input: {name: "web", image: "busybox"}) '
                   '{ ... on ContainerPayload { container { id } } } }', token=owner)
    ident = made["createContainer"]["container"]["id"]
    clock: DrivenClock = api.wiring.app.clock  # type: ignore[assignment]
    for i in range(SNAPSHOT_EVERY + 5):
        clock.advance(seconds=10)
        verb = "stopContainer" if i % 2 == 0 else "startContainer"
        api.gql(f'mutation {{ {verb}(input: {{id: "{ident}"}}) {{ __typename }} }}',
                token=owner)
    from uuid import UUID
    snapshots = list(api.wiring.app.snapshots.get(UUID(ident)))  # type: ignore[union-attr]
    assert [s.originator_version for s in snapshots] == [SNAPSHOT_EVERY]
    restored = api.wiring.app.repository.get(UUID(ident), version=SNAPSHOT_EVERY + 3)
    replayed: Container | None = None
    for event in api.wiring.app.events.get(UUID(ident), lte=SNAPSHOT_EVERY + 3):
        replayed = event.mutate(replayed)  # type: ignore[assignment]
    assert replayed is not None
    assert {k: v for k, v in vars(restored).items() if not k.startswith("_")} == \
        {k: v for k, v in vars(replayed).items() if not k.startswith("_")}
    at = (clock.now().replace(microsecond=0)).isoformat()
    assert state(api, owner, "container", ident, asOf=at) == state(api, owner, "container",
                                                                    ident)


def test_a_service_comes_back_whole_from_its_snapshot(api: Api) -> None:
    """A service's state holds dicts keyed by slots, ports and versions, and policies:
    its snapshot keeps them as they were (JSON alone would turn the keys into text)."""
    _, owner = new_tenant(api, "acme", plan="s")
    made = api.gql('mutation { createService(input: {name: "api", image: "busybox", '
                   'replicas: 1}) { ... on ServicePayload { service { id } } } }', token=owner)
    ident = made["createService"]["service"]["id"]
    api.gql(f'mutation {{ setAutoscalePolicy(input: {{id: "{ident}", min: 1, max: 3, '
            'cpuPercent: 70}) { __typename } }', token=owner)
    clock: DrivenClock = api.wiring.app.clock  # type: ignore[assignment]
    for i in range(SNAPSHOT_EVERY):
        clock.advance(seconds=10)
        api.gql(f'mutation {{ scaleService(input: {{id: "{ident}", replicas: {1 + i % 3}}}) '
                '{ __typename } }', token=owner)
    from uuid import UUID
    service = UUID(ident)
    [snapshot] = api.wiring.app.snapshots.get(service)  # type: ignore[union-attr]
    version = snapshot.originator_version
    restored = api.wiring.app.repository.get(service, version=version)
    replayed: Any = None
    for event in api.wiring.app.events.get(service, lte=version):
        replayed = event.mutate(replayed)
    public = {k: v for k, v in vars(replayed).items() if not k.startswith("_")}
    assert {k: v for k, v in vars(restored).items() if not k.startswith("_")} == public
    assert all(isinstance(slot, int) for slot in restored.replicas)
    assert restored.autoscale is not None and restored.autoscale.max == 3

"""Events evolve by upcasting; stored history is never edited."""

from __future__ import annotations

import json

from eventsourcing.persistence import StoredEvent

from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import Wiring


def test_version_one_tenant_registered_events_still_load(wiring: Wiring) -> None:
    """Tenant.Registered v1 (written before plans had versions) had no plan_version."""
    tenant_id = Tenant.id_for("old-timer")
    v1_state = {
        "originator_topic": "wharf.domain.tenant:Tenant",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-01-01T00:00:00+00:00"},
        "actor": "operator:legacy",
        "cause": "CreateTenant",
        "name": "old-timer",
        "plan_name": "free",
        "owner": "old@timer.io",
    }
    wiring.app.recorder.insert_events([StoredEvent(
        originator_id=tenant_id, originator_version=1,
        topic="wharf.domain.tenant:Tenant.Registered",
        state=json.dumps(v1_state).encode(),
    )])
    tenant = wiring.app.repository.get(tenant_id)
    assert (tenant.name, tenant.plan_name, tenant.plan_version) == ("old-timer", "free", 1)
    [old] = wiring.app.repository.event_store.get(tenant_id)
    assert (old.correlation, old.causation) == ("", "")  # written before they existed
    wiring.projector.catch_up()
    assert wiring.view.query("SELECT name, plan, plan_version FROM rm_tenants") == [
        {"name": "old-timer", "plan": "free", "plan_version": 1}]


def test_new_events_are_stored_as_version_two(wiring: Wiring) -> None:
    from tests.integration.helpers import make_tenant

    acme = make_tenant(wiring)
    notifications = wiring.app.recorder.select_notifications(1, 100)
    registered = next(n for n in notifications if n.originator_id == acme.id)
    state = json.loads(registered.state)
    assert state["class_version"] == 2
    assert state["plan_version"] == 1


def test_version_one_unschedulable_events_tell_the_tenant_nothing_of_other_hosts(
    wiring: Wiring,
) -> None:
    """Container.Unschedulable v1 had the reasons by host only, with their figures."""
    from tests.integration.helpers import create_container, make_tenant

    acme = make_tenant(wiring, plan="s")
    container_id = create_container(wiring, acme, "web")
    version = len(list(wiring.app.repository.event_store.get(container_id)))
    v1_state = {
        "originator_topic": "wharf.domain.container:Container",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-01-01T00:00:00+00:00"},
        "actor": "scheduler:1", "cause": "MarkUnschedulable",
        "reasons": {"secret-host": "needs 100m CPU, 3m free of 2000m x 1"},
    }
    wiring.app.recorder.insert_events([StoredEvent(
        originator_id=container_id, originator_version=version + 1,
        topic="wharf.domain.container:Container.Unschedulable",
        state=json.dumps(v1_state).encode(),
    )])
    container = wiring.app.repository.get(container_id)
    assert container.unschedulable == v1_state["reasons"]
    wiring.projector.catch_up()
    [row] = wiring.view.query("SELECT unschedulable_summary FROM rm_containers")
    assert json.loads(row["unschedulable_summary"]) == [
        "no host that may take it is available now"]
    audit = " ".join(r["summary"] for r in wiring.view.query("SELECT summary FROM rm_audit"))
    assert "secret-host" not in audit and "3m free" not in audit


def test_version_one_answers_to_client_requests_match_any_retry(wiring: Wiring) -> None:
    """ClientRequest.Answered v1 kept no digest of the request: a retry is answered as it
    always was (never refused as a different request)."""
    from tests.integration.helpers import make_tenant
    from wharf.commands import messages as m
    from wharf.domain.records import ClientRequest

    acme = make_tenant(wiring, plan="s")
    request_id = ClientRequest.id_for(acme.owner.label, acme.id, "CreateVolume", "v-1")
    volume = wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id,
                                              name="data", size_gib=1, request_id="v-1"))
    stored = next(n for n in wiring.app.recorder.select_notifications(1, 1000)
              if n.originator_id == request_id)
    state = json.loads(stored.state)
    assert state["class_version"] == 2 and state["digest"]
    del state["digest"], state["class_version"]  # as version 1 stored it
    other = ClientRequest.id_for(acme.owner.label, acme.id, "CreateVolume", "v-2")
    wiring.app.recorder.insert_events([StoredEvent(
        originator_id=other, originator_version=1, topic=stored.topic,
        state=json.dumps(state).encode())])
    again = wiring.app.handle(m.CreateVolume(actor=acme.owner, tenant_id=acme.id,
                                             name="other", size_gib=2, request_id="v-2"))
    assert again.id == volume.id  # the first answer, as v1 gave it


def test_version_one_tokens_still_authenticate_as_no_session(wiring: Wiring) -> None:
    """Token.Issued v1 (written before dashboard sessions) had no session_of."""
    import hashlib
    import uuid

    from tests.integration.helpers import make_tenant

    acme = make_tenant(wiring)
    token_id, secret = uuid.uuid4(), "an-old-secret"
    v1_state = {
        "originator_topic": "wharf.domain.token:Token",
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-01T09:00:00+00:00"},
        "actor": "operator:legacy", "cause": "IssueToken", "correlation": "",
        "causation": "", "tenant_id": {"_type_": "uuid_hex", "_data_": acme.id.hex},
        "member": "owner@acme.io", "scope": "tenant",
        "secret_hash": hashlib.sha256(secret.encode()).hexdigest(), "expires_at": None,
        "name": "old", "member_epoch": 1,
    }
    wiring.app.recorder.insert_events([StoredEvent(
        originator_id=token_id, originator_version=1,
        topic="wharf.domain.token:Token.Issued", state=json.dumps(v1_state).encode())])
    token = wiring.app.repository.get(token_id)
    assert token.session_of == 0
    actor = wiring.app.authenticate(f"wharf_{token_id.hex}_{secret}")
    assert (actor.name, actor.tenant_id) == ("owner@acme.io", acme.id)

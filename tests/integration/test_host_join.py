"""Hosts joining from elsewhere, as the log and the read side record them: credentials
sealed, plain TCP refused off this machine, a tenant's own hosts counted against its
plan, labels (the engines themselves are in tests/integration/docker/test_remote_hosts.py)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from tests.integration.helpers import caught_up, make_tenant
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import Forbidden, InvalidInput, NotFound, QuotaExceeded
from wharf.domain.tls import TlsCredentials
from wharf.infra.bootstrap import Wiring
from wharf.infra.host_tls import join_kit

OPERATOR = Actor.operator("test")


def credentials(address: str = "10.9.0.1") -> TlsCredentials:
    return join_kit(address, dt.datetime.now(dt.UTC)).client


def join(wiring: Wiring, actor: Actor, endpoint: str, tenant_id: UUID | None = None,
         tls: TlsCredentials | None = None, **extra: object) -> UUID:
    given = tls if tls is not None else credentials()
    outcome = wiring.app.handle(m.RegisterHost(
        actor=actor, endpoint=endpoint, name=endpoint, cpu_millis=2000, memory_mib=4096,
        tenant_id=tenant_id, tls_ca=given.ca, tls_cert=given.cert, tls_key=given.key,
        engine_version="27.0.1", **extra))  # type: ignore[arg-type]
    assert outcome.id is not None
    return outcome.id


def test_a_tcp_endpoint_off_this_machine_needs_mutual_tls_sealed_in_the_log(
        wiring: Wiring) -> None:
    with pytest.raises(InvalidInput, match="mutual TLS"):
        wiring.app.handle(m.RegisterHost(actor=OPERATOR, endpoint="tcp://10.9.0.1:2375",
                                         name="plain", cpu_millis=1000, memory_mib=1024))
    wiring.app.handle(m.RegisterHost(actor=OPERATOR, endpoint="tcp://127.0.0.1:2375",
                                     name="loopback", cpu_millis=1000, memory_mib=1024))
    given = credentials()
    host_id = join(wiring, OPERATOR, "tcp://10.9.0.1:2376", tls=given,
                   labels={"zone": "eu-1", "disk": "ssd"})
    assert wiring.app.host_credentials(host_id) == given
    stored = b"".join(str(vars(e)).encode()
                      for e in wiring.app.repository.event_store.get(host_id))
    assert b"BEGIN PRIVATE KEY" not in stored and b"BEGIN CERTIFICATE" not in stored
    rows = caught_up(wiring).view.query(
        "SELECT name, labels, engine_version, fingerprint FROM rm_hosts ORDER BY name")
    assert [(r["name"], r["labels"], r["engine_version"], len(r["fingerprint"]))
            for r in rows] == [("loopback", "{}", "", 0),
                               ("tcp://10.9.0.1:2376", '{"disk": "ssd", "zone": "eu-1"}',
                                "27.0.1", 64)]


def test_credentials_that_do_not_belong_together_are_refused(wiring: Wiring) -> None:
    one, two = credentials(), credentials()
    mixed = TlsCredentials(ca=one.ca, cert=one.cert, key=two.key)
    with pytest.raises(InvalidInput, match=r"tls\.key"):
        join(wiring, OPERATOR, "tcp://10.9.0.1:2376", tls=mixed)
    with pytest.raises(InvalidInput, match=r"tls\.cert"):
        join(wiring, OPERATOR, "tcp://10.9.0.1:2376",
             tls=TlsCredentials(ca=one.ca, cert="-----BEGIN CERTIFICATE-----\nxx", key=one.key))
    with pytest.raises(InvalidInput, match="labels"):
        join(wiring, OPERATOR, "tcp://10.9.0.1:2376", labels={"Zone!": "x"})
    assert caught_up(wiring).view.query("SELECT id FROM rm_hosts") == []


def test_a_tenants_own_hosts_count_against_its_plan_and_leave_with_it(wiring: Wiring) -> None:
    cheap = make_tenant(wiring, "cheap", plan="free")
    with pytest.raises(QuotaExceeded, match="own_hosts"):
        join(wiring, cheap.owner, "tcp://10.9.0.1:2376", tenant_id=cheap.id)
    acme = make_tenant(wiring, "acme", plan="m")  # (own_hosts: 2)
    wiring.app.handle(m.AddMember(actor=acme.owner, tenant_id=acme.id, email="dev@acme.io",
                                  role="developer"))
    with pytest.raises(Forbidden):
        join(wiring, Actor.member("dev@acme.io", acme.id), "tcp://10.9.0.1:2376",
             tenant_id=acme.id)
    with pytest.raises(InvalidInput, match="Wharf's own machine"):
        join(wiring, acme.owner, "tcp://127.0.0.1:2376", tenant_id=acme.id)
    with pytest.raises(NotFound):  # another tenant's pool looks like no tenant at all
        join(wiring, acme.owner, "tcp://10.9.0.1:2376", tenant_id=cheap.id)
    first = join(wiring, acme.owner, "tcp://10.9.0.1:2376", tenant_id=acme.id)
    join(wiring, acme.owner, "tcp://10.9.0.2:2376", tenant_id=acme.id)
    with pytest.raises(QuotaExceeded, match="limit 2, used 2"):
        join(wiring, acme.owner, "tcp://10.9.0.3:2376", tenant_id=acme.id)
    assert [r["pool"] for r in caught_up(wiring).view.query("SELECT pool FROM rm_hosts")] \
        == ["acme", "acme"]

    with pytest.raises(NotFound):  # not its host
        wiring.app.handle(m.RemoveHost(actor=cheap.owner, host_id=first, tenant_id=cheap.id))
    wiring.app.handle(m.RemoveHost(actor=acme.owner, host_id=first, tenant_id=acme.id))
    join(wiring, acme.owner, "tcp://10.9.0.3:2376", tenant_id=acme.id)  # room again
    states = {r["endpoint"]: r["state"] for r in caught_up(wiring).view.query(
        "SELECT endpoint, state FROM rm_hosts")}
    assert states == {"tcp://10.9.0.1:2376": "removed", "tcp://10.9.0.2:2376": "active",
                      "tcp://10.9.0.3:2376": "active"}


def test_labels_are_the_operators_to_set(wiring: Wiring) -> None:
    host_id = join(wiring, OPERATOR, "tcp://10.9.0.1:2376", labels={"zone": "a"})
    acme = make_tenant(wiring)
    with pytest.raises(Forbidden):
        wiring.app.handle(m.LabelHost(actor=acme.owner, host_id=host_id, labels={}))
    with pytest.raises(InvalidInput):
        wiring.app.handle(m.LabelHost(actor=OPERATOR, host_id=host_id,
                                      labels={"zone": "a b"}))
    wiring.app.handle(m.LabelHost(actor=OPERATOR, host_id=host_id,
                                  labels={"zone": "b", "gpu": "1"}))
    assert caught_up(wiring).view.query("SELECT labels FROM rm_hosts") == [
        {"labels": '{"gpu": "1", "zone": "b"}'}]


def test_closing_a_tenant_removes_the_hosts_it_joined_and_keeps_the_operators(
        wiring: Wiring) -> None:
    """Its data key goes at close: the credentials of the hosts it joined go with it, so
    those hosts go too; a host an operator dedicated to it is sealed with the platform's
    key and stays readable."""
    acme = make_tenant(wiring, "acme", plan="m")
    own = join(wiring, acme.owner, "tcp://10.9.0.1:2376", tenant_id=acme.id)
    given = credentials("10.9.0.2")
    dedicated = join(wiring, OPERATOR, "tcp://10.9.0.2:2376", tls=given, pool="acme")
    # A retry of a join that was made is not over the limit (the API asks first).
    join(wiring, acme.owner, "tcp://10.9.0.3:2376", tenant_id=acme.id)
    wiring.app.check_join_host(acme.owner, acme.id, "tcp://10.9.0.3:2376")
    with pytest.raises(QuotaExceeded):
        wiring.app.check_join_host(acme.owner, acme.id, "tcp://10.9.0.4:2376")

    wiring.app.handle(m.CloseTenant(actor=OPERATOR, tenant_id=acme.id, grace_hours=0))
    states = {r["endpoint"]: r["state"] for r in caught_up(wiring).view.query(
        "SELECT endpoint, state FROM rm_hosts")}
    assert states == {"tcp://10.9.0.1:2376": "removed", "tcp://10.9.0.2:2376": "active",
                      "tcp://10.9.0.3:2376": "removed"}
    assert wiring.app.host_credentials(dedicated) == given
    assert own is not None

"""A secret's value is nowhere in the store, the audit trail or `wharf events`, and a
closed tenant's secrets can never be read again."""

from __future__ import annotations

import secrets as random
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import caught_up, make_tenant, wharf
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.sealing import Unreadable
from wharf.domain.secret import Secret
from wharf.infra.bootstrap import Wiring
from wharf.infra.store import kind_of, sqlite_path


def raw_store_bytes(url: str) -> bytes:
    """Every byte the store holds: the SQLite files, or every PostgreSQL table dumped."""
    if kind_of(url) == "sqlite":
        path = sqlite_path(url)
        return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal")
                        if Path(f"{path}{s}").exists())
    dump = b""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            # Binary: bytea columns (the events) as their bytes, not as hex text.
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT (FORMAT binary)') as copy:  # type: ignore[arg-type]
                for chunk in copy:
                    dump += bytes(chunk)
    return dump


def test_secret_value_appears_nowhere(
    wiring: Wiring, store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    first = f"s3cr3t-{random.token_hex(16)}"
    value = f"s3cr3t-{random.token_hex(16)}"
    acme = make_tenant(wiring)
    for set_to in (first, value):  # set, then changed: two different events
        wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id,
                                      name="db-password", value=set_to))
    wiring.app.handle(m.CreateContainer(
        actor=acme.owner, tenant_id=acme.id, name="app",
        spec={"image": "busybox", "secrets": [{"name": "db-password"}]}))
    caught_up(wiring)

    assert wiring.app.reveal_secret(acme.id, "db-password") == value
    stored = raw_store_bytes(store_url)
    audit = wiring.view.query("SELECT * FROM rm_audit")
    assert any(row["summary"] == "secret db-password set" for row in audit)
    events = wharf(store_url, tmp_path / "home", "events").stdout
    assert "Secret.Created" in events
    tenant_events = wharf(store_url, tmp_path / "home", "events", "--tenant", "acme").stdout
    assert "secret db-password set" in tenant_events
    for plaintext in (first, value):
        assert plaintext.encode() not in stored
        assert plaintext not in repr(audit)
        assert plaintext not in events and plaintext not in tenant_events
        assert plaintext not in caplog.text


def test_closing_a_tenant_shreds_its_secrets(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="api-key",
                                  value="open sesame"))
    wiring.app.handle(m.CloseTenant(actor=Actor.operator("test"), tenant_id=acme.id))
    with pytest.raises(Unreadable):
        wiring.app.reveal_secret(acme.id, "api-key")
    # The ciphertext is still in the log, and no key opens it.
    secret = wiring.app.repository.get(Secret.id_for(acme.id, "api-key"))
    assert secret.ciphertext


def test_secret_names_only_on_the_read_side(wiring: Wiring) -> None:
    acme = make_tenant(wiring)
    for name in ("a", "b"):
        wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name=name,
                                      value=f"value-{name}"))
    wiring.app.handle(m.DeleteSecret(actor=acme.owner, tenant_id=acme.id, name="a"))
    rows = caught_up(wiring).view.query(
        "SELECT name FROM rm_secrets WHERE deleted = 0 ORDER BY name")
    assert rows == [{"name": "b"}]
    wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="a", value="again"))
    rows = caught_up(wiring).view.query(
        "SELECT name FROM rm_secrets WHERE deleted = 0 ORDER BY name")
    assert rows == [{"name": "a"}, {"name": "b"}]
    assert wiring.app.reveal_secret(acme.id, "a") == "again"


def test_keys_of_closed_tenants_are_shredded_even_if_closing_crashed(
    wiring: Wiring, store_url: str
) -> None:
    """A process that died between saving Closed and destroying the key: the purge job's
    level-triggered pass destroys it."""
    from wharf.infra.keystore import DatabaseDataKeys
    from wharf.schedulers.purge import purge_due_tenants

    class CrashBeforeShredding(DatabaseDataKeys):
        def destroy(self, tenant_id: object) -> None:
            pass

    acme = make_tenant(wiring)
    wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="k", value="v"))
    real_keys = wiring.app.keys
    wiring.app.keys = CrashBeforeShredding(store_url, real_keys.kek)  # type: ignore[attr-defined]
    wiring.app.handle(m.CloseTenant(actor=Actor.operator("test"), tenant_id=acme.id))
    wiring.app.keys = real_keys
    assert wiring.app.reveal_secret(acme.id, "k") == "v"  # the crash left the key behind
    caught_up(wiring)
    purge_due_tenants(wiring.app, wiring.view, wiring.app.clock)
    with pytest.raises(Unreadable):
        wiring.app.reveal_secret(acme.id, "k")


def test_a_retried_request_leaves_no_plain_hash_of_a_secret_in_the_log(
    wiring: Wiring,
) -> None:
    """A clientRequestId keeps a digest of the request so that a retry can be told from
    another request: keyed with the tenant's data key, never a plain hash a copy of the
    log could test guesses against; and no digest goes to Kafka."""
    import hashlib
    import json

    from wharf.commands.application import request_digest
    from wharf.infra.relay import messages_of

    tenant = make_tenant(wiring)
    command = m.SetSecret(actor=tenant.owner, tenant_id=tenant.id, name="db",
                          value="hunter2", request_id="req-1")
    first = wiring.app.handle(command)
    assert wiring.app.handle(command).id == first.id  # the retry: the same answer
    [answered] = [e for e in wiring.app.repository.event_store.get(
        next(iter(n.originator_id for n in wiring.app.recorder.select_notifications(1, 10_000)
                  if n.topic.endswith("ClientRequest.Answered"))))]
    plain = hashlib.sha256(json.dumps({"command": "SetSecret", "name": "db",
                                       "tenant_id": str(tenant.id), "value": "hunter2"},
                                      sort_keys=True).encode()).hexdigest()
    assert plain == request_digest(command)  # what a plain hash would have been
    assert answered.digest.startswith("hmac:") and plain not in answered.digest
    sent = b"".join(message.value for message in messages_of(answered, 1, None))
    assert b"digest" not in sent and plain.encode() not in sent
    with pytest.raises(Exception, match="different request"):
        wiring.app.handle(m.SetSecret(actor=tenant.owner, tenant_id=tenant.id, name="db",
                                      value="other", request_id="req-1"))

"""Data keys are wrapped by a key-encryption key that lives outside the database, and
every file Wharf makes is its owner's only."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
from pathlib import Path
from uuid import UUID

import pytest

from tests.conftest import DrivenClock, settings_for
from tests.integration.helpers import make_tenant, running_wharf
from wharf.commands import messages as m
from wharf.commands.sealing import Unreadable, unseal
from wharf.domain.secret import Secret
from wharf.infra.bootstrap import build
from wharf.infra.keystore import TABLE, KeyEncryptionKey, KeyStoreError
from wharf.infra.settings import Settings

VALUE = "correct-horse-battery-staple"


def sealed_secret(db: Path) -> tuple[str, bytes]:
    """The ciphertext of the one secret in the SQLite file, and its context."""
    with sqlite3.connect(db) as lite:
        states = [json.loads(row[0]) for row in lite.execute(
            "SELECT state FROM stored_events WHERE topic LIKE '%Secret%'")]
        [(originator,)] = lite.execute(
            "SELECT DISTINCT originator_id FROM stored_events WHERE topic LIKE '%Secret%'")
    ciphertext = next(s["ciphertext"] for s in states if "ciphertext" in s)
    return ciphertext, UUID(str(originator)).bytes


def stored_keys(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as lite:
        return [bytes(row[0]) for row in lite.execute(f"SELECT key FROM {TABLE}")]


def test_the_database_alone_opens_no_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    wiring = build(settings_for(f"sqlite:///{home / 'wharf.db'}", home), clock=DrivenClock())
    acme = make_tenant(wiring)
    wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="db",
                                  value=VALUE))
    wiring.close()
    ciphertext, context = sealed_secret(home / "wharf.db")
    [blob] = stored_keys(home / "wharf.db")
    # Whatever 32 bytes of the row an attacker tries, the secret stays sealed.
    for start in range(len(blob) - 31):
        with pytest.raises(Unreadable):
            unseal(blob[start:start + 32], ciphertext, context)
    # With the key file beside it, it opens (so the check above could have failed).
    kek = KeyEncryptionKey.load(home, None)
    key = kek.unwrap(str(acme.id), blob)
    assert unseal(key, ciphertext, Secret.id_for(acme.id, "db").bytes) == VALUE
    assert stat.S_IMODE((home / "master.key").stat().st_mode) == 0o600


def test_keys_stored_raw_are_wrapped_on_start(tmp_path: Path) -> None:
    """A store from before wrapping: its raw keys are wrapped when Wharf next starts, and
    its secrets still open."""
    home = tmp_path / "home"
    settings = settings_for(f"sqlite:///{home / 'wharf.db'}", home)
    wiring = build(settings, clock=DrivenClock())
    acme = make_tenant(wiring)
    wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="db",
                                  value=VALUE))
    raw = wiring.app.keys.get(acme.id)
    assert raw is not None
    wiring.close()
    with sqlite3.connect(home / "wharf.db") as lite:  # as an old Wharf stored it
        lite.execute(f"UPDATE {TABLE} SET key = ? WHERE tenant_id = ?", (raw, str(acme.id)))
    assert stored_keys(home / "wharf.db") == [raw]
    wiring = build(settings, clock=DrivenClock())
    try:
        [blob] = stored_keys(home / "wharf.db")
        assert raw not in blob and blob.startswith(b"W1")
        assert wiring.app.reveal_secret(acme.id, "db") == VALUE
    finally:
        wiring.close()


def test_another_key_encryption_key_refuses_to_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'wharf.db'}"
    wiring = build(settings_for(url, home), clock=DrivenClock())
    make_tenant(wiring)
    wiring.close()
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(KeyStoreError, match="wrapped with key-encryption key"):
        build(Settings.from_env({"WHARF_HOME": str(home), "WHARF_DATABASE_URL": url,
                                 "WHARF_MASTER_KEY": other}))


def test_closing_a_tenant_still_shreds_its_secrets(tmp_path: Path) -> None:
    from wharf.commands.actors import Actor

    home = tmp_path / "home"
    wiring = build(settings_for(f"sqlite:///{home / 'wharf.db'}", home), clock=DrivenClock())
    try:
        acme = make_tenant(wiring)
        wiring.app.handle(m.SetSecret(actor=acme.owner, tenant_id=acme.id, name="db",
                                      value=VALUE))
        wiring.app.handle(m.CloseTenant(actor=Actor.operator("test"), tenant_id=acme.id))
        assert stored_keys(home / "wharf.db") == []
        with pytest.raises(Unreadable):
            wiring.app.reveal_secret(acme.id, "db")
    finally:
        wiring.close()


def test_every_file_wharf_makes_is_its_owners_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "left-by-an-old-wharf.log").write_text("x")
    os.chmod(home / "left-by-an-old-wharf.log", 0o644)
    with running_wharf(f"sqlite:///{home / 'wharf.db'}", home) as wharf:
        assert wharf.token
    found = [home, *home.rglob("*")]
    assert {p.name for p in found} >= {"wharf.db", "master.key", "operator-token",
                                        "left-by-an-old-wharf.log"}
    loose = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in found
             if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert loose == {}

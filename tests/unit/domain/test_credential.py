"""Credentials and invitations: whose a password is, and when a link still works."""

from __future__ import annotations

from uuid import uuid4

import pytest

from wharf.domain.credential import Credential, Invitation
from wharf.domain.errors import Forbidden
from wharf.domain.tenant import Tenant


def invitation(expires_at: str = "2026-11-04T09:00:00+00:00", epoch: int = 2) -> Invitation:
    return Invitation(id=uuid4(), tenant_id=Tenant.id_for("acme"), email="dev@acme.io",
                      code_hash="0" * 64, expires_at=expires_at, member_epoch=epoch,
                      actor="member:owner@acme.io", cause="test")


def test_a_credential_belongs_to_one_tenant_or_to_the_operators() -> None:
    acme, globex = Tenant.id_for("acme"), Tenant.id_for("globex")
    ids = {Credential.id_for(acme, "a@x.io"), Credential.id_for(globex, "a@x.io"),
           Credential.id_for(None, "a@x.io"), Credential.id_for(acme, "b@x.io")}
    assert len(ids) == 4
    assert Credential.id_for(acme, "a@x.io") == Credential.id_for(acme, "a@x.io")


def test_an_invitation_is_accepted_once_before_it_expires() -> None:
    sent = invitation()
    sent.accept("2026-11-03T09:00:00+00:00", member_epoch=2)
    assert sent.accepted
    with pytest.raises(Forbidden, match="used, expired or withdrawn"):
        sent.accept("2026-11-03T09:00:01+00:00", member_epoch=2)
    with pytest.raises(Forbidden):
        invitation().accept("2026-11-04T09:00:00+00:00", member_epoch=2)  # (at expiry)


def test_an_invitation_dies_when_its_member_is_removed_or_added_again() -> None:
    with pytest.raises(Forbidden):
        invitation(epoch=2).accept("2026-11-03T09:00:00+00:00", member_epoch=0)  # removed
    with pytest.raises(Forbidden):
        invitation(epoch=2).accept("2026-11-03T09:00:00+00:00", member_epoch=3)  # again

"""An event whose text no store can hold (written before the command layer refused it)
does not stop the read side: PostgreSQL refused the row, failing every batch again and
again, for every tenant, and `wharf up` could not start."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.helpers import make_tenant
from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import Wiring


def test_a_nul_in_an_events_text_is_stored_as_a_replacement_character(
    wiring: Wiring,
) -> None:
    poisoned = Tenant(id=uuid4(), name="nul", plan_name="free", plan_version=1,
                      owner="a\x00b@x.io", actor="operator:old\x00wharf", cause="test")
    wiring.app.group_commit.save(poisoned)  # saved as an older Wharf let it be
    later = make_tenant(wiring, "later")
    wiring.projector.catch_up()
    assert wiring.projector.position == (wiring.app.recorder.max_notification_id() or 0)
    [member] = wiring.view.query("SELECT email FROM rm_members WHERE tenant_id = ?",
                                 (str(poisoned.id),))
    assert member["email"] == "a\ufffdb@x.io"
    assert wiring.view.query("SELECT name FROM rm_tenants WHERE id = ?",
                             (str(later.id),)) == [{"name": "later"}]

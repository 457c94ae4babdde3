"""Which runtime the log says an installation's workloads run on."""

from __future__ import annotations

import pytest

from wharf.domain.errors import InvalidInput
from wharf.domain.installation import Installation


def installation() -> Installation:
    return Installation(id=Installation.ID, label="abc", actor="operator:o", cause="Seed")


def test_a_switch_is_recorded_once_and_only_to_a_known_runtime() -> None:
    made = installation()
    assert made.runtime == ""  # (never switched: WHARF_RUNTIME decides)
    assert made.switch_runtime("direct", moved=3)  # (from a swarm the setting chose)
    assert not made.switch_runtime("direct", moved=0)
    assert made.switch_runtime("swarm", moved=2) and made.runtime == "swarm"
    with pytest.raises(InvalidInput, match="direct or swarm"):
        made.switch_runtime("kubernetes", moved=0)
    assert [type(e).__name__ for e in made.collect_events()] == [
        "Created", "RuntimeSwitched", "RuntimeSwitched"]

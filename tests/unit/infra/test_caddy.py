"""Wharf's Caddy, where no Caddy is: a clear error the CLI prints, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.infra.caddy import Caddy


def test_a_missing_caddy_says_how_to_get_one_or_turn_the_ingress_off(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="apt-get install caddy; or set WHARF_INGRESS=off"):
        Caddy(tmp_path, binary="no-such-caddy-here")

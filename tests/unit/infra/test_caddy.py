"""Wharf's Caddy, where no Caddy is: a clear error the CLI prints, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.infra.caddy import Caddy, _running


def test_a_missing_caddy_says_how_to_get_one_or_turn_the_ingress_off(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="apt-get install caddy; or set WHARF_INGRESS=off"):
        Caddy(tmp_path, binary="no-such-caddy-here")


def test_a_caddy_dies_with_the_wharf_that_started_it_even_by_sigkill(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import sys, time; from pathlib import Path; from wharf.infra.caddy import "
              "Caddy; c = Caddy(Path(sys.argv[1])); c.start(); "
              "print(c._process.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])})
    assert parent.stdout is not None
    caddy = int(parent.stdout.readline())
    assert _running(caddy)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while _running(caddy):
        assert time.monotonic() < deadline, "Caddy outlived the Wharf that started it"
        time.sleep(0.05)


def test_a_caddy_left_running_is_stopped_by_the_next_one(tmp_path: Path) -> None:
    first = Caddy(tmp_path)
    first.start()
    process = first._process
    assert process is not None
    first._process = None  # (as if its Wharf had died without a word)
    second = Caddy(tmp_path)
    try:
        second.start()
        assert process.wait(5) is not None  # stopped by the second
        assert second.applied() == {}
    finally:
        second.close()

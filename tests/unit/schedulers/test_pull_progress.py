"""A pull's progress shows on its container once it takes a while, and not on every
line of the engine's stream."""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest

from wharf.commands import messages as m
from wharf.schedulers import containers
from wharf.schedulers.containers import ContainersController


class SlowPull:
    """An engine whose pull reports 20 steps, 0.1 s apart."""

    def pull(self, image: str, token: str, progress: Any) -> None:
        for step in range(1, 21):
            containers.time.sleep(0.1)
            progress(step * 100_000, 2_000_000)


def test_a_long_pull_is_shown_on_its_container_a_few_times(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containers, "PULL_QUIET", 0.5)
    monkeypatch.setattr(containers, "PULL_SHOWN", 0.5)
    recorded: list[tuple[type, dict[str, Any]]] = []
    want = types.SimpleNamespace(id=str(uuid.uuid4()))
    controller = ContainersController.__new__(ContainersController)
    began = containers.time.monotonic()
    controller._pull(SlowPull(), want, "127.0.0.1:5000/acme/web:1", "token",  # type: ignore[arg-type]
                     lambda kind, **fields: recorded.append((kind, fields)))
    took = containers.time.monotonic() - began
    assert all(kind is m.RecordPull for kind, _ in recorded)
    shown = [fields["progress"] for _, fields in recorded]
    # Quiet for the first half second, then at most every half second: a few of 20.
    assert 1 <= len(shown) <= took / 0.5 + 1 and len(shown) < 20, (shown, took)
    assert shown[0].startswith("127.0.0.1:5000/acme/web:1: 0.") and shown[0].endswith(
        "of 2.0 MB")


def test_a_quick_pull_shows_nothing() -> None:
    recorded: list[Any] = []

    class Quick:
        def pull(self, image: str, token: str, progress: Any) -> None:
            progress(1, 2)

    controller = ContainersController.__new__(ContainersController)
    controller._pull(Quick(), types.SimpleNamespace(id="x"), "i", "t",  # type: ignore[arg-type]
                     lambda kind, **fields: recorded.append(kind))
    assert recorded == []

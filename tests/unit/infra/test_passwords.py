"""The password queue: a flood of anonymous checks is turned away at once past a bound,
while a caller known to be good still waits its turn, up to a bound of its own."""

from __future__ import annotations

import threading

import pytest

from tests.integration.helpers import wait_for
from wharf.infra import passwords
from wharf.infra.passwords import KNOWN, SLOTS, WAITING, Busy, _Queue


def test_past_the_bound_strangers_are_turned_away_and_known_callers_wait() -> None:
    queue = _Queue()
    release = threading.Event()
    started = threading.Semaphore(0)

    def held() -> str:
        started.release()
        release.wait(10)
        return "done"

    results: list[str] = []
    workers = [threading.Thread(target=lambda: results.append(queue.run(held, False)))
               for _ in range(SLOTS + WAITING)]
    for worker in workers:
        worker.start()
    for _ in range(SLOTS):
        assert started.acquire(timeout=10)  # (the slots are taken; the rest wait)
    with pytest.raises(Busy):
        queue.run(lambda: "stranger", False)
    known = [threading.Thread(target=lambda: results.append(queue.run(lambda: "known", True)))
             for _ in range(KNOWN)]
    for worker in known:
        worker.start()
    wait_for("each known caller queued", lambda: queue.waiting == SLOTS + WAITING + KNOWN, 10)
    with pytest.raises(Busy):  # (bounded for them too: "known" is easy to become)
        queue.run(lambda: "one too many", True)
    release.set()
    for worker in [*workers, *known]:
        worker.join(10)
    assert sorted(results) == ["done"] * (SLOTS + WAITING) + ["known"] * KNOWN
    assert queue.run(lambda: "later", False) == "later"  # (the queue drained)


def test_passwords_are_checked_as_argon2id() -> None:
    import anyio

    hashed = anyio.run(passwords.hash_password, "correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert anyio.run(passwords.verify, hashed, "correct horse battery")
    assert not anyio.run(passwords.verify, hashed, "wrong horse battery")
    assert not anyio.run(passwords.verify, None, "correct horse battery")
    assert not anyio.run(passwords.verify, "", "correct horse battery")
    assert not anyio.run(passwords.verify, hashed, "\ud800 surrogate")

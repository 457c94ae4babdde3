"""The log collector against a fake engine that keeps a bounded log, as Docker does:
every line the engine holds when it is read is kept or counted, a follower resumes
without repeats, and lines the engine discarded unread are marked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from wharf.domain.loglines import LogLine, engine_discarded
from wharf.infra.logstore import LogStore
from wharf.schedulers.logs import LogCollector, copy_newer


def stamp(n: int) -> str:
    return f"2026-11-26T10:{n // 60_000_000:02d}:{n // 1_000_000 % 60:02d}.{n % 1_000_000:06d}Z"


class Engine:
    """A container's log as an engine keeps it: at most `holds` lines, the oldest going
    first; `watch_logs` wakes on each print and ends when the container stops."""

    def __init__(self, holds: int = 10**9) -> None:
        self.holds = holds
        self.lines: list[str] = []
        self.printed = 0
        self.stopped = False
        self.changed = threading.Condition()
        self.reads = 0

    def print(self, count: int) -> None:
        with self.changed:
            self.lines += [f"{stamp(n)} line {n}"
                           for n in range(self.printed, self.printed + count)]
            self.printed += count
            del self.lines[:-self.holds]
            self.changed.notify_all()

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()

    def tail_logs(self, container_id: str, count: int | None) -> Iterator[str]:
        with self.changed:
            self.reads += 1
            held = list(self.lines if count is None else self.lines[-count:])
        yield from held

    def watch_logs(self, container_id: str, from_start: bool = False
                   ) -> Generator[None, None, None]:
        with self.changed:
            seen = 0 if from_start else self.printed
        while True:
            with self.changed:
                while self.printed == seen and not self.stopped:
                    self.changed.wait(5)
                if self.stopped:
                    return
                seen = self.printed
            yield None


def wait_until(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def texts(store: LogStore) -> list[str]:
    return [line.text for line in store.read("c", tail=10**7)]


def test_a_burst_is_kept_or_counted_line_for_line(tmp_path: Path) -> None:
    store = LogStore(tmp_path, file_bytes=200_000, files=3)
    engine = Engine()
    collector = LogCollector(store)
    collector.follow("c", engine)
    engine.print(60_000)
    wait_until("the burst", lambda: store.read("c", tail=1)[-1:] != [] and
               store.read("c", tail=1)[-1].text == "line 59999")
    engine.stop()
    wait_until("the follower to end", lambda: collector.following() == 0)
    marker, *kept = texts(store)
    dropped = int(marker.split()[1])
    assert dropped + len(kept) == 60_000
    assert kept == [f"line {n}" for n in range(dropped, 60_000)]


def test_a_quiet_container_is_not_read_until_it_prints(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    engine = Engine()
    collector = LogCollector(store)
    collector.follow("c", engine)
    engine.print(3)
    wait_until("three lines", lambda: len(texts(store)) == 3)
    wait_until("the follower to wait", lambda: engine.reads > 0 and _settled(engine))
    reads = engine.reads
    time.sleep(0.3)  # (a span in which a polling follower would have read again)
    assert engine.reads == reads
    engine.print(2)  # wakes it
    wait_until("five lines", lambda: len(texts(store)) == 5)
    engine.stop()
    wait_until("the follower to end", lambda: collector.following() == 0)
    assert texts(store) == [f"line {n}" for n in range(5)]


def _settled(engine: Engine) -> bool:
    before = engine.reads
    time.sleep(0.12)  # longer than two polls
    return engine.reads == before


def test_a_resumed_follower_repeats_nothing(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    engine = Engine()
    engine.print(100)
    first = LogCollector(store)
    first.follow("c", engine)
    wait_until("the first hundred", lambda: len(texts(store)) == 100)
    engine.print(50)
    engine.stop()
    wait_until("the follower to end", lambda: first.following() == 0)
    engine.stopped = False  # a new scheduler follows the container again
    engine.print(50)
    second = LogCollector(store)
    second.follow("c", engine)
    wait_until("all two hundred", lambda: len(texts(store)) == 200)
    engine.stop()
    assert texts(store) == [f"line {n}" for n in range(200)]


def newer_lines(engine: Engine, after: str) -> list[LogLine]:
    copied: list[LogLine] = []
    copy_newer(engine, "c", after, copied.extend)
    return copied


def test_lines_the_engine_discarded_unread_are_marked() -> None:
    engine = Engine(holds=1000)
    engine.print(10)
    kept = newer_lines(engine, "")
    engine.print(5000)  # more than it holds: lines 10 to 4009 are gone
    found = newer_lines(engine, kept[-1].time)
    assert found[0] == engine_discarded(stamp(4010).replace("Z", "000Z"))
    assert [line.text for line in found[1:]] == [f"line {n}" for n in range(4010, 5010)]


def test_a_read_asks_for_more_until_it_reaches_what_is_kept() -> None:
    engine = Engine()
    engine.print(5)
    after = newer_lines(engine, "")[-1].time
    engine.print(50_000)
    reads = engine.reads
    found = newer_lines(engine, after)
    assert [line.text for line in found] == [f"line {n}" for n in range(5, 50_005)]
    # 1,000, 4,000, 16,000 and 64,000 asked for, each short read checked against the
    # engine's oldest line (a read of all, abandoned at its first line)
    assert engine.reads - reads == 7


def test_a_first_read_takes_all_the_engine_holds_in_one_stream() -> None:
    engine = Engine()
    engine.print(30_000)
    found = newer_lines(engine, "")
    assert len(found) == 30_000 and engine.reads == 1

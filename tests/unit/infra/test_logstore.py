"""The log store: rotation, tails, `since`, and resuming without repeats."""

from __future__ import annotations

from pathlib import Path

from wharf.infra.logstore import LogLine, LogStore, normal_time


def stamp(n: int) -> str:
    return f"2026-11-26T10:00:{n // 1000:02d}.{n % 1000:03d}Z"


def test_rotation_keeps_the_newest_lines_in_at_most_n_files(tmp_path: Path) -> None:
    store = LogStore(tmp_path, file_bytes=2000, files=3)
    for n in range(0, 3000, 10):
        store.append("c", [LogLine(normal_time(stamp(n + i)), f"line {n + i}")
                           for i in range(10)])
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert files == ["0.log", "1.log", "2.log"]
    lines = store.read("c", tail=10_000)
    assert lines[-1].text == "line 2999"
    assert lines[0].text != "line 0"  # the oldest went with the oldest file
    assert [int(line.text.split()[1]) for line in lines] == \
        list(range(int(lines[0].text.split()[1]), 3000))


def test_tail_and_since(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    store.append_raw("c", [f"{stamp(n)} line {n}" for n in range(5)])
    assert [line.text for line in store.read("c", tail=2)] == ["line 3", "line 4"]
    assert [line.text for line in store.read("c", since=stamp(2))] == ["line 3", "line 4"]
    assert store.read("nothing") == []


def test_a_resumed_follower_repeats_nothing(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    store.append_raw("c", [f"{stamp(n)} line {n}" for n in range(5)])
    # The engine's `since` counts whole seconds: a resumed stream starts before the cursor.
    store.append_raw("c", [f"{stamp(n)} line {n}" for n in range(3, 8)])
    assert [line.text for line in store.read("c")] == [f"line {n}" for n in range(8)]


def test_docker_times_compare_as_strings_once_normalised() -> None:
    short, long = normal_time("2026-11-26T10:00:05.1Z"), normal_time("2026-11-26T10:00:05.123Z")
    assert short < long
    assert normal_time("2026-11-26T10:00:05Z") == "2026-11-26T10:00:05.000000000Z"

"""The log store: rotation, tails, `since`, and resuming without repeats."""

from __future__ import annotations

from pathlib import Path

from wharf.domain.loglines import LogLine, normal_time
from wharf.infra.logstore import LogStore


def stamp(n: int) -> str:
    return f"2026-11-26T10:00:{n // 1000:02d}.{n % 1000:03d}Z"


def test_rotation_keeps_the_newest_lines_in_at_most_n_files(tmp_path: Path) -> None:
    store = LogStore(tmp_path, file_bytes=2000, files=3)
    for n in range(0, 3000, 10):
        store.append("c", [LogLine(normal_time(stamp(n + i)), f"line {n + i}")
                           for i in range(10)])
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert files == ["0.log", "1.log", "2.log", "dropped"]
    marker, *lines = store.read("c", tail=10_000)
    assert lines[-1].text == "line 2999"
    first = int(lines[0].text.split()[1])
    assert first > 0  # the oldest went with the oldest file...
    assert [int(line.text.split()[1]) for line in lines] == list(range(first, 3000))
    # ...and were counted, exactly: the marker comes first, at the oldest kept line's time
    assert marker.text == (f"[wharf] {first} earlier lines were dropped: over the log size "
                           "limit, the newest lines are kept")
    assert marker.time == lines[0].time
    assert store.read("c", tail=5) == lines[-5:]  # a short tail has no marker
    assert store.read("c", since=stamp(0))[0] == marker  # nor does a reader since the start
    assert store.read("c", since=lines[0].time)[0] == lines[1]  # who saw the oldest kept


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


def test_a_writer_holds_its_file_open_and_rotates_under_it(tmp_path: Path) -> None:
    store = LogStore(tmp_path, file_bytes=1000, files=2)
    with store.writer("c") as writer:
        for n in range(200):
            writer.write([LogLine(normal_time(stamp(n)), f"line {n}")])
            assert store.read("c", tail=1)[0].text == f"line {n}"  # readable at once
    marker, *kept = store.read("c", tail=1000)
    assert int(marker.text.split()[1]) + len(kept) == 200


def test_a_purged_containers_writer_starts_a_new_file(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    with store.writer("c") as writer:
        writer.write([LogLine(normal_time(stamp(1)), "before")])
        store.purge("c")
        writer.write([LogLine(normal_time(stamp(2)), "after")])
    assert [line.text for line in store.read("c")] == ["after"]


def test_times_with_other_offsets_are_moved_to_utc() -> None:
    assert normal_time("2026-11-26T18:00:05.5+08:00") == "2026-11-26T10:00:05.500000000Z"
    assert normal_time("2026-11-26T10:00:05") == "2026-11-26T10:00:05.000000000Z"


def test_a_line_is_what_ends_with_a_newline_whatever_else_it_holds(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    texts = ["end\rzzz", "x\x0by\x0cz", "p\u2028q", "tab\tand\x1bescape"]
    store.append("c", [LogLine(normal_time(stamp(n)), t) for n, t in enumerate(texts)])
    assert [line.text for line in store.read("c")] == texts
    assert store.cursor("c") == normal_time(stamp(3))


def test_a_follower_behind_the_size_limit_learns_exactly_what_it_missed(
    tmp_path: Path,
) -> None:
    store = LogStore(tmp_path, file_bytes=2000, files=2)
    numbered = [LogLine(normal_time(stamp(n)), f"line {n}") for n in range(1, 1001)]
    store.append("c", numbered[:10])
    first, seen = store.lines_after("c", "", 5)
    assert first == 1 and [line.text for line in seen] == [f"line {n}" for n in range(1, 6)]
    store.append("c", numbered[10:])  # the follower is slow: most of it is rotated out
    first, more = store.lines_after("c", seen[-1].time, 1000)
    oldest_kept = int(more[0].text.split()[1])
    assert first == oldest_kept  # the index of line n is n
    missed = first - 6
    assert missed == oldest_kept - 6 and missed > 0
    assert [int(line.text.split()[1]) for line in more] == list(range(oldest_kept, 1001))


def test_the_engines_gaps_rotated_out_are_still_said(tmp_path: Path) -> None:
    from wharf.domain.loglines import engine_discarded

    store = LogStore(tmp_path, file_bytes=500, files=2)
    store.append("c", [engine_discarded(normal_time(stamp(0)))])
    store.append("c", [LogLine(normal_time(stamp(n)), f"line {n}") for n in range(1, 200)])
    marker = store.read("c", tail=1000)[0]
    assert "earlier lines were dropped" in marker.text
    assert "the engine had discarded lines before Wharf could read them (not counted)" in (
        marker.text)

"""Progress lines: rewritten in place on a terminal, whole lines in a file or a pipe."""

from __future__ import annotations

import io

from wharf.infra.cli.output import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_into_a_pipe_is_whole_lines() -> None:
    out = io.StringIO()
    progress = Progress("catching up read models", stream=out)
    progress.every = 0  # (every call prints)
    progress(7)
    progress(1466, total=2000)
    progress.done(2000)
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and "\r" not in out.getvalue()
    assert lines[0].startswith("catching up read models: 7 (")
    assert lines[1].startswith("catching up read models: 1466/2000 (")
    assert lines[2].startswith("catching up read models: 2000 in ")
    assert len(lines) == 4


def test_progress_on_a_terminal_rewrites_one_line_and_ends_it() -> None:
    out = Terminal()
    progress = Progress("replaying", stream=out)
    progress.every = 0
    progress(5)
    progress(10)
    progress.done(10)
    text = out.getvalue()
    assert text.startswith("\rreplaying: 5 (") and "\rreplaying: 10 (" in text
    assert text.count("\n") == 1 and text.endswith("s\n")
    assert "\r\033[Kreplaying: 10 in " in text

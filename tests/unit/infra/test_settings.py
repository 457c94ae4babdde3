"""Settings: read from the environment, each bad value refused by name, every one in
`wharf --help`."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from wharf.infra.cli import main
from wharf.infra.settings import Settings


def test_wharf_help_lists_every_setting_with_its_default() -> None:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(out.getvalue().split())  # argparse wraps lines
    variables = [f.metadata["env"] for f in dataclasses.fields(Settings)]
    assert len(variables) == 22
    for variable in variables:
        assert variable in text
    assert "WHARF_DISK_EVERY seconds between measurements of disk use (default 60)" in text
    assert "WHARF_PLACEMENT spread or binpack (default spread)" in text


@pytest.mark.parametrize(("env", "message"), [
    ({"WHARF_HOST_GRACE": "soon"}, "WHARF_HOST_GRACE='soon': must be a number of 0 or more"),
    ({"WHARF_HOST_GRACE": "-5"}, "WHARF_HOST_GRACE='-5': must be a number of 0 or more"),
    ({"WHARF_METRICS_EVERY": "nan"}, "WHARF_METRICS_EVERY='nan': must be a number of 0 or more"),
    ({"WHARF_DB_POOL": "2.5"}, "WHARF_DB_POOL='2.5': must be a whole number of 0 or more"),
    ({"WHARF_DEV": "maybe"}, "WHARF_DEV='maybe': must be on or off (1/0, true/false, yes/no)"),
    ({"WHARF_PLACEMENT": "random"}, "WHARF_PLACEMENT='random': must be spread or binpack"),
])
def test_a_bad_value_is_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message


def test_values_are_parsed_and_defaults_filled_in() -> None:
    settings = Settings.from_env({"WHARF_HOME": "/srv/wharf", "WHARF_DEV": "yes",
                                  "WHARF_DOCKER_HOSTS": "unix:///a.sock, tcp://127.0.0.1:2375",
                                  "WHARF_DB_POOL": "4", "WHARF_PLACEMENT": "binpack",
                                  "WHARF_MASTER_KEY": "c2VjcmV0", "WHARF_TOKEN": "wharf_x"})
    assert settings.dev is True and settings.db_pool == 4 and settings.placement == "binpack"
    assert settings.docker_hosts == ("unix:///a.sock", "tcp://127.0.0.1:2375")
    assert settings.database_url == "sqlite:////srv/wharf/wharf.db"
    assert settings.url == "http://127.0.0.1:8080"
    assert "c2VjcmV0" not in repr(settings) and "wharf_x" not in repr(settings)


def test_the_command_line_prints_the_error_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WHARF_SCHEDULER_INTERVAL", "fast")
    assert main(["events"]) == 1
    assert capsys.readouterr().err == (
        "error: WHARF_SCHEDULER_INTERVAL='fast': must be a number of 0 or more\n")


def test_the_readme_lists_every_setting() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    for variable, text in Settings.described():
        assert f"| `{variable}` | {text} |" in readme, variable

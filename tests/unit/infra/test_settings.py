"""Settings: read from the environment, each bad value refused by name, every one in
`wharf --help`."""

from __future__ import annotations

import dataclasses
import io
import re
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
    assert len(variables) == 35
    for variable in variables:
        assert variable in text
    assert "WHARF_DISK_EVERY seconds between measurements of disk use (default 60)" in text
    assert "WHARF_PLACEMENT spread or binpack (default spread)" in text


BROKERS = ("must be HOST:PORT[,HOST:PORT...], a host name or address and a port from 1 to "
           "65535 (an IPv6 address in brackets)")


@pytest.mark.parametrize(("env", "message"), [
    ({"WHARF_HOST_GRACE": "soon"}, "WHARF_HOST_GRACE='soon': must be a number from 1 to 86400"),
    ({"WHARF_KAFKA_BOOTSTRAP": ":9092"},
     "WHARF_KAFKA_BOOTSTRAP=':9092': " + BROKERS),
    ({"WHARF_KAFKA_BOOTSTRAP": "a b:9092"},
     "WHARF_KAFKA_BOOTSTRAP='a b:9092': " + BROKERS),
    ({"WHARF_KAFKA_BOOTSTRAP": "::1:9092"},
     "WHARF_KAFKA_BOOTSTRAP='::1:9092': " + BROKERS),
    ({"WHARF_KAFKA_BOOTSTRAP": "127.0.0.1:0"},
     "WHARF_KAFKA_BOOTSTRAP='127.0.0.1:0': " + BROKERS),
    ({"WHARF_HOST_GRACE": "-5"}, "WHARF_HOST_GRACE='-5': must be a number from 1 to 86400"),
    ({"WHARF_HOST_GRACE": "1e300"},
     "WHARF_HOST_GRACE='1e300': must be a number from 1 to 86400"),
    ({"WHARF_SCHEDULER_INTERVAL": "0"},  # a pass after a pass, for ever: a core busy
     "WHARF_SCHEDULER_INTERVAL='0': must be a number from 0.1 to 3600"),
    ({"WHARF_SCHEDULER_INTERVAL": "1e10"},  # the scheduler's wait overflowed and it died
     "WHARF_SCHEDULER_INTERVAL='1e10': must be a number from 0.1 to 3600"),
    ({"WHARF_METRICS_EVERY": "nan"},
     "WHARF_METRICS_EVERY='nan': must be a number from 1 to 86400"),
    ({"WHARF_DB_POOL": "2.5"}, "WHARF_DB_POOL='2.5': must be a whole number from 2 to 1000"),
    ({"WHARF_RATE_LIMIT": "-1"}, "WHARF_RATE_LIMIT='-1': must be a number from 0 to 1000000"),
    ({"WHARF_DEV": "maybe"}, "WHARF_DEV='maybe': must be on or off (1/0, true/false, yes/no)"),
    ({"WHARF_PLACEMENT": "random"}, "WHARF_PLACEMENT='random': must be spread or binpack"),
    ({"WHARF_LISTEN": "garbage"},
     "WHARF_LISTEN='garbage': must be HOST:PORT, with a port from 0 to 65535"),
    ({"WHARF_LISTEN": "127.0.0.1:99999"},
     "WHARF_LISTEN='127.0.0.1:99999': must be HOST:PORT, with a port from 0 to 65535"),
    ({"WHARF_TRUSTED_PROXIES": "127.0.0.1, 300.1.1.1"},
     "WHARF_TRUSTED_PROXIES='127.0.0.1, 300.1.1.1': must be addresses or networks "
     "(such as 10.0.0.1 or 10.0.0.0/8); '300.1.1.1' is neither"),
    ({"WHARF_DOCKER_HOSTS": "unix:///a.sock,garbage"},
     "WHARF_DOCKER_HOSTS='unix:///a.sock,garbage': must be engine endpoints such as "
     "unix:///var/run/docker.sock or tcp://127.0.0.1:2375; 'garbage' is not one"),
    ({"WHARF_DATABASE_URL": "mysql://x"},
     "WHARF_DATABASE_URL='mysql://x': must be sqlite:///FILE or "
     "postgresql://USER@HOST:PORT/DB"),
])
def test_a_bad_value_is_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message


def test_values_are_parsed_and_defaults_filled_in() -> None:
    settings = Settings.from_env({"WHARF_HOME": "/srv/wharf", "WHARF_DEV": "yes",
                                  "WHARF_TRUSTED_PROXIES": "10.0.0.1,192.168.0.0/16",
                                  "WHARF_DOCKER_HOSTS": "unix:///a.sock, tcp://127.0.0.1:2375",
                                  "WHARF_DB_POOL": "4", "WHARF_PLACEMENT": "binpack",
                                  "WHARF_MASTER_KEY": "c2VjcmV0", "WHARF_TOKEN": "wharf_x"})
    assert settings.dev is True and settings.db_pool == 4 and settings.placement == "binpack"
    assert settings.docker_hosts == ("unix:///a.sock", "tcp://127.0.0.1:2375")
    assert settings.database_url == "sqlite:////srv/wharf/wharf.db"
    assert settings.url == "http://127.0.0.1:8080"
    assert settings.trusted_proxies == ("10.0.0.1", "192.168.0.0/16")
    assert "c2VjcmV0" not in repr(settings) and "wharf_x" not in repr(settings)


def test_the_command_line_prints_the_error_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WHARF_SCHEDULER_INTERVAL", "fast")
    assert main(["events"]) == 1
    assert capsys.readouterr().err == (
        "error: WHARF_SCHEDULER_INTERVAL='fast': must be a number from 0.1 to 3600\n")


def test_the_readme_lists_every_setting() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    for variable, text in Settings.described():
        assert f"| `{variable}` | {text} |" in readme, variable


def test_caddys_admin_api_stays_on_loopback() -> None:
    with pytest.raises(ValueError, match=re.escape("WHARF_CADDY_ADMIN='0.0.0.0:2019'")):
        Settings.from_env({"WHARF_CADDY_ADMIN": "0.0.0.0:2019"})
    assert Settings.from_env({"WHARF_CADDY_ADMIN": "127.0.0.1:2019"}).caddy_admin == \
        "127.0.0.1:2019"

"""The operator CLI, run as a real process against real stores."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher

from tests.conftest import pg_database
from tests.integration.helpers import ROOT, wharf
from wharf.domain.credential import Credential
from wharf.domain.tenant import Tenant
from wharf.infra.bootstrap import build
from wharf.infra.settings import Settings


def mixed_workload(url: str, home: Path) -> str:
    """Tenants, members, containers, volumes, secrets, hosts, a rejection, a suspension."""
    script = """
import sys
from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.domain.errors import QuotaExceeded
from wharf.infra.bootstrap import build
from wharf.infra.settings import Settings

w = build(Settings.from_env())
op = Actor.operator("ops")
w.app.handle(m.RegisterHost(actor=op, endpoint="unix:///var/run/docker.sock", name="local",
                            cpu_millis=2000, memory_mib=8192))
for t in range(5):
    o = w.app.handle(m.CreateTenant(actor=op, name=f"tenant-{t}", plan="s",
                                    owner=f"owner@t{t}.io"))
    owner = w.app.authenticate(o.token)
    w.app.handle(m.AddMember(actor=owner, tenant_id=o.id, email=f"dev@t{t}.io",
                             role="developer"))
    v = w.app.handle(m.CreateVolume(actor=owner, tenant_id=o.id, name="data", size_gib=2))
    w.app.handle(m.ResizeVolume(actor=owner, volume_id=v.id, size_gib=3))
    w.app.handle(m.SetSecret(actor=owner, tenant_id=o.id, name="token", value="hush"))
    ids = []
    for c in range(5):
        ids.append(w.app.handle(m.CreateContainer(
            actor=owner, tenant_id=o.id, name=f"c{c}",
            spec={"image": "busybox", "cpu_millis": 150, "memory_mib": 100,
                  "volumes": [{"volume": "data", "path": "/data"}] if c == 0 else []})).id)
    try:
        w.app.handle(m.CreateContainer(actor=owner, tenant_id=o.id, name="huge",
                                       spec={"image": "busybox", "cpu_millis": 5000}))
    except QuotaExceeded:
        pass
    w.app.handle(m.StopContainer(actor=owner, container_id=ids[1]))
    w.app.handle(m.DeleteContainer(actor=owner, container_id=ids[2]))
    if t == 0:
        w.app.handle(m.SuspendTenant(actor=op, tenant_id=o.id))
print(w.app.recorder.max_notification_id())
"""
    env = {**os.environ, "WHARF_DATABASE_URL": url, "WHARF_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_help_explains_every_command(sqlite_url: str, tmp_path: Path) -> None:
    out = wharf(sqlite_url, tmp_path, "--help").stdout
    for command in ("up", "projector", "plan", "tenant", "host", "events", "history",
                    "replay", "store"):
        assert re.search(rf"^\s+{command}\s+\w", out, re.M), command
    assert "replay" in wharf(sqlite_url, tmp_path, "replay", "--help").stdout


def test_tenant_create_prints_a_working_token_and_history_shows_actor_and_cause(
    sqlite_url: str, tmp_path: Path
) -> None:
    out = wharf(sqlite_url, tmp_path, "--as", "alice", "tenant", "create", "acme",
                "--plan", "free", "--owner", "o@acme.io").stdout
    token = re.search(r"owner token \(shown once\): (\S+)", out)
    tenant_id = re.search(r"id ([0-9a-f-]{36})", out)
    assert token and tenant_id
    wharf(sqlite_url, tmp_path, "--as", "alice", "tenant", "suspend", "acme")
    history = wharf(sqlite_url, tmp_path, "history", tenant_id.group(1)).stdout
    lines = history.splitlines()
    assert "Tenant.Registered" in lines[1] and "operator:alice" in lines[1]
    assert "CreateTenant" in lines[1]
    assert "Tenant.Suspended" in lines[2] and "SuspendTenant" in lines[2]
    listing = wharf(sqlite_url, tmp_path, "tenant", "list").stdout
    assert re.search(r"acme\s+\S+\s+free\s+suspended", listing)


def test_bad_input_exits_non_zero_with_a_clear_message(sqlite_url: str, tmp_path: Path) -> None:
    done = wharf(sqlite_url, tmp_path, "tenant", "create", "acme", "--owner", "not-an-email",
                 ok=False)
    assert done.returncode == 1
    assert "error: owner: not an e-mail address" in done.stderr
    done = wharf(sqlite_url, tmp_path, "tenant", "create", "acme", "--plan", "gold",
                 "--owner", "a@b.io", ok=False)
    assert "plan gold not found" in done.stderr


def test_password_sets_a_members_and_an_operators_dashboard_password(
    sqlite_url: str, tmp_path: Path
) -> None:
    wharf(sqlite_url, tmp_path, "tenant", "create", "acme", "--owner", "o@acme.io")
    done = wharf(sqlite_url, tmp_path, "password", "O@acme.io", "--tenant", "acme",
                 stdin="a long enough password\n")
    assert "o@acme.io signs in to the dashboard as tenant acme" in done.stdout
    wharf(sqlite_url, tmp_path, "password", "ops@wharf.io", stdin="another long one\n")
    done = wharf(sqlite_url, tmp_path, "password", "x@acme.io", "--tenant", "acme",
                 stdin="a long enough password\n", ok=False)
    assert done.returncode == 1 and "member x@acme.io not found" in done.stderr
    done = wharf(sqlite_url, tmp_path, "password", "o@acme.io", "--tenant", "acme",
                 stdin="short\n", ok=False)
    assert "error: password: 10 to 128 characters" in done.stderr
    with build(Settings.from_env({"WHARF_DATABASE_URL": sqlite_url,
                                  "WHARF_HOME": str(tmp_path)})) as wiring:
        member: Any = wiring.app.repository.get(
            Credential.id_for(Tenant.id_for("acme"), "o@acme.io"))
        operator: Any = wiring.app.repository.get(Credential.id_for(None, "ops@wharf.io"))
    assert PasswordHasher().verify(member.password_hash, "a long enough password")
    assert PasswordHasher().verify(operator.password_hash, "another long one")
    history = wharf(sqlite_url, tmp_path, "events", "--tenant", "acme").stdout
    assert "password set for o@acme.io" in history and "argon2" not in history
    done = wharf(sqlite_url, tmp_path, "password", "ops@wharf.io", "--remove")
    assert "ops@wharf.io can no longer sign in as an operator" in done.stdout
    done = wharf(sqlite_url, tmp_path, "password", "nobody@wharf.io", "--remove", ok=False)
    assert "password of nobody@wharf.io not found" in done.stderr
    with build(Settings.from_env({"WHARF_DATABASE_URL": sqlite_url,
                                  "WHARF_HOME": str(tmp_path)})) as wiring:
        removed: Any = wiring.app.repository.get(Credential.id_for(None, "ops@wharf.io"))
    assert removed.password_hash == ""


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_replay_verify_passes_then_fails_after_a_row_is_changed(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (f"sqlite:///{tmp_path / 'wharf.db'}" if kind == "sqlite"
           else request.getfixturevalue("pg_url"))
    mixed_workload(url, tmp_path)
    wharf(url, tmp_path, "projector", "--once")
    ok = wharf(url, tmp_path, "replay", "--verify")
    assert "every read model equals a fold of the log" in ok.stdout
    assert re.search(r"rm_containers\s+25\s+25\s+[0-9a-f]{16}\s+same", ok.stdout)

    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(tmp_path / "wharf.db") as db:
            db.execute("UPDATE rm_containers SET desired = 'running' WHERE desired = 'stopped'")
    else:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE rm_containers SET desired = 'running' "
                         "WHERE desired = 'stopped'")
    bad = wharf(url, tmp_path, "replay", "--verify", ok=False)
    assert bad.returncode == 1
    assert re.search(r"rm_containers\s+25\s+25\s+[0-9a-f]{16}\s+DIFFERENT", bad.stdout)
    assert "1 table(s) differ" in bad.stdout


def test_replay_until_a_position_rebuilds_the_past(sqlite_url: str, tmp_path: Path) -> None:
    wharf(sqlite_url, tmp_path, "tenant", "create", "early", "--owner", "a@early.io")
    head = wharf(sqlite_url, tmp_path, "events").stdout.splitlines()[-1].split()[0]
    wharf(sqlite_url, tmp_path, "tenant", "create", "late", "--owner", "a@late.io")
    target = tmp_path / "past.db"
    out = wharf(sqlite_url, tmp_path, "replay", "--until", head, "--into",
                f"sqlite:///{target}").stdout
    assert f"as of position {head}" in out
    import sqlite3

    with sqlite3.connect(target) as db:
        names = [r[0] for r in db.execute("SELECT name FROM rm_tenants")]
    assert names == ["early"]
    again = wharf(sqlite_url, tmp_path, "replay", "--until", head, "--into",
                  f"sqlite:///{target}", ok=False)
    assert again.returncode == 1 and "already holds read models" in again.stderr


def test_replay_until_a_time(sqlite_url: str, tmp_path: Path) -> None:
    import sqlite3

    from wharf.commands.ports import MemoryDataKeys
    from wharf.infra.bootstrap import open_app

    wharf(sqlite_url, tmp_path, "tenant", "create", "early", "--owner", "a@early.io")
    app = open_app(sqlite_url, keys=MemoryDataKeys())
    last = app.recorder.select_notifications(app.recorder.max_notification_id(), 1)[0]
    boundary = app.mapper.to_domain_event(last).timestamp.isoformat()
    app.close()
    wharf(sqlite_url, tmp_path, "tenant", "create", "late", "--owner", "a@late.io")
    target = tmp_path / "then.db"
    wharf(sqlite_url, tmp_path, "replay", "--until", boundary, "--into", f"sqlite:///{target}")
    with sqlite3.connect(target) as db:
        assert [r[0] for r in db.execute("SELECT name FROM rm_tenants")] == ["early"]


def test_store_copy_from_sqlite_to_postgres_then_verify_the_copy(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'wharf.db'}"
    head = mixed_workload(source, tmp_path)
    secret_before = subprocess.run(
        [sys.executable, "-c",
         "from wharf.infra.bootstrap import open_app; from wharf.domain.tenant import Tenant;"
         f"print(open_app('{source}').reveal_secret(Tenant.id_for('tenant-1'), 'token'))"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "WHARF_HOME": str(tmp_path)},
        capture_output=True, text=True)
    assert secret_before.stdout.strip() == "hush"
    with pg_database() as target:
        out = wharf(source, tmp_path, "store", "copy", "--to", target)
        assert f"copied {head} events" in out.stdout
        wharf(target, tmp_path, "projector", "--once")
        verified = wharf(target, tmp_path, "replay", "--verify")
        assert "every read model equals a fold of the log" in verified.stdout
        with psycopg.connect(target) as conn:
            count = conn.execute("SELECT count(*) FROM rm_containers").fetchone()
        assert count == (25,)
        revealed = subprocess.run(
            [sys.executable, "-c",
             "from wharf.infra.bootstrap import open_app; from wharf.domain.tenant import Tenant;"
             f"print(open_app('{target}').reveal_secret(Tenant.id_for('tenant-1'), 'token'))"],
            env={**os.environ, "PYTHONPATH": str(ROOT), "WHARF_HOME": str(tmp_path)},
            capture_output=True, text=True)
        assert revealed.stdout.strip() == "hush", revealed.stderr
        refused = wharf(source, tmp_path, "store", "copy", "--to", target, ok=False)
        assert refused.returncode == 1 and "already holds events" in refused.stderr


def test_store_copy_to_a_backup_file_and_verify_it(sqlite_url: str, tmp_path: Path) -> None:
    wharf(sqlite_url, tmp_path, "tenant", "create", "acme", "--owner", "o@acme.io")
    backup = tmp_path / "backups" / "wharf-backup.db"
    out = wharf(sqlite_url, tmp_path, "store", "copy", "--to", str(backup)).stdout
    assert f"sqlite:///{backup}" in out
    backup_url = f"sqlite:///{backup}"
    wharf(backup_url, tmp_path, "projector", "--once")
    assert "every read model equals" in wharf(backup_url, tmp_path, "replay", "--verify").stdout
    listing = wharf(backup_url, tmp_path, "tenant", "list").stdout
    assert "acme" in listing


def test_the_leader_runs_every_timer_job(sqlite_url: str, tmp_path: Path) -> None:
    from wharf.infra.bootstrap import build
    from wharf.infra.settings import Settings
    from wharf.schedulers.timers import run_timers

    with build(Settings.from_env({"WHARF_HOME": str(tmp_path),
                                  "WHARF_DATABASE_URL": sqlite_url,
                                  "WHARF_DISK_EVERY": "7"})) as wiring:
        timers = run_timers(wiring.timers())
        try:
            jobs = {job.id: job for job in timers.get_jobs()}
            assert set(jobs) == {"disk-limits", "sample-metrics", "autoscale", "prune-networks",
                                 "purge-expired-logs", "purge-closed-tenants", "billing",
                                 "registry-reconcile"}
            assert all(job.next_run_time is not None for job in jobs.values())
            assert jobs["disk-limits"].trigger.interval.total_seconds() == 7
        finally:
            timers.shutdown(wait=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_up_serves_the_api_and_prints_the_operator_token_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "WHARF_DATABASE_URL": sqlite_url, "WHARF_HOME": str(tmp_path),
           "WHARF_LISTEN": f"127.0.0.1:{port}", "WHARF_REGISTRY": f"127.0.0.1:{free_port()}",
           "PYTHONPATH": str(ROOT)}

    def start() -> tuple[subprocess.Popen[str], list[str]]:
        up = subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "up"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert up.stdout is not None
        lines: list[str] = []
        while not any("Running the API" in line for line in lines):
            line = up.stdout.readline()  # printed during start-up
            assert line, f"wharf up ended early: {lines}"
            lines.append(line)
        return up, lines

    def stop(up: subprocess.Popen[str]) -> None:
        up.terminate()
        up.communicate(timeout=10)
        # uvicorn shuts down gracefully, then re-raises SIGTERM as its exit status.
        assert up.returncode in (0, -signal.SIGTERM)

    up, lines = start()
    try:
        assert f"http://127.0.0.1:{port}/graphql" in "".join(lines)
        told = re.search(r"operator token: made on this first start, in (\S+)", "".join(lines))
        assert told, lines
        token = Path(told.group(1)).read_text().strip()
        assert token not in "".join(lines)  # printed nowhere: output ends up in logs
        answer = graphql(up, port, "{ me { actor kind } }", token)
        assert answer == {"data": {"me": {"actor": "operator:operator", "kind": "operator"}}}
    finally:
        stop(up)
    up, lines = start()  # a second start keeps the first token
    try:
        assert f"operator token: in {told.group(1)}" in "".join(lines)
        assert graphql(up, port, "{ me { kind } }", token)["data"]["me"]["kind"] == (
            "operator")
    finally:
        stop(up)


def graphql(up: subprocess.Popen[str], port: int, query: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + 20
    while True:  # uvicorn binds a moment after start-up prints its line
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.URLError:
            assert time.monotonic() < deadline, "the API did not answer"
            with pytest.raises(subprocess.TimeoutExpired):  # and wharf up is still running
                up.wait(timeout=0.05)


def test_runtime_switch_shows_its_plan_and_refuses_while_a_wharf_leads(tmp_path: Path) -> None:
    from wharf.infra.leader import leadership
    from wharf.infra.settings import Settings

    url = f"sqlite:///{tmp_path / 'wharf.db'}"
    shown = wharf(url, tmp_path, "runtime", "show")
    assert shown.stdout.startswith("runtime: direct (never switched: WHARF_RUNTIME decides)")
    planned = wharf(url, tmp_path, "runtime", "switch", "--to", "swarm")
    assert "plan: from direct to swarm" in planned.stdout
    assert "nothing changed: run again with --yes" in planned.stdout
    # A Wharf leading the scheduler (`wharf up` holds this lock) would make again what a
    # switch takes down: refused, and nothing recorded.
    settings = Settings.from_env({"WHARF_HOME": str(tmp_path), "WHARF_DATABASE_URL": url})
    with leadership(settings):
        refused = wharf(url, tmp_path, "runtime", "switch", "--to", "swarm", "--yes",
                        ok=False)
    assert refused.returncode == 1
    assert "a Wharf is running (it leads the scheduler)" in refused.stderr
    assert wharf(url, tmp_path, "runtime", "show").stdout.startswith("runtime: direct (")
    done = wharf(url, tmp_path, "runtime", "switch", "--to", "swarm", "--yes")
    assert "switched to swarm: 0 containers taken down" in done.stdout
    assert wharf(url, tmp_path, "runtime", "show").stdout.startswith("runtime: swarm\n")

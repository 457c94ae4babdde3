"""Container logs through the API and `wharf logs`, kept after removal for the plan's
retention."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import DrivenClock
from tests.integration.docker.conftest import Cloud, wait_for
from tests.integration.docker.test_lifecycle import by_id, create
from tests.integration.helpers import ROOT
from wharf.infra.client import Client
from wharf.schedulers.retention import purge_expired_logs

LOGS = """query($id: ID!, $tail: Int!, $since: String) {
  containerLogs(id: $id, tail: $tail, since: $since) { time text } }"""


def logs(cloud: Cloud, token: str, cid: str, tail: int = 100,
         since: str | None = None) -> list[dict[str, Any]] | None:
    data = cloud.api.gql(LOGS, {"id": cid, "tail": tail, "since": since}, token=token)
    lines: list[dict[str, Any]] | None = data["containerLogs"]
    return lines


def cli(cloud: Cloud, token: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "WHARF_URL": cloud.api.url, "WHARF_TOKEN": token,
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "wharf.infra.cli", "logs", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_logs_are_read_followed_and_kept_after_removal(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="talker", command=[
        "sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; sleep 600"])
    lines = wait_for("five lines", lambda: (found := logs(cloud, token, cid)) is not None
                     and len(found) == 5 and found)
    assert [line["text"] for line in lines] == [f"line-{i}" for i in range(1, 6)]
    assert [line["text"] for line in logs(cloud, token, cid, tail=2) or []] == \
        ["line-4", "line-5"]
    assert [line["text"] for line in logs(cloud, token, cid, since=lines[2]["time"]) or []] \
        == ["line-4", "line-5"]

    # Another tenant sees nothing, exactly as for a container that does not exist.
    _, other = cloud.tenant("globex")
    assert logs(cloud, other, cid) is None
    assert logs(cloud, other, "00000000-0000-4000-8000-000000000000") is None

    # `wharf logs` goes through the API.
    done = cli(cloud, token, cid, "--tail", "3")
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert out.splitlines() == ["line-3", "line-4", "line-5"]

    by_id(cloud, token, "deleteContainer", cid)
    cloud.wait_observed(token, cid, "removed")
    assert len(logs(cloud, token, cid) or []) == 5  # Docker's copy is gone; Wharf's is not

    # Retention: the plan keeps them 24 hours after the removal, then they go.
    wiring = cloud.api.wiring
    removed_at = datetime.fromisoformat(wiring.view.query(
        "SELECT updated_at FROM rm_containers WHERE id = ?", (cid,))[0]["updated_at"])
    assert purge_expired_logs(wiring.app, wiring.view, wiring.logs,
                              DrivenClock(removed_at + timedelta(hours=23))) == 0
    assert len(logs(cloud, token, cid) or []) == 5
    assert purge_expired_logs(wiring.app, wiring.view, wiring.logs,
                              DrivenClock(removed_at + timedelta(hours=24))) == 1
    assert logs(cloud, token, cid) == []


def test_follow_streams_new_lines(cloud: Cloud) -> None:
    _, token = cloud.tenant()
    cid = create(cloud, token, name="ticker", command=[
        "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"])
    cloud.wait_observed(token, cid, "running")
    client = Client(cloud.api.url, token)
    since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    seen = []
    subscription = """subscription($id: ID!, $since: String) {
        containerLog(id: $id, since: $since) { time text } }"""
    for data in client.subscribe(subscription, {"id": cid, "since": since}):
        seen.append(data["containerLog"]["text"])
        if len(seen) == 3:
            break
    numbers = [int(text.split("-")[1]) for text in seen]
    assert numbers == list(range(numbers[0], numbers[0] + 3))  # in order, none missing

    follower = cli(cloud, token, cid, "--follow", "--tail", "1")
    assert follower.stdout is not None
    first = follower.stdout.readline().strip()
    later = [follower.stdout.readline().strip() for _ in range(2)]
    follower.terminate()
    follower.communicate(timeout=30)
    n = int(first.split("-")[1])
    assert later == [f"tick-{n + 1}", f"tick-{n + 2}"]


def test_a_burst_of_200000_lines_is_kept_or_counted_and_tail_is_the_newest(
    cloud: Cloud,
) -> None:
    """`seq` prints 200,000 numbered lines as fast as it can (Docker holds them all: about
    15 MB of its 30). Wharf keeps 5 MiB of them, the newest, and counts the rest exactly;
    `tail` answers the last lines while the container still runs and after it is gone."""
    _, token = cloud.tenant()
    cid = create(cloud, token, name="noisy", command=[
        "sh", "-c", "seq 1 200000; sleep 600"])
    newest = wait_for("the last line", lambda: (found := logs(cloud, token, cid, tail=3))
                      and found[-1]["text"] == "200000" and found, timeout=120)
    assert [line["text"] for line in newest] == ["199998", "199999", "200000"]
    by_id(cloud, token, "deleteContainer", cid)
    cloud.wait_observed(token, cid, "removed")
    newest = logs(cloud, token, cid, tail=10_000) or []  # (the most one answer holds)
    assert [line["text"] for line in newest] == [str(n) for n in range(190_001, 200_001)]
    # From the start, the reader is told first how many lines were dropped.
    marker, *oldest = logs(cloud, token, cid, tail=10, since="2000-01-01T00:00:00Z") or []
    assert marker["text"].startswith("[wharf] ") and "earlier lines were dropped" in (
        marker["text"])
    dropped = int(marker["text"].split()[1])
    assert [line["text"] for line in oldest] == [str(n) for n in range(dropped + 1,
                                                                        dropped + 10)]
    everything = cloud.api.wiring.logs.read(cid, tail=1_000_000)
    numbers = [int(line.text) for line in everything[1:]]
    assert numbers == list(range(dropped + 1, 200_001))  # the newest, none missing
    assert dropped + len(numbers) == 200_000  # and the rest counted exactly

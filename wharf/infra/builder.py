"""The builder: runs the builds the log asks for, on a build host's Docker Engine, and
records how each went.

A build clones its commit (git, with no local transport and no credential prompt), builds
the Dockerfile with Docker's classic builder under limits (memory, CPU, time; no host
mount and no Docker socket can reach a classic build), pushes the image to Wharf's
registry with a token that lets it push that one repository, and records `FinishBuild`
with the digest (which rolls the pipeline's service) or `FailBuild` with the end of its
log. Every line of its log goes to the build log store as it comes (`buildLog`).

One builder runs, on the scheduler's leader; each tenant runs at most its plan's
`concurrent_builds` at once, the others wait their turn in order.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions
from eventsourcing.application import AggregateNotFoundError

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.domain import dockerfile
from wharf.domain.errors import DomainError
from wharf.domain.loglines import LogLine
from wharf.domain.mirror import MirrorDirectory
from wharf.domain.plans import PlanCatalog
from wharf.domain.registry import parse_image, usable
from wharf.infra.logstore import LogStore
from wharf.infra.registry_tokens import Access, TokenSigner
from wharf.projections.reads import Reader
from wharf.projections.reads import pipelines as pipeline_reads
from wharf.projections.reads.pipelines import BuildRow, PipelineRow
from wharf.schedulers.ports import PullToken

log = logging.getLogger(__name__)

BUILDER = Actor.system("builder")
MEMORY_BYTES = 1 << 30  # a build's memory (and swap) limit
BUILD_CPUS = "0"  # the CPUs a build's steps may use: one (the classic builder takes no quota)
MAX_CONTEXT_BYTES = 500 << 20  # what a repository may hand Docker to build
MAX_DOCKERFILE = 256 << 10
OUTPUT_KEPT = 4096  # bytes of git's output read back
CLONE_DEPTH = 50  # commits of the branch fetched: a build's commit is among them
TAIL_LINES = 40  # lines of a failed build's log kept in its event
POLL_SECONDS = 1.0


class BuildFailed(Exception):
    """Why a build failed, in the tenant's terms."""


@dataclass(frozen=True)
class BuildHost:
    endpoint: str
    registry: str  # HOST:PORT of Wharf's registry
    signer: TokenSigner


class BuildLog:
    """A build's log lines, each stamped later than the one before (readers resume after
    a time), kept in the store and the last few in memory."""

    def __init__(self, store: LogStore, build_id: str) -> None:
        self.store = store
        self.build_id = build_id
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._last = ""

    def write(self, text: str) -> None:
        lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
        stamped = []
        for line in lines:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
            if now <= self._last:
                now = _after(self._last)
            self._last = now
            stamped.append(LogLine(now, line[:4000]))
            self.tail.append(line[:500])
        self.store.append(self.build_id, stamped)


def _after(stamp: str) -> str:
    """The next nanosecond after an RFC 3339 time with nine fraction digits."""
    head, fraction = stamp[:-1].split(".")
    nanos = int(fraction) + 1
    if nanos < 10**9:
        return f"{head}.{nanos:09d}Z"
    moved = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S") + timedelta(seconds=1)
    return moved.strftime("%Y-%m-%dT%H:%M:%S") + ".000000000Z"


class Builder:
    def __init__(self, app: Wharf, view: Reader, logs: LogStore, host: BuildHost,
                 workdir: Path, pull_token: PullToken, private_git: bool = False) -> None:
        self.app = app
        self.pull_token = pull_token
        self.private_git = private_git
        self.view = view
        self.logs = logs
        self.host = host
        self.workdir = workdir
        self._active: dict[str, str] = {}  # build id -> tenant id, running here
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- which builds run ------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        self.recover()
        while not stop.is_set():
            try:
                self.pass_once()
            except Exception:
                log.exception("builder pass failed")
            stop.wait(POLL_SECONDS)
        for thread in self._threads:
            thread.join(30)

    def recover(self) -> list[str]:
        """Fails the builds a builder before this one left running (it stopped or died
        during them: nothing carries them on); their ids. One builder leads at a time, so
        a running build that is not this one's is nobody's."""
        with self._lock:
            active = set(self._active)
        orphans = [row for row in pipeline_reads.running(self.view) if row.id not in active]
        for row in orphans:
            build_log = BuildLog(self.logs, row.id)
            build_log.write("[wharf] the builder stopped during this build: build again")
            self._fail(row, "the builder stopped during the build", build_log)
        return [row.id for row in orphans]

    def pass_once(self) -> list[str]:
        """Starts what may start now; the ids of the builds started."""
        self._threads = [t for t in self._threads if t.is_alive()]
        running = collections.Counter(row.tenant_id for row in pipeline_reads.running(self.view)
                                      if row.id not in self._active)
        with self._lock:
            running.update(self._active.values())
        started = []
        for row in pipeline_reads.queued(self.view):
            if row.id in self._active:
                continue
            limit = self._limit(row.tenant_id)
            if limit is not None and running[row.tenant_id] >= limit:
                continue  # its turn comes when one of the tenant's builds ends
            running[row.tenant_id] += 1
            with self._lock:
                self._active[row.id] = row.tenant_id
            thread = threading.Thread(target=self._run, args=(row,), name=f"build-{row.number}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()
            started.append(row.id)
        return started

    def _limit(self, tenant_id: str) -> int | None:
        tenant: Any = self.app.repository.get(UUID(tenant_id))
        catalog: Any = self.app.repository.get(PlanCatalog.ID)
        plan = catalog.at_version(tenant.plan_name, tenant.plan_version)
        limit: int | None = plan.limit("concurrent_builds")
        return limit

    def wait(self, timeout: float = 60.0) -> None:
        """Until the builds started here have ended (tests)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- one build ---------------------------------------------------------------------

    def _run(self, row: BuildRow) -> None:
        build_log = BuildLog(self.logs, row.id)
        directory = self.workdir / row.id
        try:
            pipeline = pipeline_reads.pipeline(self.view, row.pipeline_id, None)
            if pipeline is None:
                raise BuildFailed("its pipeline was deleted")
            deadline = time.monotonic() + pipeline.timeout_s
            commit = row.commit_id or self._head(pipeline, build_log, deadline)
            self.app.handle(m.StartBuild(actor=BUILDER, build_id=UUID(row.id), commit=commit,
                                         host=self.host.endpoint))
            image: str = self.app.repository.get(UUID(row.id)).image
            build_log.write(f"[wharf] build {row.number} of {pipeline.git_url} "
                            f"{pipeline.branch} at {commit} -> {image}")
            self._clone(pipeline, commit, directory, build_log, deadline)
            digest = self._docker(pipeline, image, directory, build_log, deadline)
            self.app.handle(m.FinishBuild(actor=BUILDER, build_id=UUID(row.id), digest=digest))
            build_log.write(f"[wharf] pushed {image}@{digest}")
        except BuildFailed as failure:
            build_log.write(f"[wharf] build failed: {failure}")
            self._fail(row, str(failure), build_log)
        except DomainError as refused:  # the log would not take a step (deleted meanwhile)
            build_log.write(f"[wharf] build stopped: {refused}")
            self._fail(row, str(refused), build_log)
        except Exception as error:
            log.exception("build %s failed", row.id)
            build_log.write("[wharf] build failed: an internal error (the operators have "
                            "its details)")
            self._fail(row, f"internal error: {type(error).__name__}", build_log)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
            with self._lock:
                self._active.pop(row.id, None)

    def _fail(self, row: BuildRow, reason: str, build_log: BuildLog) -> None:
        try:
            self.app.handle(m.FailBuild(actor=BUILDER, build_id=UUID(row.id), reason=reason,
                                        log_tail="\n".join(build_log.tail)))
        except Exception:
            log.exception("could not record the failure of build %s", row.id)

    # -- git ---------------------------------------------------------------------------

    def _git(self, args: list[str], build_log: BuildLog, deadline: float,
             cwd: Path | None = None, watch: Path | None = None) -> str:
        """Runs git in a session of its own (all of it is killed at the deadline, its
        helpers too), its output in files (read back bounded), and `watch` (a clone's
        directory) kept under the size a build may take."""
        if time.monotonic() >= deadline:
            raise BuildFailed("out of time")
        home = self.workdir / ".git-home"
        home.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_ALLOW_PROTOCOL": "http:https:git", "LC_ALL": "C"}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                ["git", "-c", "protocol.file.allow=never", "-c", "core.hooksPath=/dev/null",
                 *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True)
            try:
                while process.poll() is None:
                    if time.monotonic() >= deadline:
                        raise BuildFailed("out of time while fetching the repository")
                    if watch is not None and _bytes_in(watch) > MAX_CONTEXT_BYTES:
                        raise BuildFailed(f"the repository holds more than "
                                          f"{MAX_CONTEXT_BYTES >> 20} MiB")
                    time.sleep(0.05)
            finally:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            said = _tail(err, OUTPUT_KEPT).strip()
            if said:
                build_log.write(said)
            if process.returncode != 0:
                last = said.splitlines()[-1] if said else f"exit {process.returncode}"
                raise BuildFailed(f"git {args[0]} failed: {last[-300:]}")
            out.seek(0)
            return out.read(OUTPUT_KEPT).decode(errors="replace")

    def _head(self, pipeline: PipelineRow, build_log: BuildLog, deadline: float) -> str:
        self._check_host(pipeline.git_url)
        out = self._git(["ls-remote", "--", pipeline.git_url, f"refs/heads/{pipeline.branch}"],
                        build_log, deadline)
        for line in out.splitlines():
            commit, _, ref = line.partition("\t")
            if ref == f"refs/heads/{pipeline.branch}":
                return commit.strip()
        raise BuildFailed(f"the repository has no branch {pipeline.branch}")

    def _check_host(self, url: str) -> None:
        """Builds fetch from the Internet, not from the platform's own network (loopback,
        private and link-local addresses), unless WHARF_BUILD_PRIVATE_GIT says so."""
        if self.private_git:
            return
        host = urllib.parse.urlsplit(url).hostname or ""
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            raise BuildFailed(f"{host}: no such host") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global:
                raise BuildFailed(f"{host} is on a private network: builds clone from public "
                                  "hosts (an operator may allow it: WHARF_BUILD_PRIVATE_GIT)")

    def _clone(self, pipeline: PipelineRow, commit: str, directory: Path,
               build_log: BuildLog, deadline: float) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        self._check_host(pipeline.git_url)
        self._git(["clone", "--quiet", "--no-checkout", "--single-branch", "--depth",
                   str(CLONE_DEPTH), "--branch", pipeline.branch, "--", pipeline.git_url,
                   str(directory)], build_log, deadline, watch=directory)
        try:
            self._git(["checkout", "--quiet", "--detach", commit], build_log, deadline,
                      directory, watch=directory)
        except BuildFailed:
            raise BuildFailed(f"commit {commit[:12]} is not among the last {CLONE_DEPTH} of "
                              f"{pipeline.branch}") from None
        shutil.rmtree(directory / ".git", ignore_errors=True)  # (not part of the image)
        dockerfile = _regular_file(directory, pipeline.dockerfile)
        if dockerfile is None:
            raise BuildFailed(f"no {pipeline.dockerfile} at {commit[:12]} (a regular file, "
                              "not a link)")
        ignore = directory / ".dockerignore"
        if (ignore.exists() or ignore.is_symlink()) and _regular_file(
                directory, ".dockerignore") is None:
            raise BuildFailed(".dockerignore must be a regular file, not a link")

    # -- docker ------------------------------------------------------------------------

    def _bases(self, pipeline: PipelineRow, directory: Path, api: docker.APIClient,
               build_log: BuildLog, deadline: float) -> None:
        """Checks every image the Dockerfile takes from outside (another tenant's is not
        found, as for workloads) and pulls those of Wharf's registry and mirrors with the
        tenant's own token: a build never uses what the build host holds of another
        tenant's."""
        path = directory / pipeline.dockerfile
        if path.stat().st_size > MAX_DOCKERFILE:
            raise BuildFailed(f"{pipeline.dockerfile} is over {MAX_DOCKERFILE >> 10} KiB")
        try:
            read = dockerfile.read(path.read_text(errors="replace"))
        except dockerfile.DockerfileError as error:
            raise BuildFailed(f"{pipeline.dockerfile}: {error}") from None
        if read.remote_sources:
            raise BuildFailed(f"ADD {read.remote_sources[0]}: builds do not fetch URLs with "
                              "ADD (fetch it in a RUN step)")
        tenant: Any = self.app.repository.get(UUID(pipeline.tenant_id))
        for image in read.images:
            if not usable(image, tenant.id, tenant.name, self.host.registry,
                          self._mirror_owner):
                raise BuildFailed(f"FROM {image}: image not found")
            token = self.pull_token(image, pipeline.tenant_id)
            if token is None:
                continue
            ref = parse_image(image)
            build_log.write(f"[wharf] pulling {image}")
            with _engine_errors():
                for line in api.pull(f"{ref.registry}/{ref.repository}",
                                     tag=ref.digest or ref.tag or "latest", stream=True,
                                     decode=True, auth_config={"registrytoken": token}):
                    _out_of_time(deadline)
                    if "error" in line:
                        raise BuildFailed(f"FROM {image}: {str(line['error'])[:300]}")

    def _mirror_owner(self, address: str) -> str | None:
        try:
            directory: Any = self.app.repository.get(MirrorDirectory.ID)
        except AggregateNotFoundError:
            return None
        owner = directory.owner_of(address)
        return None if owner is None else str(owner[1])

    def _docker(self, pipeline: PipelineRow, image: str, directory: Path,
                build_log: BuildLog, deadline: float) -> str:
        ref = parse_image(image)
        api = docker.APIClient(base_url=self.host.endpoint, timeout=max(
            1, int(deadline - time.monotonic())))
        try:
            self._bases(pipeline, directory, api, build_log, deadline)
            with _engine_errors():
                built = ""
                # No cache: a layer one tenant built is never another's. A step silent
                # past the deadline ends the build: the read times out, and Docker stops
                # a build whose client went.
                for line in api.build(
                        path=str(directory), dockerfile=pipeline.dockerfile,
                        rm=True, forcerm=True, pull=False, nocache=True, decode=True,
                        timeout=max(1, int(deadline - time.monotonic())),
                        container_limits={"memory": MEMORY_BYTES, "memswap": MEMORY_BYTES,
                                          "cpusetcpus": BUILD_CPUS, "cpushares": 512}):
                    _out_of_time(deadline)
                    if "stream" in line:
                        build_log.write(str(line["stream"]))
                    if "error" in line:
                        raise BuildFailed(str(line["error"]).strip()[:500])
                    built = str((line.get("aux") or {}).get("ID") or built)
                if not built:
                    raise BuildFailed("the engine did not say which image it built")
                api.tag(built, f"{ref.registry}/{ref.repository}", ref.tag)
                token = self.host.signer.issue(
                    f"builder:{pipeline.tenant_id}",
                    [Access("repository", ref.repository, ("pull", "push"))],
                    self.app.clock.now())
                digest = ""
                for line in api.push(f"{ref.registry}/{ref.repository}", tag=ref.tag,
                                     stream=True, decode=True,
                                     auth_config={"registrytoken": token}):
                    _out_of_time(deadline)
                    if "error" in line:
                        raise BuildFailed(f"push: {str(line['error']).strip()[:500]}")
                    digest = str((line.get("aux") or {}).get("Digest") or digest)
                if not digest.startswith("sha256:"):
                    raise BuildFailed("the registry did not say the image's digest")
                # The registry keeps it: the build host keeps no copy of every build.
                with contextlib.suppress(docker.errors.APIError):
                    api.remove_image(image)
                return digest
        finally:
            api.close()


def _regular_file(root: Path, relative: str) -> Path | None:
    """`root/relative` when it is a regular file reached through no link (so inside
    root), else None."""
    path = root
    for part in relative.split("/"):
        path = path / part
        if path.is_symlink():
            return None
    return path if path.is_file() else None


def _bytes_in(directory: Path) -> int:
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _tail(handle: Any, limit: int) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - limit))
    return str(handle.read(limit).decode(errors="replace"))


def _out_of_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise BuildFailed("out of time")


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    try:
        yield
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError,
            urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError) as error:
        if "timed out" in str(error).lower():
            raise BuildFailed("out of time") from None
        raise BuildFailed(f"the build host does not answer: {error}") from None
    except docker.errors.APIError as error:
        raise BuildFailed(str(error.explanation or error)[:500]) from None

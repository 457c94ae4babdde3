"""Pipeline and Build: a tenant's Git repository linked to one of its image repositories
(and, optionally, a service to deploy to), and each build of one of its commits.

A build's life is told by its events: `Requested` (by a webhook, by hand), `Started`,
then `Succeeded` with the image's digest or `Failed` with the end of its log. Each build's
id is derived from its pipeline and what asked for it (a webhook's delivery id, say), so
that a delivery sent twice builds once.
"""

from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import event

from wharf.domain.base import WharfAggregate, derive_id
from wharf.domain.errors import Conflict, InvalidInput
from wharf.domain.registry import check_repository, check_tag, namespace

BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.{}-]{1,128}$")
PLACEHOLDERS = ("{commit}", "{short}", "{branch}", "{build}")
MAX_URL = 500
MAX_LOG_TAIL = 4000  # characters of a failed build's log kept in its event
BUILD_TIMEOUT_S = (10, 3600)  # bounds of a build's time limit
STATES = ("requested", "running", "succeeded", "failed")
MAX_WAITING = 10  # builds of one pipeline waiting to start: more are refused until they do


def check_git_url(url: str) -> str:
    """An https://, http:// or git:// URL: never a local path or file:// (a build would
    read the host's own files), nor a transport git runs commands through (ext::)."""
    if len(url) > MAX_URL or not url.isascii() or any(c.isspace() for c in url):
        raise InvalidInput("git_url", f"at most {MAX_URL} characters, no spaces")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("https", "http", "git") or not rest or rest.startswith(
            ("-", "/")) or "@" in rest.split("/", 1)[0]:
        raise InvalidInput("git_url", "an https://, http:// or git:// URL of a repository "
                                      "(credentials do not go in the URL)")
    return url


def check_branch(branch: str) -> str:
    if not BRANCH.fullmatch(branch) or branch.startswith(("-", "/")) or ".." in branch \
            or branch.endswith((".lock", "/")):
        raise InvalidInput("branch", "a branch name: letters, digits, '.', '_', '/', '-'")
    return branch


def check_dockerfile(path: str) -> str:
    parts = path.split("/")
    if not 1 <= len(path) <= 200 or path.startswith("/") or any(
            p in ("", ".", "..") for p in parts) or not all(
            re.fullmatch(r"[A-Za-z0-9._-]+", p) for p in parts):
        raise InvalidInput("dockerfile", "a relative path inside the repository, such as "
                                         "Dockerfile or docker/web.Dockerfile")
    return path


def check_tag_pattern(pattern: str) -> str:
    if not TAG_PATTERN.fullmatch(pattern) or pattern.startswith((".", "-")):
        raise InvalidInput("tag_pattern", "a tag, with any of " + ", ".join(PLACEHOLDERS))
    # (in one pass: "{bui{short}ld}" leaves a brace, as a tag may not hold)
    rest = re.sub("|".join(re.escape(p) for p in PLACEHOLDERS), "", pattern)
    if "{" in rest or "}" in rest:
        raise InvalidInput("tag_pattern", "placeholders are " + ", ".join(PLACEHOLDERS))
    try:
        check_tag(image_tag(pattern, "f" * 40, "main", 1))
    except InvalidInput:
        raise InvalidInput("tag_pattern", "it must make a tag: letters, digits, '_', '.', '-'"
                                          ", not starting with '.' or '-'") from None
    return pattern


def image_tag(pattern: str, commit: str, branch: str, number: int) -> str:
    """The tag a build pushes: the pattern with its placeholders filled in (a branch's
    '/' becomes '-'), cut to a tag's 128 characters."""
    tag = (pattern.replace("{commit}", commit).replace("{short}", commit[:12])
           .replace("{branch}", re.sub(r"[^A-Za-z0-9_.-]", "-", branch))
           .replace("{build}", str(number)))
    return tag[:128]


class Pipeline(WharfAggregate):
    @staticmethod
    def id_for(tenant_id: UUID, name: str) -> UUID:
        return derive_id("pipeline", tenant_id, name)

    class Created(WharfAggregate.Created):
        tenant_id: UUID
        name: str
        git_url: str
        branch: str
        dockerfile: str
        repository: str
        tag_pattern: str
        service_id: UUID | None
        ciphertext: str  # the webhooks' HMAC key, sealed with the tenant's data key
        timeout_s: int

    @event(Created)
    def __init__(self, id: UUID, tenant_id: UUID, name: str, git_url: str, branch: str,
                 dockerfile: str, repository: str, tag_pattern: str, service_id: UUID | None,
                 ciphertext: str, timeout_s: int, actor: str, cause: str) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.git_url = git_url
        self.branch = branch
        self.dockerfile = dockerfile
        self.repository = repository
        self.tag_pattern = tag_pattern
        self.service_id = service_id
        self.ciphertext = ciphertext
        self.timeout_s = timeout_s
        self.builds = 0  # how many were requested: each build's number
        self.deleted = False

    def require_live(self) -> None:
        if self.deleted:
            raise Conflict(f"pipeline {self.name} is deleted")

    def request_build(self, build_id: UUID) -> int:
        """Counts a build in; its number."""
        self.require_live()
        self._counted(build_id=build_id)
        return self.builds

    class BuildCounted(WharfAggregate.Event):
        build_id: UUID

    @event(BuildCounted)
    def _counted(self, build_id: UUID) -> None:
        self.builds += 1

    def delete(self) -> None:
        self.require_live()
        self._deleted()

    class Deleted(WharfAggregate.Event):
        pass

    @event(Deleted)
    def _deleted(self) -> None:
        self.deleted = True
        self.ciphertext = ""


def check_target(repository: str, tenant_name: str) -> str:
    """The image repository a tenant's pipeline pushes to: one of its own."""
    check_repository(repository, "repository")
    if namespace(repository) != tenant_name:
        raise InvalidInput("repository", f"a repository of yours: {tenant_name}/...")
    return repository


class Build(WharfAggregate):
    @staticmethod
    def id_for(pipeline_id: UUID, trigger: str) -> UUID:
        """One build per pipeline and trigger (a webhook delivery's id, a request's)."""
        return derive_id("build", pipeline_id, trigger)

    class Requested(WharfAggregate.Created):
        tenant_id: UUID
        pipeline_id: UUID
        number: int
        trigger: str  # push, generic or manual
        branch: str
        commit: str  # "" for the branch's head when the build starts
        image: str  # the repository and tag it pushes, once the commit is known

    @event(Requested)
    def __init__(self, id: UUID, tenant_id: UUID, pipeline_id: UUID, number: int,
                 trigger: str, branch: str, commit: str, image: str, actor: str,
                 cause: str) -> None:
        self.tenant_id = tenant_id
        self.pipeline_id = pipeline_id
        self.number = number
        self.trigger = trigger
        self.branch = branch
        self.commit = commit
        self.image = image
        self.state = "requested"
        self.digest = ""
        self.reason = ""

    def start(self, commit: str, image: str, host: str) -> None:
        if self.state != "requested":
            raise Conflict(f"build {self.number} is {self.state}")
        self._started(commit=commit, image=image, host=host)

    class Started(WharfAggregate.Event):
        commit: str
        image: str
        host: str  # the engine it builds on

    @event(Started)
    def _started(self, commit: str, image: str, host: str) -> None:
        self.state = "running"
        self.commit = commit
        self.image = image

    def succeed(self, digest: str, deploy: str) -> None:
        if self.state != "running":
            raise Conflict(f"build {self.number} is {self.state}")
        self._succeeded(manifest=digest, deploy=deploy[:500])

    class Succeeded(WharfAggregate.Event):
        manifest: str  # the image's digest (see Repository.Pushed)
        deploy: str  # "rolled", "not deployed: <why>", or "" (no service linked)

    @event(Succeeded)
    def _succeeded(self, manifest: str, deploy: str) -> None:
        self.state = "succeeded"
        self.digest = manifest

    def fail(self, reason: str, log_tail: str) -> bool:
        if self.state in ("succeeded", "failed"):
            return False
        self._failed(reason=reason[:500], log_tail=log_tail[-MAX_LOG_TAIL:])
        return True

    class Failed(WharfAggregate.Event):
        reason: str
        log_tail: str

    @event(Failed)
    def _failed(self, reason: str, log_tail: str) -> None:
        self.state = "failed"
        self.reason = reason

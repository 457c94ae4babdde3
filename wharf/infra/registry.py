"""Wharf's image registry: a CNCF distribution process Wharf starts and owns on loopback
(Debian's `docker-registry`), and a small client of its HTTP API.

The registry trusts only tokens Wharf signs (registry_tokens.py; Wharf is its token
server, registry_http.py) and tells Wharf of every push and delete (its notifications,
to `/registry/events`, with a bearer secret kept in WHARF_HOME). distribution keeps
undelivered notifications in memory only, so `reconcile` compares the registry's
catalog with the log now and then and records what was missed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wharf.commands import messages as m
from wharf.commands.actors import Actor
from wharf.commands.application import Wharf
from wharf.commands.ports import Clock
from wharf.domain.errors import DomainError
from wharf.domain.registry import REPOSITORY, TAG
from wharf.infra.caddy import _die_with_parent
from wharf.infra.registry_tokens import ISSUER, SERVICE, Access, TokenSigner
from wharf.projections.reads import Reader
from wharf.projections.reads import repositories as repository_reads

log = logging.getLogger(__name__)

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
START_TIMEOUT = 15.0
CALL_TIMEOUT = 10.0
PAGE = 1000  # repositories per catalog page
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
MANIFESTS = ", ".join(MANIFEST_TYPES)
MAX_MANIFEST = 4 << 20  # bytes of one manifest read


class RegistryError(OSError):
    """The registry missing, not answering, or refusing: said to the user as is."""


def registry_dir(home: Path) -> Path:
    path = home / "registry"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def notify_secret(home: Path) -> str:
    """The bearer secret the registry sends with its notifications (made once)."""
    path = registry_dir(home) / "notify.secret"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


_SIGNERS: dict[Path, TokenSigner] = {}
_SIGNERS_LOCK = threading.Lock()


def signer_of(home: Path, clock: Clock) -> TokenSigner:
    """The installation's token signer (its key made on first use, then read once)."""
    with _SIGNERS_LOCK:
        found = _SIGNERS.get(home)
        if found is None:
            found = _SIGNERS[home] = TokenSigner.load_or_make(registry_dir(home), clock.now())
        return found


_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE
_TLS_PROBE = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=_UNVERIFIED))


class RegistryProcess:
    """One `docker-registry serve` on `address`, its data and configuration under
    WHARF_HOME/registry; `api_url` is where it finds Wharf (token realm, notifications)."""

    def __init__(self, home: Path, address: str, api_url: str, signer: TokenSigner,
                 binary: str = "docker-registry", service: str = SERVICE,
                 proxy: dict[str, str] | None = None, directory: Path | None = None,
                 tls: tuple[Path, Path] | None = None, data: Path | None = None) -> None:
        """`tls` (certificate, key): served over TLS (the instance hosts elsewhere pull
        from, read-only, on the `data` of the instance on loopback)."""
        found = shutil.which(binary) or (binary if Path(binary).is_file() else None)
        if found is None:
            raise RegistryError(f"{binary} is not installed (apt-get install docker-registry; "
                                "or set WHARF_REGISTRY=off)")
        self.binary = found
        self.home = home
        self.address = address
        self.api_url = api_url.rstrip("/")
        self.dir = directory or registry_dir(home)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data = data or self.dir / "data"
        self.tls = tls
        (self.dir / "token.bundle").write_bytes(signer.bundle)
        self.service = service
        self.proxy = proxy  # a pull-through mirror's upstream (and its credentials)
        self._process: subprocess.Popen[bytes] | None = None
        self.read_only = False

    def config(self, read_only: bool) -> dict[str, Any]:
        if self.proxy is not None:  # a mirror: pulls only, nothing to tell Wharf
            return {**self._config(read_only), "proxy": self.proxy, "notifications": {}}
        return self._config(read_only)

    def _config(self, read_only: bool) -> dict[str, Any]:
        return {
            "version": 0.1,
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.data)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
                "maintenance": {"uploadpurging": {"enabled": False},
                                "readonly": {"enabled": read_only}},
            },
            "http": {"addr": self.address, "secret": secrets.token_hex(16),
                     "headers": {"X-Content-Type-Options": ["nosniff"]},
                     **({"tls": {"certificate": str(self.tls[0]), "key": str(self.tls[1])}}
                        if self.tls else {})},
            "auth": {"token": {"realm": f"{self.api_url}/registry/token",
                               "service": self.service,
                               "issuer": ISSUER,
                               "rootcertbundle": str(self.dir / "token.bundle")}},
            "notifications": {"endpoints": [{
                "name": "wharf", "url": f"{self.api_url}/registry/events",
                "headers": {"Authorization": [f"Bearer {notify_secret(self.home)}"]},
                "timeout": "3s", "threshold": 3, "backoff": "1s",
                "ignore": {"actions": ["pull"]},
            }]},
        }

    def start(self, read_only: bool = False) -> None:
        config = self.dir / "config.yml"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:  # (holds the notification secret)
            yaml.safe_dump(self.config(read_only), out)
        with open(self.dir / "registry.log", "ab") as output:
            self._process = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent)
        self.read_only = read_only
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RegistryError(f"the registry exited at start: {self.last_error()} (is "
                                    f"{self.address} taken? set WHARF_REGISTRY)"
                                    if self.proxy is None else self.last_error())
            try:
                if self.tls is None:
                    _DIRECT.open(f"http://{self.address}/v2/", timeout=1).close()
                else:  # (its own process, asked whether it listens yet)
                    _TLS_PROBE.open(f"https://{self.address}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # (401: it answers, and asks for a token)
            except OSError:
                if time.monotonic() > deadline:
                    raise RegistryError(f"the registry did not answer on {self.address}") \
                        from None
                time.sleep(0.05)
        log.info("registry runs on %s (pid %s%s)", self.address, self._process.pid,
                 ", read-only" if read_only else "")

    def last_error(self) -> str:
        """The last error the process logged (what a user can act on), or its exit."""
        try:
            with open(self.dir / "registry.log", "rb") as output:
                output.seek(0, os.SEEK_END)
                output.seek(max(0, output.tell() - 8192))
                lines = output.read().decode(errors="replace").splitlines()
        except OSError:
            lines = []
        for line in reversed(lines):
            if "error" in line.lower() or "panic" in line.lower() or "fatal" in line.lower():
                return line.strip()[-400:]
        code = self._process.returncode if self._process is not None else None
        return f"the registry exited ({code}); see {self.dir / 'registry.log'}"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ensure_running(self) -> bool:
        """Starts it again if it died; whether it had to."""
        if self.alive:
            return False
        if self._process is not None:
            log.warning("the registry exited (%s); starting it again",
                        self._process.returncode)
        self.start(self.read_only)
        return True

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    close = stop

    def garbage_collect(self) -> int:
        """Frees the space of images no tag names any more, with the registry read-only
        meanwhile (pulls go on; pushes wait); the bytes freed."""
        before = _bytes_under(self.data)
        self.stop()
        self.start(read_only=True)
        try:
            done = subprocess.run(
                [self.binary, "garbage-collect", "--delete-untagged", str(self.dir / "config.yml")],
                capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                raise RegistryError(f"garbage collection failed: {done.stderr[-500:]}")
        finally:
            self.stop()
            self.start(read_only=False)
        return max(0, before - _bytes_under(self.data))


def _bytes_under(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


@dataclass(frozen=True)
class Manifest:
    digest: str
    size: int  # bytes: the config's and every layer's (a list's: its images' manifests')


class RegistryClient:
    """Wharf's own calls to the registry, with tokens it signs for itself."""

    def __init__(self, address: str, signer: TokenSigner, clock: Clock) -> None:
        self.address = address
        self.signer = signer
        self.clock = clock

    def _token(self, access: list[Access]) -> str:
        return self.signer.issue("wharf", access, self.clock.now(), ttl=60)

    def _call(self, method: str, path: str, access: list[Access],
              accept: str = "application/json",
              limit: int = MAX_MANIFEST) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(
            f"http://{self.address}{path}", method=method,
            headers={"Authorization": f"Bearer {self._token(access)}", "Accept": accept})
        try:
            with _DIRECT.open(request, timeout=CALL_TIMEOUT) as answer:
                return answer.read(limit), dict(answer.headers.items())
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode(errors="replace")
            raise RegistryError(f"registry: {method} {path}: {error.code} {detail}",
                                ) from None
        except OSError as error:
            raise RegistryError(f"registry on {self.address}: {error}") from None

    def catalog(self) -> list[str]:
        names: list[str] = []
        last = ""
        while True:
            query = urllib.parse.urlencode({"n": PAGE, **({"last": last} if last else {})})
            body, _ = self._call("GET", f"/v2/_catalog?{query}",
                                 [Access("registry", "catalog", ("*",))], limit=64 << 20)
            page = json.loads(body).get("repositories") or []
            names += page
            if len(page) < PAGE:
                return names
            last = page[-1]

    def tags(self, name: str) -> list[str]:
        try:
            body, _ = self._call("GET", f"/v2/{name}/tags/list",
                                 [Access("repository", name, ("pull",))], limit=64 << 20)
        except RegistryError as error:
            if ": 404 " in str(error):
                return []
            raise
        return list(json.loads(body).get("tags") or [])

    def manifest(self, name: str, reference: str) -> Manifest:
        body, headers = self._call("GET", f"/v2/{name}/manifests/{reference}",
                                   [Access("repository", name, ("pull",))], accept=MANIFESTS)
        digest = next((v for k, v in headers.items()
                       if k.lower() == "docker-content-digest"), "")
        document = json.loads(body)
        parts = [document.get("config") or {}, *(document.get("layers") or []),
                 *(document.get("manifests") or [])]
        size = sum(int(part.get("size") or 0) for part in parts if isinstance(part, dict))
        return Manifest(digest, size)

    def digest(self, name: str, tag: str) -> str:
        """The digest `tag` names now ("" when it names none)."""
        try:
            _, headers = self._call("HEAD", f"/v2/{name}/manifests/{tag}",
                                    [Access("repository", name, ("pull",))], accept=MANIFESTS)
        except RegistryError as error:
            if ": 404 " in str(error):
                return ""
            raise
        return next((v for k, v in headers.items() if k.lower() == "docker-content-digest"),
                    "")

    def delete(self, name: str, digest: str) -> None:
        """Deletes the image `digest` names, and so every tag naming it."""
        try:
            self._call("DELETE", f"/v2/{name}/manifests/{digest}",
                       [Access("repository", name, ("delete",))])
        except RegistryError as error:
            if ": 404 " not in str(error):
                raise




RECONCILE_EVERY_SECONDS = 60


def reconcile(app: Wharf, view: Reader, client: RegistryClient,
              process: RegistryProcess | None = None,
              remote: RegistryProcess | None = None) -> int:
    """Records what the registry holds that the log does not say (a notification the
    registry dropped: it keeps them in memory only), and forgets what it no longer holds;
    the number of changes recorded. Starts the registry (and its instance for hosts
    elsewhere) again first if it died."""
    for running in (process, remote):
        if running is not None:
            running.ensure_running()
    known = repository_reads.all_tags(view)
    changes = 0
    listed = set()
    try:
        names = client.catalog()
    except RegistryError as error:
        log.warning("registry reconcile skipped: %s", error)
        return 0
    for name in names:
        if not REPOSITORY.fullmatch(name):
            continue  # (no token lets anyone push such a name)
        listed.add(name)
        held = known.get(name, {})
        tags = client.tags(name)
        for tag in tags:
            if not TAG.fullmatch(tag):
                continue
            digest = client.digest(name, tag)
            if digest and held.get(tag) != digest:
                size = client.manifest(name, digest).size
                changes += _record(app, m.RecordPush(
                    actor=RECONCILER, name=name, tag=tag, digest=digest, size=size,
                    pushed_at=app.clock.now().isoformat()))
        gone = sorted(set(held) - set(tags))
        if gone:
            changes += _record(app, m.RecordImagesGone(actor=RECONCILER, name=name, tags=gone))
    for name, held in known.items():
        if name not in listed and held:
            changes += _record(app, m.RecordImagesGone(actor=RECONCILER, name=name,
                                                       tags=sorted(held)))
    if changes:
        log.info("registry reconcile: %d change(s) the notifications missed", changes)
    return changes


RECONCILER = Actor.system("registry-reconcile")


def _record(app: Wharf, command: m.Command) -> int:
    try:
        app.handle(command)
        return 1
    except DomainError as error:
        log.warning("registry reconcile: %s not recorded: %s", type(command).__name__, error)
        return 0

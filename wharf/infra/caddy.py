"""Wharf's own Caddy: one process on loopback, its state under WHARF_HOME, configured
whole through its admin API (`POST /load`), never through the system service.

The configuration Wharf loads is also written to `WHARF_HOME/caddy/config.json`, which
the process is started from: a Caddy that died is started again by `applied()` with the
configuration it last had. (Debian's Caddy has no layer-4 module: HTTP only.)
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Straight to loopback, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
START_TIMEOUT = 15.0  # seconds for a new Caddy to answer on its admin API
CALL_TIMEOUT = 5.0


PR_SET_PDEATHSIG = 1
_PRCTL: Any = None
with contextlib.suppress(OSError, AttributeError):  # (not Linux: no such call)
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork


def _die_with_parent() -> None:
    """In the child, before Caddy runs: SIGTERM when the process that started it dies,
    however it dies (a `wharf up` killed by SIGKILL must not leave its Caddy holding
    the ingress's ports)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class CaddyError(OSError):
    """Caddy missing, or not answering: what a user puts right on the machine (the CLI
    prints it as an error, not a traceback)."""


def free_port(taken: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    """A loopback port nothing listens on now (the kernel's choice), none of `taken`."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            return port
    raise CaddyError("no free loopback port")


class Caddy:
    """Implements the scheduler's `Ingress`."""

    def __init__(self, home: Path, admin: str = "", binary: str = "caddy",
                 http_port: int = 0, https_port: int = 0) -> None:
        found = shutil.which(binary)
        if found is None:
            raise CaddyError(f"{binary} is not installed (apt-get install caddy; or set "
                             "WHARF_INGRESS=off)")
        self.binary = found
        self.dir = home / "caddy"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.admin = admin or f"127.0.0.1:{free_port()}"
        self.http_port = http_port or free_port()
        self.https_port = https_port or free_port({self.http_port})
        self._apps: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._closed = False

    # -- the process ------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._stop_leftover()
            self._write(self._apps)
            data = self.dir / "data"
            env = {**os.environ, "HOME": str(self.dir), "XDG_DATA_HOME": str(data),
                   "XDG_CONFIG_HOME": str(self.dir / "config")}
            with open(self.dir / "caddy.log", "ab") as output:
                self._process = subprocess.Popen(
                    [self.binary, "run", "--config", str(self.dir / "config.json")],
                    stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, start_new_session=True, preexec_fn=_die_with_parent)
            (self.dir / "caddy.pid").write_text(str(self._process.pid))
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if self._process.poll() is not None:
                    raise CaddyError(f"caddy exited at start ({self._process.returncode}); "
                                     f"see {self.dir / 'caddy.log'}")
                with contextlib.suppress(OSError, CaddyError):
                    self._call("GET", "/config/")
                    break
                if time.monotonic() > deadline:
                    raise CaddyError(f"caddy did not answer on {self.admin}")
                time.sleep(0.05)
            log.info("caddy runs with its admin API on %s (pid %s)", self.admin,
                     self._process.pid)

    def _stop_leftover(self) -> None:
        """A Caddy of this WHARF_HOME still running (its Wharf died where no signal
        could reach it) is stopped: it holds the listeners this one is about to open."""
        try:
            pid = int((self.dir / "caddy.pid").read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.dir / "config.json").encode() not in command or (
                self._process is not None and self._process.pid == pid
                and self._process.poll() is None):
            return
        log.warning("stopping the Caddy (pid %s) an earlier Wharf left running", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    # -- configuration ----------------------------------------------------------------

    def _config(self, apps: dict[str, Any]) -> dict[str, Any]:
        # (Caddy's own CA stays out of the system's trust store.)
        return {
            "admin": {"listen": self.admin},
            "storage": {"module": "file_system", "root": str(self.dir / "data")},
            "logging": {"logs": {"default": {"level": "ERROR"}}},
            "apps": {**apps, "pki": {"certificate_authorities": {
                "local": {"install_trust": False}}}},
        }

    def _write(self, apps: dict[str, Any]) -> None:
        path = self.dir / "config.json"
        staged = path.with_suffix(".tmp")
        staged.write_text(json.dumps(self._config(apps), indent=1))
        staged.replace(path)

    def apply(self, apps: dict[str, Any]) -> None:
        with self._lock:
            self._ensure_running()
            self._call("POST", "/load", self._config(apps))
            self._apps = apps
            self._write(apps)

    def applied(self) -> dict[str, Any] | None:
        """The `apps` it holds (its own `pki` left out, as `apply` takes them)."""
        with self._lock:
            self._ensure_running()
            try:
                held = self._call("GET", "/config/apps")
            except (OSError, CaddyError) as error:
                log.warning("caddy on %s does not answer: %s", self.admin, error)
                return None
            if not isinstance(held, dict):
                return {}
            held.pop("pki", None)
            return held

    def free_port(self, taken: set[int]) -> int:
        return free_port(taken)

    def _ensure_running(self) -> None:
        if self._closed:
            raise CaddyError("caddy is closed")
        if not self._alive():
            if self._process is not None:
                log.warning("caddy exited (%s); starting it again", self._process.returncode)
            self.start()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://{self.admin}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with _DIRECT.open(request, timeout=CALL_TIMEOUT) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise CaddyError(f"caddy refused {method} {path}: {error.code} {detail}") from None
        return json.loads(text) if text.strip() else None

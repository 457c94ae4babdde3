"""Docker engines on machines of their own, as far as tests can make them here: each in a
network namespace with its own address on a veth pair (ENVIRONMENT.md), reached only
over TCP with mutual TLS from the certificates `wharf host join` makes. Its unix socket
(in this machine's file system) is for the test's own looks and for loading images.

A namespace's 127.0.0.1 is its own: Wharf publishes ports there on the host's veth
address. Stopping an engine by pid is a host loss; its containers live on (their shims
do), so `stop` removes them afterwards through the same socket's data, as a dead host's
disk would be wiped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.integration.docker.second_engine import load_busybox
from tests.integration.helpers import wait_for
from wharf.domain.tls import TlsCredentials
from wharf.infra.host_tls import JoinKit, join_kit, write_private

PORT = 2376
CGROUPS = Path("/sys/fs/cgroup/pids/docker")  # (cgroup v1, Docker's cgroupfs driver)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, check=check, capture_output=True)


BRIDGE, BRIDGE_NET = "wharfsw0", "10.232.0"  # one segment for engines that form a swarm


@dataclass
class NsEngine:
    index: int
    kit: JoinKit | None = None
    process: subprocess.Popen[bytes] | None = None
    bridged: bool = False  # on one bridge with the other bridged engines (a swarm's nodes)

    @property
    def name(self) -> str:
        return f"wharf-ns{self.index}"

    @property
    def address(self) -> str:
        return f"{BRIDGE_NET}.{self.index}" if self.bridged else f"10.231.{self.index}.2"

    @property
    def gateway(self) -> str:
        """This machine's address on the engine's link."""
        return f"{BRIDGE_NET}.1" if self.bridged else f"10.231.{self.index}.1"

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.address}:{PORT}"

    @property
    def socket(self) -> str:
        return f"unix:///var/run/{self.name}.sock"

    @property
    def root(self) -> Path:
        return Path(f"/var/lib/{self.name}")

    @property
    def credentials(self) -> TlsCredentials:
        assert self.kit is not None
        return self.kit.client

    def _network(self) -> None:
        if Path(f"/run/netns/{self.name}").exists():
            return
        host_side, ns_side = f"wnsh{self.index}", f"wnsn{self.index}"
        _run("ip", "link", "del", host_side, check=False)
        _run("ip", "netns", "add", self.name)
        _run("ip", "link", "add", host_side, "type", "veth", "peer", "name", ns_side)
        _run("ip", "link", "set", ns_side, "netns", self.name)
        if self.bridged:
            _bridge()
            _run("ip", "link", "set", host_side, "master", BRIDGE)
        else:
            _run("ip", "addr", "add", f"{self.gateway}/24", "dev", host_side)
        _run("ip", "link", "set", host_side, "up")
        for args in (("addr", "add", f"{self.address}/24", "dev", ns_side),
                     ("link", "set", ns_side, "up"), ("link", "set", "lo", "up")):
            _run("ip", "-n", self.name, *args)

    def answers(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:  # (the SDK leaks a refused socket)
            try:
                probe.connect(self.socket.removeprefix("unix://"))
            except OSError:
                return False
        client = docker.APIClient(base_url=self.socket, timeout=2, version="1.41")
        try:
            return bool(client.ping())
        except Exception:
            return False
        finally:
            client.close()

    def start(self, engine_files: Path | None = None) -> NsEngine:
        """Starts the engine and loads busybox: with the files `wharf host join` wrote
        for the engine, or else with certificates made now."""
        if self.process is not None and self.process.poll() is None and self.answers():
            return self
        self._network()
        tls = self.root / "tls"
        if engine_files is None:
            self.kit = join_kit(self.address, dt.datetime.now(dt.UTC))
            files = self.kit.engine_files()
        else:
            files = {p.name: p.read_text() for p in engine_files.iterdir()}
        for file, text in files.items():
            write_private(tls / file, text)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        log = (self.root / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.name}", "dockerd",
             "--data-root", str(self.root / "data"), "--exec-root", f"/var/run/{self.name}",
             "--pidfile", f"/var/run/{self.name}.pid", "-H", self.socket,
             "-H", f"tcp://{self.address}:{PORT}", "--tlsverify",
             "--tlscacert", str(tls / "ca.pem"), "--tlscert", str(tls / "server-cert.pem"),
             "--tlskey", str(tls / "server-key.pem")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_for(f"engine {self.name} to answer (see {self.root}/dockerd.log)", self.answers,
                 timeout=60)
        load_busybox(self.socket)
        return self

    def stop(self) -> None:
        """Kills the engine by pid, as a host that goes away."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def wipe(self) -> None:
        """The engine stopped, its leftover containers and namespace go too."""
        self.stop()
        # A killed dockerd leaves its containers running (and their shims): kill every
        # process in the cgroup of each container of its data root, the shims that ran
        # from its exec root, then its namespace and data.
        containers = self.root / "data" / "containers"
        for container in containers.iterdir() if containers.exists() else ():
            procs = CGROUPS / container.name / "cgroup.procs"
            for pid in procs.read_text().split() if procs.exists() else ():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        _run("pkill", "-KILL", "-f", f"/var/run/{self.name}/", check=False)
        for mount in reversed(Path("/proc/mounts").read_text().splitlines()):
            point = mount.split()[1]
            # (Docker's overlay namespaces are listed under /run, not /var/run)
            if point.startswith((str(self.root), f"/var/run/{self.name}",
                                 f"/run/{self.name}/")):
                _run("umount", "-l", point, check=False)
        _run("ip", "netns", "del", self.name, check=False)
        _run("ip", "link", "del", f"wnsh{self.index}", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(f"/var/run/{self.name}", ignore_errors=True)
        shutil.rmtree(f"/run/{self.name}", ignore_errors=True)
        for leftover in (f"/run/{self.name}.pid", f"/run/{self.name}.sock"):
            Path(leftover).unlink(missing_ok=True)


def _bridge() -> None:
    """The bridge the swarm's nodes share. Bridged frames pass the FORWARD chain here
    (bridge-nf-call-iptables), whose policy Docker sets to DROP: let them through."""
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        return
    _run("ip", "link", "add", BRIDGE, "type", "bridge")
    _run("ip", "addr", "add", f"{BRIDGE_NET}.1/24", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")
    _run("iptables", "-I", "DOCKER-USER", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT")


def remove_bridge() -> None:
    """The bridge, once no engine is on it (another run's swarm may still be)."""
    ports = Path(f"/sys/class/net/{BRIDGE}/brif")
    if ports.exists() and any(ports.iterdir()):
        return
    _run("iptables", "-D", "DOCKER-USER", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT",
         check=False)
    _run("ip", "link", "del", BRIDGE, check=False)


def client(engine: NsEngine) -> docker.APIClient:
    """The test's own look at an engine (its unix socket)."""
    return docker.APIClient(base_url=engine.socket, version="1.41")


def form_swarm(nodes: list[NsEngine]) -> None:
    """The first engine a swarm's manager, the others its workers, on their bridge
    addresses. Heartbeats every second: a node lost is marked down in seconds, not the
    13 s Swarm's default of 5 s takes here."""
    manager = client(nodes[0])
    try:
        address = nodes[0].address
        manager.init_swarm(advertise_addr=address, listen_addr=f"{address}:2377",
                           swarm_spec=manager.create_swarm_spec(
                               dispatcher_heartbeat_period=1_000_000_000))
        token = manager.inspect_swarm()["JoinTokens"]["Worker"]
    finally:
        manager.close()
    for node in nodes[1:]:
        worker = client(node)
        try:
            worker.join_swarm([f"{address}:2377"], token, advertise_addr=node.address,
                              listen_addr=f"{node.address}:2377")
        finally:
            worker.close()

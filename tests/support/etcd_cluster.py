"""Real etcd members for the tests: started on free loopback ports in temporary directories.

Fixtures are session-scoped where nothing is destroyed (a plain member, an auth-enabled member);
the failover tests, which stop members, get a three-member cluster of their own. Every test
writes under its own key prefix, so tests sharing a member never see each other's keys.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launcher.backends import BackendSettings
from launcher.backends.etcd.backend import EtcdBackend, open_etcd

ETCD = shutil.which("etcd")
ROOT_PASSWORD = "root-pw-for-tests"
FAST = ["--heartbeat-interval", "50", "--election-timeout", "500"]  # elections in ~0.5 s, not 1 s
# Fetching from a member without auth is refused unless asked for (docs/backends/etcd.md): tests that
# read from etcd_single or etcd_three say so, through the setting or, for launcher processes, this.
ETCD_ALLOW_NO_AUTH = {"CHOREO_RUN_ETCD_ALLOW_NO_AUTH": "1"}


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Cluster:
    members: list[Member]
    directory: Path

    def url(self, prefix: str = "", scheme: str = "etcd") -> str:
        return f"{scheme}://{','.join(m.address for m in self.members)}/{prefix.strip('/')}"

    def backend(self, prefix: str, **settings) -> EtcdBackend:
        return open_etcd(self.url(prefix), BackendSettings(**{"timeout": 1.0, "deadline": 5.0, **settings}))

    def stop(self) -> None:
        for member in self.members:
            member.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def free_ports(count: int) -> list[int]:
    """Ports the kernel handed out, all held at once so none is handed out twice."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_cluster(size: int) -> Cluster:
    directory = Path(tempfile.mkdtemp(prefix="etcd-test-"))
    ports = free_ports(2 * size)
    members = [Member(f"m{i}", ports[2 * i], ports[2 * i + 1]) for i in range(size)]
    initial = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in members)
    for member in members:
        member.process = subprocess.Popen(
            [
                ETCD,
                "--name",
                member.name,
                "--data-dir",
                str(directory / member.name),
                "--listen-client-urls",
                f"http://{member.address}",
                "--advertise-client-urls",
                f"http://{member.address}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{member.peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{member.peer_port}",
                "--initial-cluster",
                initial,
                "--initial-cluster-state",
                "new",
                *FAST,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(directory / f"{member.name}.log", "wb"),
        )
    cluster = Cluster(members, directory)
    try:
        wait_healthy(members)
    except Exception:
        cluster.stop()
        raise
    return cluster


def wait_healthy(members: list[Member], timeout: float = 20.0) -> None:
    """Until every member reports a leader through `/health`."""
    expires = time.monotonic() + timeout
    for member in members:
        while not _healthy(member):
            if member.process and member.process.poll() is not None:
                raise RuntimeError(f"etcd {member.name} exited with {member.process.returncode}")
            if time.monotonic() > expires:
                raise RuntimeError(f"etcd {member.name} not healthy after {timeout}s")
            time.sleep(0.05)


def _healthy(member: Member) -> bool:
    try:
        return httpx.get(f"http://{member.address}/health", timeout=1).json().get("health") == "true"
    except (httpx.HTTPError, ValueError):
        return False


def gateway(member: Member, path: str, body: dict, token: str | None = None) -> httpx.Response:
    """A raw JSON-gateway call, to show what etcd itself answers."""
    headers = {"Authorization": token} if token else {}
    return httpx.post(f"http://{member.address}{path}", json=body, headers=headers, timeout=5)


def token_for(member: Member, user: str, password: str) -> str:
    return gateway(member, "/v3/auth/authenticate", {"name": user, "password": password}).json()["token"]


def started(size: int) -> Cluster:
    if ETCD is None:
        pytest.skip("etcd is not installed (Debian/Ubuntu: apt-get install etcd-server)")
    return start_cluster(size)


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def etcd_single() -> Iterator[Cluster]:
    """One member, auth off, shared by every test of the session.

    Auth off is a development set-up: a fetch from it is refused unless the test opts in
    (`etcd_allow_no_auth=True`, or ETCD_ALLOW_NO_AUTH for a launcher process).
    """
    cluster = started(1)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def etcd_auth() -> Iterator[Cluster]:
    """One member with auth enabled: `root` / ROOT_PASSWORD; roles are up to each test."""
    cluster = started(1)
    member = cluster.members[0]
    for path, body in (
        ("/v3/auth/user/add", {"name": "root", "password": ROOT_PASSWORD}),
        ("/v3/auth/role/add", {"name": "root"}),
        ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
        ("/v3/auth/enable", {}),
    ):
        gateway(member, path, body).raise_for_status()
    yield cluster
    cluster.stop()


@pytest.fixture()
def etcd_three() -> Iterator[Cluster]:
    """Three members of one cluster, auth off (fetches opt in, as for etcd_single), for tests that stop some."""
    cluster = started(3)
    yield cluster
    cluster.stop()

"""Throwaway servers on loopback: one etcd member and the HTTP reference server (serve-http).

Both are context managers that stop what they started, even when the benchmark fails.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; held open together so they are distinct."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind((LOOPBACK, 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def wait_until(ready, what: str, process: subprocess.Popen, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `ready()` every 50 ms; fail if `process` exits or `timeout` passes."""
    limit = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.monotonic() > limit:
            raise RuntimeError(f"{what} not ready after {timeout}s")
        time.sleep(0.05)


def http_get(url: str, headers: dict[str, str] | None = None) -> bytes | None:
    """The body of a GET, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as answer:
            return answer.read()
    except OSError:
        return None


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Etcd:
    address: str  # host:port of the client URL

    def url(self, prefix: str) -> str:
        return f"etcd://{self.address}{prefix}"

    def range_requests(self) -> int:
        """Reads served so far: Range and Txn RPCs (the JSON gateway goes through gRPC, so each request
        counts once; since 7cde569 a fetch is one read-only transaction, before it three ranges)."""
        text = (http_get(f"http://{self.address}/metrics") or b"").decode()
        pattern = r'^grpc_server_handled_total\{[^}]*grpc_method="(?:Range|Txn)"[^}]*\} (\S+)$'
        return int(sum(float(value) for value in re.findall(pattern, text, re.MULTILINE)))


@contextmanager
def etcd_member() -> Iterator[Etcd]:
    """A single-member etcd in a temporary directory, on two free loopback ports."""
    client, peer = free_ports(2)
    with tempfile.TemporaryDirectory(prefix="choreo-bench-etcd-") as directory:
        peer_url, client_url = f"http://{LOOPBACK}:{peer}", f"http://{LOOPBACK}:{client}"
        argv = [
            ETCD,
            "--name",
            "bench",
            "--data-dir",
            str(Path(directory) / "data"),
            "--listen-client-urls",
            client_url,
            "--advertise-client-urls",
            client_url,
            "--listen-peer-urls",
            peer_url,
            "--initial-advertise-peer-urls",
            peer_url,
            "--initial-cluster",
            f"bench={peer_url}",
            "--log-level",
            "error",
        ]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: b'"true"' in (http_get(f"{client_url}/health") or b""), "etcd", process)
            yield Etcd(f"{LOOPBACK}:{client}")
        finally:
            stop(process)


@dataclass(frozen=True)
class HttpServer:
    url: str
    log: Path  # the server's stderr: one line per request

    def snapshot_requests(self) -> int:
        return sum(1 for line in self.log.read_text(errors="replace").splitlines() if " GET " in line)


@contextmanager
def serve_http(choreo_run: str, store: Path, tokens: Path, log: Path) -> Iterator[HttpServer]:
    """`choreo-run serve-http` over `store` on a free loopback port, its log in `log`."""
    (port,) = free_ports(1)
    argv = [
        choreo_run,
        "serve-http",
        "--store",
        str(store),
        "--tokens",
        str(tokens),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    with open(log, "wb") as sink:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=sink)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(lambda: _listening(port), "serve-http", process)
        yield HttpServer(url, log)
    finally:
        stop(process)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) == 0

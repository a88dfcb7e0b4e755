"""--watch survives its backend: a real etcd member stopped and restarted, a real HTTP server that drips.

Both run under a real watching launcher whose service logs each start (as in test_watch.py). The
launcher's stderr goes to a file, read while it runs: the state messages must appear once per change
of state, and no traceback ever.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from launcher.backends import BackendSettings
from launcher.backends.etcd.sync import create_roles
from support.etcd_cluster import ETCD, ROOT_PASSWORD, Member, free_ports, gateway, unique_prefix, wait_healthy
from support.http_fixtures import TOKEN, contract
from support.process import EXAMPLE, clean_environment, example_launch, run_launcher

SERVICE = (
    'echo "start $CHOREO_ORDERS_DB_HOSTNAME $$" >> "$LOG"; '
    'trap \'echo "term $$" >> "$LOG"; exit 0\' TERM; '
    "while true; do sleep 0.05; done"
)
ROOT_ENV = {"CHOREO_RUN_ETCD_USER": "root", "CHOREO_RUN_ETCD_PASSWORD": ROOT_PASSWORD}


class Launcher:
    """choreo-run --watch over a copy of the example; its service's log and its own stderr, both files."""

    def __init__(self, tmp_path: Path, backend: str, env: dict[str, str], *extra: str) -> None:
        self.dir = tmp_path / "orders-service"
        shutil.copytree(EXAMPLE, self.dir)
        self.log = tmp_path / "service.log"
        self.log.touch()
        self.stderr_path = tmp_path / "launcher.stderr"
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                example_launch(
                    self.dir,
                    tmp_path / "m",
                    *("--backend", backend, "--watch", "--watch-interval", "0.1"),
                    *extra,
                    command=["sh", "-c", SERVICE],
                ),
                env=clean_environment({"LOG": str(self.log), **env}),
                stderr=stderr,
            )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, f"the launcher exited while waiting for {what}: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {what} after {timeout}s: {self.lines()} {self.stderr()}"
            time.sleep(0.05)

    def wait_for_starts(self, count: int, timeout: float = 15) -> list[str]:
        self.wait(f"{count} log lines", lambda: len(self.lines()) >= count, timeout)
        return self.lines()

    def wait_for_message(self, pattern: str, timeout: float = 10) -> None:
        self.wait(repr(pattern), lambda: re.search(pattern, self.stderr()) is not None, timeout)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.stderr()


def words(lines: list[str]) -> list[tuple[str, ...]]:
    return [tuple(line.split()[:2]) for line in lines]


# ---------------------------------------------------------------- etcd stopped and restarted


class OwnMember:
    """One etcd member of our own, with auth, that can be stopped and started again on its port and data."""

    def __init__(self, directory: Path) -> None:
        client, peer = free_ports(2)
        self.member = Member("m0", client, peer)
        self.directory = directory
        self.start(new=True)

    def command(self, new: bool) -> list[str]:
        peer = f"http://127.0.0.1:{self.member.peer_port}"
        client = f"http://{self.member.address}"
        return [
            ETCD or "etcd",
            *("--name", "m0", "--data-dir", str(self.directory / "data")),
            *("--listen-client-urls", client, "--advertise-client-urls", client),
            *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
            *("--initial-cluster", f"m0={peer}", "--initial-cluster-state", "new" if new else "existing"),
            *("--heartbeat-interval", "50", "--election-timeout", "500"),
        ]

    def start(self, new: bool = False) -> None:
        with open(self.directory / "etcd.log", "ab") as log:
            self.member.process = subprocess.Popen(self.command(new), stdout=subprocess.DEVNULL, stderr=log)
        wait_healthy([self.member])

    def stop(self) -> None:
        self.member.stop()


@pytest.fixture
def own_etcd(tmp_path: Path) -> Iterator[OwnMember]:
    if ETCD is None:
        pytest.skip("etcd is not installed (Debian/Ubuntu: apt-get install etcd-server)")
    directory = tmp_path / "etcd"
    directory.mkdir()
    member = OwnMember(directory)
    try:
        for path, body in (
            ("/v3/auth/user/add", {"name": "root", "password": ROOT_PASSWORD}),
            ("/v3/auth/role/add", {"name": "root"}),
            ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
            ("/v3/auth/enable", {}),
        ):
            gateway(member.member, path, body).raise_for_status()
        yield member
    finally:
        member.stop()


def test_watch_survives_an_etcd_restart_and_sees_the_next_rotation(own_etcd: OwnMember, tmp_path: Path) -> None:
    url = f"etcd://{own_etcd.member.address}/{unique_prefix()}"
    store = tmp_path / "store.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    assert run_launcher(["store", "push", "--store", str(store), url], env=ROOT_ENV).returncode == 0
    granted = create_roles(url, BackendSettings(username="root", password=ROOT_PASSWORD), "bookstore", users=True)
    access = next(access for access in granted if access.component == "orders-service")
    component_env = {"CHOREO_RUN_ETCD_USER": access.role, "CHOREO_RUN_ETCD_PASSWORD": access.password or ""}
    (tmp_path / "run").mkdir()
    launcher = Launcher(tmp_path / "run", url, component_env)
    try:
        assert words(launcher.wait_for_starts(1)) == [("start", "localhost")]
        time.sleep(1.0)  # the watch streams are up (etcd confirms them within ~0.1 s)
        own_etcd.stop()  # the streams break, and the tokens they were opened with die with it
        launcher.wait_for_message(r"watch: etcd://\S+ unreachable \(.+\); retrying in \d+\.\d s")
        time.sleep(1.0)  # a few failed attempts: still one message
        own_etcd.start()
        launcher.wait_for_message(r"watch: etcd://\S+ reachable again")
        store.write_text(store.read_text().replace("development: localhost,", "development: db-after-restart,"))
        assert run_launcher(["store", "push", "--store", str(store), url], env=ROOT_ENV).returncode == 0
        lines = launcher.wait_for_starts(3)
        assert words(lines) == [("start", "localhost"), ("term", lines[0].split()[2]), ("start", "db-after-restart")]
        assert launcher.process.poll() is None
    finally:
        stderr = launcher.stop()
    assert launcher.process.returncode == 0  # the service's own exit code on our SIGTERM: stopped cleanly
    assert "Traceback" not in stderr
    assert len(re.findall(r"unreachable", stderr)) == 1, stderr
    assert len(re.findall(r"reachable again", stderr)) == 1, stderr
    assert "other threads are running" not in stderr  # the watch threads leave signals to the supervisor
    assert access.password and access.password not in stderr


# ---------------------------------------------------------------- an HTTP server that drips its headers


class DrippingFront:
    """A raw socket server before the contract server: relays requests, or, while `dripping`, answers
    one header byte every half second (and never finishes) to every request."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.dripping = threading.Event()
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                request += chunk
            self.requests += 1
            try:
                if self.dripping.is_set():
                    self._drip(connection)
                else:
                    connection.sendall(self._relay(request))
            except OSError:
                pass  # the client gave up on us: that is the point

    def _drip(self, connection: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 10_000:
            if not self.dripping.is_set() or self.closed.is_set():
                return  # back to normal: this answer is abandoned, the next request is relayed
            connection.send(bytes([byte]))
            time.sleep(0.5)

    def _relay(self, request: bytes) -> bytes:
        lines = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        wanted = {k: v for k, v in headers.items() if k.lower() in ("authorization", "if-none-match", "accept")}
        answer = httpx.get(self.upstream + path, headers=wanted, timeout=5)
        head = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
        head += [f"{k}: {v}" for k, v in answer.headers.items() if k.lower() in ("content-type", "etag")]
        head += [f"Content-Length: {len(answer.content)}", "Connection: close"]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.content


@contextmanager
def dripping_front(upstream: str) -> Iterator[DrippingFront]:
    front = DrippingFront(upstream)
    try:
        yield front
    finally:
        front.close()


def test_watch_survives_an_http_backend_that_drips_its_headers(tmp_path: Path) -> None:
    store = tmp_path / "served.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    (tmp_path / "run").mkdir()
    with (
        contract(tmp_path, str(store)) as server,
        dripping_front(f"http://127.0.0.1:{server.server_address[1]}") as front,
    ):
        launcher = Launcher(
            tmp_path / "run", front.url, {"CHOREO_RUN_TOKEN": TOKEN}, "--timeout", "1", "--deadline", "2"
        )
        try:
            assert words(launcher.wait_for_starts(1)) == [("start", "localhost")]  # a good first answer
            front.dripping.set()
            started = time.monotonic()
            launcher.wait_for_message(r"watch: http://\S+ unreachable \(.*not complete within.*\); .*retrying in", 8)
            assert time.monotonic() - started < 6  # the poll did not hang: 2 s deadline, then the report
            asked = front.requests
            time.sleep(3)  # more polls against the dripping server: still one message, the service untouched
            assert front.requests > asked
            assert words(launcher.lines()) == [("start", "localhost")] and launcher.process.poll() is None
            store.write_text(store.read_text().replace("development: localhost,", "development: db-after-drip,"))
            front.dripping.clear()  # answers normally again, with the new value
            launcher.wait_for_message(r"watch: http://\S+ reachable again", 8)
            lines = launcher.wait_for_starts(3, timeout=8)
            assert words(lines) == [("start", "localhost"), ("term", lines[0].split()[2]), ("start", "db-after-drip")]
        finally:
            stderr = launcher.stop()
    assert launcher.process.returncode == 0
    assert "Traceback" not in stderr
    assert len(re.findall(r"unreachable", stderr)) == 1, stderr
    assert len(re.findall(r"reachable again", stderr)) == 1, stderr
    assert TOKEN not in stderr

"""Never break a deploy, never leak a secret: the deadline, the last-known-good cache, fail-closed.

A real HTTP contract server runs as its own process and is stopped mid-run; the launcher runs as
a real process against it.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support.process import DUMP_ENV, EXAMPLE, clean_environment, run_launcher, write

TOKEN = "orders-token-4e7a1c9b"
CACHE_KEY = "a-test-cache-key-that-is-long-enough"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`choreo-run serve-http` as a real process, started and stopped by the test."""

    def __init__(
        self,
        tmp_path: Path,
        token_component: str = "orders-service",
        port: int | None = None,
        store: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        tokens = write(
            tmp_path / f"tokens-{self.port}.yaml",
            f"""
            version: 1
            tokens:
              - {{name: orders, token: {TOKEN}, project: bookstore, component: {token_component}}}
            """,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher",
                "serve-http",
                "--store",
                str(store or EXAMPLE / "connections.yaml"),
                "--tokens",
                str(tokens),
                "--port",
                str(self.port),
            ],
            env=clean_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_until_listening(self) -> None:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, "serve-http exited"
                time.sleep(0.05)
        raise AssertionError("serve-http did not start listening")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path):
    started = Server(tmp_path)
    yield started
    if started.process.poll() is None:
        started.stop()


def launch(backend_url: str, tmp_path: Path, *extra: str, key: str = CACHE_KEY):
    return run_launcher(
        [
            "-C",
            str(EXAMPLE),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--backend",
            backend_url,
            "--mount-root",
            str(tmp_path / "mounts"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--deadline",
            "3",
            "--timeout",
            "1",
            *extra,
            "--",
            *DUMP_ENV,
        ],
        env={"CHOREO_RUN_TOKEN": TOKEN, "CHOREO_RUN_CACHE_KEY": key},
    )


def cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("*.cache"))


def test_cache_serves_a_stopped_backend_with_a_warning(server: Server, tmp_path: Path) -> None:
    first = launch(server.url, tmp_path, "--cache")
    assert first.env()["DATABASE_PASSWORD"] == "dev-db-password-3b8f"
    [entry] = cache_files(tmp_path)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert b"dev-db-password-3b8f" not in entry.read_bytes()  # encrypted at rest

    server.stop()
    second = launch(server.url, tmp_path, "--cache")
    assert second.env()["DATABASE_PASSWORD"] == "dev-db-password-3b8f"
    assert "using the last-known-good values from" in second.stderr and " s ago" in second.stderr


def test_without_the_cache_an_unreachable_backend_fails_closed(server: Server, tmp_path: Path) -> None:
    server.stop()
    result = launch(server.url, tmp_path)
    assert result.returncode == 69
    assert server.url in result.stderr and result.stdout == ""  # the service never started


def test_a_cache_older_than_the_maximum_age_is_not_used(server: Server, tmp_path: Path) -> None:
    assert launch(server.url, tmp_path, "--cache").returncode == 0
    server.stop()
    result = launch(server.url, tmp_path, "--cache", "--cache-max-age", "0s")
    assert result.returncode == 69
    assert "older than the maximum" in result.stderr


@pytest.mark.parametrize("damage", ["flip-a-byte", "truncate", "other-key"])
def test_a_damaged_or_foreign_cache_is_detected_and_ignored(server: Server, tmp_path: Path, damage: str) -> None:
    assert launch(server.url, tmp_path, "--cache").returncode == 0
    server.stop()
    [entry] = cache_files(tmp_path)
    raw = bytearray(entry.read_bytes())
    key = CACHE_KEY
    if damage == "flip-a-byte":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        key = "another-key-of-sufficient-length"
    entry.write_bytes(bytes(raw))
    result = launch(server.url, tmp_path, "--cache", key=key)
    assert result.returncode == 69
    assert "failed authentication" in result.stderr


def test_access_denied_is_never_served_from_the_cache(tmp_path: Path) -> None:
    allowed = Server(tmp_path)
    try:
        assert launch(allowed.url, tmp_path, "--cache").returncode == 0
        assert cache_files(tmp_path)
    finally:
        allowed.stop()
    # The same URL, but the token no longer reads orders-service.
    revoked = Server(tmp_path, token_component="billing-service", port=allowed.port)
    try:
        result = launch(revoked.url, tmp_path, "--cache")
        assert result.returncode == 77
        assert not cache_files(tmp_path)  # the denial deleted the cached values
    finally:
        revoked.stop()
    assert launch(revoked.url, tmp_path, "--cache").returncode == 69


def test_a_deleted_component_is_never_served_from_the_cache(tmp_path: Path) -> None:
    """404 is a definitive answer like a denial: the cached values of the deleted component are forgotten."""
    existing = Server(tmp_path)
    try:
        assert launch(existing.url, tmp_path, "--cache").returncode == 0
        assert cache_files(tmp_path)
    finally:
        existing.stop()
    store = tmp_path / "store-without-orders.yaml"
    store.write_text((EXAMPLE / "connections.yaml").read_text().replace("orders-service", "orders-service-retired"))
    deleted = Server(tmp_path, port=existing.port, store=store)
    try:
        result = launch(deleted.url, tmp_path, "--cache")
        assert result.returncode == 78, result.stderr
        assert "404" in result.stderr
        assert not cache_files(tmp_path)  # the 404 deleted the cached values
    finally:
        deleted.stop()
    assert launch(deleted.url, tmp_path, "--cache").returncode == 69  # nothing left to fall back on


def test_a_backend_that_never_answers_hits_the_deadline(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_stay_silent() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    try:
        result = launch(f"http://127.0.0.1:{listener.getsockname()[1]}", tmp_path)
        assert result.returncode == 69
        assert "deadline" in result.stderr or "timed out" in result.stderr
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_the_cache_needs_a_key(tmp_path: Path) -> None:
    result = run_launcher(["-C", str(EXAMPLE), "--cache", "check"])
    assert result.returncode == 78
    assert "needs a key of at least 16 bytes" in result.stderr


def test_cache_key_never_reaches_the_child(server: Server, tmp_path: Path) -> None:
    environment = launch(server.url, tmp_path, "--cache").env()
    assert CACHE_KEY not in environment.values() and TOKEN not in environment.values()

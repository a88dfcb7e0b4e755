"""etcds://: the etcd backend over TLS against a real member serving HTTPS with a self-signed CA."""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launcher.backends import BackendSettings, open_backend
from launcher.backends.local.backend import LocalStore
from launcher.errors import BackendUnavailable
from launcher.model import Identity
from support.etcd_cluster import ETCD, FAST, free_ports, unique_prefix
from support.http_fixtures import self_signed_certificate
from support.stores import EXAMPLE


@pytest.fixture(scope="module")
def tls_member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(host:port, CA file) of one etcd member whose client URL is HTTPS."""
    if ETCD is None:
        pytest.skip("etcd is not installed (Debian/Ubuntu: apt-get install etcd-server)")
    directory = tmp_path_factory.mktemp("etcd-tls")
    cert, key = self_signed_certificate(directory)
    client, peer = free_ports(2)
    address = f"127.0.0.1:{client}"
    process = subprocess.Popen(
        [
            ETCD,
            "--name",
            "tls",
            "--data-dir",
            str(directory / "data"),
            "--listen-client-urls",
            f"https://{address}",
            "--advertise-client-urls",
            f"https://{address}",
            "--cert-file",
            cert,
            "--key-file",
            key,
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"tls=http://127.0.0.1:{peer}",
            *FAST,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(address, cert, process)
        yield address, cert
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_healthy(address: str, ca_file: str, process: subprocess.Popen) -> None:
    context = ssl.create_default_context(cafile=ca_file)
    expires = time.monotonic() + 20
    while time.monotonic() < expires:
        assert process.poll() is None, "etcd exited"
        try:
            if httpx.get(f"https://{address}/health", verify=context, timeout=1).json().get("health") == "true":
                return
        except (httpx.HTTPError, ValueError):
            time.sleep(0.05)
    raise AssertionError("etcd over TLS did not become healthy")


def test_etcds_verifies_the_member_against_the_given_ca(tls_member: tuple[str, str]) -> None:
    address, ca_file = tls_member
    url = f"etcds://{address}/{unique_prefix()}"
    # The TLS member has auth off: only TLS is under test here, so the fetch opts in.
    trusted = open_backend(url, BackendSettings(ca_file=ca_file, timeout=2, deadline=5, etcd_allow_no_auth=True))
    local = LocalStore(str(EXAMPLE))
    trusted.push(local.load())  # type: ignore[attr-defined]
    identity = Identity("bookstore", "orders-service")
    assert {c.name for c in trusted.fetch(identity).connections} == {"book-catalog", "orders-db"}


def test_etcds_refuses_a_member_it_cannot_verify(tls_member: tuple[str, str], tmp_path: Path) -> None:
    address, _ = tls_member
    untrusted = open_backend(f"etcds://{address}/x", BackendSettings(timeout=1, deadline=2))
    with pytest.raises(BackendUnavailable) as caught:
        untrusted.fetch(Identity("bookstore", "orders-service"))
    assert address in str(caught.value)

"""Real servers for the HTTP backend tests: the contract server, scripted answers, silent and closed ports.

Every server listens on a free loopback port and is shut down when its `with` block ends.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from launcher.backends.http.server import ContractHandler, ContractServer, hash_token, make_server
from launcher.model import Identity
from support.process import EXAMPLE

EXAMPLE_STORE = str(EXAMPLE / "connections.yaml")
ORDERS = Identity("bookstore", "orders-service", "development")
TOKEN = "orders-token-9d7c61e0"
BILLING_TOKEN = "billing-token-4f0b22aa"  # stored hashed in the tokens file
TOKENS_YAML = f"""
version: 1
tokens:
  - {{name: orders-dev, token: {TOKEN}, project: bookstore, component: orders-service}}
  - {{name: billing, sha256: {hash_token(BILLING_TOKEN)}, project: bookstore, component: billing-service}}
  - {{name: ghost, token: ghost-token-0000, project: bookstore, component: ghost-service}}
"""


@dataclass
class Seen:
    """What a test server saw, for asserting on the server side (how many requests, which headers)."""

    headers: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    fail_first: int = 0  # answer 503 to this many requests before behaving


class RecordingHandler(ContractHandler):
    """The real contract, counting requests and statuses, optionally failing the first N with 503."""

    def do_GET(self) -> None:
        seen: Seen = self.server.seen  # type: ignore[attr-defined]
        seen.headers.append(dict(self.headers))
        if len(seen.headers) <= seen.fail_first:
            return self._error(503, "unavailable", "warming up")
        super().do_GET()

    def send_response(self, code: int, message: str | None = None) -> None:
        self.server.seen.statuses.append(code)  # type: ignore[attr-defined]
        super().send_response(code, message)


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def tokens_file(directory: Path) -> str:
    path = directory / "tokens.yaml"
    path.write_text(TOKENS_YAML)
    return str(path)


@contextmanager
def contract(
    directory: Path, store: str = EXAMPLE_STORE, *, fail_first: int = 0, tls: tuple[str, str] | None = None
) -> Iterator[ContractServer]:
    """The contract server over `store`, recording into `server.seen`."""
    server = make_server(
        store,
        tokens_file(directory),
        "127.0.0.1",
        0,
        handler=RecordingHandler,
        tls_cert=tls[0] if tls else None,
        tls_key=tls[1] if tls else None,
    )
    server.seen = Seen(fail_first=fail_first)  # type: ignore[attr-defined]
    with serving(server):
        yield server


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def json_answer(data: object, status: int = 200, *headers: tuple[str, str]) -> Answer:
    return Answer(status, json.dumps(data).encode(), (("Content-Type", "application/json"), *headers))


class ScriptedHandler(BaseHTTPRequestHandler):
    """Answers with the server's script in order, repeating the last answer; records each path."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        script = self.server.script  # type: ignore[attr-defined]
        answer = script[min(len(self.server.paths), len(script)) - 1]  # type: ignore[attr-defined]
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def scripted(*script: Answer) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    server.daemon_threads = True
    server.script, server.paths = script, []  # type: ignore[attr-defined]
    with serving(server):
        yield server


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def silent_port() -> Iterator[str]:
    """A port that accepts connections (the kernel does, into the backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def closed_port() -> Iterator[str]:
    """A port held bound but not listening, so connections are refused and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """(cert.pem, key.pem) for 127.0.0.1, made with `cryptography` if installed, else the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        cert_pem, key_pem = _with_cryptography()
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("TLS test needs the cryptography package or the openssl command; neither is available")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return str(cert), str(key)


def _with_cryptography() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem

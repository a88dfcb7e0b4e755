"""A small, real server for the HTTP backend contract (docs/backends/http.md), serving a local store file.

For trying the `http://` backend end to end and for the test suite; not a production control plane.
Resolution is the local store's own (`LocalStore.fetch`), encoded with the contract's codec, so the two
backends cannot drift apart. The store is re-read on every request, so editing it changes the ETag.
Logs name the token's label from the tokens file, never the token, and never a value.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from launcher.backends.http.codec import encode_snapshot
from launcher.backends.local.backend import LocalStore
from launcher.documents import shape
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ConfigurationError, LauncherError, ProblemCollector
from launcher.model import Identity, Snapshot

TOKENS_VERSION = 1
log = logging.getLogger("launcher.backends.http.server")


@dataclass(frozen=True)
class Grant:
    """What one token may read: every environment of one component of one project."""

    name: str  # a label for logs, so the token itself never has to be shown
    project: str
    component: str


def load_tokens(path: str) -> dict[str, Grant]:
    """The tokens file as {sha256 hex of the token: Grant}; ConfigurationError lists every problem."""
    shown = describe_file(path)
    problems = ProblemCollector(shown)
    body = shape.mapping(load_yaml_file(path, ConfigurationError, ConfigurationError), "", problems) or {}
    if body and body.get("version") != TOKENS_VERSION:
        problems.add("version", f"expected {TOKENS_VERSION}")
    grants: dict[str, Grant] = {}
    for index, item in enumerate(shape.sequence(body.get("tokens"), "tokens", problems, required=bool(body))):
        path_here = shape.child("tokens", index)
        entry = _token_entry(item, path_here, problems)
        if entry and entry[0] in grants:
            problems.add(path_here, "the same token appears twice")
        elif entry:
            grants[entry[0]] = entry[1]
    problems.raise_if_any(ConfigurationError)
    return grants


def _token_entry(raw: Any, path: str, problems: ProblemCollector) -> tuple[str, Grant] | None:
    body = shape.mapping(raw, path, problems)
    if body is None:
        return None
    names = {
        key: shape.text(body.get(key), shape.child(path, key), problems, what=what)
        for key, what in (
            ("name", "a label for logs"),
            ("project", "a project name"),
            ("component", "a component name"),
        )
    }
    digest = _digest(body, path, problems)
    if digest is None or None in names.values():
        return None
    present = cast("dict[str, str]", names)  # every value checked just above
    return digest, Grant(present["name"], present["project"], present["component"])


def _digest(body: dict, path: str, problems: ProblemCollector) -> str | None:
    """`token: TEXT`, or `sha256: HEX` so that the file need not hold the token itself."""
    token, digest = body.get("token"), body.get("sha256")
    if (token is None) == (digest is None):
        problems.add(path, "expected exactly one of `token` or `sha256`")
    elif token is not None and not (isinstance(token, str) and token.strip()):
        problems.add(shape.child(path, "token"), "expected a non-empty string")
    elif token is not None:
        return hash_token(token.strip())
    elif not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest.lower())):
        problems.add(shape.child(path, "sha256"), "expected 64 hexadecimal digits")
    else:
        return digest.lower()
    return None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ContractServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], store_path: str, grants: dict[str, Grant]
    ) -> None:
        super().__init__(address, handler)
        self.store_path = store_path
        self.grants = grants
        # One store for every request, parsed again only when the file changed (LocalStore.load):
        # parsing a store of 1,000 connections for each answer took ~100 ms. The lock makes each
        # request see one parse, and lets a changed file be parsed once, not once per request.
        self.store = LocalStore(store_path)
        self.store_lock = threading.Lock()

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        host, port = self.server_address[:2]
        return f"{scheme}://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line instead of socketserver's traceback: failed handshakes and dropped clients are routine."""
        error = sys.exc_info()[1]
        log.info("%s: connection failed: %s", client_address[0], type(error).__name__)


class ContractHandler(BaseHTTPRequestHandler):
    """GET /v1/projects/{p}/components/{c}/environments/{e}/snapshot; nothing else."""

    server: ContractServer
    server_version = "choreo-run-contract/1"
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    timeout = 30  # a silent client must not hold a thread forever
    grant_name = "-"

    def do_GET(self) -> None:
        identity = _identity_in(self.path)
        token = self._bearer()
        grant = self.server.grants.get(hash_token(token)) if token else None
        self.grant_name = grant.name if grant else "-"
        if identity is None:
            self._error(404, "not_found", "no such resource; see docs/backends/http.md")
        elif grant is None:
            self._error(401, "unauthenticated", "a valid bearer token is required")
        elif (grant.project, grant.component) != (identity.project, identity.component):
            self._error(
                403, "forbidden", f"this token may read component {grant.component!r} of project {grant.project!r} only"
            )
        else:
            self._snapshot(identity)

    def version_string(self) -> str:
        return self.server_version  # without the Python version the base class would announce

    def do_POST(self) -> None:
        self._error(405, "method_not_allowed", "only GET is supported", {"Allow": "GET"})

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _bearer(self) -> str:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _snapshot(self, identity: Identity) -> None:
        snapshot, status = self._fetch(identity)
        if status == 500:
            return self._error(500, "store_error", "the server's store file is invalid; see the server log")
        if snapshot is None:
            return self._error(404, "not_found", f"no component {identity.component!r} in project {identity.project!r}")
        body = json.dumps(encode_snapshot(snapshot), sort_keys=True, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if _matches(self.headers.get("If-None-Match"), etag):
            return self._send(304, b"", {"ETag": etag})
        self._send(200, body, {"ETag": etag, "Content-Type": "application/json"})

    def _fetch(self, identity: Identity) -> tuple[Snapshot | None, int]:
        """(the snapshot, 200), or (None, 500) for a store that does not parse, (None, 404) for an
        unknown component. Only this holds the store's lock: answers are written after it, so a
        client that reads slowly never holds up the others."""
        with self.server.store_lock:
            try:
                self.server.store.load()
            except LauncherError as error:
                log.error("the store file is invalid: %s", error)
                return None, 500
            try:
                return self.server.store.fetch(identity), 200
            except ConfigurationError:
                return None, 404

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        extra = {"WWW-Authenticate": 'Bearer realm="choreo-run"'} if status == 401 else {}
        self._send(status, body, {"Content-Type": "application/json", **extra, **(headers or {})})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        # The body holds secrets: no shared cache may keep it. Revalidation uses the ETag instead.
        for name, value in {"Cache-Control": "no-store", **headers}.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """The path without its query, the token's label, the status: never the token, never a value."""
        path = urlsplit(self.path).path
        log.info("%s %s %s %s %s", self.client_address[0], self.grant_name, self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("%s: %s", self.client_address[0], format % args)


def _identity_in(raw_path: str) -> Identity | None:
    parts = urlsplit(raw_path).path.split("/")
    if (
        len(parts) != 9
        or parts[:3] != ["", "v1", "projects"]
        or parts[4] != "components"
        or parts[6] != "environments"
        or parts[8] != "snapshot"
    ):
        return None
    names = [unquote(parts[index]) for index in (3, 5, 7)]
    return Identity(*names) if all(names) else None


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: `W/` prefixes are ignored, `*` matches anything."""
    tags = [tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")]
    return "*" in tags or etag in tags


def make_server(
    store_path: str,
    tokens_path: str,
    host: str = "127.0.0.1",
    port: int = 8421,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    handler: type[BaseHTTPRequestHandler] = ContractHandler,
) -> ContractServer:
    """A bound, not yet serving, server; port 0 picks a free one (see `.url`)."""
    grants = load_tokens(tokens_path)
    try:
        server = ContractServer((host, port), handler, store_path, grants)
    except OSError as error:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    try:
        server.store.load()  # refuse to start on a broken store rather than answer 500s
    except BaseException:
        server.server_close()
        raise
    if tls_cert:
        # The handshake happens in the request's thread, so a slow client cannot stall the accept loop.
        server.socket = _tls_context(tls_cert, tls_key).wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    return server


def _tls_context(cert: str, key: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or type(error).__name__
        raise ConfigurationError(f"{cert}: cannot load the TLS certificate and key: {reason}") from None
    return context


def serve(
    store_path: str, tokens_path: str, host: str, port: int, *, tls_cert: str | None = None, tls_key: str | None = None
) -> None:
    """Serve until interrupted."""
    server = make_server(store_path, tokens_path, host, port, tls_cert=tls_cert, tls_key=tls_key)
    log.info("serving %s for %d token(s) at %s", describe_file(store_path), len(server.grants), server.url)
    if not tls_cert and host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("plain HTTP on a non-loopback address: tokens and values cross the network unencrypted")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        server.server_close()

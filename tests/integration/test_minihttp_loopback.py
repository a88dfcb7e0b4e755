"""The launch-time HTTP client against real loopback servers: TLS with a private CA, keep-alive, proxies."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from launcher.backends import BackendSettings, minihttp, open_backend
from launcher.backends.tls import tls_context
from launcher.errors import BackendUnavailable, ConfigurationError
from support.http_fixtures import ORDERS, TOKEN, contract, self_signed_certificate, serving

FAST = BackendSettings(token=TOKEN, timeout=2.0, deadline=4.0)


class CountingHandler(BaseHTTPRequestHandler):
    """`hello <path>` over HTTP/1.1 keep-alive; the server counts connections and requests."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.server.close_after_answer:  # type: ignore[attr-defined]  # keep-alive announced, then dropped
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def counting(tls: tuple[str, str] | None = None, close_after_answer: bool = False) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    server.daemon_threads = True
    server.connections, server.requests = 0, []  # type: ignore[attr-defined]
    server.close_after_answer = close_after_answer  # type: ignore[attr-defined]
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield server


def soon() -> float:
    return time.monotonic() + 5


def test_tls_with_a_private_ca_verifies_and_refuses_without_it(tmp_path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with counting(tls=(cert, key)) as server:
        url = f"https://127.0.0.1:{server.server_address[1]}/x"
        with minihttp.Client(tls=tls_context(cert)) as client:
            assert client.request("GET", url, expires=soon()).content == b"hello /x"
        with minihttp.Client(tls=tls_context(None)) as client, pytest.raises(minihttp.ConnectError) as caught:
            client.request("GET", url, expires=soon())
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
        # The certificate names 127.0.0.1 and localhost, not this name: the host name is checked too.
        context = tls_context(cert)
        with minihttp.Client(tls=context) as client, pytest.raises(minihttp.ConnectError) as caught:
            client._handshake(socket.create_connection(server.server_address), "other.example", soon())
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
        assert "other.example" in caught.value.__cause__.verify_message
    assert server.requests == ["/x"]  # the refused handshakes never became requests


def test_requests_to_one_origin_share_a_kept_alive_connection() -> None:
    with counting() as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with minihttp.Client() as client:
            answers = [client.request("GET", f"{base}/{n}", expires=soon()).content for n in range(3)]
            client.request("POST", f"{base}/p", body=b"{}", expires=soon())
    assert answers == [b"hello /0", b"hello /1", b"hello /2"]
    assert server.requests == ["/0", "/1", "/2", "/p"] and server.connections == 1


def test_a_host_named_in_ascii_is_reached_without_loading_the_idna_codec() -> None:
    """getaddrinfo runs a text host name through the `idna` codec, whose import (with stringprep and
    unicodedata) cost every networked launch ~2 ms, in the fetch thread, against the manifest read."""
    with counting() as server:
        program = (
            "import sys, time\n"
            "from launcher.backends import minihttp\n"
            f"url = 'http://localhost:{server.server_address[1]}/x'\n"
            "answer = minihttp.Client().request('GET', url, expires=time.monotonic() + 5)\n"
            "print(answer.content.decode(), 'encodings.idna' in sys.modules)\n"
        )
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == ["hello", "/x", "False"], done.stderr


@pytest.mark.parametrize("host", ["a" * 64 + ".invalid", "\u00fc" * 64 + ".invalid"])
def test_a_host_name_no_resolver_can_take_is_a_connect_error(host: str) -> None:
    """A label over 63 characters: the `idna` codec refuses it (UnicodeError, once an internal error,
    exit 70) and the resolver refuses it as bytes; either way it is a host that cannot be reached."""
    with minihttp.Client() as client, pytest.raises(minihttp.ConnectError):
        client.request("GET", f"http://{host}/", expires=soon())


def test_a_connection_the_server_closed_is_never_reused() -> None:
    with counting(close_after_answer=True) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with minihttp.Client() as client:
            for n in range(3):
                assert client.request("POST", f"{base}/{n}", body=b"", expires=soon()).content == f"hello /{n}".encode()
                time.sleep(0.05)  # let the server's close arrive
    assert server.connections == 3


def test_a_silent_server_is_bounded_by_the_whole_request_deadline() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        started = time.monotonic()
        with minihttp.Client() as client, pytest.raises(minihttp.ReadTimeout, match="not complete within"):
            client.request("GET", f"http://127.0.0.1:{sock.getsockname()[1]}/", expires=started + 0.5)
    assert time.monotonic() - started < 1.5


# ---------------------------------------------------------------- proxies


class Proxy:
    """A small http:// proxy: relays absolute-form requests and opens CONNECT tunnels; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (request line, Proxy-Authorization)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            fields = dict(line.split(": ", 1) for line in lines[1:])
            self.seen.append((lines[0], fields.get("Proxy-Authorization")))
            method, target, _ = lines[0].split(" ")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                host_port, path = target.removeprefix("http://").split("/", 1)
                host, port = host_port.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                kept = [line for line in lines[1:] if not line.lower().startswith("proxy-authorization")]
                upstream.sendall("\r\n".join([f"{method} /{path} HTTP/1.1", *kept]).encode() + b"\r\n\r\n" + rest)
            with upstream:
                threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
                self._pipe(upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@contextmanager
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    try:
        yield server
    finally:
        server.close()


def test_the_http_backend_goes_through_http_proxy_as_httpx_did(tmp_path, monkeypatch) -> None:
    with contract(tmp_path) as server, proxy() as front:
        monkeypatch.setenv("HTTP_PROXY", front.url.replace("http://", "http://user:p%40ss@"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert open_backend(url, FAST).fetch(ORDERS).identity == ORDERS
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert open_backend(url, FAST).fetch(ORDERS).identity == ORDERS
    assert len(front.seen) == 1  # NO_PROXY: the second fetch went directly
    line, authorization = front.seen[0]
    assert line.startswith(f"GET {url}/v1/projects/bookstore/components/orders-service/")
    assert authorization == "Basic dXNlcjpwQHNz"  # user:p@ss


def test_https_goes_through_a_connect_tunnel_and_is_verified_end_to_end(tmp_path, monkeypatch) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with contract(tmp_path, tls=(cert, key)) as server, proxy() as front:
        monkeypatch.setenv("HTTPS_PROXY", front.url)
        url = f"https://127.0.0.1:{server.server_address[1]}"
        assert open_backend(url, FAST.replace(ca_file=cert)).fetch(ORDERS).identity == ORDERS
        with pytest.raises(BackendUnavailable, match="TLS certificate verification failed"):
            open_backend(url, FAST).fetch(ORDERS)  # the tunnel does not weaken verification
    assert [line for line, _ in front.seen] == [f"CONNECT 127.0.0.1:{server.server_address[1]} HTTP/1.1"] * 2


def test_a_proxy_other_than_http_is_refused_up_front(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:secret@proxy:1080")
    with pytest.raises(ConfigurationError, match=r"\(socks5://\.\.\., from .*http:// proxies only") as caught:
        open_backend("https://control.example.com", FAST)
    assert "secret" not in str(caught.value)

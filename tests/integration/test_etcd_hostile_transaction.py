"""An etcd member (or something posing as one) answers the launch's one read-only transaction with a
body of the wrong shape: a clear ConfigurationError naming the backend (exit 78), never a traceback,
never the values it did send. The launcher is the client; the member is a scripted loopback server."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from launcher.backends import BackendSettings, open_backend
from launcher.errors import ConfigurationError
from launcher.model import Identity
from support.http_fixtures import serving

SECRET = "hostile-value-9d2e"
GOOD_RANGE = {"response_range": {"header": {"revision": "3"}, "kvs": []}}


class _Member(BaseHTTPRequestHandler):
    """Answers every POST with the server's `answer`, as etcd's JSON gateway would (HTTP 200)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(self.server.answer).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    "answer",
    [
        {"header": {"revision": "3"}, "succeeded": True},  # no responses at all
        {"header": {"revision": "3"}, "responses": [GOOD_RANGE]},  # one range where three were asked
        {"header": {"revision": "3"}, "responses": [GOOD_RANGE] * 4},  # more than asked
        {"header": {"revision": "3"}, "responses": [GOOD_RANGE, GOOD_RANGE, SECRET]},  # not a mapping
        {"header": {"revision": "3"}, "responses": [GOOD_RANGE, GOOD_RANGE, {"response_put": {"v": SECRET}}]},
        {"header": {"revision": "3"}, "responses": [GOOD_RANGE, GOOD_RANGE, {"response_range": {"kvs": SECRET}}]},
    ],
)
def test_a_transaction_answer_of_the_wrong_shape_is_a_configuration_error(answer: dict) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Member)
    server.answer = answer  # type: ignore[attr-defined]
    with serving(server):
        backend = open_backend(
            f"etcd://127.0.0.1:{server.server_address[1]}/hostile",
            BackendSettings(etcd_allow_no_auth=True, timeout=2, deadline=4),
        )
        with pytest.raises(ConfigurationError) as raised:
            backend.fetch(Identity("p", "c", "development"))
    message = str(raised.value)
    assert "malformed" in message and "etcd://127.0.0.1" in message
    assert SECRET not in message

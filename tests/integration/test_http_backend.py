"""The HTTP backend against real servers on loopback: the contract server, scripted ones, silent ports."""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from launcher.backends import BackendSettings, minihttp, open_backend
from launcher.backends.http.codec import encode_snapshot
from launcher.backends.local.backend import LocalStore
from launcher.backends.retry import DEFAULT_POLICY
from launcher.errors import AccessDenied, BackendUnavailable, ConfigurationError
from launcher.model import Identity
from support.http_fixtures import (
    BILLING_TOKEN,
    EXAMPLE_STORE,
    ORDERS,
    TOKEN,
    Answer,
    closed_port,
    contract,
    json_answer,
    scripted,
    self_signed_certificate,
    silent_port,
    tokens_file,
    url_of,
)
from support.process import EXAMPLE, clean_environment, run_launcher

FAST = BackendSettings(token=TOKEN, timeout=0.3, deadline=1.0)


def fetch(url: str, settings: BackendSettings = FAST, identity: Identity = ORDERS):
    return open_backend(url, settings).fetch(identity)


def local_body(identity: Identity = ORDERS) -> dict:
    return encode_snapshot(LocalStore(EXAMPLE_STORE).fetch(identity))


# ---------------------------------------------------------------- the snapshot itself


@pytest.mark.parametrize(
    "identity, token",
    [
        (ORDERS, TOKEN),
        (Identity("bookstore", "orders-service", "production"), TOKEN),
        (Identity("bookstore", "billing-service", "development"), BILLING_TOKEN),
    ],
)
def test_http_snapshot_equals_the_local_store_snapshot(tmp_path, identity, token):
    with contract(tmp_path) as server:
        backend = open_backend(server.url, FAST.replace(token=token))
        snapshot = backend.fetch(identity)
    local = LocalStore(EXAMPLE_STORE).fetch(identity)
    assert snapshot == local.replace(backend=server.url, foreign=())
    assert snapshot.backend == backend.description == server.url


def snapshot_status(server_url: str, identity: Identity = ORDERS) -> int:
    """The contract server's status for one snapshot, read directly (no client retries)."""
    path = f"/v1/projects/{identity.project}/components/{identity.component}/environments/{identity.environment}"
    with minihttp.Client() as client:
        answer = client.request(
            "GET", f"{server_url}{path}/snapshot", headers={"Authorization": f"Bearer {TOKEN}"}, expires=soon()
        )
    return answer.status_code


def soon() -> float:
    return time.monotonic() + 5


def test_the_server_parses_its_store_once_and_again_only_when_it_changed(tmp_path, monkeypatch):
    """serve-http once parsed the whole store for every answer (~100 ms at 1,000 connections); it
    keeps one parse and parses again only when the file changed, so an edit is still served at once."""
    from launcher.backends.local import backend as local_backend

    parsed: list[str] = []
    load = local_backend.load_yaml_file
    monkeypatch.setattr(local_backend, "load_yaml_file", lambda path, *rest: parsed.append(path) or load(path, *rest))
    store = tmp_path / "store.yaml"
    shutil.copy(EXAMPLE_STORE, store)
    with contract(tmp_path, str(store)) as server:
        first = [fetch(server.url) for _ in range(3)]
        assert len(parsed) == 1  # the start-up check's parse serves every answer
        store.write_text(store.read_text().replace("development: localhost,", "development: db.internal,"))
        edited = fetch(server.url)
        assert len(parsed) == 2
        hosts = [
            next(c for c in s.connections if c.name == "orders-db").parameters["HostName"].value
            for s in (*first, edited)
        ]
        assert hosts == ["localhost"] * 3 + ["db.internal"]
        good = store.read_text()
        store.write_text("version: [")
        assert snapshot_status(server.url) == 500  # a broken edit is refused, not the old values served
        store.write_text(good)
        assert snapshot_status(server.url) == 200


def test_the_server_answers_concurrent_requests_from_one_store(tmp_path):
    with contract(tmp_path) as server, ThreadPoolExecutor(8) as pool:
        snapshots = list(pool.map(lambda _: fetch(server.url), range(16)))
    assert all(snapshot == snapshots[0] for snapshot in snapshots)


def test_run_the_example_against_the_http_backend(tmp_path):
    with contract(tmp_path) as server:
        result = run_launcher(
            [
                "-C",
                str(EXAMPLE),
                "--backend",
                server.url,
                "-p",
                "bookstore",
                "-c",
                "orders-service",
                "--",
                sys.executable,
                "-c",
                "import os; print(os.environ['DATABASE_PASSWORD'])",
            ],
            env={"CHOREO_RUN_TOKEN": TOKEN},
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dev-db-password-3b8f"


def test_base_path_and_names_are_encoded_into_the_request_path():
    with scripted(json_answer(local_body())) as server:
        identity = Identity("my project", "a/b", "dev")
        with pytest.raises(ConfigurationError):  # the answer is for another identity: refused
            fetch(url_of(server) + "/control/", identity=identity)
    assert server.paths == ["/control/v1/projects/my%20project/components/a%2Fb/environments/dev/snapshot"]


# ---------------------------------------------------------------- refusals are final


@pytest.mark.parametrize(
    "token, status, words",
    [
        (None, 401, "no token was given"),
        ("not-a-known-token", 401, "the token was refused"),
        (BILLING_TOKEN, 403, "may not read project 'bookstore', component 'orders-service'"),
    ],
)
def test_401_and_403_are_access_denied_and_never_retried(tmp_path, token, status, words):
    with contract(tmp_path) as server:
        with pytest.raises(AccessDenied, match=words) as caught:
            fetch(server.url, FAST.replace(token=token))
    assert server.seen.statuses == [status]
    assert str(status) in str(caught.value)
    assert BILLING_TOKEN not in str(caught.value)


def test_unknown_component_is_404_and_a_configuration_error(tmp_path):
    with contract(tmp_path) as server:
        with pytest.raises(ConfigurationError, match="404 Not Found: the backend knows no .*'ghost-service'"):
            fetch(server.url, FAST.replace(token="ghost-token-0000"), Identity("bookstore", "ghost-service"))
    assert server.seen.statuses == [404]


@pytest.mark.parametrize(
    "answer, error, words",
    [
        (
            Answer(500, b'{"error": {"code": "boom", "message": "database down"}}'),
            BackendUnavailable,
            r"500 Internal Server Error \(server: database down\)",
        ),
        (
            Answer(302, headers=(("Location", "https://user:pw@elsewhere.example/x"),)),
            ConfigurationError,
            r"302 Found to https://\*\*\*@elsewhere.example/x; redirects are not followed",
        ),
        (Answer(304), ConfigurationError, "not conditional"),
        (Answer(400, b"nope"), ConfigurationError, "unexpected 400 Bad Request$"),
    ],
)
def test_other_statuses_fail_at_once(answer, error, words):
    with scripted(answer) as server:
        with pytest.raises(error, match=words):
            fetch(url_of(server))
    assert len(server.paths) == 1


# ---------------------------------------------------------------- retries and the deadline


def test_503_is_retried_until_the_server_recovers(tmp_path):
    with contract(tmp_path, fail_first=2) as server:
        snapshot = fetch(server.url, FAST.replace(deadline=5.0))
    assert server.seen.statuses == [503, 503, 200]
    assert {c.name for c in snapshot.connections} == {"book-catalog", "orders-db"}


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])  # seconds, or a date now past
def test_429_honours_retry_after(retry_after):
    with scripted(Answer(429, headers=(("Retry-After", retry_after),)), json_answer(local_body())) as server:
        assert fetch(url_of(server)).identity == ORDERS
    assert len(server.paths) == 2


def test_retry_after_zero_cannot_turn_retries_into_a_flood():
    """A server answering 503 with `Retry-After: 0` for ever: the old loop obeyed it literally and sent
    ~3000 requests in 4 s. The shared policy keeps backing off, with a floor under every pause."""
    deadline = 2.0
    with scripted(Answer(503, headers=(("Retry-After", "0"),))) as server:
        with pytest.raises(BackendUnavailable, match="last error: 503"):
            fetch(url_of(server), FAST.replace(deadline=deadline))
    assert 2 <= len(server.paths) <= 20  # backoff: ~10; even at the floor it could not pass deadline / 0.05
    assert len(server.paths) <= deadline / DEFAULT_POLICY.min_delay


def test_retry_after_beyond_the_deadline_gives_up_at_once():
    with scripted(Answer(503, headers=(("Retry-After", "120"),))) as server:
        with pytest.raises(BackendUnavailable, match=r"after 1 attempt; last error: 503 .*asked to wait 120s"):
            fetch(url_of(server))
    assert len(server.paths) == 1


@pytest.mark.parametrize("place, last_error", [(closed_port, "ConnectError"), (silent_port, "ReadTimeout")])
def test_deadline_exhaustion_is_backend_unavailable(place, last_error):
    with place() as url:
        with pytest.raises(BackendUnavailable) as caught:
            fetch(url)
    message = str(caught.value)
    assert message.startswith(f"GET {url}/v1/projects/bookstore/components/orders-service/")
    assert "1s deadline after" in message and f"last error: {last_error}" in message
    assert TOKEN not in message and caught.value.exit_code == 69


# ---------------------------------------------------------------- conditional requests


def test_etag_makes_the_next_fetch_conditional_and_304_reuses_the_snapshot(tmp_path):
    store = tmp_path / "store.yaml"
    shutil.copy(EXAMPLE_STORE, store)
    with contract(tmp_path, str(store)) as server:
        backend = open_backend(server.url, FAST)
        first = backend.fetch(ORDERS)
        assert backend.fetch(ORDERS) is first
        store.write_text(store.read_text().replace("dev-db-password-3b8f", "rotated-password-1"))
        third = backend.fetch(ORDERS)
    assert server.seen.statuses == [200, 304, 200]
    assert "If-None-Match" not in server.seen.headers[0]
    assert server.seen.headers[1]["If-None-Match"] == server.seen.headers[2]["If-None-Match"] != backend.etag
    orders_db = next(c for c in third.connections if c.name == "orders-db")
    assert orders_db.parameters["Password"].value == "rotated-password-1"


def test_the_etag_is_only_sent_for_the_same_identity(tmp_path):
    with contract(tmp_path) as server:
        backend = open_backend(server.url, FAST)
        backend.fetch(ORDERS)
        backend.fetch(ORDERS.replace(environment="production"))
    assert server.seen.statuses == [200, 200]
    assert "If-None-Match" not in server.seen.headers[1]


# ---------------------------------------------------------------- TLS


def test_tls_verification_fails_without_the_ca_file_and_succeeds_with_it(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    with contract(tmp_path, tls=(cert, key)) as server:
        assert server.url.startswith("https://")
        with pytest.raises(BackendUnavailable, match="TLS certificate verification failed"):
            fetch(server.url)
        snapshot = fetch(server.url, FAST.replace(ca_file=cert))
    assert snapshot.identity == ORDERS
    assert server.seen.statuses == [200]  # the refused handshake never became a request


def test_an_unreadable_ca_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="missing.pem: cannot load the CA file"):
        open_backend("https://127.0.0.1:1", FAST.replace(ca_file=str(tmp_path / "missing.pem")))


# ---------------------------------------------------------------- malformed answers


@pytest.mark.parametrize(
    "answer, words",
    [
        (
            Answer(200, b"<html>hello</html>", (("Content-Type", "text/html"),)),
            r"expected a JSON snapshot, got text/html that does not parse \(line 1, column 1\)",
        ),
        (json_answer({**local_body(), "version": 2}), "version: this launcher reads version 1"),
        (json_answer([1, 2]), "expected a mapping, got a list"),
    ],
)
def test_malformed_answers_are_clean_configuration_errors(answer, words):
    with scripted(answer) as server:
        with pytest.raises(ConfigurationError, match=words):
            fetch(url_of(server))
    assert len(server.paths) == 1


def test_a_malformed_value_is_named_by_its_json_path_without_the_value():
    body = local_body()
    body["connections"][1]["parameters"]["Password"]["value"] = ["dev-db-password-3b8f"]
    with scripted(json_answer(body)) as server:
        with pytest.raises(ConfigurationError) as caught:
            fetch(url_of(server))
    assert str(caught.value) == (
        f"{url_of(server)}: connections[1].parameters.Password.value: expected a string, got a list"
    )


# ---------------------------------------------------------------- URLs and secrets


@pytest.mark.parametrize(
    "url, words",
    [
        ("https://user:hunter2@host/x", r"'https://\*\*\*@host/x': credentials do not belong in the URL"),
        ("http://host:99999", "invalid port"),
        ("http://host/x?a=1", "expected no query or fragment"),
        ("http:///base", "expected a host name"),
        ("http://[::1/x", "expected a host name"),  # urlsplit's ValueError: was an internal error (70)
    ],
)
def test_bad_urls_are_refused_before_any_request(url, words):
    with pytest.raises(ConfigurationError, match=words) as caught:
        open_backend(url, FAST)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("token, words", [("", "empty"), ("two words", "cannot go in an HTTP header")])
def test_unusable_tokens_are_refused_without_showing_them(token, words):
    with pytest.raises(ConfigurationError, match=words) as caught:
        open_backend("http://127.0.0.1:1", FAST.replace(token=token))
    assert token not in str(caught.value) or not token


def test_the_token_stays_out_of_repr_description_and_server_logs(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="launcher.backends.http.server")
    with contract(tmp_path) as server:
        backend = open_backend(server.url + "/", FAST)
        backend.fetch(ORDERS)
        with pytest.raises(AccessDenied):
            fetch(server.url, FAST.replace(token=BILLING_TOKEN))
    shown = repr(backend) + backend.description + caplog.text + repr(FAST)
    assert TOKEN not in shown and BILLING_TOKEN not in shown and "dev-db-password-3b8f" not in shown
    assert (
        "orders-dev GET /v1/projects/bookstore/components/orders-service/environments/development/snapshot 200"
        in caplog.text
    )
    assert backend.description == server.url


# ---------------------------------------------------------------- the tokens file and the command


@pytest.mark.parametrize(
    "text, words",
    [
        ("version: 1\ntokens:\n  - {name: a, project: p, component: c}\n", "tokens[0]: expected exactly one of"),
        (
            "version: 1\ntokens:\n  - {name: a, sha256: xyz, project: p, component: c}\n",
            "tokens[0].sha256: expected 64",
        ),
        ("version: 1\ntokens:\n  - {name: a, token: t, project: p}\n", "tokens[0].component: expected a component"),
        ("version: 2\ntokens: []\n", "version: expected 1"),
    ],
)
def test_a_bad_tokens_file_is_refused_with_its_path(tmp_path, text, words):
    from launcher.backends.http.server import load_tokens

    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        load_tokens(str(path))


def test_serve_http_command_serves_until_interrupted(tmp_path):
    command = [
        sys.executable,
        "-m",
        "launcher",
        "serve-http",
        "--store",
        EXAMPLE_STORE,
        "--tokens",
        tokens_file(tmp_path),
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=clean_environment())
    try:
        first_line = process.stderr.readline()
        url = first_line.rsplit(" at ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first_line
        assert fetch(url).identity == ORDERS
    finally:
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=10)[1]
    assert process.returncode == 0, rest
    assert TOKEN not in first_line + rest and "orders-dev GET" in rest

"""The launch-time HTTP client's reading of answers: framing, limits, malformed input, the deadline, proxies.

Answers are written into one end of a socket pair and read from the other, so what is tested is the
reading code itself, byte for byte, with no server in between.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time

import pytest

from launcher.backends import minihttp
from launcher.backends.minihttp import (
    DEADLINE_PASSED,
    MAX_HEAD_BYTES,
    BodyTooLarge,
    DecodingError,
    ReadTimeout,
    RemoteProtocolError,
    _Connection,
    _request_bytes,
    environment_proxy,
    parse_head,
    read_body,
)


def _feed(data: bytes, *, close: bool = True) -> _Connection:
    ours, theirs = socket.socketpair()

    def write() -> None:
        try:
            theirs.sendall(data)
        except OSError:
            pass  # the reader gave up (a limit): that is the point
        if close:
            theirs.close()

    threading.Thread(target=write, daemon=True).start()
    connection = _Connection(ours)
    connection.peer = theirs  # type: ignore[attr-defined]  # kept open while the test runs when close=False
    return connection


def read(raw: bytes, *, limit: int = 1024 * 1024, method: str = "GET") -> tuple[int, minihttp.Headers, bytes, bool]:
    connection = _feed(raw)
    expires = time.monotonic() + 5
    status, _, headers, _ = parse_head(connection.read_head(expires))
    body, ended = read_body(connection, headers, expires, limit, method == "HEAD" or status in (204, 304))
    connection.close()
    return status, headers, body, ended


# ---------------------------------------------------------------- status line and headers


def test_a_plain_answer() -> None:
    status, reason, headers, http11 = parse_head(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a:  2 \r\n\r\n"
    )
    assert (status, reason, http11) == (404, "Not Found", True)
    assert headers.get("content-type") == "application/json" and headers.get("X-A") == "1, 2"
    assert headers.get("Missing") is None and "X-A" in headers and "Missing" not in headers


@pytest.mark.parametrize(
    "head, reason, http11",
    [
        (b"HTTP/1.0 200 OK\r\n\r\n", "OK", False),
        (b"HTTP/1.1 503\r\n\r\n", "", True),  # no reason phrase at all
        (b"HTTP/1.1 200 Very Fine Indeed\n\n", "Very Fine Indeed", True),  # bare LF line ends
    ],
)
def test_status_lines_that_are_fine(head: bytes, reason: str, http11: bool) -> None:
    assert parse_head(head)[1:2] == (reason,) and parse_head(head)[3] is http11


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 \xd9\xa2\xd9\xa0\xd9\xa0 OK\r\n\r\n",  # non-ASCII digits
        b"ICY 200 OK\r\n\r\n",
        b"<html>\r\n\r\n",
        b"\r\n\r\n",
        b"HTTP/1.1 200 OK\x01\r\n\r\n",
    ],
)
def test_malformed_status_lines_are_protocol_errors(head: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed status line"):
        parse_head(head)


@pytest.mark.parametrize(
    "line",
    [b"no colon here", b"Bad Name: x", b": empty name", b" folded: continuation", b"X-\x00: y", b"X-A: a\x00b"],
)
def test_malformed_header_lines_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed header"):
        parse_head(b"HTTP/1.1 200 OK\r\n" + line + b"\r\n\r\n")


def test_headers_larger_than_the_limit_are_refused_without_reading_on() -> None:
    huge = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n"
    with pytest.raises(RemoteProtocolError, match="headers are larger than"):
        read(huge)
    endless = _feed(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (4 * MAX_HEAD_BYTES), close=False)
    with pytest.raises(RemoteProtocolError, match="headers are larger than"):
        endless.read_head(time.monotonic() + 5)
    assert len(endless.buffer) <= MAX_HEAD_BYTES + 65536  # bounded: at most one read past the limit


def test_a_connection_closed_before_or_during_the_head() -> None:
    with pytest.raises(RemoteProtocolError, match="without sending a response"):
        read(b"")
    with pytest.raises(RemoteProtocolError, match="middle of the headers"):
        read(b"HTTP/1.1 200 OK\r\nContent-Len")


# ---------------------------------------------------------------- bodies


def test_content_length_body_and_what_follows_it_stays_buffered() -> None:
    connection = _feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
    expires = time.monotonic() + 5
    _, _, headers, _ = parse_head(connection.read_head(expires))
    assert read_body(connection, headers, expires, 100, False) == (b"hello", False)
    connection.fill(expires)
    assert bytes(connection.buffer).startswith(b"EXTRA")


def test_chunked_body_with_extensions_and_trailers() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    assert read(raw)[2:] == (b"hello 0123456789", False)


def test_chunked_with_uppercase_and_lf_only() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3\nabc\n0\n\n"
    assert read(raw)[2] == b"abc"


@pytest.mark.parametrize(
    "chunks, words",
    [
        (b"zz\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
        (b"\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
        (b"-5\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
        (b"3\r\nhello\r\n0\r\n\r\n", "longer than its size"),
        (b"5\r\nhel", "closed the connection before the end"),
        (b"5\r\nhello\r\n", "middle of the body"),
        (b"1" * (minihttp.MAX_CHUNK_LINE + 10), "line is longer than"),
    ],
)
def test_malformed_chunked_bodies_are_protocol_errors(chunks: bytes, words: str) -> None:
    with pytest.raises(RemoteProtocolError, match=words):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)


def test_close_delimited_body_ends_the_connection() -> None:
    assert read(b"HTTP/1.0 200 OK\r\n\r\nall of it")[2:] == (b"all of it", True)


def test_bodiless_answers_read_nothing() -> None:
    assert read(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')[2:] == (b"", False)
    assert read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method="HEAD")[2:] == (b"", False)


@pytest.mark.parametrize("value", [b"abc", b"-1", b"5, 6", b"", b"1e3", b"\xd9\xa5"])
def test_malformed_content_length(value: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="malformed Content-Length"):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nhello")


def test_repeated_equal_content_lengths_are_one() -> None:
    assert read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")[2] == b"hello"


def test_truncated_content_length_body() -> None:
    with pytest.raises(RemoteProtocolError, match="3 of 8 bytes missing"):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nhello")


def test_unsupported_transfer_encoding() -> None:
    with pytest.raises(RemoteProtocolError, match="unsupported Transfer-Encoding: gzip, chunked"):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")


def test_body_limits_hold_for_every_framing() -> None:
    limit = 1000
    announced = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n"  # refused before reading anything
    with pytest.raises(BodyTooLarge, match="larger than 1000 bytes"):
        read(announced, limit=limit)
    chunk = b"100\r\n" + b"a" * 256 + b"\r\n"
    with pytest.raises(BodyTooLarge):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 10 + b"0\r\n\r\n", limit=limit)
    with pytest.raises(BodyTooLarge):
        read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n", limit=limit)
    with pytest.raises(BodyTooLarge):
        read(b"HTTP/1.0 200 OK\r\n\r\n" + b"a" * 300_000, limit=limit)


# ---------------------------------------------------------------- Content-Encoding


def test_gzip_and_deflate_are_decoded_and_bounded() -> None:
    import zlib

    data = b'{"a": 1}' * 100
    assert minihttp.decode_content(gzip.compress(data), "gzip", 10_000) == data
    assert minihttp.decode_content(zlib.compress(data), "deflate", 10_000) == data
    raw = zlib.compressobj(wbits=-15)
    assert minihttp.decode_content(raw.compress(data) + raw.flush(), "deflate", 10_000) == data
    assert minihttp.decode_content(data, "identity", 10_000) == data
    bomb = gzip.compress(b"\x00" * 10_000_000)  # ~10 KB that inflates to 10 MB
    with pytest.raises(BodyTooLarge):
        minihttp.decode_content(bomb, "gzip", 1_000_000)
    with pytest.raises(DecodingError):
        minihttp.decode_content(b"not gzip at all", "gzip", 10_000)
    with pytest.raises(DecodingError):
        minihttp.decode_content(gzip.compress(data)[:-12], "gzip", 10_000)  # truncated
    with pytest.raises(DecodingError, match="unsupported Content-Encoding: br"):
        minihttp.decode_content(data, "br", 10_000)


# ---------------------------------------------------------------- the deadline covers the whole answer


def test_a_dripping_server_cannot_outlive_the_deadline() -> None:
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def drip() -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 1000:
            if stop.is_set():
                return
            theirs.send(bytes([byte]))
            time.sleep(0.05)  # every read gets a byte well within any per-read timeout

    threading.Thread(target=drip, daemon=True).start()
    connection = _Connection(ours)
    started = time.monotonic()
    with pytest.raises(ReadTimeout, match=DEADLINE_PASSED.split(" (")[0]):
        connection.read_head(started + 0.5)
    stop.set()
    assert time.monotonic() - started < 1.0
    theirs.close()
    connection.close()


# ---------------------------------------------------------------- requests


def test_request_bytes() -> None:
    wire = _request_bytes("POST", "/v3/kv/range", "127.0.0.1:2379", {"Authorization": "t"}, b"{}", None)
    assert wire == (
        b"POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nAuthorization: t\r\nContent-Length: 2\r\n\r\n{}"
    )


@pytest.mark.parametrize(
    "headers, target",
    [({"X-A": "a\r\nInjected: yes"}, "/"), ({"Bad Name": "x"}, "/"), ({}, "/a b"), ({}, "/a\r\nX: y")],
)
def test_nothing_can_inject_into_a_request(headers: dict[str, str], target: str) -> None:
    with pytest.raises(ValueError):
        _request_bytes("GET", target, "h", headers, None, None)


# ---------------------------------------------------------------- proxies, read as httpx reads them


@pytest.mark.parametrize(
    "environ, url, proxy",
    [
        ({}, "http://api.example.com/v1", None),
        ({"HTTP_PROXY": "proxy:3128"}, "http://api.example.com/v1", "http://proxy:3128"),
        ({"HTTP_PROXY": "http://proxy:3128"}, "https://api.example.com", None),
        ({"HTTPS_PROXY": "http://p:1"}, "https://api.example.com", "http://p:1"),
        ({"ALL_PROXY": "http://p:1"}, "https://api.example.com", "http://p:1"),
        ({"ALL_PROXY": "http://all:1", "https_proxy": "http://s:1"}, "https://x.io", "http://s:1"),
        ({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}, "https://x.io", "http://lower:1"),
        ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http://x.io", None),  # CGI: never HTTP_PROXY
        ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http://x.io", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "*"}, "http://x.io", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "example.com"}, "http://example.com", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "example.com"}, "http://api.example.com", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "example.com"}, "http://notexample.com", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": ".example.com"}, "http://example.com", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": ".example.com"}, "http://api.example.com", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.io, 127.0.0.1"}, "http://127.0.0.1:8421", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "localhost"}, "http://localhost:8421", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "::1"}, "http://[::1]:8421", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "x.io:8080"}, "http://x.io:8080", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "x.io:8080"}, "http://x.io:9090", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "https://x.io"}, "http://x.io", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "http://x.io"}, "http://x.io", None),
        ({"HTTP_PROXY": "http://p:1", "HTTPS_PROXY": ""}, "http://x.io", "http://p:1"),
    ],
)
def test_environment_proxy_follows_httpx(environ: dict[str, str], url: str, proxy: str | None) -> None:
    assert environment_proxy(url, environ) == proxy


def test_only_http_proxies_are_spoken() -> None:
    with pytest.raises(ValueError, match="only http:// proxies"):
        minihttp.Client(proxy="socks5://p:1080")

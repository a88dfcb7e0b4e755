"""A small HTTP/1.1 client for the launch-time requests: the HTTP backend's fetch and etcd's unary calls.

Why not httpx here: importing httpx (with httpcore, h11, anyio, idna, certifi and `http.client`'s
`email` package) costs ~60 ms, about as much as the rest of a launch; this module costs ~2 ms
(`socket`; `ssl` only for https, `zlib` only if a server compresses anyway). docs/performance.md,
"Cold start (issue 16)", has the measurements. httpx stays for what runs after the launch (etcd's
watch streams): one client per job.

What it does, and nothing more:

* one request at a time per connection; keep-alive, one idle connection per origin, checked before
  it is reused (a connection the server closed meanwhile is dropped, never written to); a GET that
  finds its reused connection closed without an answer is sent once more on a new connection;
* a deadline on the whole request (`expires`, a `time.monotonic()` value): connecting, the TLS
  handshake, sending, the head and the body all end by it, however slowly the server drips its bytes;
* bounded reading: the status line and headers at most `MAX_HEAD_BYTES`, the body at most
  `max_body` (checked against Content-Length before reading, and while reading chunks, a body framed
  by the connection's end, or a compressed body as it is inflated);
* Content-Length, chunked and close-delimited bodies; 1xx interim answers skipped; redirects are
  never followed; `Accept-Encoding: identity` is sent, and gzip or deflate are decoded if a server
  compresses anyway;
* TLS through the caller's `ssl.SSLContext` (verification and host name checks are the context's:
  `launcher.backends.tls`);
* http:// proxies, from the environment as httpx reads it (`environment_proxy`): the absolute form for
  http URLs, a CONNECT tunnel for https URLs, `Proxy-Authorization: Basic` from the proxy URL's user
  information.

Errors are named as httpx names them (`ConnectError`, `ReadTimeout`, `RemoteProtocolError`, ...), so
the messages that quote an error's type read as before.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    import zlib

MAX_HEAD_BYTES = 64 * 1024  # status line and headers of one answer (h11, under httpx, allowed 16 KiB)
MAX_BODY_BYTES = 64 * 1024 * 1024  # the default cap on one body, after decoding
MAX_CHUNK_LINE = 4096  # one chunk-size line, extensions included
_RECV = 65536
_TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset(b"0123456789abcdefABCDEF")

DEADLINE_PASSED = "the answer was not complete within the request's deadline (the server sends it too slowly)"


class HTTPError(Exception):
    """Anything this client raises."""


class TransportError(HTTPError):
    """The exchange failed on the wire (it may pass: callers retry these)."""


class TimeoutException(TransportError):
    pass


class ConnectTimeout(TimeoutException):
    pass


class ReadTimeout(TimeoutException):
    pass


class WriteTimeout(TimeoutException):
    pass


class NetworkError(TransportError):
    pass


class ConnectError(NetworkError):
    """Connecting failed; a TLS failure is one too, with the `ssl.SSLError` as its `__cause__`."""


class ReadError(NetworkError):
    pass


class WriteError(NetworkError):
    pass


class ProxyError(TransportError):
    """The proxy refused the tunnel."""


class RemoteProtocolError(TransportError):
    """The server's answer is not HTTP/1.1 as this client reads it (or exceeds the header limit)."""


class BodyTooLarge(HTTPError):
    """The body is larger than the client's `max_body`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes")
        self.limit = limit


class DecodingError(HTTPError):
    """The body's Content-Encoding is not one this client decodes, or does not decode."""


class Headers:
    """An answer's headers: case-insensitive; several fields of one name are joined with `, ` (as httpx)."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        found = [value for key, value in self.fields if key.lower() == name]
        return ", ".join(found) if found else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class Response:
    def __init__(self, status_code: int, reason_phrase: str, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>"


# ---------------------------------------------------------------- the connection: bounded, deadline-bound reads


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.received = 0  # bytes received for the current answer (a reused connection that got 0 was stale)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def stale(self) -> bool:
        """An idle connection with something to read (the server's close, or stray bytes) must not be reused."""
        if self.buffer:
            return True
        import select

        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _timeout(self, expires: float, error: type[TimeoutException]) -> None:
        remaining = expires - time.monotonic()
        if remaining <= 0:
            raise error(DEADLINE_PASSED)
        self.sock.settimeout(remaining)

    def send(self, data: bytes, expires: float) -> None:
        self._timeout(expires, WriteTimeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise WriteTimeout(_timed_out(expires)) from None
        except OSError as error:
            raise WriteError(str(error) or type(error).__name__) from error

    def fill(self, expires: float) -> bool:
        """Receive more into the buffer; False at the end of the stream."""
        self._timeout(expires, ReadTimeout)
        try:
            data = self.sock.recv(_RECV)
        except TimeoutError:
            raise ReadTimeout(_timed_out(expires)) from None
        except OSError as error:
            raise ReadError(str(error) or type(error).__name__) from error
        self.buffer += data
        self.received += len(data)
        return bool(data)

    def take(self, count: int) -> bytes:
        # One copy, through a view: `bytes(buffer[:count])` made two (the slice, then the bytes), and
        # an etcd answer for 1,000 connections is 567 KB (~140 pages faulted in for each copy).
        with memoryview(self.buffer) as view:
            data = bytes(view[:count])
        del self.buffer[:count]
        return data

    def read_head(self, expires: float) -> bytes:
        """Bytes up to and including the blank line that ends a head, at most MAX_HEAD_BYTES."""
        scanned = 0
        while True:
            end = _head_end(self.buffer, max(scanned - 3, 0))
            if end >= 0:
                if end > MAX_HEAD_BYTES:
                    raise RemoteProtocolError(f"the answer's headers are larger than {MAX_HEAD_BYTES} bytes")
                return self.take(end)
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise RemoteProtocolError(f"the answer's headers are larger than {MAX_HEAD_BYTES} bytes")
            scanned = len(self.buffer)
            if not self.fill(expires):
                if not self.received:
                    raise RemoteProtocolError("Server disconnected without sending a response.")
                raise RemoteProtocolError("the server closed the connection in the middle of the headers")

    def read_line(self, limit: int, expires: float) -> bytes:
        """One line (without its line end), at most `limit` bytes."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                if end > limit:
                    break
                return self.take(end + 1).rstrip(b"\r\n")
            if len(self.buffer) > limit:
                break
            if not self.fill(expires):
                raise RemoteProtocolError("the server closed the connection in the middle of the body")
        raise RemoteProtocolError(f"a chunked body's line is longer than {limit} bytes")

    def read_exact(self, count: int, expires: float) -> bytes:
        while len(self.buffer) < count:
            if not self.fill(expires):
                raise RemoteProtocolError(
                    "the server closed the connection before the end of the body "
                    f"({count - len(self.buffer)} of {count} bytes missing)"
                )
        return self.take(count)


def _head_end(buffer: bytearray, start: int) -> int:
    """The index just after the blank line ending a head (`\\n\\n` or `\\n\\r\\n`), or -1."""
    ends = [i + n for i, n in ((buffer.find(b"\n\r\n", start), 3), (buffer.find(b"\n\n", start), 2)) if i >= 0]
    return min(ends) if ends else -1


def _timed_out(expires: float) -> str:
    return DEADLINE_PASSED if time.monotonic() >= expires else "timed out"


# ---------------------------------------------------------------- parsing an answer


def parse_head(head: bytes) -> tuple[int, str, Headers, bool]:
    """(status, reason, headers, HTTP/1.1?) from a head ending with its blank line."""
    lines = head.decode("latin-1").split("\n")
    status_line = lines[0].rstrip("\r")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit() or not code.isascii():
        raise RemoteProtocolError(f"malformed status line: {_shown(status_line)}")
    if any(not c.isprintable() for c in reason):
        raise RemoteProtocolError(f"malformed status line: {_shown(status_line)}")
    fields: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.rstrip("\r")
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or not set(name.encode("latin-1")) <= _TOKEN_CHARS:
            raise RemoteProtocolError(f"malformed header line: {_shown(line)}")
        value = value.strip(" \t")
        if any(c in value for c in "\r\n\x00"):
            raise RemoteProtocolError(f"malformed header value of {name}")
        fields.append((name, value))
    return int(code), reason.strip(), Headers(fields), version == "HTTP/1.1"


def _shown(text: str) -> str:
    return repr(text[:80])


def _tokens(value: str | None) -> list[str]:
    return [item.strip().lower() for item in (value or "").split(",") if item.strip()]


def _content_length(headers: Headers) -> int | None:
    values = {item.strip() for item in (headers.get("Content-Length") or "").split(",") if item.strip()}
    if not values and "Content-Length" not in headers:
        return None
    if len(values) != 1 or not next(iter(values)).isdigit() or not next(iter(values)).isascii():
        raise RemoteProtocolError("malformed Content-Length")
    return int(values.pop())


def read_body(
    connection: _Connection, headers: Headers, expires: float, limit: int, bodiless: bool
) -> tuple[bytes, bool]:
    """The body as framed by the headers, and whether the connection ended with it (cannot be reused)."""
    if bodiless:
        return b"", False
    codings = _tokens(headers.get("Transfer-Encoding"))
    if codings:
        if codings != ["chunked"]:
            raise RemoteProtocolError(f"unsupported Transfer-Encoding: {', '.join(codings)}")
        return _read_chunked(connection, expires, limit), False
    length = _content_length(headers)
    if length is not None:
        if length > limit:
            raise BodyTooLarge(limit)
        return connection.read_exact(length, expires), False
    while connection.fill(expires):  # framed by the end of the connection
        if len(connection.buffer) > limit:
            raise BodyTooLarge(limit)
    return connection.take(len(connection.buffer)), True


def _read_chunked(connection: _Connection, expires: float, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = connection.read_line(MAX_CHUNK_LINE, expires)
        digits = line.split(b";", 1)[0].strip(b" \t")
        if not digits or not set(digits) <= _HEX:
            raise RemoteProtocolError(f"malformed chunk size: {_shown(line.decode('latin-1'))}")
        count = int(digits, 16)
        if count == 0:
            break
        size += count
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(connection.read_exact(count, expires))
        if connection.read_line(MAX_CHUNK_LINE, expires):  # the data must end where its size says
            raise RemoteProtocolError("a chunk is longer than its size")
    trailers = 0
    while line := connection.read_line(MAX_CHUNK_LINE, expires):  # trailers, ignored, up to the blank line
        trailers += len(line)
        if trailers > MAX_HEAD_BYTES:
            raise RemoteProtocolError(f"the answer's trailers are larger than {MAX_HEAD_BYTES} bytes")
    return b"".join(chunks)


def decode_content(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo a Content-Encoding (gzip or deflate; identity), never inflating past `limit` bytes."""
    codings = [c for c in _tokens(encoding) if c != "identity"]
    for coding in reversed(codings):
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise DecodingError(f"unsupported Content-Encoding: {coding}")
        import zlib

        try:
            if coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send it
                try:
                    body = _inflate(zlib.decompressobj(), body, limit)
                except zlib.error:
                    body = _inflate(zlib.decompressobj(-zlib.MAX_WBITS), body, limit)
            else:
                body = _inflate(zlib.decompressobj(zlib.MAX_WBITS | 16), body, limit)
        except zlib.error as error:
            raise DecodingError(str(error)) from None
    return body


def _inflate(inflater: zlib._Decompress, data: bytes, limit: int) -> bytes:
    result = inflater.decompress(data, limit + 1)
    if len(result) > limit:
        raise BodyTooLarge(limit)
    if not inflater.eof:
        raise DecodingError("incomplete or truncated stream")
    return bytes(result)


# ---------------------------------------------------------------- proxies, as httpx reads them from the environment


def _proxy_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """`urllib.request.getproxies_environment`, without importing urllib.request (~20 ms)."""
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        name = name.lower()
        if value and name[-6:] == "_proxy":
            proxies[name[:-6]] = value
    if "REQUEST_METHOD" in environ:  # CVE-2016-1000110: as a CGI script, HTTP_PROXY may come from a client
        proxies.pop("http", None)
    for name, value in environ.items():
        if name[-6:] == "_proxy":
            name = name.lower()
            if value:
                proxies[name[:-6]] = value
            else:
                proxies.pop(name[:-6], None)
    return proxies


def environment_proxy(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL httpx would use for `url` (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), or None."""
    proxies = _proxy_variables(os.environ if environ is None else environ)
    parts = urlsplit(url)
    scheme, host, port = parts.scheme, (parts.hostname or "").lower(), parts.port
    for entry in (item.strip() for item in proxies.get("no", "").split(",")):
        if entry == "*":
            return None
        if entry and _excluded(entry, scheme, host, port):
            return None
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen:
        return None
    return chosen if "://" in chosen else f"http://{chosen}"


def _excluded(entry: str, scheme: str, host: str, port: int | None) -> bool:
    """One NO_PROXY entry against the target, with httpx's rules: `example.com` is the domain and its
    subdomains, `.example.com` the subdomains only; `localhost`, an entry with a scheme
    (`http://host`) and an IP address (a CIDR range is taken as its first address) that host only;
    `host:port` that port only."""
    exact = "://" in entry
    if exact:
        entry_scheme, _, entry = entry.partition("://")
        if entry_scheme not in ("all", scheme):
            return False
    name, entry_port = _host_port(entry.split("/", 1)[0].lower())
    if entry_port is not None and entry_port != (port or (443 if scheme == "https" else 80)):
        return False
    if exact or name == "localhost" or ":" in name:
        return host == name
    if name.startswith("."):
        return host.endswith(name)
    return host == name or host.endswith("." + name)


def _host_port(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address."""
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        port = rest[1:]
    elif text.count(":") == 1:
        name, _, port = text.partition(":")
    else:
        name, port = text, ""
    return name, int(port) if port.isdigit() and port.isascii() else None


def authority_problem(authority: str) -> str | None:
    """Why `host:port` cannot be the authority of a request here, or None: a backend checks the
    members and hosts it is given with this when it parses its URL, not at its first request."""
    try:
        parts = urlsplit("//" + authority)
    except ValueError:  # an unclosed `[`
        return "expected a host name"
    try:
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError:
        return "invalid port"
    if not parts.hostname or parts.netloc != authority or any(char.isspace() for char in authority):
        return "expected a host name"
    return None


# ---------------------------------------------------------------- the client


class Client:
    """Requests with keep-alive, one idle connection per origin. Not for concurrent use from threads."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self._tls = tls
        self._headers = {"Accept-Encoding": "identity", **(headers or {})}
        self._proxy = urlsplit(proxy) if proxy else None
        if self._proxy and (self._proxy.scheme != "http" or not self._proxy.hostname):
            raise ValueError("only http:// proxies are supported")
        self._max_body = max_body
        self._idle: dict[tuple[str, str, int], _Connection] = {}

    def close(self) -> None:
        while self._idle:
            self._idle.popitem()[1].close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        expires: float,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """One request, whole, by `expires` (time.monotonic()). Redirects are answers, never followed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, host, port)
        authority = f"[{host}]" if ":" in host else host
        if parts.port:
            authority += f":{parts.port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self._proxy and parts.scheme == "http":
            target = f"http://{authority}{target}"  # the absolute form, to the proxy
        wire = _request_bytes(method, target, authority, {**self._headers, **(headers or {})}, body, self._proxy_auth())
        for attempt in (1, 2):
            connection = self._idle.pop(key, None)
            reused = connection is not None and not connection.stale()
            if connection is not None and not reused:
                connection.close()
            if not reused:
                connection = self._connect(parts.scheme, host, port, expires)
            assert connection is not None
            try:
                response, reusable = self._exchange(connection, wire, method, expires)
            except (RemoteProtocolError, WriteError, ReadError):
                connection.close()
                # A kept-alive connection the server had closed: nothing was answered, so a GET is
                # safe to send again on a new one. A POST may have been acted on: it is not repeated.
                if reused and attempt == 1 and method == "GET" and not connection.received:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            if reusable:
                self._idle[key] = connection
            else:
                connection.close()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _proxy_auth(self) -> str | None:
        if not self._proxy or self._proxy.username is None:
            return None
        import base64

        credentials = f"{unquote(self._proxy.username)}:{unquote(self._proxy.password or '')}"
        return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")

    def _exchange(self, connection: _Connection, wire: bytes, method: str, expires: float) -> tuple[Response, bool]:
        connection.received = 0
        connection.send(wire, expires)
        while True:
            status, reason, headers, http11 = parse_head(connection.read_head(expires))
            if status == 101:
                raise RemoteProtocolError("unexpected 101 Switching Protocols")
            if status >= 200:
                break  # 1xx: an interim answer, the real one follows
        bodiless = method == "HEAD" or status in (204, 304)
        content, ended = read_body(connection, headers, expires, self._max_body, bodiless)
        content = decode_content(content, headers.get("Content-Encoding"), self._max_body)
        reusable = http11 and not ended and "close" not in _tokens(headers.get("Connection")) and not connection.buffer
        return Response(status, reason, headers, content), reusable

    def _connect(self, scheme: str, host: str, port: int, expires: float) -> _Connection:
        name, number = (self._proxy.hostname or "", self._proxy.port or 80) if self._proxy else (host, port)
        # An ASCII name goes to getaddrinfo as bytes: as text it is first run through the `idna`
        # codec, whose import (encodings.idna, stringprep, unicodedata) costs a launch ~2 ms.
        address = (name.encode("ascii") if name.isascii() else name, number)
        remaining = expires - time.monotonic()
        if remaining <= 0:
            raise ConnectTimeout(DEADLINE_PASSED)
        try:
            sock = socket.create_connection(address, timeout=remaining)  # type: ignore[arg-type]  # bytes: see above
        except TimeoutError:
            raise ConnectTimeout(_timed_out(expires)) from None
        except OSError as error:
            raise ConnectError(str(error) or type(error).__name__) from error
        except UnicodeError:  # a name IDNA cannot encode (a label over 63 characters): no such host
            raise ConnectError("the host name is not a valid IDNA name") from None
        connection = _Connection(sock)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if self._proxy:
                    self._tunnel(connection, host, port, expires)
                connection.sock = self._handshake(sock, host, expires)
        except BaseException:
            connection.close()
            raise
        return connection

    def _tunnel(self, connection: _Connection, host: str, port: int, expires: float) -> None:
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        extra = {"Proxy-Authorization": auth} if (auth := self._proxy_auth()) else {}
        head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in extra.items())
        connection.send(head.encode("latin-1") + b"\r\n", expires)
        status, reason, headers, _ = parse_head(connection.read_head(expires))
        if not 200 <= status < 300:
            raise ProxyError(f"the proxy refused the tunnel: {status} {reason}".strip())
        if connection.buffer or _content_length(headers):
            raise RemoteProtocolError("the proxy sent data before the tunnel opened")

    def _handshake(self, sock: socket.socket, host: str, expires: float) -> socket.socket:
        import ssl

        if self._tls is None:
            raise ValueError("an https URL needs a TLS context")
        remaining = expires - time.monotonic()
        if remaining <= 0:
            raise ConnectTimeout(DEADLINE_PASSED)
        sock.settimeout(remaining)
        try:
            return self._tls.wrap_socket(sock, server_hostname=host)
        except TimeoutError:
            raise ConnectTimeout(_timed_out(expires)) from None
        except ssl.SSLError as error:
            raise ConnectError(str(error)) from error
        except OSError as error:
            raise ConnectError(str(error) or type(error).__name__) from error


def _request_bytes(
    method: str, target: str, authority: str, headers: Mapping[str, str], body: bytes | None, proxy_auth: str | None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    fields = dict(headers)
    if proxy_auth and target.startswith("http://"):
        fields["Proxy-Authorization"] = proxy_auth
    if body is not None:
        fields["Content-Length"] = str(len(body))
    for name, value in fields.items():
        if (
            not name
            or not set(name.encode("latin-1", "replace")) <= _TOKEN_CHARS
            or any(c in value for c in "\r\n\x00")
        ):
            raise ValueError(f"header {name!r} cannot be sent")
        lines.append(f"{name}: {value}")
    if any(c in target for c in " \r\n\x00"):
        raise ValueError("the request target cannot be sent")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

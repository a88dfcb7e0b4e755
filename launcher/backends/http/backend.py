"""The HTTP control-plane backend: one GET returns everything a component may use (docs/backends/http.md).

Failures that may pass (connection errors, timeouts, 429/502/503/504) are retried under the shared
policy (`launcher.backends.retry`: exponential backoff with full jitter, a floor under every pause,
Retry-After honoured within bounds), all inside one overall deadline, so a launch never hangs longer
than asked and a server answering `Retry-After: 0` is not flooded. Each request, whole (connect,
headers, body), ends within --timeout: `launcher.backends.minihttp` bounds the whole request, not each
socket read, so a server dripping its headers cannot hold a request, or a --watch poll, for ever.
Failures that will not pass (401/403, 404, TLS verification, a malformed answer) fail at once.
The token goes only in the Authorization header: never in a URL, message, log line or repr.
"""

from __future__ import annotations

import json
import sys
import time
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from launcher import __version__
from launcher.backends import minihttp
from launcher.backends.base import Backend, BackendSettings
from launcher.backends.http.codec import decode_snapshot
from launcher.backends.retry import DEFAULT_POLICY, Attempts, RetryPolicy
from launcher.backends.tls import tls_context
from launcher.backends.url import BackendURL, parse_backend_url, redact
from launcher.errors import AccessDenied, BackendUnavailable, ConfigurationError, NotFound
from launcher.model import Identity, Snapshot
from launcher.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl

API_PREFIX = "/v1"
MAX_BODY_BYTES = 16 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_HINT_NO_TOKEN = "no token was given (set CHOREO_RUN_TOKEN or CHOREO_RUN_TOKEN_FILE)"


class _Cached(Record):
    """The last answer with an ETag, for If-None-Match on the next fetch of the same identity."""

    identity: Identity
    etag: str
    snapshot: Snapshot


class _Retry(Exception):
    """One attempt failed in a way that may pass; `retry_after` is the server's own advice."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def open_http(url: str, settings: BackendSettings) -> HttpBackend:
    return HttpBackend.from_url(parse_backend_url(url), settings)


def base_url(url: str | BackendURL) -> str:
    """`http(s)://host[:port][/base]` normalized; anything else is refused before a request is made."""
    parsed = parse_backend_url(url) if isinstance(url, str) else url
    if parsed.scheme not in ("http", "https"):
        raise ConfigurationError(f"backend URL {parsed.shown!r}: expected http:// or https://")
    parsed.require_slashes("http(s)://host[:port][/base]")
    # The scheme is settled; urlsplit only takes the authority and path apart.
    try:
        parts = urlsplit("//" + parsed.rest)
    except ValueError:  # an unclosed `[`: was an internal error (exit 70)
        raise ConfigurationError(f"backend URL {parsed.shown!r}: expected a host name") from None
    problem = _url_problem(parts)
    if problem:
        raise ConfigurationError(f"backend URL {parsed.shown!r}: {problem}")
    return urlunsplit((parsed.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def _url_problem(parts: SplitResult) -> str | None:
    if "@" in parts.netloc:
        return "credentials do not belong in the URL (a process list shows them); use CHOREO_RUN_TOKEN(_FILE)"
    if parts.query or parts.fragment:
        return "expected no query or fragment: http(s)://host[:port][/base]"
    return minihttp.authority_problem(parts.netloc)  # the check etcd's members get too


class HttpBackend(Backend):
    """A control-plane service speaking the contract; remembers the last ETag for conditional fetches.

    Read-only: the control plane manages its own connections."""

    polled_for_changes = True  # --watch fetches again each interval: a 304 when nothing changed
    fetches_over_network = True

    def __init__(self, url: str, settings: BackendSettings, retry: RetryPolicy = DEFAULT_POLICY) -> None:
        self.description = url
        self._settings = settings
        self._retry = retry
        self._token = _checked_token(settings.token)
        # Redirects are not followed, so plain http:// never negotiates TLS and needs no context.
        tls = tls_context(settings.ca_file) if url.startswith("https://") else None
        # Every request ends by its own deadline, even against a server that drips its answer:
        # --watch polls through this client for as long as it runs.
        self._client = minihttp.Client(
            tls=tls,
            headers={"User-Agent": f"choreo-run/{__version__}"},
            proxy=_environment_proxy(url),
            max_body=MAX_BODY_BYTES,
        )
        self._cached: _Cached | None = None

    @classmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> HttpBackend:
        return cls(base_url(url), settings)

    @property
    def etag(self) -> str | None:
        return self._cached.etag if self._cached else None

    def close(self) -> None:
        self._client.close()

    def snapshot_url(self, identity: Identity) -> str:
        names = [quote(name, safe="") for name in (identity.project, identity.component, identity.environment)]
        return (
            f"{self.description}{API_PREFIX}/projects/{names[0]}/components/{names[1]}/environments/{names[2]}/snapshot"
        )

    def fetch(self, identity: Identity) -> Snapshot:
        """Everything `identity` may use. A 304 answer returns the very same Snapshot object as before,
        so a poller can tell "unchanged" with `is`."""
        url = self.snapshot_url(identity)
        attempts = Attempts(self._retry, self._settings.deadline)
        deadline = attempts.expires or 0.0
        while True:
            attempts.started()
            try:
                return self._attempt(url, identity, deadline)
            except _Retry as failure:
                if not attempts.pause(failure.retry_after):
                    raise self._gave_up(url, attempts.count, failure) from None

    def _gave_up(self, url: str, attempts: int, last: _Retry) -> BackendUnavailable:
        advice = f" (the server asked to wait {last.retry_after:g}s)" if last.retry_after is not None else ""
        return BackendUnavailable(
            f"GET {url}: no answer within the {self._settings.deadline:g}s deadline after "
            f"{attempts} attempt{'s' if attempts != 1 else ''}; last error: {last.reason}{advice}"
        )

    def _attempt(self, url: str, identity: Identity, deadline: float) -> Snapshot:
        """One request, whole (connect, headers, body) within --timeout and within the fetch's deadline."""
        now = time.monotonic()
        if deadline - now <= 0:
            raise _Retry("the deadline passed before the request")
        expires = min(deadline, now + self._settings.timeout)
        try:
            response = self._client.request("GET", url, headers=self._headers(identity), expires=expires)
        except minihttp.TransportError as error:
            raise _transport_failure(error, url) from None
        except minihttp.BodyTooLarge:
            raise ConfigurationError(f"GET {url}: the answer is larger than {MAX_BODY_BYTES} bytes") from None
        except minihttp.DecodingError:
            raise ConfigurationError(f"GET {url}: the answer's Content-Encoding does not decode") from None
        return self._answer(response, response.content, identity, url)

    def _headers(self, identity: Identity) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._cached and self._cached.identity == identity:
            headers["If-None-Match"] = self._cached.etag
        return headers

    def _answer(self, response: minihttp.Response, body: bytes, identity: Identity, url: str) -> Snapshot:
        status = response.status_code
        if status == 200:
            return self._fresh(response, body, identity, url)
        if status == 304 and self._cached and self._cached.identity == identity:
            return self._cached.snapshot
        raise _status_failure(response, body, identity, url, bool(self._token))

    def _fresh(self, response: minihttp.Response, body: bytes, identity: Identity, url: str) -> Snapshot:
        snapshot = decode_snapshot(_parse_json(response, body, url), self.description, identity)
        etag = response.headers.get("ETag")
        self._cached = _Cached(identity, etag, snapshot) if etag else None
        return snapshot


def _checked_token(token: str | None) -> str | None:
    """A token that can go in a header; the message says what is wrong, never what the token is."""
    if token is None:
        return None
    token = token.strip()
    if not token:
        raise ConfigurationError("the backend token is empty (CHOREO_RUN_TOKEN or the token file)")
    if not all("\x21" <= char <= "\x7e" for char in token):
        raise ConfigurationError(
            "the backend token contains spaces, control or non-ASCII characters, which cannot go in an HTTP header"
        )
    return token


def _environment_proxy(url: str) -> str | None:
    """The proxy httpx would have used for `url` (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY); only http:// ones work."""
    proxy = minihttp.environment_proxy(url)
    if proxy and not proxy.startswith("http://"):
        shown = redact(proxy).split("://", 1)[0]
        raise ConfigurationError(
            f"the proxy for {url} ({shown}://..., from HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) is not supported: "
            "choreo-run reaches its backends through http:// proxies only (set NO_PROXY to bypass it)"
        )
    return proxy


def _transport_failure(error: minihttp.TransportError, url: str) -> Exception:
    """TLS problems will not pass by retrying; everything else on the wire might."""
    tls = _ssl_cause(error)
    if tls is None:
        return _Retry(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    import ssl  # already loaded: the error came from it

    if isinstance(tls, ssl.SSLCertVerificationError):
        return BackendUnavailable(
            f"GET {url}: TLS certificate verification failed: {tls.verify_message}; "
            "if the server uses a private CA, give its certificate as the CA file (--ca-file)"
        )
    return BackendUnavailable(f"GET {url}: TLS failed: {tls.reason or type(tls).__name__}")


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `error`, if any (`ssl` is loaded only when TLS was used)."""
    ssl_module = sys.modules.get("ssl")
    seen: BaseException | None = error
    while seen is not None and ssl_module is not None:
        if isinstance(seen, ssl_module.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _status_failure(
    response: minihttp.Response, body: bytes, identity: Identity, url: str, token_given: bool
) -> Exception:
    status = f"{response.status_code} {response.reason_phrase}".strip()
    said = _server_message(body)
    who = f"project {identity.project!r}, component {identity.component!r}, environment {identity.environment!r}"
    code = response.status_code
    if code in RETRY_STATUSES:
        return _Retry(status + said, _retry_after(response.headers.get("Retry-After")))
    if code == 401:
        return AccessDenied(f"GET {url}: {status}: {'the token was refused' if token_given else _HINT_NO_TOKEN}{said}")
    if code == 403:
        return AccessDenied(f"GET {url}: {status}: the token may not read {who}{said}")
    if code == 404:
        return NotFound(f"GET {url}: {status}: the backend knows no {who}{said}")
    if code == 304:
        return ConfigurationError(f"GET {url}: {status} to a request that was not conditional")
    if 300 <= code < 400:
        return ConfigurationError(
            f"GET {url}: unexpected {status}{_location(response)}; redirects are not "
            "followed so that the token goes only where it was configured to go"
        )
    if code >= 500:
        return BackendUnavailable(f"GET {url}: {status}{said}")
    return ConfigurationError(f"GET {url}: unexpected {status}{said}")


def _location(response: minihttp.Response) -> str:
    location = response.headers.get("Location")
    return f" to {redact(location)}" if location else ""


def _server_message(body: bytes) -> str:
    """The `error.message` of an error body, shortened and printable; the contract keeps values out of it."""
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return ""
    if not isinstance(message, str) or not message.strip():
        return ""
    return " (server: " + "".join(c if c.isprintable() else "?" for c in message.strip()[:200]) + ")"


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (RFC 9110: a number of seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    from email.utils import parsedate_to_datetime  # only for the date form: email costs ~10 ms to import

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _parse_json(response: minihttp.Response, body: bytes, url: str) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        kind = response.headers.get("Content-Type", "no Content-Type")
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise ConfigurationError(
            f"GET {url}: expected a JSON snapshot, got {kind} that does not parse{where}"
        ) from None

"""The etcd v3 backend, spoken over etcd's JSON gateway (`/v3/...`) (docs/backends/etcd.md).

Requests go through `launcher.backends.minihttp` (one kept-alive connection per member, each request
whole within --timeout); only the watch streams (`watch.py`), which outlive the launch, use httpx.

`etcd://host:port[,host:port...]/prefix` (plain HTTP) or `etcds://...` (HTTPS, verified against
`settings.ca_file` or the system CAs). One fetch costs three range reads (the project's shared
prefix, the component's prefix, the organization prefix; see `etcd_layout`), plus one
authentication when a user is set, whatever the number of connections. The second and third
reads are pinned to the revision of the first, so a push landing mid-fetch cannot mix two versions.

Failover: a member that cannot be reached, times out or reports itself unavailable is skipped for
the next one; after a failed round over every member, the shared retry policy (`launcher.backends.retry`)
decides the pause, until `settings.deadline`. A refusal (permission denied, wrong
password) is an answer, not a failure: it is raised at once as AccessDenied and never retried.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import Counter

from launcher.backends import minihttp
from launcher.backends.base import Backend, BackendSettings, Watching
from launcher.backends.etcd import layout
from launcher.backends.local.store_file import Store, parse_store
from launcher.backends.local.view import store_snapshot
from launcher.backends.retry import DEFAULT_POLICY, Attempts, RetryPolicy
from launcher.backends.tls import tls_context
from launcher.backends.url import BackendURL, parse_backend_url
from launcher.errors import AccessDenied, BackendUnavailable, ConfigurationError, ConflictError
from launcher.model import Identity, Snapshot
from launcher.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from launcher.backends.writer import StoreTarget

SCHEMES = ("etcd", "etcds")
URL_FORM = "etcd://host:port[,host:port...]/prefix"
DEFAULT_PORT = 2379
DEFAULT_PREFIX = "/choreo"
TXN_CHUNK = 100  # operations per nested transaction; etcd's default --max-txn-ops is 128
MAX_CHUNKS = 120  # nested transactions per push, below the same limit at the top level
RETRYABLE_CODES = {4, 10, 14}  # gRPC DeadlineExceeded, Aborted, Unavailable: another member may do better
PERMISSION_DENIED, UNAUTHENTICATED, AUTH_NOT_ENABLED = 7, 16, 9


class EtcdTarget(Record):
    """What an etcd URL names: the members to try, in order, and the key prefix."""

    scheme: str  # "http" | "https"
    members: tuple[str, ...]  # "host:port"
    prefix: str

    @property
    def description(self) -> str:
        return f"{'etcds' if self.scheme == 'https' else 'etcd'}://{','.join(self.members)}{self.prefix}"


def parse_etcd_url(url: str | BackendURL) -> EtcdTarget:
    parsed = parse_backend_url(url) if isinstance(url, str) else url
    if parsed.scheme not in SCHEMES:
        raise ConfigurationError(f"backend URL {parsed.shown!r}: expected {URL_FORM}")
    authority, slash, path = parsed.rest.partition("/")
    if "@" in authority:
        raise ConfigurationError(
            "etcd URL: credentials do not belong in the URL; set CHOREO_RUN_ETCD_USER and CHOREO_RUN_ETCD_PASSWORD"
        )
    parsed.require_slashes(URL_FORM)
    if "?" in path or "#" in path:
        raise ConfigurationError(f"etcd URL {parsed.shown!r}: expected {URL_FORM}")
    members = tuple(_member(item, parsed.shown) for item in authority.split(","))
    prefix = layout.normalize_prefix(path) if slash and path.strip("/") else DEFAULT_PREFIX
    if nested := layout.nesting_problem(prefix):
        raise ConfigurationError(f"etcd URL {parsed.shown!r}: {nested}")
    return EtcdTarget("https" if parsed.scheme == "etcds" else "http", members, prefix)


def _member(item: str, url: str) -> str:
    host, colon, port = item.strip().rpartition(":") if not item.strip().endswith("]") else (item, "", "")
    if not colon:
        host, port = item.strip(), str(DEFAULT_PORT)
    member = f"{host}:{port}"
    # What the requests will parse: an unclosed `[` or a port past 65535 was an internal error there.
    if not host or not port.isdigit() or minihttp.authority_problem(member):
        raise ConfigurationError(f"etcd URL {url!r}: expected host:port members, got {item!r}")
    return member


def prefix_end(prefix: bytes) -> bytes:
    """The `range_end` that makes a range read cover every key starting with `prefix` (etcd's rule)."""
    trimmed = prefix.rstrip(b"\xff")
    return trimmed[:-1] + bytes([trimmed[-1] + 1]) if trimmed else b"\x00"


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode("ascii")


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8")


def _decoded_pairs(kvs: Any, source: str) -> dict[str, str]:
    """A range answer's keys and values as text. A key or value that is not UTF-8 (nothing choreo-run
    writes) is a malformed answer (78), named by its key; the value, perhaps secret, is never shown."""
    pairs: dict[str, str] = {}
    unb64 = binascii.a2b_base64  # what base64.b64decode does, without its per-call wrapping (1,000s of keys)
    try:
        for kv in kvs:
            try:
                key = unb64(kv["key"]).decode("utf-8")
            except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
                raise ConfigurationError(f"{source}: a key is not base64-encoded UTF-8 text") from None
            try:
                pairs[key] = unb64(kv.get("value", "")).decode("utf-8")
            except ValueError:
                raise ConfigurationError(f"{source}: {key}: the value is not UTF-8 text") from None
    except (KeyError, TypeError, AttributeError):
        raise ConfigurationError(f"{source}: malformed range answer (expected kvs with key and value)") from None
    return pairs


def prefix_range(prefix: str) -> dict[str, str]:
    return {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix.encode()))}


class _Retry(Exception):
    """This member failed in a way another member may not: try the next one."""


class EtcdSession:
    """One operation's conversation with the cluster: member rotation, tokens and the deadline."""

    def __init__(
        self, target: EtcdTarget, settings: BackendSettings, counter: Counter[str], policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self.target = target
        self._settings = settings
        self._counter = counter
        self._rounds = Attempts(policy, settings.deadline)  # the session's deadline and its failed rounds
        self._tokens: dict[str, str | None] = {}  # per member: tokens are not assumed portable
        self._first = 0  # the member that answered last is asked first next time
        self.unauthenticated: str | None = None  # a member that answered without authentication
        # etcd is reached directly: proxy variables are not read (docs/backends/etcd.md).
        tls = tls_context(settings.ca_file) if target.scheme == "https" else None
        self._http = minihttp.Client(tls=tls, headers={"Content-Type": "application/json"})

    def __enter__(self) -> EtcdSession:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """POST `body` to the first member that answers; raise BackendUnavailable past the deadline."""
        failures: dict[str, str] = {}
        while True:
            self._rounds.started()
            for offset in range(len(self.target.members)):
                index = (self._first + offset) % len(self.target.members)
                try:
                    answer = self._call_member(self.target.members[index], path, body, what)
                except _Retry as failure:
                    failures[self.target.members[index]] = str(failure)
                    continue
                self._first = index
                return answer
            if not self._rounds.pause():  # every member failed this round: back off, or give up
                detail = "; ".join(f"{member}: {reason}" for member, reason in failures.items())
                raise BackendUnavailable(
                    f"{self.target.description}: no etcd member answered within {self._settings.deadline:g}s ({detail})"
                )

    def _call_member(self, member: str, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        headers = self.auth_headers(member)
        answer = self._post(member, path, body, what, headers)
        if not headers and self.unauthenticated is None:
            # With auth enabled etcd refuses every tokenless request (`user name is empty`), so an
            # answer without a token (or an `authenticate` refused as "not enabled") means it is off.
            self.unauthenticated = member
        return answer

    def auth_headers(self, member: str) -> dict[str, str]:
        """The Authorization header for `member` (empty without a user); the token is kept per member."""
        if member not in self._tokens:
            self._tokens[member] = self._authenticate(member)
        token = self._tokens[member]
        return {"Authorization": token} if token else {}

    def _authenticate(self, member: str) -> str | None:
        if not self._settings.username:
            return None
        body = {"name": self._settings.username, "password": self._settings.password or ""}
        try:
            answer = self._post(member, "/v3/auth/authenticate", body, "authenticating", {})
        except _AuthNotEnabled:
            return None  # a cluster without auth accepts every request; the credentials are moot
        return str(answer["token"])

    def _post(self, member: str, path: str, body: dict[str, Any], what: str, headers: dict[str, str]) -> dict:
        remaining = self._rounds.remaining()
        if remaining <= 0:
            raise _Retry("deadline reached")
        self._counter[path] += 1
        expires = time.monotonic() + min(self._settings.timeout, remaining)
        try:
            response = self._http.request(
                "POST",
                f"{self.target.scheme}://{member}{path}",
                body=json.dumps(body).encode(),
                headers=headers,
                expires=expires,
            )
        except minihttp.TimeoutException:
            raise _Retry("timed out") from None
        except minihttp.TransportError as error:
            raise _Retry(type(error).__name__) from None
        except minihttp.HTTPError as error:  # too large, or a Content-Encoding that does not decode
            raise BackendUnavailable(f"etcd {member}: {error} ({what})") from None
        return _answer(response, member, what, self._settings.username)

    def range_prefix(self, prefix: str, revision: int | None = None) -> tuple[dict[str, str], int]:
        """Every key under `prefix` with its value, and the revision they were read at."""
        body: dict[str, Any] = prefix_range(prefix)
        if revision:
            body["revision"] = str(revision)
        answer = self.call("/v3/kv/range", body, f"reading {prefix}")
        kvs = _decoded_pairs(answer.get("kvs", []), self.target.description)
        # A read pinned to `revision` saw the store as of that revision; the header names the current
        # one, and reporting that would let a write made in between slip past a revision guard.
        return kvs, revision or int(answer["header"]["revision"])

    def range_prefixes(self, prefixes: tuple[str, ...]) -> list[dict[str, str]]:
        """Every key under each prefix with its value, read in one transaction: one round trip, and
        every prefix as of the same revision."""
        body = {"success": [{"request_range": prefix_range(prefix)} for prefix in prefixes]}
        answer = self.call("/v3/kv/txn", body, f"reading {', '.join(prefixes)}")
        responses = answer.get("responses")
        if not isinstance(responses, list) or len(responses) != len(prefixes):
            raise ConfigurationError(
                f"{self.target.description}: malformed transaction answer (expected one per range)"
            )
        found = []
        for response in responses:
            ranged = response.get("response_range") if isinstance(response, dict) else None
            if not isinstance(ranged, dict):
                raise ConfigurationError(f"{self.target.description}: malformed transaction answer (expected ranges)")
            found.append(_decoded_pairs(ranged.get("kvs", []), self.target.description))
        return found


class PermissionDenied(AccessDenied):
    """etcd's RBAC refused a request that was authenticated (or anonymous): a role lacks a prefix."""


class _AuthNotEnabled(Exception):
    """The member answered `authenticate` with: authentication is not enabled."""


def _answer(response: minihttp.Response, member: str, what: str, user: str | None) -> dict[str, Any]:
    """The JSON body of a successful answer; otherwise the launcher error it amounts to."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        raise _Retry(f"HTTP {response.status_code}, not an etcd JSON gateway answer") from None
    if response.status_code == 200 and isinstance(body, dict) and "error" not in body:
        return body
    code = body.get("code") if isinstance(body, dict) else None
    message = (
        str(body.get("message") or body.get("error")) if isinstance(body, dict) else f"HTTP {response.status_code}"
    )
    who = f"etcd user {user!r}" if user else "anonymous etcd access"
    if code == PERMISSION_DENIED or response.status_code == 403:
        raise PermissionDenied(f"etcd {member}: permission denied {what} ({who})")
    if code == UNAUTHENTICATED or "authentication failed" in message or "user name is empty" in message:
        hint = "" if user else "; set CHOREO_RUN_ETCD_USER and CHOREO_RUN_ETCD_PASSWORD"
        raise AccessDenied(f"etcd {member}: {message} ({who}){hint}")
    if code == AUTH_NOT_ENABLED and "authentication is not enabled" in message:
        raise _AuthNotEnabled()
    if code in RETRYABLE_CODES or response.status_code >= 500:
        raise _Retry(message)
    raise BackendUnavailable(f"etcd {member}: {message} ({what})")


class PushResult(Record):
    """What a push changed, at which revision (0 when nothing needed writing)."""

    revision: int
    written: int
    deleted: int
    unchanged: int


class PulledStore(Record):
    """A store document read back from etcd, and the revision to pass to a guarded push."""

    document: dict[str, Any]
    revision: int


class EtcdBackend(Backend):
    """A Backend reading from etcd; also the push/pull end of `choreo-run store` and connection commands."""

    writable = True
    fetches_over_network = True

    def __init__(self, target: EtcdTarget, settings: BackendSettings) -> None:
        self.target = target
        self.settings = settings
        self.description = target.description
        self.requests: Counter[str] = Counter()  # gateway path -> calls made, for tests and `--debug`

    @classmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> EtcdBackend:
        return cls(parse_etcd_url(url), settings)

    def store_target(self) -> StoreTarget:
        from launcher.backends.writer import EtcdStoreTarget

        return EtcdStoreTarget(self)

    def watch(self, identity: Identity, changed: threading.Event, timeout: float) -> Watching:
        """--watch: follow the component's prefixes with etcd's watch API; `changed` is set on any event."""
        from launcher.backends.etcd.watch import EtcdWatch

        watch = EtcdWatch(self, identity, changed)
        watch.start(timeout)
        return watch

    def session(self) -> EtcdSession:
        return EtcdSession(self.target, self.settings, self.requests)

    def fetch(self, identity: Identity) -> Snapshot:
        prefixes = layout.component_prefixes(self.target.prefix, identity.project, identity.component)
        with self.session() as session:
            try:  # one round trip, one revision: a push landing mid-fetch can never mix two versions
                shared, component, org = session.range_prefixes((prefixes.shared, prefixes.component, prefixes.org))
            except PermissionDenied:
                # etcd refuses a transaction whole: read one prefix at a time, so that the refusal
                # names its prefix (and a missing project or component is said first), as ever.
                shared, component, org = self._read_one_by_one(session, prefixes, identity)
            self._require_auth(session)
            _require_project(shared, prefixes.shared, identity, self.description)
            _require_component(component, shared, prefixes, identity, self.description)
        kvs = {**org, **shared, **component}
        del org, shared, component
        # Each step's input is let go as soon as the next is built: a thousand connections are
        # megabytes, and memory freed is reused where new memory would have to be mapped (and faulted in).
        document = layout.kvs_to_document(kvs, self.target.prefix, self.description)
        del kvs
        store = parse_store(document, self.description)
        del document
        # The slice this component's role may read, answered by the local store's own rules.
        return store_snapshot(store, identity, self.description)

    def _read_one_by_one(
        self, session: EtcdSession, prefixes: layout.ComponentPrefixes, identity: Identity
    ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """The three prefixes in three reads, the second and third pinned to the first's revision."""
        shared, revision = session.range_prefix(prefixes.shared)
        _require_project(shared, prefixes.shared, identity, self.description)
        component, _ = session.range_prefix(prefixes.component, revision)
        _require_component(component, shared, prefixes, identity, self.description)
        org, _ = session.range_prefix(prefixes.org, revision)
        return shared, component, org

    def _require_auth(self, session: EtcdSession) -> None:
        """Roles keep components apart only when etcd checks them: a cluster without auth is refused."""
        if session.unauthenticated is None or self.settings.etcd_allow_no_auth:
            return
        raise ConfigurationError(
            f"{self.description}: etcd member {session.unauthenticated} has authentication disabled, so any "
            "client can read every component's values; enable it (choreo-run store roles --enable-auth) or, "
            "for development only, pass --etcd-allow-no-auth (CHOREO_RUN_ETCD_ALLOW_NO_AUTH=1)"
        )

    def pull(self) -> PulledStore:
        with self.session() as session:
            kvs, revision = self._read_store(session)
        return PulledStore(layout.kvs_to_document(kvs, self.target.prefix, self.description), revision)

    def _read_store(self, session: EtcdSession) -> tuple[dict[str, str], int]:
        """Everything a push owns, read at one revision."""
        kvs: dict[str, str] = {}
        revision = 0
        for prefix in layout.store_prefixes(self.target.prefix):
            found, revision = session.range_prefix(prefix, revision or None)
            kvs.update(found)
        return kvs, revision

    def push(self, store: Store, expected_revision: int | None = None) -> PushResult:
        """Make etcd hold exactly `store`, in one transaction.

        The transaction only commits if nothing under the prefix changed after `expected_revision`
        (default: the revision this push read), so a concurrent writer is never silently overwritten.
        """
        wanted = layout.store_to_kvs(store, self.target.prefix)
        with self.session() as session:
            current, revision = self._read_store(session)
            base = revision if expected_revision is None else expected_revision
            ops = _changes(current, wanted)
            if not ops:  # nothing to write, and no revision to bump under other writers' feet
                return PushResult(0, 0, 0, len(wanted))
            meta = {"key": _b64(f"{self.target.prefix}/{layout.META}"), "value": _b64(json.dumps({"format": 1}))}
            answer = session.call(
                "/v3/kv/txn", self._guarded_txn([*ops, {"request_put": meta}], base), "writing the store"
            )
        if not answer.get("succeeded"):
            raise ConflictError(
                f"{self.description}: the store changed after revision {base}; "
                "pull it again, merge, and push (nothing was written)"
            )
        deleted = sum(1 for op in ops if "request_delete_range" in op)
        return PushResult(
            int(answer["header"]["revision"]), len(ops) - deleted, deleted, len(wanted) - (len(ops) - deleted)
        )

    def _guarded_txn(self, ops: list[dict[str, Any]], base: int) -> dict[str, Any]:
        # etcd caps operations per transaction level (--max-txn-ops, 128 by default), not per request:
        # nesting chunks keeps a large store one atomic write.
        chunks = [ops[start : start + TXN_CHUNK] for start in range(0, len(ops), TXN_CHUNK)]
        if len(chunks) > MAX_CHUNKS:
            raise ConfigurationError(
                f"{self.description}: {len(ops)} changes exceed one transaction ({TXN_CHUNK * MAX_CHUNKS} at most)"
            )
        guard = {
            "target": "MOD",
            "result": "LESS",
            "mod_revision": str(base + 1),
            **prefix_range(f"{self.target.prefix}/"),
        }
        return {"compare": [guard], "success": [{"request_txn": {"success": chunk}} for chunk in chunks]}


def _changes(current: dict[str, str], wanted: dict[str, str]) -> list[dict[str, Any]]:
    """Deletes for keys the store no longer has, puts for new or changed values (unchanged keys keep
    their mod_revision, which is what a watcher would key on)."""
    ops: list[dict[str, Any]] = [
        {"request_delete_range": {"key": _b64(key)}} for key in sorted(current) if key not in wanted
    ]
    ops += [
        {"request_put": {"key": _b64(key), "value": _b64(value)}}
        for key, value in wanted.items()
        if current.get(key) != value
    ]
    return ops


def _require_project(shared: dict[str, str], prefix: str, identity: Identity, description: str) -> None:
    if f"{prefix}{layout.PROJECT_DOC}" not in shared:
        raise ConfigurationError(
            f"{description}: project {identity.project!r} not found (no key {prefix}{layout.PROJECT_DOC})"
        )


def _require_component(
    component: dict[str, str],
    shared: dict[str, str],
    prefixes: layout.ComponentPrefixes,
    identity: Identity,
    description: str,
) -> None:
    if f"{prefixes.component}{layout.COMPONENT_DOC}" in component:
        return
    try:
        known = json.loads(shared[f"{prefixes.shared}{layout.PROJECT_DOC}"]).get("components", [])
    except (ValueError, AttributeError):
        known = []
    raise ConfigurationError(
        f"{description}: component {identity.component!r} not found in project "
        f"{identity.project!r} (components: {', '.join(map(str, known)) or 'none'})"
    )


def open_etcd(url: str, settings: BackendSettings) -> EtcdBackend:
    return EtcdBackend.from_url(parse_backend_url(url), settings)

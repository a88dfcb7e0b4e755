"""The one pipeline every command shares: manifest + identity + backends -> Plan.

I/O happens here and at the CLI; `launcher.resolve.resolver` stays pure.
"""

from __future__ import annotations

import _signal  # the C module: `signal.py` (with its enums) is not needed for one timer
import os
import sys
import time
from collections.abc import Callable

from launcher.backends import Backend, BackendSettings, open_backend, parse_backend_url
from launcher.documents import shape
from launcher.documents.yamlfile import describe_file
from launcher.errors import (
    AccessDenied,
    BackendUnavailable,
    ConfigurationError,
    LauncherError,
    NotFound,
    ProblemCollector,
)
from launcher.manifest.reader import discover, load_manifest
from launcher.model import Identity, Manifest, Plan, Snapshot
from launcher.naming import reserved_variable_problem
from launcher.records import Record, field
from launcher.resolve.identity import decide_identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading

    from launcher.backends.cache import CacheSettings, SnapshotCache

DEFAULT_STORE_NAMES = ("connections.yaml", os.path.join(".choreo", "connections.yaml"))


class Settings(Record):
    """Everything the CLI gathered from flags and CHOREO_RUN_* variables."""

    component_dir: str = "."
    manifest: str | None = None
    backends: tuple[str, ...] = ()
    project: str | None = None
    component: str | None = None
    environment: str | None = None
    env_files: tuple[str, ...] = ()
    backend_settings: BackendSettings = field(default_factory=BackendSettings)
    cache: CacheSettings | None = None  # the last-known-good cache, when turned on
    allowed_variables: frozenset[str] = frozenset()  # --allow-variable: dangerous names the user allows

    def holds_credentials(self) -> bool:
        """Whether these settings carry a secret of the launcher's own: a token, a password, a cache key."""
        credentials = self.backend_settings
        return bool(credentials.token or credentials.password or self.cache is not None)


Reporter = Callable[[str], None]


def build_plan(settings: Settings, warn: Reporter, debug: Reporter, backend: Backend | None = None) -> Plan:
    """Read, fetch and resolve; warnings go to `warn`, progress and timing to `debug`.

    `backend` lets a caller that checks many components open (and parse) the backends once.
    """
    return plan_and_backend(settings, warn, debug, backend)[0]


def plan_and_backend(
    settings: Settings, warn: Reporter, debug: Reporter, backend: Backend | None = None
) -> tuple[Plan, Backend]:
    """build_plan, also returning the backend it used (--watch keeps fetching from it)."""
    started = time.perf_counter()
    # The backend and the identity come from the settings alone, so a backend that waits on the
    # network is asked first and answers while the manifest is read. Whatever goes wrong is still
    # reported in the same order: the manifest's problems, then the backend's, then the fetch's.
    try:
        opened = backend or open_backends(settings)
        early: EarlyFetch | LauncherError = EarlyFetch(
            opened,
            decide_identity(settings.project, settings.component, settings.environment, settings.component_dir, opened),
        )
    except LauncherError as error:
        early = error
    from launcher.resolve.resolver import resolve

    manifest = read_manifest(settings, warn)
    debug(f"manifest {manifest.file} ({manifest.kind} {manifest.schema_version}) read in {_ms(started)}")
    if isinstance(early, LauncherError):
        raise early
    backend, identity = early.backend, early.identity
    cache = _cache_for(settings, manifest, identity, backend, warn)
    fetched = time.perf_counter()
    snapshot, from_cache = fetch_snapshot(early, settings.backend_settings.deadline, cache, warn)
    debug(
        f"fetched {len(snapshot.connections)} connections for {identity.project}/{identity.component} "
        f"({identity.environment}) from {snapshot.backend} in {_ms(fetched)}"
    )
    for warning in snapshot.warnings:
        warn(warning)
    try:
        plan = resolve(manifest, snapshot, tuple(read_env_files(settings.env_files)), settings.allowed_variables)
    except AccessDenied:
        if cache is not None:
            cache.forget()  # a visibility denial revokes the cached values too
        raise
    if cache is not None and not from_cache:
        try:
            cache.store(snapshot)
        except OSError as error:  # the launch does not depend on the cache; say why it was not kept
            warn(f"last-known-good cache not written: {error.strerror}")
    for warning in plan.warnings:
        warn(warning)
    debug(f"resolved {len(plan.assignments)} variables and {len(plan.files)} files in {_ms(started)} in all")
    return plan, backend


class EarlyFetch:
    """`backend.fetch(identity)`, started now in a thread when the backend waits on the network
    (`Backend.fetches_over_network`), else run when asked: `result()` returns the snapshot or raises
    what the fetch raised, in the caller's thread, as a direct call would have."""

    __slots__ = ("backend", "error", "identity", "snapshot", "thread")

    def __init__(self, backend: Backend, identity: Identity) -> None:
        self.backend = backend
        self.identity = identity
        self.snapshot: Snapshot | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if backend.fetches_over_network:
            import threading

            # A daemon: a launch that fails on its manifest exits without waiting for the answer.
            self.thread = threading.Thread(target=self._run, name="choreo-run-fetch", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.snapshot = self.backend.fetch(self.identity)
        except BaseException as error:  # handed to result(): the caller's thread reports it
            self.error = error

    def result(self) -> Snapshot:
        if self.thread is None:
            return self.backend.fetch(self.identity)
        self.thread.join()  # interruptible: hard_deadline's alarm still ends a wait that hangs
        if self.error is not None:
            raise self.error
        assert self.snapshot is not None
        return self.snapshot


def fetch_snapshot(
    fetch: EarlyFetch, deadline: float, cache: SnapshotCache | None, warn: Reporter
) -> tuple[Snapshot, bool]:
    """(snapshot, whether it came from the cache). The cache serves only an unavailable backend."""
    try:
        with hard_deadline(deadline, fetch.backend.description):
            return fetch.result(), False
    except (AccessDenied, NotFound):
        if cache is not None:
            cache.forget()  # a revoked credential or a deleted component must not live on in the cache
        raise
    except BackendUnavailable as error:
        cached = cache.load() if cache is not None else None
        if cached is None:
            raise
        from launcher.backends.cache import describe_age

        warn(f"{error.problems[0]}; using the last-known-good values from {describe_age(cached[1])} ago")
        return cached[0], True


def _cache_for(
    settings: Settings, manifest: Manifest, identity: Identity, backend: Backend, warn: Reporter
) -> SnapshotCache | None:
    if settings.cache is None:
        return None
    from launcher.backends.cache import SnapshotCache

    return SnapshotCache(settings.cache, manifest.file, identity, backend.description, warn)


class _DeadlineExpired(Exception):
    pass


def _expire(_signo: int, _frame: object) -> None:
    raise _DeadlineExpired


class hard_deadline:  # a class used as the function it was: `with hard_deadline(seconds, description)`
    """A last-resort guard: backends keep their own deadline, this stops anything that would hang.

    A small margin lets a backend report its own, more precise, failure first. A class rather than
    a `@contextmanager`, on `_signal` rather than `signal`, and without importing `threading`: the
    launch path imports none of contextlib, signal or threading for it (docs/performance.md).
    """

    __slots__ = ("armed", "description", "previous", "seconds")

    def __init__(self, seconds: float, description: str) -> None:
        self.seconds = seconds
        self.description = description
        self.armed = False
        self.previous: object = None

    def __enter__(self) -> None:
        if self.seconds <= 0 or not _on_main_thread():
            return
        try:
            self.previous = _signal.signal(_signal.SIGALRM, _expire)
        except ValueError:  # not the main thread (one started without `threading`)
            return
        self.armed = True
        _signal.setitimer(_signal.ITIMER_REAL, self.seconds + 0.5)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if not self.armed:
            return
        self.armed = False
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        _signal.signal(_signal.SIGALRM, self.previous)
        if kind is not None and issubclass(kind, _DeadlineExpired):
            raise BackendUnavailable(
                f"{self.description}: no answer within the start-up deadline of {self.seconds:g} s"
            ) from None


def _on_main_thread() -> bool:
    threading = sys.modules.get("threading")  # not imported: no thread was started through it
    return threading is None or threading.current_thread() is threading.main_thread()


def local_inputs(settings: Settings) -> list[str] | None:
    """Every file a resolution with only local backends reads (or would read if it appeared).

    None when a backend is remote or the cache is on: then the result depends on more than files.
    """
    if settings.cache is not None:
        return None
    stores = []
    for url in settings.backends or tuple(os.path.join(settings.component_dir, n) for n in DEFAULT_STORE_NAMES):
        parsed = parse_backend_url(url)
        if parsed.scheme != "file":
            return None
        stores.append(os.path.expanduser(parsed.rest))  # as launcher.backends.local.backend.store_path
    from launcher.manifest.reader import MANIFEST_DIRS, MANIFEST_NAMES

    manifests = (
        [settings.manifest]
        if settings.manifest
        else [os.path.join(settings.component_dir, folder, name) for folder in MANIFEST_DIRS for name in MANIFEST_NAMES]
    )
    return [*manifests, *stores, *settings.env_files]


def interpolated_names(env_files: tuple[str, ...]) -> tuple[str, ...]:
    """The variables the env files expand (`${NAME}`, python-dotenv's syntax): inputs of a launch too.

    An unreadable file contributes nothing here; reading it for real reports the problem.
    """
    import re

    from launcher.credentials import MAX_ENV_FILE_BYTES
    from launcher.files.reading import FileRefused, read_small_text

    names: set[str] = set()
    for path in env_files:
        try:
            names.update(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", read_small_text(path, MAX_ENV_FILE_BYTES)))
        except FileRefused:
            continue
    return tuple(sorted(names))


def read_manifest(settings: Settings, warn: Reporter) -> Manifest:
    if settings.manifest:
        return load_manifest(settings.manifest)
    path, warnings = discover(settings.component_dir)
    for warning in warnings:
        warn(warning)
    return load_manifest(path)


def open_backends(settings: Settings) -> Backend:
    urls = settings.backends or (default_store(settings.component_dir),)
    layers = [open_backend(url, settings.backend_settings) for url in urls]
    if len(layers) == 1:
        return layers[0]
    from launcher.backends.layered import LayeredBackend

    return LayeredBackend(layers)


def default_store(component_dir: str) -> str:
    """With no --backend: connections.yaml in the component directory (or its .choreo/)."""
    for name in DEFAULT_STORE_NAMES:
        candidate = os.path.join(component_dir, name)
        if os.path.isfile(candidate):
            return candidate
    looked = " or ".join(describe_file(os.path.join(component_dir, name)) for name in DEFAULT_STORE_NAMES)
    raise ConfigurationError(
        f"no backend given and no local store at {looked}: pass --backend URL (or set CHOREO_RUN_BACKEND)"
    )


def read_env_files(paths: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    """Each .env file as an overlay layer, read with python-dotenv; later files win."""
    if not paths:
        return []
    from launcher.credentials import read_dotenv  # dotenv_values, never expanding ${CHOREO_RUN_*}

    layers = []
    for path in paths:
        # A regular UTF-8 file of bounded size, or ConfigurationError (missing, a FIFO, a device...).
        values = {name: value for name, value in read_dotenv(path).items() if value is not None}
        problems = ProblemCollector(describe_file(path))
        for name in values:
            shape.variable(name, name, problems)
            if reserved := reserved_variable_problem(name):
                problems.add(name, reserved)
        problems.raise_if_any(ConfigurationError)
        layers.append((describe_file(path), values))
    return layers


def _ms(since: float) -> str:
    return f"{(time.perf_counter() - since) * 1000:.1f} ms"

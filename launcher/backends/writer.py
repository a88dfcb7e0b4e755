"""Read a store, apply a change, write it back, safely against concurrent writers (docs/connections.md).

* A local file: an exclusive `flock` on `<store>.lock` is held from the read to the rename, so two
  writers on one host are serialized and neither loses the other's change. The store file itself
  cannot carry the lock, because each write replaces it (atomic_write: temporary file, fsync,
  rename), keeping the file's mode (a new store is created 0600: it holds secrets).
* etcd: the store is read with its revision and written back in one transaction guarded by that
  revision (`EtcdBackend.push`); when another writer committed in between, the change is applied
  again to the fresh store, paced by the shared retry policy (`CONFLICT_POLICY`), then ConflictError
  (exit 75).
* Anything else is read-only (an HTTP control plane, Service Binding directories): `open_target`
  refuses it before touching anything, UsageError (exit 64). Which backends are writable is their
  own `Backend.writable`; the target is their own `Backend.store_target()`.

A change is a function Store -> (new Store, result); it must be pure, since it may run more than once.
The new store is validated by `parse_store` before anything is written.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from launcher.atomic import atomic_write
from launcher.backends import BackendSettings, open_backend, refuse_read_only
from launcher.backends.etcd import layout
from launcher.backends.local.document import empty_store, store_to_document, store_to_yaml
from launcher.backends.local.store_file import Store, parse_store
from launcher.backends.retry import CONFLICT_POLICY, Attempts
from launcher.errors import ConfigurationError, ConflictError, OutputError
from launcher.yamlfile import describe_file, load_yaml_file

Result = TypeVar("Result")
Change = Callable[[Store], tuple[Store, Result]]
MAX_ATTEMPTS = CONFLICT_POLICY.max_attempts
LOCK_WAIT = 10.0  # seconds a local writer waits for another one before giving up
NEW_STORE_MODE = 0o600


class StoreTarget(Protocol):
    description: str

    def read(self) -> Store: ...

    def modify(self, change: Change[Result]) -> Result: ...


def validated(store: Store) -> Store:
    """The store as a reader will see it; a change that breaks a store rule is refused, unwritten."""
    return parse_store(store_to_document(store), store.file)


class FileStoreTarget:
    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"file:{describe_file(path)}"

    def read(self) -> Store:
        if not os.path.exists(self.path):
            return empty_store(describe_file(self.path))
        return parse_store(load_yaml_file(self.path, ConfigurationError, ConfigurationError), describe_file(self.path))

    def modify(self, change: Change[Result]) -> Result:
        with _FileLock(self.path + ".lock"):
            new_store, result = change(self.read())
            text = store_to_yaml(validated(new_store))
            try:
                mode = os.stat(self.path).st_mode & 0o7777 if os.path.exists(self.path) else NEW_STORE_MODE
                atomic_write(self.path, text.encode("utf-8"), mode=mode)
            except OSError as error:
                raise OutputError(f"{describe_file(self.path)}: cannot write: {error.strerror}") from None
        return result


class _FileLock:
    """An exclusive flock, waited for up to LOCK_WAIT seconds; released when the process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1

    def __enter__(self) -> _FileLock:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)  # as atomic_write does
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise OutputError(f"{describe_file(self.path)}: cannot create the lock file: {error.strerror}") from None
        expires = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > expires:
                    os.close(self._fd)
                    raise ConflictError(
                        f"{describe_file(self.path)}: another writer held the store for "
                        f"{LOCK_WAIT:g}s; nothing was written"
                    ) from None
                time.sleep(0.02)

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)  # closing releases the lock


if TYPE_CHECKING:
    from launcher.backends.etcd.backend import EtcdBackend


class EtcdStoreTarget:
    def __init__(self, backend: EtcdBackend) -> None:
        self.backend = backend
        self.description = backend.description

    def _pull(self) -> tuple[Store, int]:
        """The store and the revision it was read at. Not `EtcdBackend.pull()`: its revision is the
        header of its last read, which a read pinned to an older revision reports as the *current*
        revision, so a write landing between its two reads would pass the guard and be lost."""
        prefix = self.backend.target.prefix
        kvs: dict[str, str] = {}
        revision: int | None = None
        with self.backend.session() as session:
            for owned in layout.store_prefixes(prefix):
                found, read_at = session.range_prefix(owned, revision)
                kvs.update(found)
                revision = revision or read_at
        document = layout.kvs_to_document(kvs, prefix, self.description)
        return parse_store(document, self.description), int(revision or 0)

    def read(self) -> Store:
        return self._pull()[0]

    def modify(self, change: Change[Result]) -> Result:
        attempts = Attempts(CONFLICT_POLICY)  # each push keeps its own deadline; this paces the re-tries
        while True:
            attempts.started()
            store, revision = self._pull()
            new_store, result = change(store)
            try:
                self.backend.push(validated(new_store), expected_revision=revision)
                return result
            except ConflictError:
                if not attempts.pause():  # jittered: racing writers spread out
                    break
        raise ConflictError(
            f"{self.description}: the store kept changing under this write "
            f"({MAX_ATTEMPTS} attempts); nothing was written, run the command again"
        )


def open_target(url: str, settings: BackendSettings) -> StoreTarget:
    """Where a write to `url` goes; a read-only backend is refused before anything is opened or created."""
    refuse_read_only(url)
    return open_backend(url, settings).store_target()

"""Read a store, apply a change, write it back, safely against concurrent writers (docs/connections.md).

* A local file: an exclusive `flock` on `<store>.lock` is held from the read to the rename, so two
  writers on one host are serialized and neither loses the other's change. The store file itself
  cannot carry the lock, because each write replaces it (atomic_write: temporary file, fsync,
  rename), keeping the file's mode (a new store is created 0600: it holds secrets). A store that is
  a symlink is written at its target (`resolve_link`: resolved once, locked there, renamed inside
  the target's directory), so the link stays a link and every name for the store sees the write.
  The change is applied to the model, and every key the model does not know is carried from the
  document read into the one written (`document.with_unknown_keys`): a typo never loses its values.
* etcd: the store is read with its revision and written back in one transaction guarded by that
  revision (`EtcdBackend.push`); when another writer committed in between, the change is applied
  again to the fresh store, paced by the shared retry policy (`CONFLICT_POLICY`), then ConflictError
  (exit 75). etcd's layout has no room for keys the model does not know, so a store in etcd that
  holds any (a hand edit, a newer version) is refused before the change, naming each key's path
  (ConfigurationError, exit 78), rather than rewritten without them.
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
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from launcher.backends import BackendSettings, open_backend, refuse_read_only
from launcher.backends.etcd import layout
from launcher.backends.local.document import (
    document_to_yaml,
    empty_store,
    refuse_unknown_keys,
    store_to_document,
    with_unknown_keys,
)
from launcher.backends.local.store_file import Store, parse_store
from launcher.backends.retry import CONFLICT_POLICY, Attempts
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ConfigurationError, ConflictError, OutputError
from launcher.files.atomic import atomic_write
from launcher.files.private import resolve_link

Result = TypeVar("Result")
Change = Callable[[Store], tuple[Store, Result]]
MAX_ATTEMPTS = CONFLICT_POLICY.max_attempts
LOCK_WAIT = 10.0  # seconds a local writer waits for another one before giving up
NEW_STORE_MODE = 0o600
UNKNOWN_IN_ETCD = "writing would drop it, so nothing was written: correct or remove it (store pull, edit, store push)"


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

    def _document(self, path: str) -> Any:
        """The parsed YAML document at `path`, None when there is no file yet."""
        if not os.path.lexists(path):
            return None
        return load_yaml_file(path, ConfigurationError, ConfigurationError)

    def read(self) -> Store:
        if not os.path.exists(self.path):
            return empty_store(describe_file(self.path))
        return parse_store(load_yaml_file(self.path, ConfigurationError, ConfigurationError), describe_file(self.path))

    def modify(self, change: Change[Result]) -> Result:
        target = resolve_link(self.path)  # once: the lock, the read and the rename all use the target
        shown = describe_file(self.path)
        with FileLock(target + ".lock"):
            document = self._document(target)
            new_store, result = change(empty_store(shown) if document is None else parse_store(document, shown))
            written = store_to_document(new_store)
            if document is not None:
                written = with_unknown_keys(document, written)  # a typo and its values survive the rewrite
            parse_store(written, shown)  # validated as a reader will see it: a broken store is never written
            try:
                mode = os.stat(target).st_mode & 0o7777 if os.path.exists(target) else NEW_STORE_MODE
                atomic_write(target, document_to_yaml(written).encode("utf-8"), mode=mode)
            except OSError as error:
                raise OutputError(f"{shown}: cannot write: {error.strerror}") from None
        return result


def replace_file(path: str, text: str, mode: int = NEW_STORE_MODE) -> None:
    """Replace a whole store file (`store pull -o`): at a symlink's target, under the store's lock."""
    target = resolve_link(path)
    with FileLock(target + ".lock"):
        try:
            atomic_write(target, text.encode("utf-8"), mode=mode)
        except OSError as error:
            raise OutputError(f"{describe_file(path)}: cannot write: {error.strerror}") from None


def wait_for_lock(descriptor: int, shown: str) -> None:
    """An exclusive flock on `descriptor`, waited for up to LOCK_WAIT seconds (ConflictError after)."""
    expires = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > expires:
                raise ConflictError(
                    f"{shown}: another writer held the file for {LOCK_WAIT:g}s; nothing was written"
                ) from None
            time.sleep(0.02)


class FileLock:
    """An exclusive flock on a lock file, waited for up to LOCK_WAIT seconds; released when the process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1

    def __enter__(self) -> FileLock:
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)  # as atomic_write does
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise OutputError(f"{describe_file(self.path)}: cannot create the lock file: {error.strerror}") from None
        try:
            wait_for_lock(self._fd, describe_file(self.path))
        except BaseException:
            os.close(self._fd)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)  # closing releases the lock


if TYPE_CHECKING:
    from launcher.backends.etcd.backend import EtcdBackend


class EtcdStoreTarget:
    def __init__(self, backend: EtcdBackend) -> None:
        self.backend = backend
        self.description = backend.description

    def _pull(self) -> tuple[dict[str, Any], Store, int]:
        """The store (as a document and parsed) and the revision it was read at. Not
        `EtcdBackend.pull()`: its revision is the header of its last read, which a read pinned to an
        older revision reports as the *current* revision, so a write landing between its two reads
        would pass the guard and be lost."""
        prefix = self.backend.target.prefix
        kvs: dict[str, str] = {}
        revision: int | None = None
        with self.backend.session() as session:
            for owned in layout.store_prefixes(prefix):
                found, read_at = session.range_prefix(owned, revision)
                kvs.update(found)
                revision = revision or read_at
        document = layout.kvs_to_document(kvs, prefix, self.description)
        return document, parse_store(document, self.description), int(revision or 0)

    def read(self) -> Store:
        return self._pull()[1]

    def modify(self, change: Change[Result]) -> Result:
        attempts = Attempts(CONFLICT_POLICY)  # each push keeps its own deadline; this paces the re-tries
        while True:
            attempts.started()
            document, store, revision = self._pull()
            refuse_unknown_keys(document, self.description, UNKNOWN_IN_ETCD)  # a rewrite would drop them
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

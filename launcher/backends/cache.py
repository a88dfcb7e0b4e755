"""The last-known-good cache: the last snapshot that resolved, encrypted at rest (docs/failure-modes.md).

Off by default. When on, every successful resolution stores the snapshot it used; when the backend
is unreachable or out of time, a snapshot younger than the maximum age is used instead, with a
warning that says how old it is. Never after an access denial: that deletes the entry, so a revoked
credential stops working at the next launch.

Encryption is Fernet (AES-128-CBC with HMAC-SHA256) from the `cryptography` package, keyed by HKDF
from the user's key: a corrupted, tampered with or foreign file fails authentication and is ignored.
Files are written atomically (write, fsync, rename), mode 0600, in a 0700 directory, one per
(manifest, identity, backend).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from launcher.documents.yamlfile import MAX_FILE_BYTES
from launcher.errors import ConfigurationError
from launcher.files.atomic import atomic_write
from launcher.files.reading import MISSING, FileRefused, read_small_file
from launcher.model import Identity, Snapshot

MAGIC = b"choreo-run-cache 1\n"
HKDF_INFO = b"choreo-run last-known-good cache v1"
# Reads are bounded and refuse FIFOs and devices (launcher.files.reading). A snapshot comes from at most
# a 4 MiB store or an HTTP answer; Fernet's base64 adds a third.
MAX_CACHE_BYTES = 64 * 1024 * 1024
MAX_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class CacheSettings:
    key: bytes = field(repr=False)
    directory: str
    max_age: float  # seconds


class SnapshotCache:
    """One cache entry, bound to a manifest's content, an identity and a backend description."""

    def __init__(
        self, settings: CacheSettings, manifest_file: str, identity: Identity, backend: str, warn: Callable[[str], None]
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.warn = warn
        self.binding = {
            "manifest": _digest_file(manifest_file),
            "project": identity.project,
            "component": identity.component,
            "environment": identity.environment,
            "backend": backend,
        }
        name = hashlib.sha256(json.dumps(self.binding, sort_keys=True).encode()).hexdigest()[:32]
        self.path = os.path.join(settings.directory, f"{name}.cache")

    def store(self, snapshot: Snapshot) -> None:
        from launcher.backends.http.codec import encode_snapshot

        payload = {"binding": self.binding, "written": time.time(), "snapshot": encode_snapshot(snapshot)}
        token = _fernet(self.settings.key).encrypt(json.dumps(payload).encode())
        atomic_write(self.path, MAGIC + token, mode=0o600, directory_mode=0o700)

    def load(self) -> tuple[Snapshot, float] | None:
        """(snapshot, age in seconds), or None when absent, too old, or not trustworthy (with a warning)."""
        payload = self._read_payload()
        if payload is None:
            return None
        age = time.time() - float(payload.get("written", 0))
        if age > self.settings.max_age:
            self.warn(
                f"last-known-good cache is {describe_age(age)} old, older than the maximum "
                f"{describe_age(self.settings.max_age)}; not used"
            )
            return None
        from launcher.backends.http.codec import decode_snapshot

        return decode_snapshot(payload["snapshot"], f"cache {self.path}", self.identity), age

    def forget(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _read_payload(self) -> dict | None:
        from cryptography.fernet import InvalidToken

        try:
            raw = read_small_file(self.path, MAX_CACHE_BYTES)
        except FileRefused as refused:
            if refused.kind != MISSING:  # a FIFO, a device or a huge file in its place: never waited on
                self.warn(f"{self.path}: cache file not read ({refused.reason}); ignored")
            return None
        try:
            if not raw.startswith(MAGIC):
                raise InvalidToken
            payload = json.loads(_fernet(self.settings.key).decrypt(raw[len(MAGIC) :]))
            if payload.get("binding") != self.binding:
                raise InvalidToken
            return payload
        except (InvalidToken, ValueError, TypeError, AttributeError):
            self.warn(
                f"{self.path}: cache file failed authentication (corrupted, tampered with, or written "
                "with another key); ignored"
            )
            return None


def _fernet(key: bytes):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def _digest_file(path: str) -> str:
    try:
        return hashlib.sha256(read_small_file(path, MAX_FILE_BYTES)).hexdigest()
    except FileRefused:
        return "unreadable"


def read_key(environ: dict[str, str] | os._Environ, key_file: str | None) -> bytes:
    """The cache key from --cache-key-file, CHOREO_RUN_CACHE_KEY_FILE or CHOREO_RUN_CACHE_KEY."""
    key_file = key_file or environ.get("CHOREO_RUN_CACHE_KEY_FILE")
    if key_file:
        try:
            key = read_small_file(key_file, MAX_KEY_BYTES).strip()
        except FileRefused as refused:
            raise ConfigurationError(f"{key_file}: the cache key file: {refused.reason}") from None
    else:
        key = environ.get("CHOREO_RUN_CACHE_KEY", "").encode()
    if len(key) < 16:
        raise ConfigurationError(
            "the last-known-good cache needs a key of at least 16 bytes in "
            "CHOREO_RUN_CACHE_KEY or CHOREO_RUN_CACHE_KEY_FILE (e.g. openssl rand -base64 32)"
        )
    return key


def default_directory(environ: dict[str, str] | os._Environ) -> str:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "choreo-run")


def parse_duration(text: str) -> float:
    """`90`, `90s`, `30m`, `24h`, `7d` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        seconds = float("nan")
    # `nan` would make every cache young enough (no comparison with it is true), `-5m` none.
    if not 0 <= seconds < float("inf"):
        raise ConfigurationError(f"invalid duration {text!r}: expected e.g. 90s, 30m, 24h or 7d")
    return seconds


def describe_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
